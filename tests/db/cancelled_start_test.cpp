// A workflow started from a WithTimeout context that was cancelled already, or whose deadline
// passed already, ends CANCELLED before any of its code runs; and when the cancellation cannot
// be written, the start still returns a handle and leaves no execution behind.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "support/db_test.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::cancelled_start_fns {

std::atomic<int> g_runs{0};

int Counted(DBOSContext&, int x) {
  ++g_runs;
  return x;
}

}  // namespace dbos::testing::cancelled_start_fns

namespace dbos::testing {
namespace {
using namespace cancelled_start_fns;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

class CancelledStartTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_runs = 0;
    ctx_ = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx_, Counted);
    Launch(ctx_);
  }
  void TearDown() override {
    sysdb::testing::SetFaultInjector(nullptr);
    Shutdown(ctx_);
    DbTest::TearDown();
  }

  // The code of the DBOSError GetResult throws.
  DBOSContext ctx_;
};

TEST_P(CancelledStartTest, WorkflowStartedFromACancelledScopeRunsNoCode) {
  auto [timed, cancel] = WithTimeout(ctx_, std::chrono::hours(1));
  cancel();
  auto handle = RunWorkflow(timed, Counted, 1, WithWorkflowID("late"));
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(g_runs.load(), 0);
  EXPECT_EQ(OpenRaw()->GetWorkflow("late", false)->status, "CANCELLED");
}

TEST_P(CancelledStartTest, WorkflowStartedAfterItsDeadlineRunsNoCode) {
  auto [timed, cancel] = WithTimeout(ctx_, std::chrono::milliseconds(0));
  auto handle = RunWorkflow(timed, Counted, 1, WithWorkflowID("expired"));
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(g_runs.load(), 0);
  EXPECT_EQ(OpenRaw()->GetWorkflow("expired", false)->status, "CANCELLED");
}

// The cancellation of a workflow started from a cancelled scope cannot be written: the start
// returns a handle, nothing runs, and the execution is released (it stays PENDING, recovered).
TEST_P(CancelledStartTest, FailedCancellationAtStartRunsNothingAndLeaksNoExecution) {
  auto [timed, cancel] = WithTimeout(ctx_, std::chrono::hours(1));
  cancel();
  ScopedFaultInjector injector([](const FaultSite& site) {
    if (std::string(site.operation) != "CancelWorkflow") return Fault{};
    Fault fault;
    fault.kind = Fault::Kind::kBeforeExecute;
    fault.sqlstate = "XX001";
    fault.sqlite_code = SQLITE_CORRUPT;
    return fault;
  });
  std::optional<WorkflowHandle<int>> handle;
  EXPECT_NO_THROW(handle = RunWorkflow(timed, Counted, 1, WithWorkflowID("stuck")));
  ASSERT_TRUE(handle.has_value());
  EXPECT_EQ(ResultCode(*handle), ErrorCode::WorkflowExecution);
  EXPECT_EQ(g_runs.load(), 0);
  // Released by its execution thread right after it answered its waiters.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (detail::RuntimeOf(ctx_).FindExecution("stuck") != nullptr &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(detail::RuntimeOf(ctx_).FindExecution("stuck"), nullptr);
  EXPECT_EQ(OpenRaw()->GetWorkflow("stuck", false)->status, "PENDING");
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(CancelledStartTest);

}  // namespace
}  // namespace dbos::testing
