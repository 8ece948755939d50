// Threads for workflow executions. A workflow blocks its thread (database round trips, sleeps,
// waits), so the pool grows on demand instead of queueing behind busy threads, and threads idle
// for a while retire. Threads are detached and own a reference to the pool's state, so a workflow
// stuck in user code past Shutdown's timeout cannot leave a dangling pool behind.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace dbos::util {

class WorkerPool {
 public:
  explicit WorkerPool(std::chrono::milliseconds idle_retire = std::chrono::seconds(30));
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `task` on a pool thread (an idle one, or a new one). Tasks must not throw. When no
  /// thread can be started, throws and leaves nothing queued (the task never runs), unless a
  /// running thread took the task meanwhile.
  void Submit(std::function<void()> task);

  /// Waits until no task is queued or running, up to `timeout`; returns true if idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable work;
    std::condition_variable idle_cv;
    std::deque<std::pair<uint64_t, std::function<void()>>> tasks;  ///< With submit numbers.
    uint64_t submitted = 0;
    int threads = 0;
    int idle_threads = 0;
    int busy = 0;
    bool stopping = false;
    std::chrono::milliseconds idle_retire{30000};
  };
  static void Loop(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace dbos::util
