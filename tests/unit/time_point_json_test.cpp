// Time points are serializable out of the box: RFC 3339 strings at the top level, inside an
// application's own struct and inside containers, at any precision of the system clock.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "dbos/dbos.hpp"

namespace {
using std::chrono::system_clock;

struct Meeting {
  std::string topic;
  system_clock::time_point starts;
  std::vector<system_clock::time_point> reminders;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Meeting, topic, starts, reminders)

const system_clock::time_point kT = system_clock::time_point(std::chrono::seconds(1700000000));

TEST(TimePointJson, TopLevelIsRfc3339) {
  const nlohmann::json j = kT;
  EXPECT_EQ(j, "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(j.get<system_clock::time_point>(), kT);
}

TEST(TimePointJson, NestedInAStructIsRfc3339) {
  const nlohmann::json j = Meeting{"plan", kT, {kT, kT + std::chrono::seconds(1)}};
  EXPECT_EQ(j.at("starts"), "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(j.at("reminders").at(1), "2023-11-14T22:13:21.000000000Z");
  const auto back = j.get<Meeting>();
  EXPECT_EQ(back.starts, kT);
  EXPECT_EQ(back.reminders.size(), 2U);
  static_assert(dbos::Serializable<Meeting>);
}

TEST(TimePointJson, CoarserPrecisionsToo) {
  using Seconds = std::chrono::time_point<system_clock, std::chrono::seconds>;
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(kT);
  const nlohmann::json j = seconds;
  EXPECT_EQ(j, "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(j.get<Seconds>(), seconds);
  static_assert(dbos::Serializable<Seconds>);
}

}  // namespace
