// Executor processes for the multi-process queue tests: a crash worker (queue_worker.cpp) started
// with its stdin and stdout on pipes, so that a test waits for the lines it prints (with a
// deadline), tells it when to go, kills it and reaps it; the marks the workers append to the
// shared marker file; and the fixture that gives each test its own marker file.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/db_test.hpp"

namespace dbos::testing {

/// One crash-worker process. The destructor kills it if it still runs, so that a failed
/// assertion never leaves a worker behind.
class WorkerProcess {
 public:
  /// Starts DBOS_CRASH_WORKER_PATH with `args`.
  explicit WorkerProcess(std::vector<std::string> args) {
    int in_fds[2];
    int out_fds[2];
    // Close-on-exec: a sibling started later must not hold this worker's pipe ends open (its
    // stdin would then never reach end-of-file).
    if (pipe2(in_fds, O_CLOEXEC) != 0 || pipe2(out_fds, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return;
    }
    args.insert(args.begin(), DBOS_CRASH_WORKER_PATH);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in_fds[0], STDIN_FILENO);
      dup2(out_fds[1], STDOUT_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in_fds[0]);
    close(out_fds[1]);
    stdin_ = in_fds[1];
    stdout_ = out_fds[0];
  }
  ~WorkerProcess() {
    if (pid_ > 0 && !reaped_) Kill();
    CloseInput();
    if (stdout_ >= 0) close(stdout_);
  }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  /// Waits until the output contains `text`; false at the end of the output or the deadline.
  bool WaitFor(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !ReadSome(static_cast<int>(left.count()))) return false;
    }
    return true;
  }
  /// Everything the worker printed so far.
  const std::string& Output() const { return output_; }
  /// Writes one line to the worker's stdin.
  void WriteLine(const std::string& line) {
    const std::string text = line + "\n";
    EXPECT_EQ(write(stdin_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  /// Ends the worker's stdin.
  void CloseInput() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }
  /// SIGKILLs the worker and reaps it.
  void Kill() {
    kill(pid_, SIGKILL);
    Wait();
  }
  /// Reads the rest of its output, reaps it and returns its wait status.
  int Wait() {
    while (ReadSome(-1)) {
    }
    if (!reaped_) waitpid(pid_, &status_, 0);
    reaped_ = true;
    return status_;
  }
  /// Waits until it ends (its output closes) and reaps it; true when it exited with status 0.
  /// False at the deadline (it is then left running for the destructor to kill).
  bool ExitedCleanly(std::chrono::milliseconds timeout = std::chrono::seconds(90)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (stdout_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ADD_FAILURE() << "worker " << pid_ << " still runs after " << timeout.count() << " ms";
        return false;
      }
      ReadSome(static_cast<int>(left.count()));
    }
    const int status = Wait();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

 private:
  // Reads what is available within `timeout_ms` (-1: until some arrives); false at end of output.
  bool ReadSome(int timeout_ms) {
    if (stdout_ < 0) return false;
    pollfd fd{stdout_, POLLIN, 0};
    const int ready = poll(&fd, 1, timeout_ms);
    if (ready == 0 || (ready < 0 && errno == EINTR)) return true;  // nothing yet
    if (ready < 0) {
      ADD_FAILURE() << "poll on the output of worker " << pid_ << " failed: errno " << errno;
      close(stdout_);
      stdout_ = -1;
      return false;
    }
    char buffer[4096];
    const ssize_t n = read(stdout_, buffer, sizeof(buffer));
    if (n <= 0) {
      close(stdout_);
      stdout_ = -1;
      return false;
    }
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string output_;
};

/// One line of the marker file: "<kind> <workflow id> <steady ns> <executor id>".
struct WorkerMark {
  std::string kind;
  std::string id;
  long long ns = 0;
  std::string executor;
};

/// The marks in the order they were written.
inline std::vector<WorkerMark> ReadMarks(const std::string& file) {
  std::vector<WorkerMark> marks;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    WorkerMark mark;
    if (fields >> mark.kind >> mark.id >> mark.ns >> mark.executor) marks.push_back(mark);
  }
  return marks;
}

/// Polls `done` every 20 ms until it holds; false at the deadline.
inline bool WaitUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

/// Gives each test its own marker file and starts workers on the test's database.
class QueueWorkersTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    marker_ = UniqueName("queue-marks") + ".log";
  }
  void TearDown() override {
    std::remove(marker_.c_str());
    DbTest::TearDown();
  }
  /// Starts a worker with the arguments after the marker file (mode first).
  std::unique_ptr<WorkerProcess> StartWorker(const std::vector<std::string>& rest) const {
    std::vector<std::string> args = {url_, schema_, marker_};
    args.insert(args.end(), rest.begin(), rest.end());
    return std::make_unique<WorkerProcess>(std::move(args));
  }
  std::string marker_;
};

}  // namespace dbos::testing
