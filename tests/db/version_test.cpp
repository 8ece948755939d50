// Application versions while a process runs: whether this process runs the latest version decides
// whether it takes unversioned workflows (enqueued by a client or another SDK), and that can change
// after Launch when another version is deployed or made latest.
#include <chrono>
#include <string>
#include <thread>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"

namespace dbos::testing::version_fns {

std::string Greet(DBOSContext&, std::string who) { return "hello " + who; }

}  // namespace dbos::testing::version_fns

namespace dbos::testing {
namespace {
using namespace version_fns;

class VersionTest : public DbTest {
 protected:
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }

  // An unversioned workflow on the internal queue, as a client enqueues it.
  void EnqueueUnversioned(const std::string& id) {
    sysdb::WorkflowInsert row = WorkflowRow(id, "Greet", "ENQUEUED");
    row.executor_id = "client";
    row.application_version.reset();  // unversioned
    row.inputs = R"({"positionalArgs":["x"],"namedArgs":{}})";
    row.now_ms = 1;
    OpenRaw()->InsertWorkflow(row);
  }

  std::string Status(const std::string& id) { return OpenRaw()->GetWorkflow(id, false)->status; }
};

TEST_P(VersionTest, ProcessMadeLatestAfterLaunchTakesUnversionedWorkflows) {
  constexpr int64_t kFuture = 4102444800000;  // 2100-01-01: newer than any registration here
  Config config = MakeConfig();
  config.application_version = "v1";
  OpenRaw()->RegisterApplicationVersion("v2", config.app_name, kFuture);  // v2 is the latest
  DBOSContext ctx = NewDBOSContext(config);
  RegisterWorkflow(ctx, Greet, WithWorkflowName("Greet"));
  Launch(ctx);
  detail::RuntimeOf(ctx).SetVersionCheckIntervalForTesting(std::chrono::milliseconds(50));
  EnqueueUnversioned("unversioned");

  // Not the latest: the unversioned workflow is left to the latest version's executors.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(Status("unversioned"), "ENQUEUED");

  // v1 made latest (as SetLatestApplicationVersion does): noticed without a new Launch.
  RunSql(url_, "UPDATE " + Table("application_versions") + " SET version_timestamp = " +
                   std::to_string(kFuture + 1) + " WHERE version_name = 'v1'");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (Status("unversioned") != "SUCCESS" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Status("unversioned"), "SUCCESS");
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(VersionTest);

}  // namespace
}  // namespace dbos::testing
