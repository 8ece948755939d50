// A database that goes away: the PostgreSQL server is restarted (every connection cut) while
// workflows are running. Work pauses and resumes; no workflow fails, no step runs twice, and every
// outcome is recorded once.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "support/db_test.hpp"

namespace dbos::testing::outage_fns {
std::mutex g_mutex;
std::map<std::string, int> g_runs;  // "<workflow> <step>" -> executions

int FiveSlowSteps(DBOSContext& ctx, int) {
  const std::string id = GetWorkflowID(ctx);
  int sum = 0;
  for (int step = 0; step < 5; ++step) {
    sum += RunAsStep(
        ctx,
        [&] {
          {
            std::lock_guard lock(g_mutex);
            ++g_runs[id + " " + std::to_string(step)];
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(40));
          return 1;
        },
        WithStepName("slow-" + std::to_string(step)));
  }
  return sum;
}
}  // namespace dbos::testing::outage_fns

namespace dbos::testing {
namespace {
using namespace outage_fns;

TEST(PostgresOutage, ServerRestartPausesWorkflowsWithoutLosingOrRepeatingSteps) {
  const std::string area = GetEnv("DBOS_TEST_PG_AREA");
  ASSERT_FALSE(area.empty()) << "DBOS_TEST_PG_AREA is not set: run the tests through "
                                "scripts/test.sh, which starts (and lets this test restart) "
                                "a throwaway PostgreSQL server";
  Config config;
  config.app_name = "outage";
  config.database_url = PostgresUrl();
  config.database_schema = UniqueName("outage");
  config.logger = std::make_shared<CapturingLogger>();
  config.application_version = "outage-v1";
  DBOSContext ctx = NewDBOSContext(config);
  RegisterWorkflow(ctx, FiveSlowSteps);
  Launch(ctx);
  constexpr int kWorkflows = 10;
  std::vector<WorkflowHandle<int>> handles;
  for (int i = 0; i < kWorkflows; ++i) {
    handles.push_back(
        RunWorkflow(ctx, FiveSlowSteps, 0, WithWorkflowID("outage-" + std::to_string(i))));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // mid-way through the steps
  const std::string restart = std::string(DBOS_PG_CLUSTER_SCRIPT) + " restart '" + area + "'";
  ASSERT_EQ(std::system(restart.c_str()), 0) << restart;
  for (auto& handle : handles) EXPECT_EQ(handle.GetResult(), 5);
  std::lock_guard lock(g_mutex);
  for (int i = 0; i < kWorkflows; ++i) {
    for (int step = 0; step < 5; ++step) {
      EXPECT_EQ(g_runs["outage-" + std::to_string(i) + " " + std::to_string(step)], 1)
          << "workflow " << i << " step " << step;
    }
  }
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing
