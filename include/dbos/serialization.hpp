// How values cross the database boundary: every input, output, message and event value is a type
// nlohmann::json can convert. The library stores them as plain JSON (`portable_json`), which DBOS
// SDKs in other languages read and write too.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

namespace dbos {

/// A type the library can store: nlohmann::json converts it both ways (to_json/from_json found by
/// ADL, NLOHMANN_DEFINE_TYPE_* macros, or an adl_serializer specialization).
template <typename T>
concept Serializable = std::is_same_v<std::decay_t<T>, nlohmann::json> ||
    (std::is_default_constructible_v<std::decay_t<T>>&& requires(nlohmann::json j,
                                                                 const std::decay_t<T>& value) {
      nlohmann::json(value);
      j.template get<std::decay_t<T>>();
    });

/// Formats a time as RFC 3339 in UTC with nanoseconds, e.g. "2026-11-25T12:00:00.123456789Z".
std::string FormatTimestamp(std::chrono::system_clock::time_point t);
/// Parses an RFC 3339 timestamp (any offset, optional fraction); throws DBOSError on bad text.
std::chrono::system_clock::time_point ParseTimestamp(const std::string& text);

}  // namespace dbos

namespace nlohmann {
/// Time points of the system clock (any precision) are stored as RFC 3339 strings in UTC, as
/// DBOS Transact Go stores time.Time: at the top level, as a member of your own struct
/// (NLOHMANN_DEFINE_TYPE_*) and inside containers alike.
///
/// This is a partial specialisation, so an application may still write its own full
/// specialisation `adl_serializer<std::chrono::system_clock::time_point>`: the compiler then
/// prefers the application's, for top-level and nested values alike. Declare it in a header that
/// every translation unit using it includes (translation units must agree on how a type is
/// serialized). The library never serializes time points through nlohmann::json itself, so the
/// columns it writes (created_at, …) do not change.
template <typename Duration>
struct adl_serializer<std::chrono::time_point<std::chrono::system_clock, Duration>> {
  using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

  template <typename Json>
  static void to_json(Json& j, const TimePoint& t) {
    j = dbos::FormatTimestamp(std::chrono::time_point_cast<std::chrono::system_clock::duration>(t));
  }
  template <typename Json>
  static void from_json(const Json& j, TimePoint& t) {
    t = std::chrono::time_point_cast<Duration>(dbos::ParseTimestamp(j.template get<std::string>()));
  }
};
}  // namespace nlohmann
