// A checkpoint write that finds its step ID taken (by an earlier or concurrent execution) uses
// the recorded outcome only when it belongs to the same operation; another operation's row is
// the non-determinism error a replay raises (UnexpectedStep), never another step's value.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "support/db_test.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::conflict_fns {

std::atomic<bool> g_open{false};

void AwaitGate() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!g_open && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int StepAfterGate(DBOSContext& ctx, int x) {
  AwaitGate();
  return RunAsStep(
      ctx, [x] { return x; }, WithStepName("mine"));
}

int SleepAfterGate(DBOSContext& ctx, int x) {
  AwaitGate();
  Sleep(ctx, std::chrono::milliseconds(1));
  return x;
}

}  // namespace dbos::testing::conflict_fns

namespace dbos::testing {
namespace {
using namespace conflict_fns;

class CheckpointConflictTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_open = false;
    ctx_ = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx_, StepAfterGate);
    RegisterWorkflow(ctx_, SleepAfterGate);
    Launch(ctx_);
  }
  void TearDown() override {
    g_open = true;
    Shutdown(ctx_);
    DbTest::TearDown();
  }

  // Records step 0 of `id` as another operation ("theirs", output 5), as another execution of
  // the workflow that took another path would.
  void RecordTheirs(const std::string& id) {
    sysdb::StepWrite step;
    step.workflow_uuid = id;
    step.function_id = 0;
    step.function_name = "theirs";
    step.output = "5";
    step.started_at_epoch_ms = step.completed_at_epoch_ms = util::NowEpochMs();
    ASSERT_EQ(OpenRaw()->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
  }

  static void ExpectUnexpectedStep(WorkflowHandle<int> handle) {
    try {
      const int value = handle.GetResult();
      ADD_FAILURE() << "expected UnexpectedStep, got " << value;
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::UnexpectedStep) << e.what();
    }
  }

  DBOSContext ctx_;
};

TEST_P(CheckpointConflictTest, StepFindingAnotherStepRecordedAtItsIdIsUnexpectedStep) {
  auto handle = RunWorkflow(ctx_, StepAfterGate, 1, WithWorkflowID("stepper"));
  RecordTheirs("stepper");
  g_open = true;
  ExpectUnexpectedStep(handle);
}

TEST_P(CheckpointConflictTest, SleepFindingAnotherStepRecordedAtItsIdIsUnexpectedStep) {
  auto handle = RunWorkflow(ctx_, SleepAfterGate, 1, WithWorkflowID("sleeper"));
  RecordTheirs("sleeper");
  g_open = true;
  ExpectUnexpectedStep(handle);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(CheckpointConflictTest);

}  // namespace
}  // namespace dbos::testing
