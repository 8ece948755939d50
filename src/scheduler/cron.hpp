// Cron expressions for scheduled workflows, read as DBOS Transact Go reads them (robfig/cron v3
// with a mandatory seconds field and descriptors), so a schedule stored by any DBOS SDK means the
// same ticks here.
//
// Syntax: six fields "sec min hour day-of-month month day-of-week", each a list of `*`, `?`,
// values, ranges `a-b` and steps (`*/15`, `3-59/7`, `5/10` = `5-max/10`); months JAN..DEC and
// weekdays SUN..SAT by name (any case); weekdays 0..6 (0 = Sunday; 7 is refused, as robfig v3
// refuses it). Descriptors: @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly and
// `@every <duration>` (Go duration syntax, e.g. 90s, 1h30m; rounded down to whole seconds, at
// least 1 s). A `CRON_TZ=<IANA zone> ` (or `TZ=`) prefix sets the zone the fields are read in;
// without one, UTC.
//
// Day of month and day of week: when both are restricted (neither starts with `*` or `?`), a day
// matching either one matches; otherwise both must match (robfig's rule).
//
// Daylight saving time: a wall-clock time that does not exist (the hour skipped in spring) is
// skipped, as robfig skips it. A wall-clock time that occurs twice (the hour repeated in autumn)
// fires once, at its first occurrence, unless the hour field is `*`: then every instant is a
// distinct tick and both occurrences fire (an every-minute schedule keeps running through the
// repeated hour).
//
// `@every d` ticks at the multiples of d since the Unix epoch (robfig counts from when the entry
// was added): every executor of a cluster then computes the same ticks, and the deterministic
// workflow IDs of ticks make each run once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace date {
class time_zone;
}

namespace dbos::scheduler {

/// A parsed cron expression. Cheap to copy.
class CronSchedule {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  /// Parses `expression`. `default_zone` (an IANA name, "" = UTC) applies when the expression has
  /// no CRON_TZ= prefix; when both name a zone they must agree. Throws DBOSError(InvalidOption)
  /// naming the bad field, value, descriptor or zone.
  static CronSchedule Parse(const std::string& expression, const std::string& default_zone = "");

  /// The first tick strictly after `after` (ticks are whole seconds), or nullopt when there is
  /// none within five years (e.g. "0 0 0 30 2 *").
  std::optional<TimePoint> Next(TimePoint after) const;

  /// The zone's name ("UTC" by default).
  const std::string& ZoneName() const noexcept { return zone_name_; }

 private:
  CronSchedule() = default;
  std::optional<std::chrono::sys_seconds> NextInSegment(std::chrono::sys_seconds from,
                                                        bool inclusive) const;
  bool DayMatches(std::chrono::sys_days local_day) const;

  uint64_t second_ = 0, minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;
  bool dom_star_ = false, dow_star_ = false, hour_star_ = false;
  std::chrono::seconds every_{0};          ///< Non-zero for `@every`.
  const date::time_zone* zone_ = nullptr;  ///< nullptr = UTC.
  std::string zone_name_ = "UTC";
};

/// RFC 3339 text of a tick in UTC with whole seconds ("2026-03-08T07:30:00Z"): the time in
/// the deterministic workflow IDs `sched-<name>-<time>` (UTC, so that executors in different
/// local zones compute the same ID).
std::string FormatRfc3339Seconds(std::chrono::system_clock::time_point t);

}  // namespace dbos::scheduler
