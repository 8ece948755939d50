// Parses cron expressions into bit sets, one per field, and finds the next tick by walking the
// wall clock of the schedule's zone field by field (month, day, hour, minute, second), one
// UTC-offset segment of the zone at a time, so that DST gaps are skipped and repeated hours are
// handled as cron.hpp says. Zones come from the operating system's tz database (date/tz.h).
#include "scheduler/cron.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "dbos/errors.hpp"

namespace dbos::scheduler {
namespace {

using Seconds = std::chrono::seconds;
using LocalSeconds = date::local_time<Seconds>;
using SysSeconds = date::sys_time<Seconds>;

/// One of the six fields: its name in messages, its bounds and its names.
struct FieldSpec {
  const char* name;
  unsigned min;
  unsigned max;
  const std::map<std::string, unsigned>* names;
};

const std::map<std::string, unsigned> kMonthNames = {
    {"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4},  {"may", 5},  {"jun", 6},
    {"jul", 7}, {"aug", 8}, {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}};
const std::map<std::string, unsigned> kDayNames = {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3},
                                                   {"thu", 4}, {"fri", 5}, {"sat", 6}};

const FieldSpec kFields[6] = {
    {"second", 0, 59, nullptr},     {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},       {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, &kMonthNames}, {"day-of-week", 0, 6, &kDayNames},
};

/// What a field parsed into: its values as bits, and whether it was `*` or `?` (robfig's star
/// bit: a step above 1 clears it).
struct FieldBits {
  uint64_t bits = 0;
  bool star = false;
};

[[noreturn]] void Invalid(const std::string& expression, const std::string& why) {
  throw DBOSError(ErrorCode::InvalidOption,
                  "invalid cron schedule '" + expression + "': " + why +
                      " (expected six fields \"second minute hour day-of-month month "
                      "day-of-week\", a descriptor such as @daily or \"@every 5m\", optionally "
                      "after CRON_TZ=<IANA zone>)");
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t next = text.find(separator, start);
    parts.emplace_back(text.substr(start, next == std::string_view::npos ? next : next - start));
    if (next == std::string_view::npos) return parts;
    start = next + 1;
  }
}

std::vector<std::string> Fields(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

class FieldParser {
 public:
  FieldParser(const std::string& expression, const FieldSpec& spec, const std::string& field)
      : expression_(expression), spec_(spec), field_(field) {}

  FieldBits Parse() const {
    FieldBits out;
    for (const std::string& part : Split(field_, ',')) {
      const FieldBits one = ParseRange(part);
      out.bits |= one.bits;
      out.star = out.star || one.star;
    }
    return out;
  }

 private:
  [[noreturn]] void Fail(const std::string& why) const {
    Invalid(expression_, std::string(spec_.name) + " field '" + field_ + "': " + why);
  }

  unsigned Number(const std::string& text) const {
    if (spec_.names) {
      const auto named = spec_.names->find(Lower(text));
      if (named != spec_.names->end()) return named->second;
    }
    if (text.empty()) Fail("a value is missing");
    if (text[0] == '-') Fail("negative number " + text + " is not allowed");
    if (!std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
      Fail("'" + text + "' is not a number" +
           (spec_.names ? std::string(" or a name (") +
                              (spec_.names == &kMonthNames ? "JAN..DEC" : "SUN..SAT") + ")"
                        : std::string()));
    }
    if (text.size() > 9) Fail(text + " is out of range");
    return static_cast<unsigned>(std::stoul(text));
  }

  FieldBits ParseRange(const std::string& part) const {
    const std::vector<std::string> range_and_step = Split(part, '/');
    if (range_and_step.size() > 2) Fail("too many slashes in '" + part + "'");
    const std::vector<std::string> low_high = Split(range_and_step[0], '-');
    unsigned start = 0;
    unsigned end = 0;
    FieldBits out;
    if (low_high[0] == "*" || low_high[0] == "?") {
      if (low_high.size() > 1) Fail("'" + part + "' is not a range");
      start = spec_.min;
      end = spec_.max;
      out.star = true;
    } else {
      if (low_high.size() > 2) Fail("too many hyphens in '" + part + "'");
      start = Number(low_high[0]);
      end = low_high.size() == 2 ? Number(low_high[1]) : start;
    }
    unsigned step = 1;
    if (range_and_step.size() == 2) {
      step = Number(range_and_step[1]);
      if (low_high.size() == 1) end = spec_.max;  // "N/step" means "N-max/step"
      if (step > 1) out.star = false;
    }
    if (start < spec_.min) {
      Fail(std::to_string(start) + " is below the minimum " + std::to_string(spec_.min));
    }
    if (end > spec_.max) {
      Fail(std::to_string(end) + " is above the maximum " + std::to_string(spec_.max));
    }
    if (start > end) {
      Fail("the range starts at " + std::to_string(start) + ", after its end " +
           std::to_string(end));
    }
    if (step == 0) Fail("the step must be a positive number");
    for (unsigned v = start; v <= end; v += step) out.bits |= uint64_t{1} << v;
    return out;
  }

  const std::string& expression_;
  const FieldSpec& spec_;
  const std::string& field_;
};

/// Go's time.ParseDuration for the units robfig accepts; nullopt when `text` is not a duration.
std::optional<long double> ParseGoDurationSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return 0.0L;
  if (text.empty()) return std::nullopt;
  long double total = 0;
  while (!text.empty()) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == 0) return std::nullopt;
    const std::string number(text.substr(0, i));
    if (std::count(number.begin(), number.end(), '.') > 1 || number == ".") return std::nullopt;
    text.remove_prefix(i);
    size_t u = 0;
    while (u < text.size() && !std::isdigit(static_cast<unsigned char>(text[u])) && text[u] != '.')
      ++u;
    const std::string unit(text.substr(0, u));
    text.remove_prefix(u);
    long double scale = 0;
    if (unit == "ns") {
      scale = 1e-9L;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1e-6L;
    } else if (unit == "ms") {
      scale = 1e-3L;
    } else if (unit == "s") {
      scale = 1;
    } else if (unit == "m") {
      scale = 60;
    } else if (unit == "h") {
      scale = 3600;
    } else {
      return std::nullopt;
    }
    total += std::strtold(number.c_str(), nullptr) * scale;
  }
  return negative ? -total : total;
}

const date::time_zone* LocateZone(const std::string& expression, const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "unknown time zone '" + name + "' in cron schedule '" + expression +
                        "': use an IANA time zone name such as America/New_York or UTC");
  }
}

bool Has(uint64_t bits, unsigned value) { return (bits >> value) & 1U; }

}  // namespace

CronSchedule CronSchedule::Parse(const std::string& expression, const std::string& default_zone) {
  std::string_view rest(expression);
  const auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  rest = trim(rest);
  std::string zone_name;
  if (rest.rfind("CRON_TZ=", 0) == 0 || rest.rfind("TZ=", 0) == 0) {
    const size_t eq = rest.find('=');
    const size_t space = rest.find_first_of(" \t");
    if (space == std::string_view::npos) Invalid(expression, "nothing follows the time zone");
    zone_name = std::string(rest.substr(eq + 1, space - eq - 1));
    if (zone_name.empty()) Invalid(expression, "the time zone name is empty");
    rest = trim(rest.substr(space));
  }
  if (!default_zone.empty() && !zone_name.empty() && default_zone != zone_name) {
    throw DBOSError(ErrorCode::InvalidOption, "cron schedule '" + expression +
                                                  "' names time zone '" + zone_name +
                                                  "' but its time zone setting is '" +
                                                  default_zone + "': give the zone once");
  }
  if (zone_name.empty()) zone_name = default_zone;

  CronSchedule out;
  if (!zone_name.empty()) {
    out.zone_ = LocateZone(expression, zone_name);
    out.zone_name_ = zone_name;
  }
  if (rest.empty()) Invalid(expression, "the expression is empty");

  if (rest[0] == '@') {
    const std::string descriptor(rest);
    const char* spec = nullptr;
    if (descriptor == "@yearly" || descriptor == "@annually") {
      spec = "0 0 0 1 1 *";
    } else if (descriptor == "@monthly") {
      spec = "0 0 0 1 * *";
    } else if (descriptor == "@weekly") {
      spec = "0 0 0 * * 0";
    } else if (descriptor == "@daily" || descriptor == "@midnight") {
      spec = "0 0 0 * * *";
    } else if (descriptor == "@hourly") {
      spec = "0 0 * * * *";
    }
    if (spec) {
      CronSchedule parsed = Parse(spec);
      parsed.zone_ = out.zone_;
      parsed.zone_name_ = out.zone_name_;
      return parsed;
    }
    if (descriptor.rfind("@every ", 0) == 0) {
      const std::string duration(trim(std::string_view(descriptor).substr(7)));
      const auto seconds = ParseGoDurationSeconds(duration);
      if (!seconds) {
        Invalid(expression, "'" + duration + "' is not a duration (write e.g. 30s, 5m, 1h30m)");
      }
      // Go's durations end at 2^63-1 ns (2562047h47m16.854775807s); longer ones are invalid.
      if (*seconds > 9223372036.854775807L) {
        Invalid(expression, "the @every duration is too long (at most 2562047h47m16s)");
      }
      // As robfig: rounded down to whole seconds, and at least one second.
      out.every_ = Seconds(std::max<int64_t>(1, static_cast<int64_t>(*seconds)));
      return out;
    }
    Invalid(expression, "unknown descriptor '" + descriptor +
                            "' (known: @yearly, @annually, @monthly, @weekly, @daily, "
                            "@midnight, @hourly, @every <duration>)");
  }

  const std::vector<std::string> fields = Fields(rest);
  if (fields.size() != 6) {
    Invalid(expression, "expected exactly 6 fields, found " + std::to_string(fields.size()));
  }
  const FieldBits second = FieldParser(expression, kFields[0], fields[0]).Parse();
  const FieldBits minute = FieldParser(expression, kFields[1], fields[1]).Parse();
  const FieldBits hour = FieldParser(expression, kFields[2], fields[2]).Parse();
  const FieldBits dom = FieldParser(expression, kFields[3], fields[3]).Parse();
  const FieldBits month = FieldParser(expression, kFields[4], fields[4]).Parse();
  const FieldBits dow = FieldParser(expression, kFields[5], fields[5]).Parse();
  out.second_ = second.bits;
  out.minute_ = minute.bits;
  out.hour_ = hour.bits;
  out.hour_star_ = hour.star;
  out.dom_ = dom.bits;
  out.dom_star_ = dom.star;
  out.month_ = month.bits;
  out.dow_ = dow.bits;
  out.dow_star_ = dow.star;
  return out;
}

bool CronSchedule::DayMatches(std::chrono::sys_days local_day) const {
  const date::year_month_day ymd{local_day};
  const bool dom = Has(dom_, static_cast<unsigned>(ymd.day()));
  const bool dow = Has(dow_, date::weekday{local_day}.c_encoding());
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

// Works on "wall-clock seconds" represented as sys_seconds (the local time read as if it were
// UTC): the next matching wall-clock second at or after `from` (after, when not inclusive),
// within five years.
std::optional<std::chrono::sys_seconds> CronSchedule::NextInSegment(std::chrono::sys_seconds from,
                                                                    bool inclusive) const {
  using std::chrono::hours;
  using std::chrono::minutes;
  SysSeconds t = inclusive ? from : from + Seconds(1);
  const int year_limit =
      static_cast<int>(date::year_month_day{date::floor<date::days>(t)}.year()) + 5;
  while (true) {
    const date::sys_days day = date::floor<date::days>(t);
    const date::year_month_day ymd{day};
    if (static_cast<int>(ymd.year()) > year_limit) return std::nullopt;
    if (!Has(month_, static_cast<unsigned>(ymd.month()))) {
      const date::year_month next = date::year_month{ymd.year(), ymd.month()} + date::months{1};
      t = date::sys_days{next / date::day{1}};
      continue;
    }
    if (!DayMatches(day)) {
      t = day + date::days{1};
      continue;
    }
    const date::hh_mm_ss<Seconds> tod{t - day};
    const auto h = static_cast<unsigned>(tod.hours().count());
    const auto m = static_cast<unsigned>(tod.minutes().count());
    const auto s = static_cast<unsigned>(tod.seconds().count());
    if (!Has(hour_, h)) {
      t = day + hours(h + 1);
      continue;
    }
    if (!Has(minute_, m)) {
      t = day + hours(h) + minutes(m + 1);
      continue;
    }
    if (!Has(second_, s)) {
      t = day + hours(h) + minutes(m) + Seconds(s + 1);
      continue;
    }
    return t;
  }
}

std::optional<CronSchedule::TimePoint> CronSchedule::Next(TimePoint after) const {
  const SysSeconds start = date::floor<Seconds>(after);
  if (every_.count() > 0) {
    const int64_t n = every_.count();
    const int64_t s = start.time_since_epoch().count();
    const int64_t base = s >= 0 ? s / n : -((-s + n - 1) / n);
    const int64_t next = (base + 1) * n;
    // A tick beyond what a time_point holds (the year 2262) never comes.
    if (next > std::chrono::duration_cast<Seconds>(TimePoint::max().time_since_epoch()).count()) {
      return std::nullopt;
    }
    return TimePoint(SysSeconds(Seconds(next)));
  }
  if (!zone_) {
    const auto next = NextInSegment(start, false);
    if (!next) return std::nullopt;
    return TimePoint(*next);
  }
  // Within one segment of constant UTC offset, wall-clock time and instants map one to one.
  SysSeconds from = start;
  bool inclusive = false;
  for (int segment = 0; segment < 64; ++segment) {
    const date::sys_info info = zone_->get_info(from);
    const SysSeconds wall_from = from + info.offset;
    const auto wall = NextInSegment(wall_from, inclusive);
    if (!wall) return std::nullopt;
    const SysSeconds instant = *wall - info.offset;
    if (info.end <= instant) {
      from = date::floor<Seconds>(info.end);  // the next segment, from its first second
      inclusive = true;
      continue;
    }
    if (!hour_star_) {
      // A wall-clock time that occurs twice fires at its first occurrence only.
      const date::local_info local = zone_->get_info(LocalSeconds(wall->time_since_epoch()));
      if (local.result == date::local_info::ambiguous && instant == *wall - local.second.offset) {
        from = instant;
        inclusive = false;
        continue;
      }
    }
    return TimePoint(instant);
  }
  return std::nullopt;
}

std::string FormatRfc3339Seconds(std::chrono::system_clock::time_point t) {
  return date::format("%Y-%m-%dT%H:%M:%SZ", date::floor<Seconds>(t));
}

}  // namespace dbos::scheduler
