// How registered callables are run and named: every execution of a function-object workflow runs
// its own copy, and default workflow and step names are the same on every compiler and build
// type (no ABI tags, a fixed name for lambdas).
#include <atomic>
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

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(RegistrationTest);

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing::registration_fns {

std::string TaggedStep() { return "tagged"; }

std::string TaggedWorkflow(DBOSContext& ctx, std::string input) {
  return input + RunAsStep(ctx, TaggedStep);
}

}  // namespace dbos::testing::registration_fns
