// A workflow the queue runner claimed is PENDING under this executor, so nothing but the runner
// starts it before the next launch. Every claimed row must therefore end up running, finished or
// dead-lettered, however its start fails: its ID still executing here (a resume before the
// cancelled execution unwound), a start that fails many rounds in a row, a dead-letter write that
// fails.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::claimed_fns {

std::atomic<bool> g_entered{false};
std::atomic<bool> g_release{false};

// A step that ignores cancellation until released, as slow code that does not check its stop
// token does.
int SlowToUnwind(DBOSContext& ctx, int x) {
  return RunAsStep(
      ctx,
      [x] {
        g_entered = true;
        while (!g_release) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return x;
      },
      WithStepName("slow"));
}

int Plain(DBOSContext&, int x) { return x; }

}  // namespace dbos::testing::claimed_fns

namespace dbos::testing {
namespace {
using namespace claimed_fns;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

class ClaimedStartTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_entered = false;
    g_release = false;
  }
  void TearDown() override {
    sysdb::testing::SetFaultInjector(nullptr);
    DbTest::TearDown();
  }

  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  // A PENDING Plain(3) of this executor, as a crashed run leaves it: the launch recovers it.
  void InsertPlain(const std::string& id) {
    sysdb::WorkflowInsert row = WorkflowRow(id, "dbos::testing::claimed_fns::Plain");
    row.inputs = serialization::EncodeWorkflowInput(3);
    ASSERT_TRUE(OpenRaw()->InsertWorkflow(row).created);
  }
  std::string StatusOf(const std::string& id) { return OpenRaw()->GetWorkflow(id, false)->status; }
  // Waits (bounded) until `id` has `status`; returns the last status seen.
  std::string AwaitStatus(const std::string& id, const std::string& status) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string now = StatusOf(id);
    while (now != status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      now = StatusOf(id);
    }
    return now;
  }
  // Waits (bounded) until `pred` holds.
  template <typename Pred>
  static bool Await(Pred pred) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }
};

// Cancelled, then resumed (ENQUEUED again, as a resume from another process writes it) while
// its cancelled execution still unwinds here: the claim must start it once that execution ended.
TEST_P(ClaimedStartTest, WorkflowResumedWhileItsCancelledExecutionUnwindsStartsAfterwards) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, SlowToUnwind);
  Launch(ctx);
  RunWorkflow(ctx, SlowToUnwind, 7, WithWorkflowID("resumed"));
  ASSERT_TRUE(Await([] { return g_entered.load(); }));
  CancelWorkflow(ctx, "resumed");
  RunSql(url_, "UPDATE " + Table("workflow_status") + " SET status = 'ENQUEUED', queue_name = '" +
                   sysdb::kInternalQueueName +
                   "', started_at_epoch_ms = NULL WHERE workflow_uuid = 'resumed'");
  // The runner claimed it while the cancelled execution still runs.
  EXPECT_TRUE(Await([&] { return logger_->Contains("resumed still executes here"); }));
  g_release = true;
  ASSERT_EQ(AwaitStatus("resumed", "SUCCESS"), "SUCCESS");
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "resumed").GetResult(), 7);
  Shutdown(ctx);
}

// As above, but the resumed row names another workflow than the execution still unwinding here
// (a name conflict in this process): it starts once that execution ended.
TEST_P(ClaimedStartTest, ClaimWhoseIdExecutesHereUnderAnotherNameStartsAfterwards) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, SlowToUnwind);
  RegisterWorkflow(ctx, Plain);
  Launch(ctx);
  RunWorkflow(ctx, SlowToUnwind, 7, WithWorkflowID("renamed"));
  ASSERT_TRUE(Await([] { return g_entered.load(); }));
  CancelWorkflow(ctx, "renamed");
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET status = 'ENQUEUED', name = 'dbos::testing::claimed_fns::Plain', "
                   "queue_name = '" +
                   sysdb::kInternalQueueName + "' WHERE workflow_uuid = 'renamed'");
  EXPECT_TRUE(Await([&] { return logger_->Contains("Workflow already exists with a different"); }));
  g_release = true;
  ASSERT_EQ(AwaitStatus("renamed", "SUCCESS"), "SUCCESS");
  Shutdown(ctx);
}

// A start that fails more rounds in a row than the runner used to allow is still retried.
TEST_P(ClaimedStartTest, StartThatFailsManyRoundsIsRetriedUntilItRuns) {
  InsertPlain("flaky");
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Plain);
  std::atomic<int> attempts{0};
  detail::RuntimeOf(ctx).SetDequeueHookForTesting([&](const std::string& id) {
    if (id == "flaky" && ++attempts <= 6) throw std::runtime_error("start refused by the test");
  });
  Launch(ctx);
  EXPECT_EQ(AwaitStatus("flaky", "SUCCESS"), "SUCCESS");
  EXPECT_EQ(attempts.load(), 7);
  Shutdown(ctx);
}

// The dead-letter write of a workflow past its maximum recovery attempts fails once: it is
// dead-lettered at the next round instead of staying PENDING.
TEST_P(ClaimedStartTest, FailedDeadLetterWriteIsRetried) {
  InsertPlain("doomed");
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET recovery_attempts = 10 WHERE workflow_uuid = 'doomed'");
  std::atomic<int> injected{0};
  ScopedFaultInjector injector([&](const FaultSite& site) {
    if (std::string(site.operation) != "MarkDeadLetter" || injected.fetch_add(1) != 0) {
      return Fault{};
    }
    Fault fault;
    fault.kind = Fault::Kind::kBeforeExecute;
    fault.sqlstate = "XX001";
    fault.sqlite_code = SQLITE_CORRUPT;
    return fault;
  });
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Plain, WithMaxRetries(1));
  Launch(ctx);
  EXPECT_EQ(AwaitStatus("doomed", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"),
            "MAX_RECOVERY_ATTEMPTS_EXCEEDED");
  EXPECT_GE(injected.load(), 2);
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ClaimedStartTest);

}  // namespace
}  // namespace dbos::testing
