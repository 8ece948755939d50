// How registered callables are run and named: every execution of a function-object workflow runs
// its own copy, and default workflow and step names are the same on every compiler and build
// type (no ABI tags, a fixed name for lambdas).
#include <atomic>
#include <future>
#include <string>
#include <vector>

#include "support/db_test.hpp"

namespace dbos::testing::registration_fns {

// A stateful function object: each execution must start from the registered state.
struct CountingWorkflow {
  int runs = 0;
  int operator()(DBOSContext&, int) { return ++runs; }
};

// Returns std::string, so GCC's and Clang's symbol for it carries the [abi:cxx11] tag.
std::string TaggedWorkflow(DBOSContext& ctx, std::string input);
std::string TaggedStep();

// Runs step "a", reports that its checkpoint is written, then sleeps until shut down.
std::promise<void>* g_step_a_recorded = nullptr;
int StepAThenSleep(DBOSContext& ctx, int);

}  // namespace dbos::testing::registration_fns

namespace dbos::testing {
namespace {
using namespace registration_fns;

class RegistrationTest : public DbTest {};

TEST_P(RegistrationTest, EachExecutionRunsItsOwnCopyOfAFunctionObject) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  CountingWorkflow workflow;
  workflow.runs = 10;  // the state at registration is what every execution starts from
  RegisterWorkflow(ctx, workflow, WithWorkflowName("counting"));
  Launch(ctx);
  std::vector<WorkflowHandle<int>> handles;
  for (int i = 0; i < 8; ++i) {
    handles.push_back(RunWorkflow(ctx, workflow, i, WithWorkflowID("count-" + std::to_string(i))));
  }
  for (auto& handle : handles) EXPECT_EQ(handle.GetResult(), 11);
  EXPECT_EQ(RunWorkflow(ctx, workflow, 0, WithWorkflowID("count-last")).GetResult(), 11);
}

TEST_P(RegistrationTest, DefaultNamesCarryNoAbiTag) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, TaggedWorkflow);
  Launch(ctx);
  EXPECT_EQ(
      RunWorkflow(ctx, TaggedWorkflow, std::string("x-"), WithWorkflowID("tagged")).GetResult(),
      "x-tagged");
  auto raw = OpenRaw();
  auto status = raw->GetWorkflow("tagged", /*load_values=*/false);
  ASSERT_TRUE(status && status->name);
  EXPECT_EQ(*status->name, "dbos::testing::registration_fns::TaggedWorkflow");
  auto steps = raw->ListSteps("tagged");
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].function_name, "dbos::testing::registration_fns::TaggedStep");
}

TEST_P(RegistrationTest, LambdaStepsWithoutANameAreRecordedAsLambda) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto workflow = [](DBOSContext& c, int x) {
    return RunAsStep(c, [x] { return x + 1; }) + RunAsStep(c, [x] { return x + 2; });
  };
  RegisterWorkflow(ctx, workflow, WithWorkflowName("lambda-steps"));
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, workflow, 1, WithWorkflowID("lambdas")).GetResult(), 5);
  auto steps = OpenRaw()->ListSteps("lambdas");
  ASSERT_EQ(steps.size(), 2U);
  EXPECT_EQ(steps[0].function_name, "<lambda>");
  EXPECT_EQ(steps[1].function_name, "<lambda>");
}

TEST_P(RegistrationTest, UnexpectedStepSaysHowToFixTheMismatch) {
  {
    std::promise<void> recorded;
    g_step_a_recorded = &recorded;
    DBOSContext first = NewDBOSContext(MakeConfig());
    RegisterWorkflow(first, StepAThenSleep, WithWorkflowName("renamed-step"));
    Launch(first);
    RunWorkflow(first, StepAThenSleep, 0, WithWorkflowID("mismatch"));
    recorded.get_future().wait();
    Shutdown(first);  // the workflow stays PENDING, with step "a" recorded
    g_step_a_recorded = nullptr;
  }
  DBOSContext second = NewDBOSContext(MakeConfig());
  auto renamed = [](DBOSContext& c, int) {
    return RunAsStep(
        c, [] { return 1; }, WithStepName("b"));
  };
  RegisterWorkflow(second, renamed, WithWorkflowName("renamed-step"));
  Launch(second);  // recovers "mismatch"
  try {
    RetrieveWorkflow<int>(second, "mismatch").GetResult();
    FAIL() << "expected UnexpectedStep";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::UnexpectedStep) << e.what();
    EXPECT_NE(e.Message().find("dbos::WithStepName(\"a\")"), std::string::npos) << e.what();
  }
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(RegistrationTest);

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing::registration_fns {

std::string TaggedStep() { return "tagged"; }

int StepAThenSleep(DBOSContext& ctx, int) {
  const int value = RunAsStep(
      ctx, [] { return 1; }, WithStepName("a"));
  if (g_step_a_recorded != nullptr) g_step_a_recorded->set_value();
  Sleep(ctx, std::chrono::minutes(10));
  return value;
}

std::string TaggedWorkflow(DBOSContext& ctx, std::string input) {
  return input + RunAsStep(ctx, TaggedStep);
}

}  // namespace dbos::testing::registration_fns
