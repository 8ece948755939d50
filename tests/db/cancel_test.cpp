// Timeouts, cancellation and child workflows: durable deadlines that cancel a workflow and its
// children (also after recovery), WithoutCancel, CancelWorkflow stopping a workflow between steps,
// waking it from sleeps and requesting a running step's stop_token, and child workflows whose
// start and result are checkpointed in the parent.
#include <atomic>
#include <chrono>
#include <thread>

#include "core/cancel_scope.hpp"
#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "support/db_test.hpp"

namespace dbos::testing::cancel_fns {
std::atomic<int> g_steps_run{0};
std::atomic<int> g_child_runs{0};
std::atomic<bool> g_step_saw_stop{false};

int LongSleep(DBOSContext& ctx, int ms) {
  Sleep(ctx, std::chrono::milliseconds(ms));
  return ms;
}

int ManySteps(DBOSContext& ctx, int count) {
  for (int i = 0; i < count; ++i) {
    RunAsStep(
        ctx,
        [] {
          ++g_steps_run;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return 0;
        },
        WithStepName("tick"));
  }
  return count;
}

int LongStep(DBOSContext& ctx, int) {
  return RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (!token.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        g_step_saw_stop = true;
        return 1;
      },
      WithStepName("long"));
}

int Child(DBOSContext& ctx, int ms) {
  ++g_child_runs;
  Sleep(ctx, std::chrono::milliseconds(ms));
  return ms * 2;
}

int ParentAwaitingChild(DBOSContext& ctx, int child_ms) {
  return RunWorkflow(ctx, Child, child_ms).GetResult();
}

std::string ParentWithDetachedChild(DBOSContext& ctx, int child_ms) {
  DBOSContext detached = WithoutCancel(ctx);
  auto child = RunWorkflow(detached, Child, child_ms, WithWorkflowID(GetWorkflowID(ctx) + "-free"));
  Sleep(ctx, std::chrono::seconds(10));  // the parent times out here
  return child.GetWorkflowID();
}

int ParentWithStatus(DBOSContext& ctx, int) {
  auto child = RunWorkflow(ctx, Child, 1);
  const int result = child.GetResult();
  const auto status = child.GetStatus();
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (!token.stop_requested() && g_child_runs.load() < 100) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return 0;
      },
      WithStepName("hold"));
  return result + (status.status == WorkflowStatusType::Success ? 1000 : 0);
}

std::atomic<bool> g_about_to_sleep{false};

// Catches everything, the cancellation included, and returns a fallback.
int SwallowsCancellation(DBOSContext& ctx, int) {
  try {
    g_about_to_sleep = true;
    Sleep(ctx, std::chrono::seconds(60));
  } catch (...) {
    return -1;
  }
  return 0;
}

// Throws an error carrying the WorkflowCancelled code without being cancelled.
int ThrowsItsOwnCancelledError(DBOSContext&, int) {
  throw DBOSError(ErrorCode::WorkflowCancelled, "my own cancellation error");
}
}  // namespace dbos::testing::cancel_fns

namespace dbos::testing {
namespace {
using namespace cancel_fns;
using Clock = std::chrono::steady_clock;

class CancelTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_steps_run = 0;
    g_child_runs = 0;
    g_step_saw_stop = false;
    g_about_to_sleep = false;
  }
  // Waits (bounded) until the workflow's status is no longer PENDING; returns the status.
  std::string AwaitNotPending(const std::string& id) {
    const auto until = Clock::now() + std::chrono::seconds(10);
    std::string status = Status(id);
    while (status == "PENDING" && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      status = Status(id);
    }
    return status;
  }
  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, LongSleep);
    RegisterWorkflow(ctx, ManySteps);
    RegisterWorkflow(ctx, LongStep);
    RegisterWorkflow(ctx, Child);
    RegisterWorkflow(ctx, ParentAwaitingChild);
    RegisterWorkflow(ctx, ParentWithDetachedChild);
    RegisterWorkflow(ctx, ParentWithStatus);
    RegisterWorkflow(ctx, SwallowsCancellation);
    RegisterWorkflow(ctx, ThrowsItsOwnCancelledError);
    Launch(ctx);
    return ctx;
  }
  std::string Status(const std::string& id) { return OpenRaw()->GetWorkflow(id, false)->status; }
};

TEST_P(CancelTest, TimeoutCancelsTheWorkflowAtItsDeadline) {
  DBOSContext ctx = Start();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::milliseconds(300));
  const auto start = Clock::now();
  auto handle = RunWorkflow(timed, LongSleep, 10000, WithWorkflowID("timed"));
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  const auto status = handle.GetStatus();
  EXPECT_EQ(status.status, WorkflowStatusType::Cancelled);
  ASSERT_TRUE(status.deadline.has_value());
  ASSERT_TRUE(status.timeout.has_value());
  EXPECT_LE(status.timeout->count(), 300);
  Shutdown(ctx);
}

TEST_P(CancelTest, ParentDeadlineCancelsItsChildren) {
  DBOSContext ctx = Start();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::milliseconds(300));
  auto parent = RunWorkflow(timed, ParentAwaitingChild, 10000, WithWorkflowID("parent"));
  EXPECT_EQ(ResultCode(parent), ErrorCode::AwaitedWorkflowCancelled);
  for (int i = 0; i < 300 && Status("parent-0") != "CANCELLED"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Status("parent-0"), "CANCELLED");  // the child's ID is <parent>-<step>
  EXPECT_EQ(OpenRaw()->GetWorkflow("parent-0", false)->parent_workflow_id, "parent");
  Shutdown(ctx);
}

TEST_P(CancelTest, WithoutCancelDetachesAChildFromItsParentsDeadline) {
  DBOSContext ctx = Start();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::milliseconds(300));
  auto parent = RunWorkflow(timed, ParentWithDetachedChild, 600, WithWorkflowID("p2"));
  EXPECT_EQ(ResultCode(parent), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "p2-free").GetResult(), 1200);
  Shutdown(ctx);
}

TEST_P(CancelTest, DeadlineIsReappliedAfterRecovery) {
  const auto start = Clock::now();
  {
    DBOSContext ctx = Start();
    auto [timed, cancel] = WithTimeout(ctx, std::chrono::milliseconds(1200));
    RunWorkflow(timed, LongSleep, 10000, WithWorkflowID("timed-recovered"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Shutdown(ctx);
  }
  EXPECT_EQ(Status("timed-recovered"), "PENDING");
  DBOSContext ctx = Start();
  EXPECT_EQ(ResultCode(RetrieveWorkflow<int>(ctx, "timed-recovered")),
            ErrorCode::AwaitedWorkflowCancelled);
  const auto total = Clock::now() - start;
  EXPECT_GE(total, std::chrono::milliseconds(1100));
  EXPECT_LT(total, std::chrono::milliseconds(3500));
  Shutdown(ctx);
}

TEST_P(CancelTest, CancelStopsTheWorkflowBeforeItsNextStep) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, ManySteps, 100, WithWorkflowID("ticker"));
  while (g_steps_run.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CancelWorkflow(ctx, "ticker");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int after = g_steps_run.load();
  EXPECT_LT(after, 10);
  EXPECT_EQ(Status("ticker"), "CANCELLED");
  EXPECT_LE(static_cast<int>(OpenRaw()->ListSteps("ticker").size()), after);
  Shutdown(ctx);
}

TEST_P(CancelTest, CancelWakesASleepingWorkflowAtOnce) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, LongSleep, 30000, WithWorkflowID("sleeper"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = Clock::now();
  CancelWorkflow(ctx, "sleeper");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
  Shutdown(ctx);
}

TEST_P(CancelTest, CancelDuringALongStepRequestsItsStopTokenAndRecordsNothing) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, LongStep, 0, WithWorkflowID("long-step"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CancelWorkflow(ctx, "long-step");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_TRUE(g_step_saw_stop.load());
  EXPECT_TRUE(OpenRaw()->ListSteps("long-step").empty());  // an interrupted step is not recorded
  Shutdown(ctx);
}

TEST_P(CancelTest, CancelFunctionOfWithTimeoutCancelsItsWorkflows) {
  DBOSContext ctx = Start();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::hours(1));
  auto handle = RunWorkflow(timed, LongSleep, 30000, WithWorkflowID("scoped"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  cancel();
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  Shutdown(ctx);
}

TEST_P(CancelTest, CancelUnknownWorkflowIsNonExistent) {
  DBOSContext ctx = Start();
  try {
    CancelWorkflow(ctx, "ghost");
    FAIL() << "expected NonExistentWorkflow";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::NonExistentWorkflow);
  }
  Shutdown(ctx);
}

TEST_P(CancelTest, ChildStartAndResultAreCheckpointedAndReplayed) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, ParentWithStatus, 0, WithWorkflowID("family"));
    for (int i = 0; i < 500 && OpenRaw()->ListSteps("family").size() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Shutdown(ctx);  // interrupts the "hold" step: the parent stays PENDING
  }
  auto steps = OpenRaw()->ListSteps("family");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].function_name, "dbos::testing::cancel_fns::Child");
  EXPECT_EQ(steps[0].child_workflow_id, "family-0");
  EXPECT_EQ(steps[1].function_name, "DBOS.getResult");
  EXPECT_EQ(steps[1].child_workflow_id, "family-0");
  EXPECT_EQ(steps[1].output, "2");
  EXPECT_EQ(steps[2].function_name, "DBOS.getStatus");
  EXPECT_EQ(g_child_runs.load(), 1);
  g_child_runs = 100;  // let "hold" finish on the next run
  DBOSContext ctx = Start();
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "family").GetResult(), 1002);
  EXPECT_EQ(g_child_runs.load(), 100);  // the child was not started again
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(CancelTest);

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing {
namespace {

// Another process (here: a second context on the same database, with another executor ID)
// cancels a workflow that sleeps in the first one: it stops within a queue-runner round.
TEST_P(CancelTest, CancelFromAnotherProcessWakesASleepingWorkflow) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, LongSleep, 60000, WithWorkflowID("remote-cancel"));
  Config other_config = MakeConfig();
  other_config.executor_id = "other-executor";
  DBOSContext other = NewDBOSContext(other_config);
  Launch(other);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = Clock::now();
  CancelWorkflow(other, "remote-cancel");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2500));
  Shutdown(other);
  Shutdown(ctx);
}

TEST_P(CancelTest, CancelledWorkflowThatSwallowsTheCancellationIsCancelled) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, SwallowsCancellation, 0, WithWorkflowID("swallows-cancel"));
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!g_about_to_sleep && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CancelWorkflow(ctx, "swallows-cancel");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(ResultCode(RetrieveWorkflow<int>(ctx, "swallows-cancel")),
            ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(Status("swallows-cancel"), "CANCELLED");
  Shutdown(ctx);
}

TEST_P(CancelTest, UserErrorWithTheCancelledCodeIsRecordedAsTheWorkflowsError) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, ThrowsItsOwnCancelledError, 0, WithWorkflowID("own-cancel"));
  ASSERT_EQ(AwaitNotPending("own-cancel"), "ERROR");  // not left PENDING forever
  for (auto h : {handle, RetrieveWorkflow<int>(ctx, "own-cancel")}) {
    try {
      h.GetResult();
      ADD_FAILURE() << "expected the recorded error";
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::WorkflowCancelled);
      EXPECT_NE(e.Message().find("my own cancellation error"), std::string::npos) << e.what();
    }
  }
  Shutdown(ctx);
}

// Finished workflows leave nothing behind: no watched deadline, no place in a WithTimeout scope.
TEST_P(CancelTest, FinishedWorkflowsAreReleasedFromDeadlinesAndCancelScopes) {
  DBOSContext ctx = Start();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::minutes(10));
  constexpr int kWorkflows = 20;
  for (int i = 0; i < kWorkflows; ++i) {
    EXPECT_EQ(RunWorkflow(timed, Child, 0).GetResult(), 0);
  }
  // The last execution thread may still be releasing after its result arrived.
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (
      (detail::RuntimeOf(ctx).WatchedDeadlineCount() > 0 || detail::ScopeOf(timed)->Size() > 0) &&
      Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(detail::RuntimeOf(ctx).WatchedDeadlineCount(), 0u);
  EXPECT_EQ(detail::ScopeOf(timed)->Size(), 0u);
  // Still cancellable: a workflow running from the scope is remembered until it ends.
  auto running = RunWorkflow(timed, LongSleep, 60000);
  EXPECT_EQ(detail::ScopeOf(timed)->Size(), 1u);
  cancel();
  EXPECT_EQ(ResultCode(running), ErrorCode::AwaitedWorkflowCancelled);
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing
