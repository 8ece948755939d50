// dbos::Go and dbos::Select: step IDs taken at the Go call, concurrent steps recorded once and
// replayed without running again, the recorded Select choice on replay, errors through Get,
// refusal inside steps, interruption while Go steps run, the workflow's end waiting for its Go
// steps, and a fan-out of 100 steps that takes about the time of one.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"

namespace dbos::testing::go_fns {

// A one-way gate: steps and the test wait on it instead of sleeping.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void Reset() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  /// True once open; false after `timeout`.
  bool Wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  /// True once open; false when `token` is stopped first.
  bool WaitOrStop(std::stop_token token) {
    std::unique_lock lock(mutex_);
    return cv_.wait(lock, token, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool open_ = false;
};

struct PaymentDeclined : std::runtime_error {
  explicit PaymentDeclined(const std::string& message) : std::runtime_error(message) {}
};

Gate g_first;
Gate g_second;
Gate g_started;
std::atomic<int> g_a_runs{0};
std::atomic<int> g_b_runs{0};
std::atomic<int> g_attempts{0};
std::atomic<bool> g_saw_stop{false};
std::atomic<bool> g_step_returned{false};
std::optional<StepFuture<int>> g_kept;

// Three steps whose IDs each body reports: the first waits until the second is recorded.
std::string IdsInCallOrder(DBOSContext& ctx, int) {
  auto slow = Go(
      ctx,
      [&] {
        g_first.Wait();
        return GetStepID(ctx);
      },
      WithStepName("slow"));
  auto fast = Go(
      ctx, [&] { return GetStepID(ctx); }, WithStepName("fast"));
  const int fast_id = fast.Get();  // recorded before "slow" finishes
  g_first.Open();
  const int inline_id = RunAsStep(
      ctx, [&] { return GetStepID(ctx); }, WithStepName("inline"));
  return std::to_string(slow.Get()) + "," + std::to_string(fast_id) + "," +
         std::to_string(inline_id);
}

// "a" finishes only after Select chose "b"; then the workflow waits for a message.
std::string RaceThenWait(DBOSContext& ctx, int) {
  auto a = Go(
      ctx,
      [](std::stop_token token) {
        ++g_a_runs;
        g_first.WaitOrStop(token);
        return std::string("a");
      },
      WithStepName("a"));
  auto b = Go(
      ctx,
      [] {
        ++g_b_runs;
        return std::string("b");
      },
      WithStepName("b"));
  const std::size_t first = Select(ctx, {&a, &b});
  g_first.Open();
  const std::string result = std::to_string(first) + a.Get() + b.Get();
  g_started.Open();
  return result + Recv<std::string>(ctx, "continue", std::chrono::seconds(60));
}

// Outcomes through Get: a value twice, a registered error twice, an unregistered one, retries.
std::string Outcomes(DBOSContext& ctx, int) {
  auto value = Go(
      ctx, [] { return 7; }, WithStepName("value"));
  auto declined = Go(
      ctx, []() -> int { throw PaymentDeclined("card declined"); }, WithStepName("declined"));
  auto plain = Go(
      ctx, []() -> int { throw std::invalid_argument("bad input"); }, WithStepName("plain"));
  auto flaky = Go(
      ctx,
      []() -> int {
        ++g_attempts;
        throw std::runtime_error("down");
      },
      WithStepName("flaky"), WithStepMaxRetries(2), WithBaseInterval(std::chrono::milliseconds(1)));
  std::string out = std::to_string(value.Get()) + std::to_string(value.Get());
  for (int i = 0; i < 2; ++i) {
    try {
      declined.Get();
    } catch (const PaymentDeclined& e) {
      out += std::string("|declined:") + e.what();
    }
  }
  try {
    plain.Get();
  } catch (const DBOSError& e) {
    out += "|" + std::string(ErrorCodeName(e.Code())) + ":" + e.ErrorTypeName();
  }
  try {
    flaky.Get();
  } catch (const DBOSError& e) {
    out += "|" + std::string(ErrorCodeName(e.Code()));
  }
  return out;
}

// Returns "<code>: <message>" of what `call` throws.
template <typename F>
std::string Refusal(F&& call) {
  try {
    call();
  } catch (const DBOSError& e) {
    return std::string(ErrorCodeName(e.Code())) + ": " + e.Message();
  }
  return "allowed";
}

// Go inside a RunAsStep body, and Go, Recv and Select inside a Go step.
std::vector<std::string> RefusedInSteps(DBOSContext& ctx, int) {
  std::vector<std::string> refusals;
  refusals.push_back(RunAsStep(
      ctx, [&] { return Refusal([&] { Go(ctx, [] { return 1; }); }); }, WithStepName("inline")));
  auto other = Go(
      ctx, [] { return 1; }, WithStepName("other"));
  other.Get();
  auto inside = Go(
      ctx,
      [&] {
        std::vector<std::string> inner;
        inner.push_back(Refusal([&] { Go(ctx, [] { return 1; }); }));
        inner.push_back(Refusal([&] { Recv<int>(ctx, "t", std::chrono::milliseconds(1)); }));
        inner.push_back(Refusal([&] { Select(ctx, {&other}); }));
        return inner;
      },
      WithStepName("inside"));
  for (auto& refusal : inside.Get()) refusals.push_back(refusal);
  return refusals;
}

// While a Go step runs, the workflow's own calls are workflow operations with their own IDs, and
// an inline step and the Go step each see their own ID.
std::string WorkflowBesideAGoStep(DBOSContext& ctx, int) {
  auto held = Go(
      ctx,
      [&](std::stop_token token) {
        SetEvent(ctx, "from-step", 1);  // part of the step: no checkpoint of its own
        g_first.WaitOrStop(token);
        return GetStepID(ctx);
      },
      WithStepName("held"));
  SetEvent(ctx, "from-workflow", 2);  // step 1
  const std::string outside = Refusal([&] { GetStepID(ctx); });
  const int inline_id = RunAsStep(
      ctx, [&] { return GetStepID(ctx); }, WithStepName("inline"));  // step 2
  g_first.Open();
  return std::to_string(held.Get()) + "," + std::to_string(inline_id) + "," + outside;
}

// Waits in a Go step until the workflow is cancelled or shut down (or g_first opens).
int WaitsInAGoStep(DBOSContext& ctx, int) {
  auto waiting = Go(
      ctx,
      [](std::stop_token token) {
        ++g_a_runs;
        g_started.Open();
        const bool released = g_first.WaitOrStop(token);
        g_saw_stop = !released;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a slow reaction to stop
        g_step_returned = true;
        return 5;
      },
      WithStepName("waiting"));
  return waiting.Get();
}

int FanOut(DBOSContext& ctx, int count) {
  std::vector<StepFuture<int>> futures;
  for (int i = 0; i < count; ++i) {
    futures.push_back(Go(
        ctx,
        [i] {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          return i;
        },
        WithStepName("sleeper")));
  }
  int sum = 0;
  for (auto& future : futures) sum += future.Get();
  return sum;
}

// Select when several have finished, and bad lists.
std::vector<std::string> SelectRules(DBOSContext& ctx, int) {
  auto c = Go(
      ctx, [] { return 1; }, WithStepName("c"));
  auto d = Go(
      ctx, [] { return 2; }, WithStepName("d"));
  c.Get();
  d.Get();
  std::vector<std::string> out;
  out.push_back(std::to_string(Select(ctx, {&c, &d})));  // both finished: the lowest index
  out.push_back(std::to_string(Select(ctx, {&d, &c})));
  out.push_back(Refusal([&] { Select(ctx, {}); }));
  StepFuture<int> empty;
  out.push_back(Refusal([&] { Select(ctx, {&c, &empty}); }));
  out.push_back(Refusal([&] { empty.Get(); }));
  out.push_back(std::to_string(GetWorkflowSteps(ctx, GetWorkflowID(ctx)).size()));
  return out;
}

// Keeps a running step's future beyond the workflow's own frame.
int LeavesAStepRunning(DBOSContext& ctx, int) {
  g_kept.emplace(Go(
      ctx,
      [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        g_step_returned = true;
        return 1;
      },
      WithStepName("late")));
  return 0;
}

// Drops a future unwaited: its destructor waits for the body, which uses a local.
int DropsAFuture(DBOSContext& ctx, int) {
  int seen = 0;
  {
    const std::string local = "captured";
    auto dropped = Go(
        ctx,
        [&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          seen = static_cast<int>(local.size());
          return 0;
        },
        WithStepName("dropped"));
  }
  return seen;
}

}  // namespace dbos::testing::go_fns

namespace dbos::testing {
namespace {
using namespace go_fns;

class GoSelectTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    for (Gate* gate : {&g_first, &g_second, &g_started}) gate->Reset();
    g_a_runs = 0;
    g_b_runs = 0;
    g_attempts = 0;
    g_saw_stop = false;
    g_step_returned = false;
  }
  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterErrorType<PaymentDeclined>(ctx);
    RegisterWorkflow(ctx, IdsInCallOrder);
    RegisterWorkflow(ctx, RaceThenWait);
    RegisterWorkflow(ctx, Outcomes);
    RegisterWorkflow(ctx, RefusedInSteps);
    RegisterWorkflow(ctx, WorkflowBesideAGoStep);
    RegisterWorkflow(ctx, WaitsInAGoStep);
    RegisterWorkflow(ctx, FanOut);
    RegisterWorkflow(ctx, SelectRules);
    RegisterWorkflow(ctx, LeavesAStepRunning);
    RegisterWorkflow(ctx, DropsAFuture);
    Launch(ctx);
    return ctx;
  }
  std::vector<sysdb::StepRow> Steps(const std::string& id) { return OpenRaw()->ListSteps(id); }
  std::string StatusOf(const std::string& id) {
    return OpenRaw()->GetWorkflowStatusString(id).value_or("missing");
  }
};

TEST_P(GoSelectTest, StepIdsFollowTheGoCallsWhateverOrderTheStepsFinishIn) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, IdsInCallOrder, 0, WithWorkflowID("ids")).GetResult(), "0,1,2");
  const auto steps = Steps("ids");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].function_name, "slow");
  EXPECT_EQ(steps[1].function_name, "fast");
  EXPECT_EQ(steps[2].function_name, "inline");
  EXPECT_LE(*steps[1].completed_at_epoch_ms, *steps[0].completed_at_epoch_ms);
  Shutdown(ctx);
}

TEST_P(GoSelectTest, RecoveryReplaysRecordedStepsAndTheRecordedChoice) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, RaceThenWait, 0, WithWorkflowID("race"));
    ASSERT_TRUE(g_started.Wait());  // both steps and the choice are recorded; it waits in Recv
    Shutdown(ctx);
  }
  ASSERT_EQ(StatusOf("race"), "PENDING");
  const auto steps = Steps("race");
  ASSERT_GE(steps.size(), 3u);
  EXPECT_EQ(steps[2].function_name, "DBOS.select");
  EXPECT_EQ(serialization::DecodeValue(steps[2].output, steps[2].serialization),
            (nlohmann::json{{"index", 1}, {"value", "b"}}));
  EXPECT_EQ(g_a_runs.load(), 1);
  EXPECT_EQ(g_b_runs.load(), 1);
  // Both steps replay finished at once, so a fresh Select would choose index 0: the recorded
  // choice (1) is what the replay returns.
  DBOSContext ctx = Start();
  Send(ctx, "race", std::string("!"), "continue");
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "race").GetResult(), "1ab!");
  EXPECT_EQ(g_a_runs.load(), 1);  // recorded bodies did not run again
  EXPECT_EQ(g_b_runs.load(), 1);
  Shutdown(ctx);
}

TEST_P(GoSelectTest, GetReturnsTheValueOrRethrowsTheErrorEveryTime) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, Outcomes, 0).GetResult(),
            "77|declined:card declined|declined:card declined|StepExecution:std::invalid_argument"
            "|MaxStepRetriesExceeded");
  EXPECT_EQ(g_attempts.load(), 3);
  Shutdown(ctx);
}

TEST_P(GoSelectTest, GoIsRefusedOutsideAWorkflowAndInsideSteps) {
  DBOSContext ctx = Start();
  EXPECT_EQ(Refusal([&] { Go(ctx, [] { return 1; }); }),
            "StepExecution: Go must be called from inside a workflow");
  const auto refusals = RunWorkflow(ctx, RefusedInSteps, 0, WithWorkflowID("refused")).GetResult();
  EXPECT_EQ(refusals, (std::vector<std::string>{
                          "StepExecution: cannot call Go within a step",
                          "StepExecution: cannot call Go within a step",
                          "StepExecution: cannot call Recv within a step",
                          "StepExecution: cannot call Select within a step",
                      }));
  EXPECT_EQ(Steps("refused").size(), 3u);  // "inline", "other", "inside": nothing else recorded
  Shutdown(ctx);
}

TEST_P(GoSelectTest, TheWorkflowThreadAndAGoStepEachKeepTheirOwnStep) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, WorkflowBesideAGoStep, 0, WithWorkflowID("beside")).GetResult(),
            "0,2,InvalidOption: GetStepID must be called inside a step");
  const auto steps = Steps("beside");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].function_name, "held");
  EXPECT_EQ(steps[1].function_name, "DBOS.setEvent");
  EXPECT_EQ(steps[2].function_name, "inline");
  EXPECT_EQ(GetEvent<int>(ctx, "beside", "from-step", std::chrono::seconds(1)), 1);
  EXPECT_EQ(GetEvent<int>(ctx, "beside", "from-workflow", std::chrono::seconds(1)), 2);
  Shutdown(ctx);
}

TEST_P(GoSelectTest, CancellationWhileAGoStepRunsEndsTheWaitAndRecordsNothing) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, WaitsInAGoStep, 0, WithWorkflowID("cancelled"));
  ASSERT_TRUE(g_started.Wait());
  CancelWorkflow(ctx, "cancelled");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_TRUE(g_saw_stop.load());
  EXPECT_TRUE(g_step_returned.load());  // the workflow ended after its step
  EXPECT_TRUE(Steps("cancelled").empty());
  EXPECT_EQ(StatusOf("cancelled"), "CANCELLED");
  Shutdown(ctx);
}

TEST_P(GoSelectTest, ShutdownWhileAGoStepRunsLeavesItForRecovery) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, WaitsInAGoStep, 0, WithWorkflowID("interrupted"));
    ASSERT_TRUE(g_started.Wait());
    Shutdown(ctx, std::chrono::seconds(10));
    EXPECT_TRUE(g_step_returned.load());  // Shutdown waited for the workflow, which waited
  }
  EXPECT_TRUE(g_saw_stop.load());
  EXPECT_EQ(StatusOf("interrupted"), "PENDING");
  EXPECT_TRUE(Steps("interrupted").empty());
  g_first.Open();
  DBOSContext ctx = Start();
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "interrupted").GetResult(), 5);
  EXPECT_EQ(g_a_runs.load(), 2);
  ASSERT_EQ(Steps("interrupted").size(), 1u);
  Shutdown(ctx);
}

TEST_P(GoSelectTest, FanOutOfAHundredStepsTakesAboutTheTimeOfTheSlowest) {
  DBOSContext ctx = Start();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunWorkflow(ctx, FanOut, 100, WithWorkflowID("fan")).GetResult(), 4950);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(3));  // one after another: 20 s
  const auto steps = Steps("fan");
  ASSERT_EQ(steps.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(steps[static_cast<size_t>(i)].function_id, i);
    EXPECT_EQ(steps[static_cast<size_t>(i)].output, std::to_string(i));
  }
  Shutdown(ctx);
}

TEST_P(GoSelectTest, SelectPrefersTheLowestFinishedIndexAndRefusesBadLists) {
  DBOSContext ctx = Start();
  const auto out = RunWorkflow(ctx, SelectRules, 0, WithWorkflowID("rules")).GetResult();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0], "0");
  EXPECT_EQ(out[1], "0");
  EXPECT_EQ(out[2], "InvalidOption: Select needs at least one StepFuture");
  EXPECT_EQ(out[3], "InvalidOption: Select: future 1 is null or empty (moved from?)");
  EXPECT_EQ(out[4], "InvalidOption: empty StepFuture (moved from?)");
  EXPECT_EQ(out[5], "4");  // c, d and two DBOS.select: refused calls took no step ID
  const auto steps = Steps("rules");
  ASSERT_EQ(steps.size(), 5u);  // and DBOS.getWorkflowSteps
  EXPECT_EQ(serialization::DecodeValue(steps[3].output, steps[3].serialization),
            (nlohmann::json{{"index", 0}, {"value", 2}}));
  Shutdown(ctx);
}

TEST_P(GoSelectTest, AWorkflowEndsOnlyAfterItsGoStepsFinish) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, LeavesAStepRunning, 0, WithWorkflowID("late")).GetResult(), 0);
  EXPECT_TRUE(g_step_returned.load());
  EXPECT_EQ(Steps("late").size(), 1u);
  g_kept.reset();
  EXPECT_EQ(RunWorkflow(ctx, DropsAFuture, 0, WithWorkflowID("dropped")).GetResult(), 8);
  EXPECT_EQ(Steps("dropped").size(), 1u);
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(GoSelectTest);

}  // namespace
}  // namespace dbos::testing
