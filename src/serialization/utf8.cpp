// UTF-8 validation and repair; see utf8.hpp.
#include "serialization/utf8.hpp"

#include <cstdint>
#include <cstdio>

namespace dbos::serialization {
namespace {

// Length of the valid UTF-8 sequence starting at `pos`, or 0 when it is not valid there.
size_t ValidSequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(pos);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07u;
  } else {
    return 0;  // a continuation byte, an overlong lead (C0, C1) or beyond U+10FFFF (F5..FF)
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t next = byte(pos + i);
    if ((next & 0xC0u) != 0x80u) return 0;
    code_point = (code_point << 6) | (next & 0x3Fu);
  }
  const bool overlong =
      (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000);
  const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  if (overlong || surrogate || code_point > 0x10FFFF) return 0;
  return length;
}

std::string HexByte(uint8_t value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "0x%02x", value);
  return buffer;
}

// JSON Pointer escaping of one reference token.
std::string PointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Problem(const std::string& what, std::string_view text, size_t offset) {
  return what + " has the invalid byte " + HexByte(static_cast<uint8_t>(text[offset])) +
         " at offset " + std::to_string(offset);
}

std::optional<std::string> Describe(const nlohmann::json& value, const std::string& path) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (auto bad = FindInvalidUtf8(text)) {
      return Problem("the string at " + (path.empty() ? std::string("/") : path), text, *bad);
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (auto bad = FindInvalidUtf8(key)) {
        return Problem("the object key at " + (path.empty() ? std::string("/") : path), key, *bad);
      }
      const std::string child = path + "/" + PointerToken(key);
      if (auto found = Describe(item, child)) return found;
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (auto found = Describe(value[i], path + "/" + std::to_string(i))) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = ValidSequenceLength(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

std::string SanitizeUtf8(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = ValidSequenceLength(text, pos);
    if (length == 0) {
      out += kReplacement;
      ++pos;
    } else {
      out.append(text.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

std::optional<std::string> DescribeInvalidUtf8(const nlohmann::json& value) {
  return Describe(value, "");
}

ErrorRecord StorableError(const ErrorRecord& record, const std::string& subject) {
  const auto bad_name = FindInvalidUtf8(record.name);
  const auto bad_message = FindInvalidUtf8(record.message);
  if (!bad_name && !bad_message) return record;
  const std::string& field = bad_message ? record.message : record.name;
  const size_t offset = bad_message ? *bad_message : *bad_name;
  ErrorRecord storable = record;
  storable.name = SanitizeUtf8(record.name);
  storable.message =
      subject + " could not be stored as thrown: its " + (bad_message ? "message" : "type name") +
      " is not valid UTF-8 (invalid byte " + HexByte(static_cast<uint8_t>(field[offset])) +
      " at offset " + std::to_string(offset) +
      "; invalid bytes are shown as U+FFFD): " + SanitizeUtf8(record.message);
  return storable;
}

}  // namespace dbos::serialization
