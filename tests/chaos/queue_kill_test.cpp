// Killing one of three executor processes in the middle of its queue work loses nothing: the other
// two keep draining the queue while it is dead, the workflows it had claimed wait for it (PENDING
// under its executor ID), and once it restarts with the same executor ID every workflow completes
// with the right result. A step checkpointed before the kill never runs again; only a step the
// kill interrupted runs a second time (at-least-once for an unfinished step).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "chaos/worker_process.hpp"

namespace dbos::testing {
namespace {

class QueueKillTest : public QueueWorkersTest {};

TEST_P(QueueKillTest, KilledExecutorLosesNothingAndTheOthersKeepDraining) {
  constexpr int kPerExecutor = 10;
  const std::vector<std::string> executors = {"exec-a", "exec-b", "exec-c"};
  const std::string victim = "exec-b";
  const auto start = [&](const std::string& executor) {
    auto worker =
        StartWorker({"drain", executor, "exec-a,exec-b,exec-c", std::to_string(kPerExecutor)});
    EXPECT_TRUE(worker->WaitFor("READY", std::chrono::seconds(60))) << worker->Output();
    return worker;
  };
  std::map<std::string, std::unique_ptr<WorkerProcess>> workers;
  for (const auto& executor : executors) workers[executor] = start(executor);
  std::vector<std::string> ids;
  for (const auto& executor : executors) {
    for (int i = 0; i < kPerExecutor; ++i) ids.push_back("d-" + executor + "-" + std::to_string(i));
  }

  // The victim enqueues its share and works on it (the others, idle, may take some of it) …
  workers[victim]->WriteLine("go");
  ASSERT_TRUE(workers[victim]->WaitFor("ENQUEUED", std::chrono::seconds(60)));
  // … until it is in the middle of a step: it began a workflow whose step has not marked yet.
  ASSERT_TRUE(WaitUntil(std::chrono::seconds(60), [&] {
    std::set<std::string> begun;
    std::set<std::string> stepped;
    for (const auto& mark : ReadMarks(marker_)) {
      if (mark.executor != victim) continue;
      if (mark.kind == "begin") begun.insert(mark.id);
      if (mark.kind == "step") stepped.insert(mark.id);
    }
    for (const auto& id : begun) {
      if (stepped.count(id) == 0) return true;
    }
    return false;
  }));
  // The others enqueue their shares as it dies: however slowly the victim got going, the queue
  // holds work for them to drain while it is dead.
  for (auto& [executor, worker] : workers) {
    if (executor != victim) worker->WriteLine("go");
  }
  workers[victim]->Kill();
  for (auto& [executor, worker] : workers) {
    if (executor == victim) continue;
    ASSERT_TRUE(worker->WaitFor("ENQUEUED", std::chrono::seconds(60))) << worker->Output();
  }

  // What the kill left: the victim's claimed workflows (PENDING under it) and the steps it had
  // checkpointed (nothing of the victim's changes after its death).
  auto db = OpenRaw();
  std::set<std::string> stranded;
  std::set<std::string> checkpointed;
  for (const auto& id : ids) {
    const auto row = db->GetWorkflow(id, false);
    ASSERT_TRUE(row) << id;
    if (row->status == "PENDING" && row->executor_id.value_or("") == victim) stranded.insert(id);
    if (!db->ListSteps(id).empty()) checkpointed.insert(id);
  }
  ASSERT_FALSE(stranded.empty()) << "the kill interrupted nothing";
  // While the victim is dead the others finish everything it had not claimed (its own enqueued
  // share included), and what it had claimed waits for it.
  const auto others_done = [&] {
    for (const auto& id : ids) {
      if (stranded.count(id) == 0 && db->GetWorkflowStatusString(id).value_or("") != "SUCCESS") {
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil(std::chrono::seconds(60), others_done))
      << "the surviving executors stopped draining the queue";
  for (const auto& id : stranded) {
    const auto row = db->GetWorkflow(id, false);
    EXPECT_EQ(row->status, "PENDING") << id;
    EXPECT_EQ(row->executor_id.value_or(""), victim) << id;
  }

  // The victim comes back under the same executor ID: its launch recovers what it had claimed.
  workers[victim] = start(victim);
  workers[victim]->WriteLine("go");  // enqueuing its share again changes nothing: same IDs
  ASSERT_TRUE(WaitUntil(std::chrono::seconds(60), [&] {
    for (const auto& id : stranded) {
      if (db->GetWorkflowStatusString(id).value_or("") != "SUCCESS") return false;
    }
    return true;
  })) << "the workflows the victim had claimed did not complete after its restart";
  for (auto& [executor, worker] : workers) {
    EXPECT_TRUE(worker->ExitedCleanly()) << executor << ": " << worker->Output();
    EXPECT_NE(worker->Output().find("DONE"), std::string::npos) << executor;
  }

  std::map<std::string, std::map<std::string, int>> marks;  // id -> kind -> count
  for (const auto& mark : ReadMarks(marker_)) ++marks[mark.id][mark.kind];
  for (const auto& executor : executors) {
    for (int i = 0; i < kPerExecutor; ++i) {
      const std::string id = "d-" + executor + "-" + std::to_string(i);
      const auto row = db->GetWorkflow(id, true);
      ASSERT_TRUE(row) << id;
      EXPECT_EQ(row->status, "SUCCESS") << id;
      EXPECT_EQ(row->output.value_or(""), "\"" + id + ":" + std::to_string(7 * i) + "\"");
      const auto steps = db->ListSteps(id);
      ASSERT_EQ(steps.size(), 1u) << id;
      EXPECT_EQ(steps[0].output, std::to_string(7 * i)) << id;
      auto& count = marks[id];
      if (stranded.count(id) == 0) {  // never interrupted: ran once
        EXPECT_EQ(count["begin"], 1) << id;
        EXPECT_EQ(count["step"], 1) << id;
        EXPECT_EQ(count["finish"], 1) << id;
        continue;
      }
      EXPECT_GE(count["begin"], 1) << id;
      EXPECT_LE(count["begin"], 2) << id;
      EXPECT_TRUE(count["finish"] >= 1 && count["finish"] <= 2) << id;
      if (checkpointed.count(id) != 0) {
        EXPECT_EQ(count["step"], 1) << id << ": its step was checkpointed and ran again";
      } else {
        EXPECT_GE(count["step"], 1) << id;
        EXPECT_LE(count["step"], 2) << id;
      }
    }
  }
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(QueueKillTest);

}  // namespace
}  // namespace dbos::testing
