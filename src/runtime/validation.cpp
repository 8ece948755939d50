// Validation of API input (see validation.hpp).
#include "runtime/validation.hpp"

#include <algorithm>

#include "dbos/errors.hpp"

namespace dbos::detail {
namespace {

[[noreturn]] void Invalid(std::string_view what, const std::string& problem) {
  throw DBOSError(ErrorCode::InvalidOption, std::string(what) + " " + problem);
}

void CheckText(std::string_view what, const std::string& text) {
  if (const auto bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    Invalid(what, "contains invalid UTF-8 at byte " + std::to_string(bad) +
                      ": text must be UTF-8 (encode binary data, e.g. as base64)");
  }
}

}  // namespace

std::size_t FindInvalidUtf8(std::string_view text) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = bytes[i];
    std::size_t length = 0;
    unsigned int min_second = 0x80;
    unsigned int max_second = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) min_second = 0xA0;  // overlong
      if (c == 0xED) max_second = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) min_second = 0x90;  // overlong
      if (c == 0xF4) max_second = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    if (bytes[i + 1] < min_second || bytes[i + 1] > max_second) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

void ValidateName(std::string_view what, const std::string& value, bool allow_empty) {
  if (value.empty() && !allow_empty) Invalid(what, "must not be empty");
  if (value.find('\0') != std::string::npos) {
    Invalid(what, "contains a NUL byte at byte " + std::to_string(value.find('\0')) +
                      ": remove it (PostgreSQL cannot store it)");
  }
  CheckText(what, value);
  if (value.size() > kMaxNameBytes) {
    Invalid(what, "is " + std::to_string(value.size()) + " bytes long; the limit is " +
                      std::to_string(kMaxNameBytes) + " bytes");
  }
}

void ValidateJsonText(std::string_view what, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      CheckText(what, value.get_ref<const std::string&>());
      return;
    case nlohmann::json::value_t::array:
      for (const auto& item : value) ValidateJsonText(what, item);
      return;
    case nlohmann::json::value_t::object:
      for (const auto& [key, item] : value.items()) {
        CheckText(what, key);
        ValidateJsonText(what, item);
      }
      return;
    default:
      return;
  }
}

std::chrono::milliseconds ClampWait(std::chrono::milliseconds duration) noexcept {
  return std::clamp(duration, std::chrono::milliseconds(0), kMaxWait);
}

}  // namespace dbos::detail
