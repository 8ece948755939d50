// The system database contract, identical on both backends: the serialization of stored values,
// messages nobody here can decode, what a dequeue may claim, the cases the two dialects used to
// decide differently, and infrastructure failures that must be retried instead of surfacing.
#include <chrono>
#include <future>
#include <thread>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing {
namespace {

using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

class SystemDatabaseTest : public DbTest {
 protected:
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  static sysdb::WorkflowInsert Row(const std::string& id, const std::string& status = "PENDING") {
    sysdb::WorkflowInsert row;
    row.workflow_uuid = id;
    row.status = status;
    row.name = "wf";
    row.executor_id = "local";
    row.application_version = "v1";
    row.inputs = "{}";
    row.creator_xid = id + "-x";
    row.now_ms = 1;
    return row;
  }
  static sysdb::StepWrite Step(const std::string& id, int function_id,
                               const std::string& name = "s") {
    sysdb::StepWrite step;
    step.workflow_uuid = id;
    step.function_id = function_id;
    step.function_name = name;
    step.output = "1";
    step.started_at_epoch_ms = 5;
    step.completed_at_epoch_ms = 6;
    return step;
  }
  static sysdb::DequeueRequest Request(std::vector<std::string> names = {"wf"}) {
    sysdb::DequeueRequest request;
    request.queue_name = "q";
    request.executor_id = "local";
    request.application_version = "v1";
    request.accept_unversioned = true;
    request.now_ms = 100;
    request.application_name = "app";
    request.workflow_names = std::move(names);
    return request;
  }
  std::string Status(const std::string& id) {
    const Rows rows =
        RunSql(url_, "SELECT coalesce(status, 'NULL') FROM " + Table("workflow_status") +
                         " WHERE workflow_uuid = '" + id + "'");
    return rows.empty() ? "" : rows[0][0];
  }
};

TEST_P(SystemDatabaseTest, StoredValuesCarryTheirSerialization) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("w")).created);
  ASSERT_EQ(db->RecordStep(Step("w", 0)).kind, sysdb::StepWriteResult::Kind::Inserted);
  auto steps = db->ListSteps("w");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].serialization, sysdb::kPortableJson);
  EXPECT_EQ(db->GetWorkflow("w", true)->serialization, sysdb::kPortableJson);
  RunSql(url_, "INSERT INTO " + Table("workflow_events") +
                   " (workflow_uuid, key, value, serialization) VALUES ('w', 'k', 'e30=', "
                   "'DBOS_JSON')");
  auto event = db->GetEvent("w", "k");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->text, "e30=");
  EXPECT_EQ(event->serialization, "DBOS_JSON");
  EXPECT_FALSE(db->GetEvent("w", "absent").has_value());
}

// A message in a format this process cannot read is left for someone who can.
TEST_P(SystemDatabaseTest, ConsumeMessageNeverTakesAMessageItCannotDecode) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("r")).created);
  const std::string f = IsPostgres() ? "false" : "0";
  RunSql(url_, "INSERT INTO " + Table("notifications") +
                   " (message_uuid, destination_uuid, topic, message, created_at_epoch_ms, "
                   "serialization, consumed) VALUES ('m1', 'r', 't', 'x', 1, 'superjson', " +
                   f + "), ('m2', 'r', 't', '2', 2, NULL, " + f + ")");
  auto step = Step("r", 0, "DBOS.recv");
  auto blocked = db->ConsumeMessage("t", step, {sysdb::kPortableJson});
  EXPECT_EQ(blocked.kind, sysdb::StepWriteResult::Kind::Inserted);
  EXPECT_FALSE(blocked.message.has_value());
  EXPECT_EQ(blocked.unreadable_serialization, "superjson");
  EXPECT_TRUE(db->ListSteps("r").empty());
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("notifications") +
                             " WHERE consumed = " + (IsPostgres() ? "true" : "1")),
            (Rows{{"0"}}));
  auto taken = db->ConsumeMessage("t", step, {sysdb::kPortableJson, "superjson"});
  EXPECT_EQ(taken.message, "x");
  EXPECT_EQ(taken.serialization, "superjson");
  auto recorded = db->ListSteps("r");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].serialization, "superjson");
  // A NULL serialization (an older SDK's JSON) is always readable.
  auto legacy = db->ConsumeMessage("t", Step("r", 1, "DBOS.recv"), {});
  EXPECT_EQ(legacy.message, "2");
  EXPECT_FALSE(legacy.serialization.has_value());
}

// Rows of another application, or of workflows this process has not registered, stay ENQUEUED.
TEST_P(SystemDatabaseTest, DequeueClaimsOnlyThisApplicationsRegisteredWorkflows) {
  auto db = OpenRaw();
  auto enqueue = [&](const std::string& id, const std::string& name,
                     std::optional<std::string> app) {
    auto row = Row(id, "ENQUEUED");
    row.name = name;
    row.queue_name = "q";
    row.application_name = std::move(app);
    ASSERT_TRUE(db->InsertWorkflow(row).created);
  };
  enqueue("mine", "wf", "app");
  enqueue("unnamed-app", "wf", std::nullopt);
  enqueue("other-app", "wf", "other");
  enqueue("unregistered", "ts-only", "app");
  auto claimed = db->DequeueWorkflows(Request());
  std::vector<std::string> ids;
  for (const auto& wf : claimed) ids.push_back(wf.workflow_uuid);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"mine", "unnamed-app"}));
  EXPECT_EQ(Status("other-app"), "ENQUEUED");
  EXPECT_EQ(Status("unregistered"), "ENQUEUED");
  EXPECT_TRUE(db->DequeueWorkflows(Request({})).empty());
}

TEST_P(SystemDatabaseTest, RecoveryLeavesOtherApplicationsAlone) {
  auto db = OpenRaw();
  auto mine = Row("mine");
  mine.application_name = "app";
  auto other = Row("other");
  other.application_name = "other";
  auto unnamed = Row("unnamed");
  ASSERT_TRUE(db->InsertWorkflow(mine).created);
  ASSERT_TRUE(db->InsertWorkflow(other).created);
  ASSERT_TRUE(db->InsertWorkflow(unnamed).created);
  auto ids = db->ReenqueuePendingWorkflows({"local"}, "v1", "app", 10);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"mine", "unnamed"}));
  EXPECT_EQ(Status("other"), "PENDING");
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(SystemDatabaseTest);

}  // namespace
}  // namespace dbos::testing
