// UTF-8 checks for text about to be stored: JSON (and PostgreSQL text) accept only valid UTF-8,
// so a workflow result or error message carrying other bytes cannot be recorded as it is. These
// helpers find the first bad byte (to say what is wrong) and replace bad sequences with U+FFFD (to
// record an error message that is still readable).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "serialization/codec.hpp"

namespace dbos::serialization {

/// Offset of the first byte of `text` that does not start a valid UTF-8 sequence, or nullopt
/// when all of `text` is valid (overlong forms, surrogates and code points above U+10FFFF are
/// invalid).
std::optional<size_t> FindInvalidUtf8(std::string_view text);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view text);

/// Describes the first string (or object key) of `value` that is not valid UTF-8, e.g.
/// "the string at /items/2 has the invalid byte 0xff at offset 3"; nullopt when all are valid.
std::optional<std::string> DescribeInvalidUtf8(const nlohmann::json& value);

/// `record` made storable: when its name or message is not valid UTF-8, the invalid bytes are
/// replaced and the message says so, naming `subject` (e.g. "the error of workflow X"); the name
/// and code stay, so the same type is rethrown. Unchanged when valid.
ErrorRecord StorableError(const ErrorRecord& record, const std::string& subject);

}  // namespace dbos::serialization
