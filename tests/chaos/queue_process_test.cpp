// Three executor processes share one queue with a global concurrency of 3 (each may run 2):
// at no instant do more than 3 of the queue's workflows run across the processes, and every
// workflow runs exactly once.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/db_test.hpp"

namespace dbos::testing {
namespace {

class QueueProcessTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    marker_ = UniqueName("queue-marks") + ".log";
  }
  void TearDown() override {
    std::remove(marker_.c_str());
    DbTest::TearDown();
  }
  // Starts a worker process; returns its pid.
  pid_t Spawn(const std::vector<std::string>& rest) const {
    std::vector<std::string> args = {DBOS_CRASH_WORKER_PATH, url_, schema_, marker_};
    args.insert(args.end(), rest.begin(), rest.end());
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }
  std::string marker_;
};

TEST_P(QueueProcessTest, GlobalConcurrencyHoldsAcrossProcessesAndEachWorkflowRunsOnce) {
  constexpr int kPerExecutor = 12;
  const std::vector<std::string> executors = {"exec-a", "exec-b", "exec-c"};
  std::vector<pid_t> pids;
  for (const auto& executor : executors) {
    pids.push_back(
        Spawn({"queue", executor, "exec-a,exec-b,exec-c", std::to_string(kPerExecutor)}));
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker status " << status;
  }
  // Replays the start/end marks in time order: the running count never exceeds 3.
  std::vector<std::pair<long long, int>> events;  // (ns, +1 start / -1 end)
  std::map<std::string, int> starts;
  std::ifstream in(marker_);
  std::string kind;
  std::string id;
  long long ns = 0;
  while (in >> kind >> id >> ns) {
    if (kind == "start") {
      ++starts[id];
      events.emplace_back(ns, +1);
    } else if (kind == "end") {
      events.emplace_back(ns, -1);
    }
  }
  std::sort(events.begin(), events.end());  // an end before a start at the same instant
  int running = 0;
  int most = 0;
  for (const auto& [at, delta] : events) most = std::max(most, running += delta);
  EXPECT_LE(most, 3);
  EXPECT_GE(most, 2);  // the queue was actually shared
  EXPECT_EQ(starts.size(), executors.size() * kPerExecutor);
  for (const auto& [workflow, n] : starts) EXPECT_EQ(n, 1) << workflow;
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(QueueProcessTest);

}  // namespace
}  // namespace dbos::testing
