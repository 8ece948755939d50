// A handle on a workflow that waits in a queue polls the database with a growing interval (up to
// 500 ms). When the queue runner then starts the workflow in this process, the handle's wait
// must move to that execution at once, so GetResult returns as soon as the workflow ends, not at
// the next poll.
#include <atomic>
#include <chrono>
#include <thread>

#include "support/db_test.hpp"
#include "util/time_util.hpp"

namespace dbos::testing {
namespace handle_wait_fns {

std::atomic<bool> g_release{false};
std::atomic<int64_t> g_quick_ended_ms{0};

int Blocker(DBOSContext& ctx, int value) {
  (void)ctx;
  while (!g_release) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return value;
}

int Quick(DBOSContext& ctx, int value) {
  (void)ctx;
  g_quick_ended_ms = util::NowEpochMs();
  return value;
}

}  // namespace handle_wait_fns

namespace {

using namespace handle_wait_fns;

class HandleWaitTest : public DbTest {};

TEST_P(HandleWaitTest, GetResultOfAQueuedWorkflowReturnsWhenItEndsNotAtTheNextPoll) {
  g_release = false;
  g_quick_ended_ms = 0;
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Blocker, WithWorkflowName("Blocker"));
  RegisterWorkflow(ctx, Quick, WithWorkflowName("Quick"));
  const WorkflowQueue queue = NewWorkflowQueue(ctx, "one-at-a-time", WithWorkerConcurrency(1));
  Launch(ctx);
  auto blocker = RunWorkflow(ctx, Blocker, 1, WithQueue(queue.name));
  auto quick = RunWorkflow(ctx, Quick, 2, WithQueue(queue.name));
  // Held behind the blocker for 700 ms: the handle's polls (2, 4, ... 256 ms, then 500 ms) are
  // then in a 500 ms sleep that ends about 1 s after the start.
  std::thread releaser([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    g_release = true;
  });
  EXPECT_EQ(quick.GetResult(), 2);
  const int64_t returned_ms = util::NowEpochMs();
  releaser.join();
  ASSERT_GT(g_quick_ended_ms.load(), 0);
  EXPECT_LT(returned_ms - g_quick_ended_ms.load(), 150)
      << "GetResult returned " << returned_ms - g_quick_ended_ms.load()
      << " ms after the workflow ended";
  EXPECT_EQ(blocker.GetResult(), 1);
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(HandleWaitTest);

}  // namespace
}  // namespace dbos::testing
