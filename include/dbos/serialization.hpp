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
/// time_point is stored as an RFC 3339 string, as DBOS Transact Go stores time.Time.
template <>
struct adl_serializer<std::chrono::system_clock::time_point> {
  static void to_json(json& j, const std::chrono::system_clock::time_point& t) {
    j = dbos::FormatTimestamp(t);
  }
  static void from_json(const json& j, std::chrono::system_clock::time_point& t) {
    t = dbos::ParseTimestamp(j.get<std::string>());
  }
};
}  // namespace nlohmann
