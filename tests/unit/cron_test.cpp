// The cron parser: which ticks each expression produces (ranges, steps, lists, names, day of month
// against day of week, month ends, leap years, year rollovers, DST changes in two zones), and the
// InvalidOption each malformed expression or unknown zone gets, naming the bad field.
#include "scheduler/cron.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dbos/dbos.hpp"

namespace dbos {
namespace {

using scheduler::CronSchedule;

struct TickCase {
  std::string expression;
  std::string zone;                // the schedule's time zone setting ("" = none)
  std::string after;               // RFC 3339
  std::vector<std::string> ticks;  // the next ticks, in UTC ("" = none)
};

std::vector<std::string> Ticks(const CronSchedule& schedule, const std::string& after, size_t n) {
  std::vector<std::string> out;
  auto t = ParseTimestamp(after);
  for (size_t i = 0; i < n; ++i) {
    const auto next = schedule.Next(t);
    if (!next) {
      out.emplace_back("");
      break;
    }
    out.push_back(scheduler::FormatRfc3339Seconds(*next));
    t = *next;
  }
  return out;
}

const std::vector<TickCase> kTickCases = {
    // Steps, ranges and lists.
    {"*/15 * * * * *",
     "",
     "2026-01-01T00:00:07Z",
     {"2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z", "2026-01-01T00:00:45Z",
      "2026-01-01T00:01:00Z"}},
    {"3-59/7 * * * * *",
     "",
     "2026-01-01T00:00:45Z",
     {"2026-01-01T00:00:52Z", "2026-01-01T00:00:59Z", "2026-01-01T00:01:03Z"}},
    {"5/20 * * * * *",
     "",
     "2026-01-01T00:00:00Z",
     {"2026-01-01T00:00:05Z", "2026-01-01T00:00:25Z", "2026-01-01T00:00:45Z",
      "2026-01-01T00:01:05Z"}},
    {"0 0 9-17/4 * * *",
     "",
     "2026-01-01T10:00:00Z",
     {"2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"}},
    {"0 5,10,15 0 1 1 *",
     "",
     "2026-01-01T00:05:00Z",
     {"2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z", "2027-01-01T00:05:00Z"}},
    {"? * * * * ?", "", "2026-01-01T00:00:00.5Z", {"2026-01-01T00:00:01Z"}},
    // Names, any case; 2026-01-01 is a Thursday.
    {"0 0 12 * jan-MAR MON,fri",
     "",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z", "2026-01-09T12:00:00Z"}},
    {"0 0 0 1 DEC *", "", "2026-01-01T00:00:00Z", {"2026-12-01T00:00:00Z"}},
    // Day of month and day of week: both restricted, either matches.
    {"0 0 0 13 * FRI",
     "",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
      "2026-01-16T00:00:00Z"}},
    // One of them `*` or `?`: both must match.
    {"0 0 0 * * SUN", "", "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
    {"0 0 0 13 * ?", "", "2026-01-01T00:00:00Z", {"2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"}},
    // A step above 1 makes the field restricted (robfig's star bit).
    {"0 0 0 */2 * MON",
     "",
     "2025-12-31T12:00:00Z",
     {"2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z",
      "2026-01-07T00:00:00Z"}},
    // Leap years and month ends.
    {"0 0 0 29 2 *", "", "2026-01-01T00:00:00Z", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
    {"0 0 0 31 * *",
     "",
     "2026-01-31T00:00:00Z",
     {"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
      "2026-08-31T00:00:00Z"}},
    {"0 0 0 30 2 *", "", "2026-01-01T00:00:00Z", {""}},
    // Year rollovers.
    {"59 59 23 31 12 *",
     "",
     "2026-06-01T00:00:00Z",
     {"2026-12-31T23:59:59Z", "2027-12-31T23:59:59Z"}},
    {"0 0 0 1 1 *", "", "2026-12-31T23:59:59Z", {"2027-01-01T00:00:00Z"}},
    {"* * * * * *", "", "2026-12-31T23:59:59Z", {"2027-01-01T00:00:00Z"}},
    // Descriptors.
    {"@yearly", "", "2026-03-01T00:00:00Z", {"2027-01-01T00:00:00Z"}},
    {"@annually", "", "2026-03-01T00:00:00Z", {"2027-01-01T00:00:00Z"}},
    {"@monthly", "", "2026-03-01T00:00:00Z", {"2026-04-01T00:00:00Z"}},
    {"@weekly", "", "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z"}},
    {"@daily", "", "2026-01-01T00:00:00Z", {"2026-01-02T00:00:00Z"}},
    {"@midnight", "", "2026-01-01T00:00:00Z", {"2026-01-02T00:00:00Z"}},
    {"@hourly", "", "2026-01-01T00:00:00Z", {"2026-01-01T01:00:00Z"}},
    {"@every 90s",
     "",
     "2026-01-01T00:00:10Z",
     {"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z", "2026-01-01T00:04:30Z"}},
    {"@every 1m30s", "", "2026-01-01T00:00:00Z", {"2026-01-01T00:01:30Z"}},
    {"@every 500ms", "", "2026-01-01T00:00:00Z", {"2026-01-01T00:00:01Z"}},
    // A zone moves the fields, not the ticks' instants.
    {"CRON_TZ=Asia/Tokyo 0 0 9 * * *",
     "",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"}},
    {"TZ=Asia/Tokyo @daily", "", "2026-01-01T00:00:00Z", {"2026-01-01T15:00:00Z"}},
    {"@daily", "Asia/Tokyo", "2026-01-01T00:00:00Z", {"2026-01-01T15:00:00Z"}},
    // New York, spring forward (2026-03-08, 02:00 EST -> 03:00 EDT): 02:30 does not exist that
    // day and is skipped.
    {"CRON_TZ=America/New_York 0 30 2 * * *",
     "",
     "2026-03-07T00:00:00Z",
     {"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"}},
    {"CRON_TZ=America/New_York 0 30 * * * *",
     "",
     "2026-03-08T05:00:00Z",
     {"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z",
      "2026-03-08T08:30:00Z"}},
    // New York, fall back (2026-11-01, 02:00 EDT -> 01:00 EST): 01:30 happens twice; a fixed
    // hour runs once, at the first...
    {"CRON_TZ=America/New_York 0 30 1 * * *",
     "",
     "2026-11-01T00:00:00Z",
     {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
    // ...an hour field `*` runs at both.
    {"CRON_TZ=America/New_York 0 30 * * * *",
     "",
     "2026-11-01T04:00:00Z",
     {"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z",
      "2026-11-01T07:30:00Z"}},
    {"CRON_TZ=America/New_York 0 30 1 * * *", "", "2026-11-01T05:45:00Z", {"2026-11-02T06:30:00Z"}},
    // Berlin, spring forward (2026-03-29, 02:00 CET -> 03:00 CEST) and fall back (2026-10-25,
    // 03:00 CEST -> 02:00 CET), the zone given as the schedule's setting.
    {"0 30 2 * * *",
     "Europe/Berlin",
     "2026-03-28T00:00:00Z",
     {"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}},
    {"0 30 2 * * *",
     "Europe/Berlin",
     "2026-10-24T12:00:00Z",
     {"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
    {"0 0 * * * *",
     "Europe/Berlin",
     "2026-10-24T23:30:00Z",
     {"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
    {"CRON_TZ=Europe/Berlin 0 0 3 * * *",
     "Europe/Berlin",
     "2026-03-28T12:00:00Z",
     {"2026-03-29T01:00:00Z"}},
};

TEST(Cron, TicksFollowTheFields) {
  for (const TickCase& c : kTickCases) {
    SCOPED_TRACE(c.expression + " zone " + c.zone + " after " + c.after);
    const CronSchedule schedule = CronSchedule::Parse(c.expression, c.zone);
    EXPECT_EQ(Ticks(schedule, c.after, c.ticks.size()), c.ticks);
  }
}

TEST(Cron, NextIsStrictlyAfter) {
  const CronSchedule schedule = CronSchedule::Parse("*/10 * * * * *");
  const auto t = ParseTimestamp("2026-01-01T00:00:10Z");
  EXPECT_EQ(scheduler::FormatRfc3339Seconds(*schedule.Next(t)), "2026-01-01T00:00:20Z");
  EXPECT_EQ(scheduler::FormatRfc3339Seconds(*schedule.Next(t - std::chrono::nanoseconds(1))),
            "2026-01-01T00:00:10Z");
}

// The longest Go duration is accepted; its ticks past the year 2262 never come (they do not
// overflow); a longer duration is refused as Go refuses it.
TEST(Cron, HugeEveryDurationsDoNotOverflow) {
  const CronSchedule schedule = CronSchedule::Parse("@every 2562047h");
  const auto first = schedule.Next(ParseTimestamp("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(scheduler::FormatRfc3339Seconds(*first), "2262-04-11T23:00:00Z");
  EXPECT_FALSE(schedule.Next(*first).has_value());
  try {
    CronSchedule::Parse("@every 2562048h");
    ADD_FAILURE() << "accepted";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
    EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
  }
}

struct ErrorCase {
  std::string expression;
  std::string zone;
  std::string message_part;
};

const std::vector<ErrorCase> kErrorCases = {
    {"* * * * *", "", "expected exactly 6 fields, found 5"},
    {"* * * * * * *", "", "expected exactly 6 fields, found 7"},
    {"", "", "the expression is empty"},
    {"60 * * * * *", "", "second field '60': 60 is above the maximum 59"},
    {"* 60 * * * *", "", "minute field '60'"},
    {"* * 24 * * *", "", "hour field '24'"},
    {"* * * 0 * *", "", "day-of-month field '0': 0 is below the minimum 1"},
    {"* * * 32 * *", "", "day-of-month field '32'"},
    {"* * * * 0 *", "", "month field '0'"},
    {"* * * * 13 *", "", "month field '13'"},
    {"* * * * FOO *", "", "month field 'FOO': 'FOO' is not a number or a name (JAN..DEC)"},
    {"* * * * * 7", "", "day-of-week field '7': 7 is above the maximum 6"},
    {"* * * * * MOO", "", "day-of-week field 'MOO'"},
    {"*/0 * * * * *", "", "second field '*/0': the step must be a positive number"},
    {"5-3 * * * * *", "", "second field '5-3': the range starts at 5, after its end 3"},
    {"1/2/3 * * * * *", "", "second field '1/2/3': too many slashes"},
    {"1-2-3 * * * * *", "", "second field '1-2-3': too many hyphens"},
    {"a * * * * *", "", "second field 'a': 'a' is not a number"},
    {"1,,2 * * * * *", "", "second field '1,,2': a value is missing"},
    {"*-5 * * * * *", "", "second field '*-5'"},
    {"0 0 0 1 1 x/2", "", "day-of-week field 'x/2'"},
    {"@fortnightly", "", "unknown descriptor '@fortnightly'"},
    {"@every soon", "", "'soon' is not a duration"},
    {"@every 5", "", "'5' is not a duration"},
    {"CRON_TZ=UTC", "", "nothing follows the time zone"},
    {"CRON_TZ=Mars/Olympus_Mons * * * * * *", "", "unknown time zone 'Mars/Olympus_Mons'"},
    {"* * * * * *", "Nowhere/City", "unknown time zone 'Nowhere/City'"},
    {"CRON_TZ= * * * * * *", "", "the time zone name is empty"},
    {"CRON_TZ=UTC 0 0 0 * * *", "Europe/Berlin", "give the zone once"},
};

TEST(Cron, BadExpressionsNameWhatIsWrong) {
  for (const ErrorCase& c : kErrorCases) {
    SCOPED_TRACE(c.expression + " zone " + c.zone);
    try {
      CronSchedule::Parse(c.expression, c.zone);
      ADD_FAILURE() << "accepted";
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace dbos
