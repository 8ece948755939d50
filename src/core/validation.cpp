// Validation of API input (see validation.hpp).
#include "core/validation.hpp"

#include <algorithm>

#include "dbos/errors.hpp"
#include "serialization/utf8.hpp"

namespace dbos::detail {
namespace {

[[noreturn]] void Invalid(std::string_view what, const std::string& problem) {
  throw DBOSError(ErrorCode::InvalidOption, std::string(what) + " " + problem);
}

void CheckText(std::string_view what, const std::string& text) {
  if (const auto bad = serialization::FindInvalidUtf8(text)) {
    Invalid(what, "contains invalid UTF-8 at byte " + std::to_string(*bad) +
                      ": text must be UTF-8 (encode binary data, e.g. as base64)");
  }
}

}  // namespace

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
