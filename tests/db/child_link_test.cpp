// The checkpoint that links a parent to its child decides whether the child runs: a parent
// cancelled before it wrote the link starts no child, and a parent whose step already names a
// child (recorded by another execution of the parent) uses that child and starts no other.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "support/db_test.hpp"
#include "support/workflow_rows.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::link_fns {

std::atomic<bool> g_open{false};
std::atomic<int> g_child_runs{0};

int Child(DBOSContext&, int x) {
  ++g_child_runs;
  return x;
}

// Waits for the test to open the gate, then starts its child at step 0 and returns its result.
int Parent(DBOSContext& ctx, int x) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!g_open && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return RunWorkflow(ctx, Child, x).GetResult();
}

}  // namespace dbos::testing::link_fns

namespace dbos::testing {
namespace {
using namespace link_fns;

constexpr const char* kChildName = "dbos::testing::link_fns::Child";

class ChildLinkTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_open = false;
    g_child_runs = 0;
    ctx_ = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx_, Parent);
    RegisterWorkflow(ctx_, Child);
    Launch(ctx_);
  }
  void TearDown() override {
    g_open = true;
    Shutdown(ctx_);
    DbTest::TearDown();
  }

  DBOSContext ctx_;
};

// Another execution of the parent linked another child at step 0 first: this one uses it.
TEST_P(ChildLinkTest, ParentWhoseStepNamesAnotherChildUsesItAndStartsNone) {
  auto db = OpenRaw();
  sysdb::WorkflowInsert other = WorkflowRow("other-child", kChildName);
  ASSERT_TRUE(db->InsertWorkflow(other).created);
  ASSERT_TRUE(db->FinishWorkflow("other-child", "SUCCESS", std::string("99"), std::nullopt,
                                 util::NowEpochMs()));
  auto parent = RunWorkflow(ctx_, Parent, 1, WithWorkflowID("parent"));
  sysdb::StepWrite link;
  link.workflow_uuid = "parent";
  link.function_id = 0;
  link.function_name = kChildName;
  link.child_workflow_id = "other-child";
  link.started_at_epoch_ms = link.completed_at_epoch_ms = util::NowEpochMs();
  ASSERT_EQ(db->RecordStep(link).kind, sysdb::StepWriteResult::Kind::Inserted);
  g_open = true;
  EXPECT_EQ(parent.GetResult(), 99);
  EXPECT_EQ(g_child_runs.load(), 0);
  // The child row this execution made before it saw the link never runs.
  const auto own = db->GetWorkflow("parent-0", false);
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->status, "CANCELLED");
}

// The parent was cancelled (by another process: nothing interrupted it here yet) before it
// linked its child: the child does not run.
TEST_P(ChildLinkTest, CancelledParentStartsNoChild) {
  auto parent = RunWorkflow(ctx_, Parent, 1, WithWorkflowID("parent"));
  ASSERT_TRUE(OpenRaw()->CancelWorkflow("parent", util::NowEpochMs()));
  g_open = true;
  EXPECT_THROW(parent.GetResult(), DBOSError);
  EXPECT_EQ(g_child_runs.load(), 0);
  // Unless a cancellation poll interrupted the parent first, its child row exists, cancelled.
  if (const auto child = OpenRaw()->GetWorkflow("parent-0", false)) {
    EXPECT_EQ(child->status, "CANCELLED");
  }
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ChildLinkTest);

}  // namespace
}  // namespace dbos::testing
