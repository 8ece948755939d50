// PostgreSQL only: the order in which the commit group (sysdb/postgres/pg_commit_group.*) takes
// queued statements into a shared transaction. Statements of one group run in one transaction,
// so txid_current() tells which group each ran in.
#include "sysdb/postgres/pg_commit_group.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "sysdb/postgres/pg_connection.hpp"
#include "sysdb/postgres/pg_pool.hpp"

namespace dbos::testing {
namespace {

using sysdb::pg::ConnectionSpec;
using sysdb::pg::PgCommitGroup;
using sysdb::pg::PgParams;
using sysdb::pg::PgPool;
using sysdb::pg::PgResult;
using Clock = std::chrono::steady_clock;

/// Waits until `done` holds, up to 30 s; false (and a test failure) if it never does.
template <typename Condition>
bool WaitUntil(Condition done, const char* what) {
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (Clock::now() > give_up) {
      ADD_FAILURE() << "never happened: " << what;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A workflow start queued behind more than a group's worth of other checkpoints goes in the next
// group, ahead of them: its caller waits in RunWorkflow, and new work would otherwise begin only
// as fast as the checkpoints of every running workflow drain.
TEST(PgCommitGroupTest, AWorkflowStartGoesInTheNextGroupAheadOfQueuedCheckpoints) {
  const std::string url = PostgresUrl();
  PgPool pool(ConnectionSpec::Parse(url), 4, std::chrono::seconds(10));
  PgCommitGroup group(1);
  const PgParams none;

  // The one lane is busy until everything below has queued.
  const std::string slow_name = "group_order_slow";
  const std::string slow_sql = "SELECT pg_catalog.pg_sleep(2)";
  auto slow = std::async(std::launch::async, [&] { group.Run(pool, slow_name, slow_sql, none); });
  const std::string running =
      "SELECT count(*) FROM pg_stat_activity WHERE query = '" + slow_sql + "' AND state = 'active'";
  ASSERT_TRUE(
      WaitUntil([&] { return RunSql(url, running).at(0).at(0) != "0"; }, "the slow statement ran"));

  const std::string txid_name = "group_order_txid";
  const std::string txid_sql = "SELECT pg_catalog.txid_current()::text";
  constexpr size_t kCheckpoints = PgCommitGroup::kMaxGroup + 5;
  std::vector<std::future<std::string>> checkpoints;
  for (size_t i = 0; i < kCheckpoints; ++i) {
    checkpoints.push_back(std::async(std::launch::async, [&] {
      return group.Run(pool, txid_name, txid_sql, none).String(0, 0);
    }));
    // One at a time, so that they queue in this order.
    ASSERT_TRUE(WaitUntil([&] { return group.Queued() == i + 1; }, "a checkpoint queued"));
  }
  auto start = std::async(std::launch::async, [&] {
    return group.Run(pool, txid_name, txid_sql, none, /*first=*/true).String(0, 0);
  });
  ASSERT_TRUE(WaitUntil([&] { return group.Queued() == kCheckpoints + 1; }, "the start queued"));
  slow.get();

  const std::string start_group = start.get();
  std::vector<std::string> groups;
  for (auto& checkpoint : checkpoints) groups.push_back(checkpoint.get());
  // The next group took the start and the oldest checkpoints that fit; the rest came after.
  size_t with_start = 0;
  for (const std::string& txid : groups) with_start += txid == start_group ? 1 : 0;
  EXPECT_EQ(with_start, PgCommitGroup::kMaxGroup - 1);
  EXPECT_NE(groups.back(), start_group);
}

}  // namespace
}  // namespace dbos::testing
