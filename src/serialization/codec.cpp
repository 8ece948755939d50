// Portable JSON encoding of inputs, outputs and errors, and RFC 3339 timestamps.
#include "serialization/codec.hpp"

#include <cxxabi.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <typeinfo>

#include "dbos/detail/erased.hpp"
#include "dbos/serialization.hpp"
#include "serialization/formats.hpp"

namespace dbos {

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  const auto since_epoch = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs);
  if (nanos.count() < 0) {
    secs -= std::chrono::seconds(1);
    nanos += std::chrono::seconds(1);
  }
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos.count()));
  return buf;
}

std::chrono::system_clock::time_point ParseTimestamp(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    throw DBOSError(ErrorCode::InvalidOption, "not an RFC 3339 timestamp: '" + text + "'");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t pos = static_cast<size_t>(consumed);
  long long nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    long long scale = 100000000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
  }
  long offset_seconds = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int hours = 0;
    int minutes = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &hours, &minutes) != 2) {
      throw DBOSError(ErrorCode::InvalidOption, "bad offset in timestamp: '" + text + "'");
    }
    offset_seconds = (hours * 3600L + minutes * 60L) * (text[pos] == '+' ? 1 : -1);
  }
  const std::time_t tt = timegm(&tm) - offset_seconds;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(tt) + std::chrono::nanoseconds(nanos)));
}

}  // namespace dbos

namespace dbos::serialization {
namespace {

// Finds a NaN or infinity in `value`: sets `path` (a JSON pointer) and `spelling`.
bool FindNonFinite(const nlohmann::json& value, std::string& path, std::string& spelling) {
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d)) return false;
    spelling = std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
    return true;
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (FindNonFinite(value[i], path, spelling)) {
        path = "/" + std::to_string(i) + path;
        return true;
      }
    }
  } else if (value.is_object()) {
    for (const auto& [key, element] : value.items()) {
      if (FindNonFinite(element, path, spelling)) {
        path = "/" + key + path;
        return true;
      }
    }
  }
  return false;
}

std::string Plural(size_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// The one argument out of a list of positional (and named) arguments.
nlohmann::json SingleArgument(nlohmann::json& positional, const nlohmann::json* named,
                              const std::string& workflow_name) {
  const size_t named_count = named != nullptr && named->is_object() ? named->size() : 0;
  if (positional.size() == 1 && named_count == 0) return std::move(positional[0]);
  std::string found = Plural(positional.size(), "positional argument");
  if (named_count > 0) {
    found += " and " + Plural(named_count, "named argument") + " (";
    bool first = true;
    for (const auto& [key, unused] : named->items()) {
      found += (first ? "" : ", ") + key;
      first = false;
    }
    found += ")";
  }
  throw DBOSError(ErrorCode::InvalidOption,
                  "workflow '" + workflow_name +
                      "' takes exactly one argument, but its stored input has " + found +
                      ": start it with a single positional argument (wrap several values in one "
                      "object)");
}

}  // namespace

void CheckRepresentable(const nlohmann::json& value) {
  std::string path;
  std::string spelling;
  if (!FindNonFinite(value, path, spelling)) return;
  throw DBOSError(ErrorCode::InvalidOption,
                  "cannot record a value holding " + spelling + " (at JSON pointer '" + path +
                      "'): JSON has no NaN or infinity, and storing null instead would read back "
                      "as another value on replay; represent it explicitly (for example as null, "
                      "a flag or a string)");
}

std::string EncodeWorkflowInput(const nlohmann::json& input) {
  CheckRepresentable(input);
  nlohmann::json envelope = {{"positionalArgs", nlohmann::json::array({input})},
                             {"namedArgs", nlohmann::json::object()}};
  return envelope.dump();
}

nlohmann::json DecodeWorkflowInput(const std::optional<std::string>& text,
                                   const std::optional<std::string>& serialization) {
  try {
    return DecodeWorkflowArgument(text, serialization, "");
  } catch (const DBOSError&) {
    return DecodeValueOrText(text, serialization);
  }
}

nlohmann::json DecodeWorkflowArgument(const std::optional<std::string>& text,
                                      const std::optional<std::string>& serialization,
                                      const std::string& workflow_name) {
  if (!text) return nullptr;
  if (serialization && *serialization == kGoJsonFormat) {
    return ParseStored(*text, serialization, "input");  // DBOS Go stores the single input itself
  }
  nlohmann::json decoded = DecodeValue(text, serialization, "input");
  if (serialization && *serialization == kSuperjsonFormat) {
    // DBOS TypeScript stores the positional argument array itself.
    if (!decoded.is_array()) decoded = nlohmann::json::array({std::move(decoded)});
    return SingleArgument(decoded, nullptr, workflow_name);
  }
  if (decoded.is_object() && decoded.contains("positionalArgs")) {
    auto& args = decoded["positionalArgs"];
    if (args.is_null()) args = nlohmann::json::array();
    if (!args.is_array()) {
      throw DBOSError(ErrorCode::InvalidOption, "workflow '" + workflow_name +
                                                    "': the stored input's positionalArgs is "
                                                    "not an array");
    }
    const auto named = decoded.find("namedArgs");
    return SingleArgument(args, named == decoded.end() ? nullptr : &*named, workflow_name);
  }
  if (serialization) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "workflow '" + workflow_name + "': the stored " + *serialization +
                        " input is not an envelope {\"positionalArgs\": [...], \"namedArgs\": "
                        "{...}}");
  }
  return decoded;  // written before inputs carried a serialization: the value itself
}

std::string EncodeValue(const nlohmann::json& value) {
  CheckRepresentable(value);
  return value.dump();
}

nlohmann::json DecodeValue(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return *text;
  return parsed;
}

nlohmann::json DecodeValue(const std::optional<std::string>& text,
                           const std::optional<std::string>& serialization, std::string_view what) {
  if (!serialization) return DecodeValue(text);
  if (!text) return nullptr;
  return ParseStored(*text, serialization, what);
}

nlohmann::json DecodeValueOrText(const std::optional<std::string>& text,
                                 const std::optional<std::string>& serialization) {
  try {
    return DecodeValue(text, serialization);
  } catch (const DBOSError&) {
    return *text;  // DecodeValue throws only for a non-NULL text
  }
}

ErrorRecord CaptureCurrentException() {
  try {
    throw;
  } catch (const DBOSError& e) {
    return {std::string(ErrorCodeName(e.Code())), e.Message(), static_cast<int>(e.Code())};
  } catch (const std::exception& e) {
    return {detail::DemangledTypeName(typeid(e)), e.what(), std::nullopt};
  } catch (...) {
    return {"unknown", "an exception of a type not derived from std::exception", std::nullopt};
  }
}

std::string EncodeError(const ErrorRecord& record) {
  nlohmann::json j = {{"name", record.name}, {"message", record.message}};
  if (record.dbos_code) j["code"] = *record.dbos_code;
  return j.dump();
}

ErrorRecord DecodeError(const std::string& text, const std::optional<std::string>& serialization) {
  if (!serialization || *serialization == kPortableJsonFormat) return DecodeError(text);
  if (!IsReadableFormat(serialization)) {
    return {"Error",
            "the workflow or step failed, but its error was written with serialization '" +
                *serialization + "', which DBOS Transact C++ cannot read",
            std::nullopt};
  }
  try {
    return DecodeError(ParseStored(text, serialization, "error").dump());
  } catch (const DBOSError&) {
    return DecodeError(text);  // not valid in its format: keep the raw text as the message
  }
}

ErrorRecord DecodeError(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {"Error", text, std::nullopt};
  ErrorRecord record;
  record.name = j.value("name", std::string("Error"));
  record.message = j.contains("message") && j["message"].is_string()
                       ? j["message"].get<std::string>()
                       : j.dump();
  if (j.contains("code") && j["code"].is_number_integer()) {
    ErrorCode code{};
    if (ParseErrorCode(record.name, code)) record.dbos_code = j["code"].get<int>();
  }
  return record;
}

}  // namespace dbos::serialization
