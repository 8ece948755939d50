// ListWorkflows and GetWorkflowSteps on a DBOSContext: every filter, the application scope (own
// and unclaimed rows unless listing by ID), the order, limit and offset, the load flags with
// values decoded by their serialization, steps in order, the checkpoint a workflow records for
// each, and the errors for bad input.
#include <algorithm>
#include <atomic>
#include <limits>
#include <stdexcept>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"

namespace dbos::testing::list_fns {

std::string Echo(DBOSContext& ctx, std::string input) {
  auto a = RunAsStep(
      ctx, [] { return std::string("one"); }, WithStepName("first"));
  auto b = RunAsStep(
      ctx, [] { return 2; }, WithStepName("second"));
  return input + a + std::to_string(b);
}

int Fails(DBOSContext& ctx, int) {
  try {
    RunAsStep(
        ctx, []() -> int { throw std::runtime_error("step broke"); }, WithStepName("broken"));
  } catch (const DBOSError&) {
  }
  throw std::runtime_error("workflow broke");
}

std::atomic<int> g_lists{0};

// Lists and reads steps inside a workflow: both are checkpointed steps.
int Inspector(DBOSContext& ctx, std::string target) {
  ++g_lists;
  const auto listed = ListWorkflows(ctx, WithWorkflowIDs({target}));
  const auto steps = GetWorkflowSteps(ctx, target);
  return static_cast<int>(listed.size() * 100 + steps.size());
}

// Calls ListWorkflows inside a step; returns the error's message.
std::string ListsInStep(DBOSContext& ctx, int) {
  try {
    RunAsStep(
        ctx, [&] { return ListWorkflows(ctx).size(); }, WithStepName("lists"));
  } catch (const DBOSError& e) {
    return e.what();
  }
  return "";
}

}  // namespace dbos::testing::list_fns

namespace dbos::testing {
namespace {
using namespace list_fns;

std::vector<std::string> Ids(const std::vector<WorkflowStatus>& list) {
  std::vector<std::string> ids;
  for (const auto& s : list) ids.push_back(s.id);
  return ids;
}

class ManagementListTest : public DbTest {
 protected:
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }

  // Six rows created at kBase + 1 … kBase + 6 ms, one field changed at a time.
  static constexpr int64_t kBase = 1'700'000'000'000;
  void InsertRows() {
    auto db = OpenRaw();
    auto add = [&](const std::string& id, const std::string& name, int64_t at,
                   const std::function<void(sysdb::WorkflowInsert&)>& edit) {
      sysdb::WorkflowInsert row = WorkflowRow(id, name);
      row.now_ms = kBase + at;
      row.application_name = "dbos-test";
      edit(row);
      ASSERT_TRUE(db->InsertWorkflow(row).created);
    };
    add("a-1", "wfA", 1, [](auto& r) {
      r.authenticated_user = "ann";
      r.executor_id = "e1";
    });
    add("a-2", "wfB", 2, [](auto& r) {
      r.authenticated_user = "bob";
      r.application_version = "v2";
      r.executor_id = "e2";
    });
    add("b-3", "wfA", 3, [](auto& r) {
      r.status = "ENQUEUED";
      r.queue_name = "q1";
    });
    add("b-4", "wfB", 4, [](auto& r) { r.application_name = std::nullopt; });
    add("other-5", "wfA", 5, [](auto& r) { r.application_name = "other-app"; });
    add("c-6", "wfC", 6, [](auto& r) {
      r.status = "ENQUEUED";
      r.queue_name = "q2";
    });
    RunSql(url_, "UPDATE " + Table("workflow_status") +
                     " SET status = 'SUCCESS' WHERE workflow_uuid = 'a-1'");
    RunSql(url_, "UPDATE " + Table("workflow_status") +
                     " SET status = 'ERROR' WHERE workflow_uuid = 'a-2'");
  }

  static std::chrono::system_clock::time_point At(int64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(kBase + ms));
  }

  DBOSContext Start(bool launch = true) {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, Echo);
    RegisterWorkflow(ctx, Fails);
    RegisterWorkflow(ctx, Inspector);
    RegisterWorkflow(ctx, ListsInStep);
    if (launch) Launch(ctx);
    return ctx;
  }

  template <typename F>
  ErrorCode CodeOf(F&& f) {
    try {
      f();
    } catch (const DBOSError& e) {
      return e.Code();
    }
    ADD_FAILURE() << "expected a DBOSError";
    return ErrorCode::Initialization;
  }
};

using V = std::vector<std::string>;

TEST_P(ManagementListTest, DefaultIsOwnAndUnclaimedRowsOldestFirst) {
  InsertRows();
  DBOSContext ctx = Start(/*launch=*/false);
  EXPECT_EQ(Ids(ListWorkflows(ctx)), (V{"a-1", "a-2", "b-3", "b-4", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithSortDesc())), (V{"c-6", "b-4", "b-3", "a-2", "a-1"}));
  // By ID, another application's workflow is found too.
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDs({"other-5", "a-1"}))), (V{"a-1", "other-5"}));
  Shutdown(ctx);
}

TEST_P(ManagementListTest, EachFilterSelectsItsRows) {
  InsertRows();
  DBOSContext ctx = Start(/*launch=*/false);
  using S = WorkflowStatusType;
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithStatus({S::Success}))), (V{"a-1"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithStatus({S::Error, S::Enqueued}))), (V{"a-2", "b-3", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithStartTime(At(3)))), (V{"b-3", "b-4", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithEndTime(At(2)))), (V{"a-1", "a-2"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithStartTime(At(2)), WithEndTime(At(3)))), (V{"a-2", "b-3"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithName("wfB"))), (V{"a-2", "b-4"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithName("wfB"), WithName("wfC"))), (V{"a-2", "b-4", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithAppVersion("v2"))), (V{"a-2"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithUser("ann"))), (V{"a-1"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDs({"b-4"}))), (V{"b-4"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("b-"))), (V{"b-3", "b-4"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("a-"), WithWorkflowIDPrefix("c"))),
            (V{"a-1", "a-2", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("zz"))), V{});
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithQueuesOnly())), (V{"b-3", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithQueueName("q2"))), (V{"c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithExecutorIDs({"e1", "e2"}))), (V{"a-1", "a-2"}));
  // Filters of different kinds are AND-ed.
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithName("wfA"), WithStatus({S::Enqueued}))), (V{"b-3"}));
  Shutdown(ctx);
}

TEST_P(ManagementListTest, LimitAndOffsetPageThroughTheOrder) {
  InsertRows();
  DBOSContext ctx = Start(/*launch=*/false);
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithLimit(2))), (V{"a-1", "a-2"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithLimit(2), WithOffset(2))), (V{"b-3", "b-4"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithOffset(3))), (V{"b-4", "c-6"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithLimit(2), WithSortDesc())), (V{"c-6", "b-4"}));
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithLimit(0))), V{});
  Shutdown(ctx);
}

// Workflows enqueued within one millisecond share created_at: the ID orders them, so pages
// neither repeat nor skip a row and the descending order is the exact reverse.
TEST_P(ManagementListTest, EqualCreationTimesAreOrderedByIDSoPagesAreStable) {
  {
    auto db = OpenRaw();
    for (const char* id : {"tie-b", "tie-d", "tie-a", "tie-c"}) {
      sysdb::WorkflowInsert row = WorkflowRow(id, "wfA");
      row.now_ms = kBase + 7;
      row.application_name = "dbos-test";
      ASSERT_TRUE(db->InsertWorkflow(row).created);
    }
  }
  DBOSContext ctx = Start(/*launch=*/false);
  const V asc{"tie-a", "tie-b", "tie-c", "tie-d"};
  const V desc{"tie-d", "tie-c", "tie-b", "tie-a"};
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("tie-"))), asc);
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("tie-"), WithSortDesc())), desc);
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithStartTime(At(7)), WithEndTime(At(7)))), asc);
  V paged;
  for (int64_t offset = 0; offset < 4; offset += 2) {
    for (const std::string& id : Ids(ListWorkflows(ctx, WithStartTime(At(7)), WithSortDesc(),
                                                   WithLimit(2), WithOffset(offset)))) {
      paged.push_back(id);
    }
  }
  EXPECT_EQ(paged, desc);
  Shutdown(ctx);
}

// Prefixes and IDs are values, never SQL or patterns: LIKE wildcards, quotes and backslashes
// match only themselves; the largest limit and offset are accepted.
TEST_P(ManagementListTest, PrefixesMatchLiterallyAndExtremeLimitsWork) {
  {
    auto db = OpenRaw();
    for (const char* id : {"p%_'\\x", "pa_'\\x", "p%a", "q'; DROP TABLE x; --"}) {
      sysdb::WorkflowInsert row = WorkflowRow(id, "wfA");
      row.application_name = "dbos-test";
      ASSERT_TRUE(db->InsertWorkflow(row).created);
    }
  }
  DBOSContext ctx = Start(/*launch=*/false);
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("p%_"))), V{"p%_'\\x"});
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("p_"))), V{});
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDPrefix("pa_'\\"))), V{"pa_'\\x"});
  EXPECT_EQ(Ids(ListWorkflows(ctx, WithWorkflowIDs({"q'; DROP TABLE x; --"}))),
            V{"q'; DROP TABLE x; --"});
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ListWorkflows(ctx, WithLimit(kMax)).size(), 4u);
  EXPECT_EQ(ListWorkflows(ctx, WithOffset(kMax)).size(), 0u);
  EXPECT_EQ(ListWorkflows(ctx, WithLimit(kMax), WithOffset(kMax)).size(), 0u);
  Shutdown(ctx);
}

TEST_P(ManagementListTest, InputsAndOutputsAreDecodedUnlessNotLoaded) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, Echo, std::string("x"), WithWorkflowID("echo")).GetResult(), "xone2");
  auto failing = RunWorkflow(ctx, Fails, 1, WithWorkflowID("fails"));
  EXPECT_THROW(failing.GetResult(), DBOSError);

  auto listed = ListWorkflows(ctx, WithWorkflowIDs({"echo", "fails"}));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].status, WorkflowStatusType::Success);
  EXPECT_EQ(listed[0].input, nlohmann::json("x"));
  EXPECT_EQ(listed[0].output, nlohmann::json("xone2"));
  EXPECT_EQ(listed[0].name, "dbos::testing::list_fns::Echo");
  EXPECT_EQ(listed[1].status, WorkflowStatusType::Error);
  EXPECT_EQ(listed[1].input, nlohmann::json(1));
  EXPECT_EQ(listed[1].error, "workflow broke");

  auto bare = ListWorkflows(ctx, WithWorkflowIDs({"echo", "fails"}), WithLoadInput(false),
                            WithLoadOutput(false));
  ASSERT_EQ(bare.size(), 2u);
  EXPECT_TRUE(bare[0].input.is_null());
  EXPECT_TRUE(bare[0].output.is_null());
  EXPECT_FALSE(bare[1].error.has_value());
  auto inputs_only = ListWorkflows(ctx, WithWorkflowIDs({"echo"}), WithLoadOutput(false));
  ASSERT_EQ(inputs_only.size(), 1u);
  EXPECT_EQ(inputs_only[0].input, nlohmann::json("x"));
  EXPECT_TRUE(inputs_only[0].output.is_null());
  Shutdown(ctx);
}

TEST_P(ManagementListTest, StepsComeInStepOrderWithOutputsAndErrors) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, Echo, std::string("x"), WithWorkflowID("echo")).GetResult();
  auto steps = GetWorkflowSteps(ctx, "echo");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].step_id, 0);
  EXPECT_EQ(steps[0].step_name, "first");
  EXPECT_EQ(steps[0].output, nlohmann::json("one"));
  EXPECT_EQ(steps[1].step_id, 1);
  EXPECT_EQ(steps[1].output, nlohmann::json(2));
  EXPECT_TRUE(steps[1].completed_at.has_value());

  EXPECT_THROW(RunWorkflow(ctx, Fails, 1, WithWorkflowID("fails")).GetResult(), DBOSError);
  auto failed = GetWorkflowSteps(ctx, "fails");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].step_name, "broken");
  EXPECT_EQ(failed[0].error, "step broke");
  EXPECT_TRUE(failed[0].output.is_null());
  Shutdown(ctx);
}

TEST_P(ManagementListTest, InsideAWorkflowBothAreCheckpointedSteps) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, Echo, std::string("x"), WithWorkflowID("echo")).GetResult();
  g_lists = 0;
  EXPECT_EQ(RunWorkflow(ctx, Inspector, std::string("echo"), WithWorkflowID("insp")).GetResult(),
            102);
  auto steps = GetWorkflowSteps(ctx, "insp");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].step_name, "DBOS.listWorkflows");
  EXPECT_EQ(steps[1].step_name, "DBOS.getWorkflowSteps");
  ASSERT_TRUE(steps[0].output.is_array());
  EXPECT_EQ(steps[0].output.size(), 1u);
  // Inside a step they are refused like other DBOS operations.
  const std::string message =
      RunWorkflow(ctx, ListsInStep, 1, WithWorkflowID("in-step")).GetResult();
  EXPECT_NE(message.find("cannot call ListWorkflows within a step"), std::string::npos) << message;
  Shutdown(ctx);
}

TEST_P(ManagementListTest, BadInputIsRefused) {
  DBOSContext ctx = Start(/*launch=*/false);
  EXPECT_EQ(CodeOf([&] { ListWorkflows(ctx, WithLimit(-1)); }), ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf([&] { ListWorkflows(ctx, WithOffset(-5)); }), ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf([&] { ListWorkflows(ctx, WithName(std::string("a\0b", 3))); }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf([&] { GetWorkflowSteps(ctx, "nope"); }), ErrorCode::NonExistentWorkflow);
  EXPECT_EQ(CodeOf([&] { GetWorkflowSteps(ctx, ""); }), ErrorCode::InvalidOption);
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ManagementListTest);

}  // namespace
}  // namespace dbos::testing
