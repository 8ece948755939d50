// Deduplication under concurrent enqueues from several processes: three executor processes, each
// with eight threads released at once, enqueue on one queue with the same deduplication ID.
// Exactly one enqueue succeeds, every other gets QueueDeduplicated (not another error), and one
// workflow runs, once.
#include <sstream>
#include <string>
#include <vector>

#include "chaos/worker_process.hpp"

namespace dbos::testing {
namespace {

class QueueDedupTest : public QueueWorkersTest {};

TEST_P(QueueDedupTest, ConcurrentEnqueuesWithOneDeduplicationIdEnqueueOneWorkflow) {
  constexpr int kThreads = 8;
  const std::vector<std::string> executors = {"exec-a", "exec-b", "exec-c"};
  std::vector<std::unique_ptr<WorkerProcess>> workers;
  for (const auto& executor : executors) {
    workers.push_back(StartWorker({"dedup", executor, std::to_string(kThreads)}));
  }
  for (auto& worker : workers) {
    ASSERT_TRUE(worker->WaitFor("READY", std::chrono::seconds(60))) << worker->Output();
  }
  for (auto& worker : workers) worker->WriteLine("go");  // every thread of every process enqueues
  std::vector<std::string> enqueued;
  int deduplicated = 0;
  for (auto& worker : workers) {
    ASSERT_TRUE(worker->WaitFor("DONE", std::chrono::seconds(60))) << worker->Output();
    std::istringstream lines(worker->Output());
    std::string word;
    while (lines >> word) {
      if (word == "ENQUEUED") {
        enqueued.emplace_back();
        lines >> enqueued.back();
      } else if (word == "DEDUPLICATED") {
        int n = 0;
        lines >> n;
        deduplicated += n;
      }
    }
    EXPECT_EQ(worker->Output().find("FAILED"), std::string::npos) << worker->Output();
  }
  ASSERT_EQ(enqueued.size(), 1u);
  EXPECT_EQ(deduplicated, kThreads * static_cast<int>(executors.size()) - 1);

  // The one workflow, held PENDING (and its deduplication ID with it) until every enqueue above
  // has returned, runs to its end once released, while every worker stays up.
  const std::string winner = enqueued.front();
  workers.front()->WriteLine("release " + winner);
  auto db = OpenRaw();
  EXPECT_TRUE(
      WaitUntil(std::chrono::seconds(60),
                [&] { return db->GetWorkflowStatusString(winner).value_or("") == "SUCCESS"; }))
      << winner << " did not finish";
  for (auto& worker : workers) worker->CloseInput();
  for (auto& worker : workers) EXPECT_TRUE(worker->ExitedCleanly()) << worker->Output();

  int starts = 0;
  for (const auto& mark : ReadMarks(marker_)) {
    if (mark.kind == "start") {
      ++starts;
      EXPECT_EQ(mark.id, winner);
    }
  }
  EXPECT_EQ(starts, 1);
  for (const auto& executor : executors) {
    for (int t = 0; t < kThreads; ++t) {
      const std::string id = "dd-" + executor + "-" + std::to_string(t);
      if (id != winner) {
        EXPECT_FALSE(db->GetWorkflow(id, false)) << id << " was stored";
      }
    }
  }
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(QueueDedupTest);

}  // namespace
}  // namespace dbos::testing
