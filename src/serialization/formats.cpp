// Readers of the value formats other DBOS SDKs write; see formats.hpp.
#include "serialization/formats.hpp"

#include <array>
#include <cstdint>

#include "dbos/errors.hpp"

namespace dbos::serialization {
namespace {

/// DBOS Go's encoding of a nil value under DBOS_JSON.
constexpr std::string_view kGoNilSentinel = "__DBOS_NIL";
/// The key DBOS TypeScript adds to its superjson records, and its value.
constexpr std::string_view kSuperjsonMarkerKey = "__dbos_serializer";
constexpr std::string_view kSuperjsonMarker = "superjson";

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

[[noreturn]] void ThrowMalformed(std::string_view what, std::string_view format,
                                 const std::string& problem) {
  throw DBOSError(ErrorCode::InvalidOption, "the stored " + std::string(what) + " is not valid " +
                                                std::string(format) + ": " + problem);
}

nlohmann::json ParseJson(std::string_view text, std::string_view what, std::string_view format) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) ThrowMalformed(what, format, "the text is not JSON");
  return parsed;
}

nlohmann::json ParseGoJson(const std::string& text, std::string_view what) {
  if (text.empty() || text == kGoNilSentinel) return nullptr;
  const auto json_text = DecodeBase64(text);
  if (!json_text) ThrowMalformed(what, kGoJsonFormat, "the text is not base64");
  return ParseJson(*json_text, what, kGoJsonFormat);
}

nlohmann::json ParseSuperjson(const std::string& text, std::string_view what) {
  nlohmann::json record = ParseJson(text, what, kSuperjsonFormat);
  const std::string marker_key(kSuperjsonMarkerKey);
  const bool marked = record.is_object() && record.contains(marker_key) &&
                      record[marker_key] == std::string(kSuperjsonMarker);
  if (!marked) ThrowMalformed(what, kSuperjsonFormat, "it carries no superjson marker");
  // superjson omits "json" for undefined, which portable JSON spells null.
  auto it = record.find("json");
  return it == record.end() ? nlohmann::json(nullptr) : std::move(*it);
}

}  // namespace

const std::vector<std::string>& ReadableFormats() {
  static const std::vector<std::string> kFormats = {
      std::string(kPortableJsonFormat), std::string(kGoJsonFormat), std::string(kSuperjsonFormat)};
  return kFormats;
}

bool IsReadableFormat(const std::optional<std::string>& format) {
  if (!format) return true;
  for (const auto& readable : ReadableFormats()) {
    if (*format == readable) return true;
  }
  return false;
}

nlohmann::json ParseStored(const std::string& text, const std::optional<std::string>& format,
                           std::string_view what) {
  if (!format || *format == kPortableJsonFormat) return ParseJson(text, what, kPortableJsonFormat);
  if (*format == kGoJsonFormat) return ParseGoJson(text, what);
  if (*format == kSuperjsonFormat) return ParseSuperjson(text, what);
  ThrowUnreadableFormat(*format, what);
}

void ThrowUnreadableFormat(const std::string& format, std::string_view what) {
  throw DBOSError(ErrorCode::InvalidOption,
                  "the stored " + std::string(what) + " was written with serialization " +
                      Quoted(format) +
                      ", which DBOS Transact C++ cannot read: have the sender write it with the "
                      "portable_json serialization (portable values), which every DBOS SDK reads");
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  // Index of each base64 digit; -1 for any other byte.
  static const std::array<int8_t, 256> kDigits = [] {
    std::array<int8_t, 256> digits{};
    digits.fill(-1);
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < kAlphabet.size(); ++i) {
      digits[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
    }
    return digits;
  }();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : text) {
    const int8_t digit = kDigits[static_cast<unsigned char>(c)];
    if (digit < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(digit);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xFFu));
    }
  }
  return out;
}

}  // namespace dbos::serialization
