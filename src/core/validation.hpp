// Checks of the text and durations the public API receives, in one place, so that bad input
// fails the same way on SQLite and on PostgreSQL, with a DBOSError(InvalidOption) that says what
// to fix, before anything is written.
#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dbos::detail {

/// Longest workflow ID, event key, topic, queue name, deduplication ID, partition key,
/// application version or user name accepted, in bytes. PostgreSQL's NOTIFY payload (below
/// 8,000 bytes) carries an ID and a key or topic together, and its indexes hold rows of up to
/// about 2,700 bytes; 1,000 bytes each keeps every combination within both.
inline constexpr std::size_t kMaxNameBytes = 1000;

/// The longest wait: longer durations (such as milliseconds::max(), "wait forever") are treated
/// as this; deadlines in epoch milliseconds and nanosecond clocks stay far from overflow.
inline constexpr std::chrono::milliseconds kMaxWait = std::chrono::hours(24 * 365 * 10);

/// Throws InvalidOption unless `value` is UTF-8 text without NUL bytes and at most kMaxNameBytes
/// long (and non-empty unless `allow_empty`). `what` names the argument ("workflow ID").
void ValidateName(std::string_view what, const std::string& value, bool allow_empty);

/// Throws InvalidOption when a string (or object key) inside `value` is not valid UTF-8: JSON
/// stores text as UTF-8, and PostgreSQL would refuse what SQLite accepts.
void ValidateJsonText(std::string_view what, const nlohmann::json& value);

/// `duration` limited to [0, kMaxWait]: negative waits do not wait.
std::chrono::milliseconds ClampWait(std::chrono::milliseconds duration) noexcept;

}  // namespace dbos::detail
