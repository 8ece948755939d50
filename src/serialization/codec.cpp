// Portable JSON encoding of inputs, outputs and errors, and RFC 3339 timestamps.
#include "serialization/codec.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <ctime>
#include <exception>
#include <typeinfo>

#include "dbos/detail/erased.hpp"
#include "dbos/serialization.hpp"

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

std::string EncodeWorkflowInput(const nlohmann::json& input) {
  nlohmann::json envelope = {{"positionalArgs", nlohmann::json::array({input})},
                             {"namedArgs", nlohmann::json::object()}};
  return envelope.dump();
}

nlohmann::json DecodeWorkflowInput(const std::optional<std::string>& text) {
  nlohmann::json decoded = DecodeValue(text);
  if (decoded.is_object() && decoded.contains("positionalArgs")) {
    const auto& args = decoded["positionalArgs"];
    if (args.is_array() && !args.empty()) return args[0];
    return nullptr;
  }
  return decoded;
}

std::string EncodeValue(const nlohmann::json& value) { return value.dump(); }

nlohmann::json DecodeValue(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return *text;
  return parsed;
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
