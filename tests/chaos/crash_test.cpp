// Crash tests with real processes: a worker is SIGKILLed at chosen points (inside a step before its
// checkpoint, after a checkpoint, before the outcome is written, or at an arbitrary moment with
// many workflows in flight), then a new process recovers. Completed steps never run again, an
// interrupted step runs again (at-least-once), and every workflow finishes once with the right
// result.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"

namespace dbos::testing {
namespace {

struct Exit {
  int status = 0;
  std::string out;
};

// Runs the worker with `args`, waiting for it to exit; collects stdout.
Exit RunWorker(const std::vector<std::string>& args, bool stop_at_ready = false,
               std::chrono::milliseconds kill_after_ready = std::chrono::milliseconds(120)) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string path = DBOS_CRASH_WORKER_PATH;
    argv.push_back(path.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  Exit result;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) {
    result.out.append(buffer, static_cast<size_t>(n));
    if (stop_at_ready && result.out.find("READY") != std::string::npos) break;
  }
  if (stop_at_ready) {
    // Let some workflows checkpoint steps, then kill at an arbitrary moment.
    std::this_thread::sleep_for(kill_after_ready);
    kill(pid, SIGKILL);
  }
  close(pipe_fds[0]);
  waitpid(pid, &result.status, 0);
  return result;
}

std::map<std::string, int> CountMarks(const std::string& file) {
  std::map<std::string, int> counts;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) ++counts[line];
  return counts;
}

class CrashTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    marker_ = UniqueName("marks") + ".log";
  }
  void TearDown() override {
    std::remove(marker_.c_str());
    DbTest::TearDown();
  }
  std::vector<std::string> Args(std::vector<std::string> rest) const {
    std::vector<std::string> args = {url_, schema_, marker_};
    args.insert(args.end(), rest.begin(), rest.end());
    return args;
  }
  // A first process dies at `point`; a second one recovers and must print the right result.
  void CrashThenRecover(const std::string& point) {
    const Exit crashed = RunWorker(Args({"run", "wf", point}));
    ASSERT_TRUE(WIFSIGNALED(crashed.status) && WTERMSIG(crashed.status) == SIGKILL)
        << "the worker did not die at " << point << ": " << crashed.out;
    ASSERT_EQ(OpenRaw()->GetWorkflow("wf", false)->status, "PENDING");
    const Exit recovered = RunWorker(Args({"recover", "wf"}));
    ASSERT_TRUE(WIFEXITED(recovered.status) && WEXITSTATUS(recovered.status) == 0) << recovered.out;
    EXPECT_NE(recovered.out.find("RESULT wf in:60"), std::string::npos) << recovered.out;
    EXPECT_EQ(OpenRaw()->GetWorkflow("wf", false)->status, "SUCCESS");
    EXPECT_EQ(OpenRaw()->ListSteps("wf").size(), 3u);
  }
  std::string marker_;
};

TEST_P(CrashTest, KilledInsideAStepRerunsOnlyThatStep) {
  CrashThenRecover("inside-step-2");
  auto marks = CountMarks(marker_);
  EXPECT_EQ(marks["wf step-1"], 1);
  EXPECT_EQ(marks["wf step-2"], 2);  // its checkpoint was never written: at-least-once
  EXPECT_EQ(marks["wf step-3"], 1);
}

TEST_P(CrashTest, KilledAfterACheckpointDoesNotRerunCompletedSteps) {
  CrashThenRecover("after-checkpoint-2");
  auto marks = CountMarks(marker_);
  EXPECT_EQ(marks["wf step-1"], 1);
  EXPECT_EQ(marks["wf step-2"], 1);
  EXPECT_EQ(marks["wf step-3"], 1);
}

TEST_P(CrashTest, KilledBeforeTheOutcomeIsWrittenRerunsNoStep) {
  CrashThenRecover("before-finish");
  auto marks = CountMarks(marker_);
  EXPECT_EQ(marks["wf step-1"], 1);
  EXPECT_EQ(marks["wf step-2"], 1);
  EXPECT_EQ(marks["wf step-3"], 1);
}

TEST_P(CrashTest, KilledWithManyWorkflowsInFlightFinishesEachOnce) {
  constexpr int kCount = 20;
  const Exit crashed = RunWorker(Args({"many", std::to_string(kCount)}), /*stop_at_ready=*/true);
  ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.out;
  // What was checkpointed before the kill must not run again.
  std::map<std::string, std::vector<int>> recorded;
  auto db = OpenRaw();
  for (int i = 0; i < kCount; ++i) {
    const std::string id = "crash-" + std::to_string(i);
    for (const auto& step : db->ListSteps(id)) recorded[id].push_back(step.function_id);
  }
  std::vector<std::string> args = {"recover"};
  for (int i = 0; i < kCount; ++i) args.push_back("crash-" + std::to_string(i));
  const Exit recovered = RunWorker(Args(args));
  ASSERT_TRUE(WIFEXITED(recovered.status) && WEXITSTATUS(recovered.status) == 0) << recovered.out;
  auto marks = CountMarks(marker_);
  for (int i = 0; i < kCount; ++i) {
    const std::string id = "crash-" + std::to_string(i);
    EXPECT_NE(recovered.out.find("RESULT " + id + " in:60"), std::string::npos) << id;
    EXPECT_EQ(db->GetWorkflow(id, false)->status, "SUCCESS");
    for (int step = 1; step <= 3; ++step) {
      const int runs = marks[id + " step-" + std::to_string(step)];
      EXPECT_GE(runs, 1) << id << " step " << step;
      EXPECT_LE(runs, 2) << id << " step " << step;
    }
    for (int function_id : recorded[id]) {
      EXPECT_EQ(marks[id + " step-" + std::to_string(function_id + 1)], 1)
          << id << ": step " << function_id << " was checkpointed before the crash and ran again";
    }
  }
}

// Thousands of workflows wait in Recv (most of them parked, holding no thread) when the process is
// killed: the next process recovers every one, and each receives its message and finishes once.
TEST_P(CrashTest, KilledWhileThousandsWaitLosesNone) {
  constexpr int kCount = 2000;
  const Exit crashed = RunWorker(Args({"waiters", "w-", std::to_string(kCount)}),
                                 /*stop_at_ready=*/true, std::chrono::milliseconds(1500));
  ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.out;
  auto db = OpenRaw();
  std::map<std::string, bool> first_step_recorded;
  for (int i = 0; i < kCount; ++i) {
    const std::string id = "w-" + std::to_string(i);
    EXPECT_EQ(db->GetWorkflow(id, false)->status, "PENDING") << id;
    first_step_recorded[id] = !db->ListSteps(id).empty();
  }
  const Exit released = RunWorker(Args({"release", "w-", std::to_string(kCount)}));
  ASSERT_TRUE(WIFEXITED(released.status) && WEXITSTATUS(released.status) == 0) << released.out;
  EXPECT_NE(released.out.find("RELEASED " + std::to_string(kCount)), std::string::npos)
      << released.out;
  auto marks = CountMarks(marker_);
  for (int i = 0; i < kCount; ++i) {
    const std::string id = "w-" + std::to_string(i);
    EXPECT_EQ(db->GetWorkflow(id, false)->status, "SUCCESS") << id;
    EXPECT_EQ(marks[id + " step-3"], 1) << id;
    if (first_step_recorded[id]) {
      EXPECT_EQ(marks[id + " step-1"], 1) << id;
    }
    EXPECT_GE(marks[id + " step-1"], 1) << id;
  }
}

TEST_P(CrashTest, KilledWhileSleepingWakesAtTheOriginalTime) {
  // Killed 2.5 s into a 4 s sleep: the recovered process sleeps the remaining 1.5 s, not a fresh
  // 4 s (the bounds leave a second and more for process start-up on a loaded machine).
  const auto start = std::chrono::steady_clock::now();
  const Exit crashed =
      RunWorker(Args({"sleep", "nap", "4000"}), true, std::chrono::milliseconds(2500));
  ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.out;
  const auto recovery_start = std::chrono::steady_clock::now();
  const Exit recovered = RunWorker(Args({"recover", "nap"}));
  const auto now = std::chrono::steady_clock::now();
  EXPECT_NE(recovered.out.find("RESULT nap woke"), std::string::npos) << recovered.out;
  EXPECT_GE(now - start, std::chrono::milliseconds(3950));
  EXPECT_LT(now - recovery_start, std::chrono::milliseconds(3000));
}

TEST_P(CrashTest, KilledWhileWaitingForAMessageTimesOutAtTheOriginalDeadline) {
  // As above: the recovered Recv times out at the first run's deadline, not 4 s after recovery.
  const auto start = std::chrono::steady_clock::now();
  const Exit crashed =
      RunWorker(Args({"recv", "waiter", "4000"}), true, std::chrono::milliseconds(2500));
  ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.out;
  const auto recovery_start = std::chrono::steady_clock::now();
  const Exit recovered = RunWorker(Args({"recover", "waiter"}));
  const auto now = std::chrono::steady_clock::now();
  EXPECT_NE(recovered.out.find("RESULT waiter timeout"), std::string::npos) << recovered.out;
  EXPECT_GE(now - start, std::chrono::milliseconds(3950));
  EXPECT_LT(now - recovery_start, std::chrono::milliseconds(3000));
}

TEST_P(CrashTest, SenderKilledRightAfterSendingDeliversExactlyOnce) {
  const Exit crashed = RunWorker(Args({"send"}));
  ASSERT_TRUE(WIFSIGNALED(crashed.status) && WTERMSIG(crashed.status) == SIGKILL) << crashed.out;
  const Exit recovered = RunWorker(Args({"recover", "sender", "inbox"}));
  EXPECT_NE(recovered.out.find("RESULT sender sent"), std::string::npos) << recovered.out;
  EXPECT_NE(recovered.out.find("RESULT inbox paid"), std::string::npos) << recovered.out;
  EXPECT_EQ(CountMarks(marker_)["sender body"], 2);  // the sender ran again after the crash …
  const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + table), Rows{{"1"}});  // … but sent once
}

TEST_P(CrashTest, WorkflowThatKeepsCrashingItsProcessIsDeadLettered) {
  // Attempt 1 is the first run; each restart recovers it once more; WithMaxRetries(2) allows
  // attempts up to 3, so the fourth start dead-letters it instead of running the step again.
  for (int run = 0; run < 3; ++run) {
    const Exit crashed = RunWorker(Args({"poison", "poison-wf"}));
    ASSERT_TRUE(WIFSIGNALED(crashed.status)) << "run " << run << ": " << crashed.out;
  }
  const Exit last = RunWorker(Args({"poison", "poison-wf"}));
  ASSERT_TRUE(WIFEXITED(last.status)) << last.out;
  EXPECT_NE(last.out.find("STATUS MAX_RECOVERY_ATTEMPTS_EXCEEDED DeadLetterQueue"),
            std::string::npos)
      << last.out;
  EXPECT_EQ(CountMarks(marker_)["poison step"], 3);
}

// Local senders hand messages to receivers that are just starting to wait, and a SIGKILL lands
// at an arbitrary moment: no receiver's step history may have a gap (its DBOS.sleep deadline row
// is committed before a sender may record its DBOS.recv row), and each receives its message.
TEST_P(CrashTest, KilledWhileSendersDeliverToStartingReceiversLeavesNoStepGaps) {
  constexpr int kCount = 30;
  for (int round = 0; round < 3; ++round) {
    const std::string prefix = "racer-" + std::to_string(round) + "-";
    const Exit crashed = RunWorker(Args({"race-recv", prefix, std::to_string(kCount)}),
                                   /*stop_at_ready=*/true, std::chrono::milliseconds(round * 5));
    ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.out;
    auto db = OpenRaw();
    std::vector<std::string> args = {"recover"};
    for (int i = 0; i < kCount; ++i) {
      const std::string id = prefix + std::to_string(i);
      // At the kill a receiver may have no row yet, only its deadline (DBOS.sleep at 1: it was
      // waiting), or both; never its DBOS.recv (0) without the deadline row after it.
      const auto steps = db->ListSteps(id);
      bool recv = false;
      bool sleep = false;
      for (const auto& step : steps) {
        recv = recv || (step.function_id == 0 && step.function_name == "DBOS.recv");
        sleep = sleep || (step.function_id == 1 && step.function_name == "DBOS.sleep");
      }
      EXPECT_TRUE(!recv || sleep) << id << ": DBOS.recv is recorded without its DBOS.sleep row";
      args.push_back(id);
    }
    const Exit recovered = RunWorker(Args(args));
    ASSERT_TRUE(WIFEXITED(recovered.status) && WEXITSTATUS(recovered.status) == 0) << recovered.out;
    for (int i = 0; i < kCount; ++i) {
      const std::string id = prefix + std::to_string(i);
      EXPECT_NE(recovered.out.find("RESULT " + id + " ping"), std::string::npos) << id;
      const auto steps = db->ListSteps(id);
      ASSERT_EQ(steps.size(), 2u) << id;
      EXPECT_EQ(steps[0].function_name, "DBOS.recv");
      EXPECT_EQ(steps[1].function_name, "DBOS.sleep");
    }
  }
}

// Another process's Send and SetEvent wake waiters here at once: on PostgreSQL through
// LISTEN/NOTIFY (the safety poll is 5 s), on SQLite through the 200 ms poll.
TEST_P(CrashTest, MessagesAndEventsFromAnotherProcessWakeWaitersPromptly) {
  Config config = MakeConfig();
  config.application_version = "crash-v1";
  config.app_name = "crash-worker";
  // Every live process on a database needs its own executor ID: the worker, executor "local",
  // recovers the PENDING workflows of "local" when it launches.
  config.executor_id = "test-process";
  DBOSContext ctx = NewDBOSContext(config);
  auto waiter = [](DBOSContext& c, int) {
    return Recv<std::string>(c, "topic", std::chrono::seconds(30));
  };
  RegisterWorkflow(ctx, waiter, WithWorkflowName("cross-process-waiter"));
  Launch(ctx);
  auto handle = RunWorkflow(ctx, waiter, 0, WithWorkflowID("waiting-here"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // it is waiting now
  auto start = std::chrono::steady_clock::now();
  const Exit poked = RunWorker(Args({"poke", "waiting-here"}));
  ASSERT_TRUE(WIFEXITED(poked.status) && WEXITSTATUS(poked.status) == 0) << poked.out;
  EXPECT_EQ(handle.GetResult(), "ping");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3000));

  std::string value;
  std::thread reader(
      [&] { value = GetEvent<std::string>(ctx, "published", "key", std::chrono::seconds(30)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  start = std::chrono::steady_clock::now();
  const Exit published = RunWorker(Args({"publish", "published"}));
  reader.join();
  ASSERT_TRUE(WIFEXITED(published.status) && WEXITSTATUS(published.status) == 0) << published.out;
  EXPECT_EQ(value, "value");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3000));
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(CrashTest);

}  // namespace
}  // namespace dbos::testing
