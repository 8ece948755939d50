// Steps: retries with backoff, error recording and identical replay of errors, non-determinism
// detection, and the calls a step may not make.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"

namespace dbos::testing::step_fns {

struct PaymentDeclined : std::runtime_error {
  explicit PaymentDeclined(const std::string& message) : std::runtime_error(message) {}
};

std::atomic<int> g_attempts{0};
std::atomic<int> g_throwing_step_runs{0};
std::atomic<bool> g_block_second_step{true};

std::string CatchThenBlock(DBOSContext& ctx, int);
std::string StepNamedA(DBOSContext& ctx, int);
int Leaf(DBOSContext&, int x);

}  // namespace dbos::testing::step_fns

namespace dbos::testing {
namespace {
using namespace step_fns;

class StepTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_attempts = 0;
    g_throwing_step_runs = 0;
    g_block_second_step = true;
  }
};

TEST_P(StepTest, RetriesWithBackoffUntilSuccess) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext& c, int fail_times) {
    return RunAsStep(
        c,
        [fail_times] {
          if (++g_attempts <= fail_times) throw std::runtime_error("flaky");
          return g_attempts.load();
        },
        WithStepName("flaky"), WithStepMaxRetries(5),
        WithBaseInterval(std::chrono::milliseconds(10)), WithBackoffFactor(2.0));
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("retry-wf"));
  Launch(ctx);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunWorkflow(ctx, wf, 3, WithWorkflowID("retry")).GetResult(), 4);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(60));  // 10 + 20 + 40 ms, -5% jitter
  auto steps = OpenRaw()->ListSteps("retry");
  ASSERT_EQ(steps.size(), 1u);  // only the final outcome is recorded
  EXPECT_EQ(steps[0].output, "4");
  Shutdown(ctx);
}

TEST_P(StepTest, ExhaustedRetriesThrowMaxStepRetriesExceeded) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext& c, int) {
    try {
      RunAsStep(
          c,
          []() -> int {
            ++g_attempts;
            throw std::runtime_error("always down");
          },
          WithStepName("down"), WithStepMaxRetries(2),
          WithBaseInterval(std::chrono::milliseconds(1)));
    } catch (const DBOSError& e) {
      return std::string(ErrorCodeName(e.Code())) + "|" + e.Message();
    }
    return std::string("no error");
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("exhaust"));
  Launch(ctx);
  const std::string result = RunWorkflow(ctx, wf, 0).GetResult();
  EXPECT_EQ(g_attempts.load(), 3);
  EXPECT_EQ(result.rfind("MaxStepRetriesExceeded|", 0), 0u) << result;
  EXPECT_NE(result.find("always down"), std::string::npos) << result;
  Shutdown(ctx);
}

TEST_P(StepTest, UnregisteredExceptionSurfacesAsStepExecutionWithItsTypeAndMessage) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext& c, int) {
    try {
      RunAsStep(
          c, []() -> int { throw std::invalid_argument("bad card"); }, WithStepName("s"));
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::StepExecution);
      return e.ErrorTypeName() + ":" + e.Message();
    }
    return std::string();
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("unregistered-error"));
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, wf, 0).GetResult(), "std::invalid_argument:bad card");
  Shutdown(ctx);
}

TEST_P(StepTest, RegisteredExceptionIsRethrownAsItsType) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterErrorType<PaymentDeclined>(ctx);
  auto wf = [](DBOSContext& c, int) -> std::string {
    try {
      RunAsStep(
          c, []() -> int { throw PaymentDeclined("card 42 declined"); }, WithStepName("s"));
    } catch (const PaymentDeclined& e) {
      return std::string("caught PaymentDeclined: ") + e.what();
    }
    return "not caught";
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("registered-error"));
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, wf, 0).GetResult(), "caught PaymentDeclined: card 42 declined");
  Shutdown(ctx);
}

TEST_P(StepTest, WorkflowErrorReachesGetResultOnLocalAndPolledHandles) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterErrorType<PaymentDeclined>(ctx);
  auto registered = [](DBOSContext&, int) -> int { throw PaymentDeclined("declined"); };
  auto plain = [](DBOSContext&, int) -> int { throw std::logic_error("broken"); };
  RegisterWorkflow(ctx, registered, WithWorkflowName("throws-registered"));
  RegisterWorkflow(ctx, plain, WithWorkflowName("throws-plain"));
  Launch(ctx);
  auto h1 = RunWorkflow(ctx, registered, 0, WithWorkflowID("err-registered"));
  EXPECT_THROW(h1.GetResult(), PaymentDeclined);
  EXPECT_THROW(RetrieveWorkflow<int>(ctx, "err-registered").GetResult(), PaymentDeclined);
  auto h2 = RunWorkflow(ctx, plain, 0, WithWorkflowID("err-plain"));
  for (auto handle : {h2, RetrieveWorkflow<int>(ctx, "err-plain")}) {
    try {
      handle.GetResult();
      FAIL() << "expected WorkflowExecution";
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::WorkflowExecution);
      EXPECT_EQ(e.ErrorTypeName(), "std::logic_error");
      EXPECT_EQ(e.Message(), "broken");
    }
  }
  const auto status = h2.GetStatus();
  EXPECT_EQ(status.status, WorkflowStatusType::Error);
  EXPECT_EQ(status.error, "broken");
  auto row = OpenRaw()->GetWorkflow("err-plain", true);
  ASSERT_TRUE(row && row->error);
  const auto recorded = nlohmann::json::parse(*row->error);
  EXPECT_EQ(recorded["name"], "std::logic_error");
  EXPECT_EQ(recorded["message"], "broken");
  Shutdown(ctx);
}

// The workflow catches a step's error, then blocks in a second step until shutdown. A second
// context recovers it: the recorded error must be caught the same way, without rerunning the step.
}  // namespace
}  // namespace dbos::testing

std::string dbos::testing::step_fns::CatchThenBlock(DBOSContext& ctx, int) {
  std::string caught;
  try {
    RunAsStep(
        ctx,
        []() -> int {
          ++g_throwing_step_runs;
          throw PaymentDeclined("first run only");
        },
        WithStepName("throwing"));
  } catch (const PaymentDeclined& e) {
    caught = std::string("PaymentDeclined:") + e.what();
  } catch (const DBOSError& e) {
    caught = std::string("DBOSError:") + e.what();
  }
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (g_block_second_step && !token.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return 0;
      },
      WithStepName("blocking"));
  return caught;
}

namespace dbos::testing {
namespace {

TEST_P(StepTest, ErrorsReplayIdenticallyAfterRecovery) {
  {
    DBOSContext first = NewDBOSContext(MakeConfig());
    RegisterErrorType<PaymentDeclined>(first);
    RegisterWorkflow(first, CatchThenBlock);
    Launch(first);
    RunWorkflow(first, CatchThenBlock, 0, WithWorkflowID("replay-errors"));
    for (int i = 0; i < 400 && OpenRaw()->ListSteps("replay-errors").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Shutdown(first);  // interrupts the blocking step: not recorded, workflow stays PENDING
  }
  ASSERT_EQ(OpenRaw()->GetWorkflow("replay-errors", false)->status, "PENDING");
  ASSERT_EQ(OpenRaw()->ListSteps("replay-errors").size(), 1u);
  g_block_second_step = false;
  DBOSContext second = NewDBOSContext(MakeConfig());
  RegisterErrorType<PaymentDeclined>(second);
  RegisterWorkflow(second, CatchThenBlock);
  Launch(second);  // recovers the workflow
  EXPECT_EQ(RetrieveWorkflow<std::string>(second, "replay-errors").GetResult(),
            "PaymentDeclined:first run only");
  EXPECT_EQ(g_throwing_step_runs.load(), 1);
  EXPECT_EQ(OpenRaw()->ListSteps("replay-errors").size(), 2u);
  Shutdown(second);
}

}  // namespace
}  // namespace dbos::testing

std::string dbos::testing::step_fns::StepNamedA(DBOSContext& ctx, int) {
  RunAsStep(
      ctx, [] { return 1; }, WithStepName("a"));
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (!token.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return 0;
      },
      WithStepName("wait"));
  return "done";
}

namespace dbos::testing {
namespace {

TEST_P(StepTest, DifferentStepAtRecordedPositionIsUnexpectedStep) {
  {
    DBOSContext first = NewDBOSContext(MakeConfig());
    RegisterWorkflow(first, StepNamedA, WithWorkflowName("changing"));
    Launch(first);
    RunWorkflow(first, StepNamedA, 0, WithWorkflowID("nondeterministic"));
    for (int i = 0; i < 400 && OpenRaw()->ListSteps("nondeterministic").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Shutdown(first);
  }
  DBOSContext second = NewDBOSContext(MakeConfig());
  auto changed = [](DBOSContext& c, int) {
    RunAsStep(
        c, [] { return 1; }, WithStepName("b"));  // code changed: "a" is recorded here
    return std::string("done");
  };
  RegisterWorkflow(second, changed, WithWorkflowName("changing"));
  Launch(second);
  try {
    RetrieveWorkflow<std::string>(second, "nondeterministic").GetResult();
    FAIL() << "expected UnexpectedStep";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::UnexpectedStep) << e.what();
    EXPECT_NE(e.Message().find("function a was recorded when b was expected"), std::string::npos)
        << e.what();
  }
  Shutdown(second);
}

TEST_P(StepTest, StepOutsideWorkflowIsStepExecution) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  Launch(ctx);
  try {
    RunAsStep(
        ctx, [] { return 1; }, WithStepName("loose"));
    FAIL() << "expected StepExecution";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::StepExecution);
  }
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing

int dbos::testing::step_fns::Leaf(DBOSContext&, int x) { return x; }

namespace dbos::testing {
namespace {

TEST_P(StepTest, WorkflowCallsInsideStepAreRejectedAndNestedStepsAreNotCheckpointed) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Leaf);
  auto wf = [](DBOSContext& c, int) {
    std::string rejected;
    RunAsStep(
        c,
        [&] {
          try {
            RunWorkflow(c, Leaf, 1);
          } catch (const DBOSError& e) {
            if (e.Code() == ErrorCode::StepExecution &&
                e.Message() == "cannot call RunWorkflow within a step") {
              rejected = "rejected";
            }
          }
          return RunAsStep(
              c, [] { return 5; }, WithStepName("inner"));  // part of "outer"
        },
        WithStepName("outer"));
    return rejected;
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("outer-wf"));
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, wf, 0, WithWorkflowID("nested")).GetResult(), "rejected");
  auto steps = OpenRaw()->ListSteps("nested");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].function_name, "outer");
  EXPECT_EQ(steps[0].output, "5");
  Shutdown(ctx);
}

TEST_P(StepTest, VoidStepsAndWorkflowsWork) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext& c, int n) -> void {
    RunAsStep(
        c, [n] { g_attempts += n; }, WithStepName("add"));
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("void-wf"));
  Launch(ctx);
  RunWorkflow(ctx, wf, 3).GetResult();
  EXPECT_EQ(g_attempts.load(), 3);
  Shutdown(ctx);
}

// A step result or error that is not UTF-8 is recorded as the step's error (readable), the same
// on the first run and on replay; nothing JSON-specific escapes to the workflow.
TEST_P(StepTest, StepOutcomesThatAreNotUtf8AreRecordedAsReadableErrors) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext& c, int) {
    std::string seen;
    try {
      RunAsStep(
          c, [] { return std::string("caf\xC3"); }, WithStepName("bad-result"));
    } catch (const DBOSError& e) {
      seen += e.Message() + "|";
    }
    try {
      RunAsStep(
          c, []() -> int { throw std::runtime_error("bad \xFF byte"); }, WithStepName("bad-error"));
    } catch (const DBOSError& e) {
      seen += e.Message();
    }
    return seen;
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("utf8-steps"));
  Launch(ctx);
  const std::string seen = RunWorkflow(ctx, wf, 0, WithWorkflowID("utf8-steps")).GetResult();
  EXPECT_NE(seen.find("the result of step bad-result could not be stored: it is not valid UTF-8"),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("the error of step bad-error could not be stored as thrown"),
            std::string::npos)
      << seen;
  const auto steps = OpenRaw()->ListSteps("utf8-steps");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(steps[0].error.has_value());
  EXPECT_TRUE(steps[1].error.has_value());
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(StepTest);

}  // namespace
}  // namespace dbos::testing
