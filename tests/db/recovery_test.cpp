// Recovery at Launch: this executor's PENDING workflows of this version are re-enqueued on the
// internal queue and resumed from their last recorded step; other executors' and versions' rows
// are left alone; WithMaxRetries dead-letters a workflow that keeps failing to finish.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/workflow_state.hpp"
#include "queue/queue_runner.hpp"
#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::recovery_fns {
std::atomic<int> g_first_step_runs{0};
std::atomic<int> g_second_step_runs{0};

std::string TwoSteps(DBOSContext& ctx, std::string input) {
  RunAsStep(
      ctx, [] { return ++g_first_step_runs; }, WithStepName("first"));
  RunAsStep(
      ctx, [] { return ++g_second_step_runs; }, WithStepName("second"));
  return "done " + input;
}

std::string BlockForever(DBOSContext& ctx, std::string) {
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (!token.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return 0;
      },
      WithStepName("block"));
  return "never";
}

std::atomic<bool> g_about_to_sleep{false};

// Catches everything, the shutdown interrupt included, and returns a fallback.
std::string SwallowsEverything(DBOSContext& ctx, std::string) {
  try {
    g_about_to_sleep = true;
    Sleep(ctx, std::chrono::seconds(60));
  } catch (...) {
    return "fallback";
  }
  return "slept";
}

// Five steps; after each, how many recorded steps are still held for replay.
std::vector<size_t> FiveStepsCountingHeld(DBOSContext& ctx, std::string) {
  std::vector<size_t> held;
  for (int i = 0; i < 5; ++i) {
    RunAsStep(
        ctx, [] { return 0; }, WithStepName("s"));
    held.push_back(detail::WorkflowOf(ctx)->RecordedCount());
  }
  return held;
}
}  // namespace dbos::testing::recovery_fns

namespace dbos::testing {
namespace {
using namespace recovery_fns;

class RecoveryTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_first_step_runs = 0;
    g_second_step_runs = 0;
  }

  // Writes a PENDING TwoSteps row the way a crashed executor leaves it.
  void InsertPending(sysdb::SystemDatabase& db, const std::string& id, const std::string& executor,
                     const std::string& version) {
    sysdb::WorkflowInsert row = WorkflowRow(id, "dbos::testing::recovery_fns::TwoSteps");
    row.executor_id = executor;
    row.application_version = version;
    row.inputs = serialization::EncodeWorkflowInput("in");
    ASSERT_TRUE(db.InsertWorkflow(row).created);
  }

  // Waits (bounded) until the workflow is neither PENDING nor ENQUEUED; returns its status.
  std::string AwaitFinished(const std::string& id) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    std::string now = StatusOf(id);
    while ((now == "PENDING" || now == "ENQUEUED") && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      now = StatusOf(id);
    }
    return now;
  }

  std::string StatusOf(const std::string& id) {
    return OpenRaw()->GetWorkflow(id, false).value().status;
  }
};

TEST_P(RecoveryTest, LaunchResumesFromTheLastRecordedStep) {
  {
    auto db = OpenRaw();
    InsertPending(*db, "crashed", "local", "test-v1");
    sysdb::StepWrite step;
    step.workflow_uuid = "crashed";
    step.function_id = 0;
    step.function_name = "first";
    step.output = "41";
    step.started_at_epoch_ms = step.completed_at_epoch_ms = util::NowEpochMs();
    ASSERT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
  }
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, TwoSteps);
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "crashed").GetResult(), "done in");
  EXPECT_EQ(g_first_step_runs.load(), 0);  // recorded: replayed, not run
  EXPECT_EQ(g_second_step_runs.load(), 1);
  const auto status = RetrieveWorkflow<std::string>(ctx, "crashed").GetStatus();
  EXPECT_EQ(status.attempts, 2);  // the crashed direct run was attempt 1, recovery is attempt 2
  EXPECT_EQ(status.queue_name, sysdb::kInternalQueueName);
  Shutdown(ctx);
}

TEST_P(RecoveryTest, OtherExecutorsAndVersionsAreNotRecovered) {
  {
    auto db = OpenRaw();
    InsertPending(*db, "mine", "local", "test-v1");
    InsertPending(*db, "other-executor", "executor-b", "test-v1");
    InsertPending(*db, "old-version", "local", "test-v0");
  }
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, TwoSteps);
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "mine").GetResult(), "done in");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(StatusOf("other-executor"), "PENDING");
  EXPECT_EQ(StatusOf("old-version"), "PENDING");
  Shutdown(ctx);
}

TEST_P(RecoveryTest, ShutdownLeavesRunningWorkflowsPendingForTheNextLaunch) {
  {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, BlockForever, WithWorkflowName("resumable"));
    Launch(ctx);
    RunWorkflow(ctx, BlockForever, std::string("x"), WithWorkflowID("left-pending"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Shutdown(ctx, std::chrono::seconds(5));
  }
  EXPECT_EQ(StatusOf("left-pending"), "PENDING");
  EXPECT_TRUE(OpenRaw()->ListSteps("left-pending").empty());  // interrupted step not recorded
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto finishes = [](DBOSContext& c, std::string) {
    return RunAsStep(
        c, [] { return std::string("finished"); }, WithStepName("block"));
  };
  RegisterWorkflow(ctx, finishes, WithWorkflowName("resumable"));
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "left-pending").GetResult(), "finished");
  Shutdown(ctx);
}

TEST_P(RecoveryTest, ShutdownSwallowedByUserCodeStillLeavesTheWorkflowPending) {
  g_about_to_sleep = false;
  {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, SwallowsEverything);
    Launch(ctx);
    RunWorkflow(ctx, SwallowsEverything, std::string("x"), WithWorkflowID("swallower"));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!g_about_to_sleep && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(g_about_to_sleep.load());
    Shutdown(ctx, std::chrono::seconds(5));
  }
  // The fallback value returned after the interrupt is not the workflow's outcome.
  EXPECT_EQ(StatusOf("swallower"), "PENDING");
  EXPECT_FALSE(OpenRaw()->GetWorkflow("swallower", true)->output.has_value());
}

TEST_P(RecoveryTest, WorkflowThatNeverFinishesIsDeadLetteredAfterMaxRetries) {
  constexpr int kMaxRetries = 2;
  {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, BlockForever, WithWorkflowName("stuck"), WithMaxRetries(kMaxRetries));
    Launch(ctx);
    RunWorkflow(ctx, BlockForever, std::string("x"), WithWorkflowID("poison"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Shutdown(ctx);
  }
  // Attempt 1 was the direct run; each launch recovers it once more. Attempt kMaxRetries + 2
  // exceeds the limit.
  for (int launch = 0; launch < kMaxRetries + 1; ++launch) {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, BlockForever, WithWorkflowName("stuck"), WithMaxRetries(kMaxRetries));
    Launch(ctx);
    for (int i = 0; i < 200; ++i) {
      auto row = OpenRaw()->GetWorkflow("poison", false);
      if (row->status != "ENQUEUED" && row->recovery_attempts >= launch + 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Shutdown(ctx);
  }
  auto row = OpenRaw()->GetWorkflow("poison", false);
  EXPECT_EQ(row->status, "MAX_RECOVERY_ATTEMPTS_EXCEEDED");
  EXPECT_FALSE(row->queue_name.has_value());
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, BlockForever, WithWorkflowName("stuck"), WithMaxRetries(kMaxRetries));
  Launch(ctx);
  try {
    RetrieveWorkflow<std::string>(ctx, "poison").GetResult();
    FAIL() << "expected DeadLetterQueue";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::DeadLetterQueue);
  }
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(RecoveryTest);

// A replay holds each recorded step only until it is replayed.
TEST_P(RecoveryTest, ReplayReleasesEachRecordedStepOnceReplayed) {
  {
    auto db = OpenRaw();
    InsertPending(*db, "held", "local", "test-v1");
    for (int i = 0; i < 5; ++i) {
      sysdb::StepWrite step;
      step.workflow_uuid = "held";
      step.function_id = i;
      step.function_name = "s";
      step.output = "0";
      ASSERT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
    }
    RunSql(url_, std::string("UPDATE ") + (IsPostgres() ? schema_ + "." : "") +
                     "workflow_status SET name = 'held-steps' WHERE workflow_uuid = 'held'");
  }
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, FiveStepsCountingHeld, WithWorkflowName("held-steps"));
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<std::vector<size_t>>(ctx, "held").GetResult(),
            (std::vector<size_t>{4, 3, 2, 1, 0}));
  Shutdown(ctx);
}

// A claimed workflow that fails to start does not abandon the rest of its batch, and is itself
// started again at a later round instead of staying PENDING unexecuted.
TEST_P(RecoveryTest, WorkflowThatFailsToStartDoesNotAbandonTheRestOfItsBatch) {
  {
    auto db = OpenRaw();
    for (const std::string id : {"batch-0", "batch-1", "batch-2"}) {
      InsertPending(*db, id, "local", "test-v1");  // recovered together at the next launch
    }
  }
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, TwoSteps);
  std::atomic<int> failures{0};
  detail::RuntimeOf(ctx).SetDequeueHookForTesting([&](const std::string& id) {
    if (id == "batch-0" && failures++ == 0) throw std::runtime_error("injected start failure");
  });
  Launch(ctx);
  for (const std::string id : {"batch-0", "batch-1", "batch-2"}) {
    EXPECT_EQ(AwaitFinished(id), "SUCCESS") << id;
  }
  EXPECT_EQ(failures.load(), 2);  // failed once, started at the next round
  Shutdown(ctx);
}

// Recovery of a backlog larger than a claim batch: the queue runner claims it (inputs included)
// a batch at a time and starts each batch before it claims the next, so the claimed workflows
// not yet started never exceed one batch, whatever the backlog. The runner's thread calls the
// hook before each start: at the first start of each batch, the rows claimed so far (no longer
// ENQUEUED) minus the workflows started so far are what one claim loaded.
TEST_P(RecoveryTest, ABacklogIsClaimedInBoundedBatches) {
  constexpr int kBatch = queue::QueueRunner::kInternalClaimBatch;
  constexpr int kBacklog = 2 * kBatch + 10;
  {
    auto db = OpenRaw();
    for (int i = 0; i < kBacklog; ++i) {
      InsertPending(*db, "backlog-" + std::to_string(i), "local", "test-v1");
    }
  }
  const std::string table = IsPostgres() ? schema_ + ".workflow_status" : "workflow_status";
  const auto count = [&](const std::string& status) {
    return std::stoi(
        RunSql(url_, "SELECT count(*) FROM " + table + " WHERE status = '" + status + "'")
            .at(0)
            .at(0));
  };
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, TwoSteps);
  int started = 0;  // the runner's thread only
  std::vector<int> claimed_not_started;
  detail::RuntimeOf(ctx).SetDequeueHookForTesting([&](const std::string&) {
    if (started++ % kBatch == 0) {
      claimed_not_started.push_back(kBacklog - count("ENQUEUED") - (started - 1));
    }
  });
  Launch(ctx);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count("SUCCESS") < kBacklog && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Shutdown(ctx);
  EXPECT_EQ(count("SUCCESS"), kBacklog);
  EXPECT_EQ(claimed_not_started, (std::vector<int>{kBatch, kBatch, 10}));
}

}  // namespace
}  // namespace dbos::testing
