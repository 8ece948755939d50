// Threads for workflow executions. A workflow holds its thread while it runs (database round
// trips, steps); a waiting workflow parks and gives it back (core/parking.hpp). The pool starts a
// thread per queued task up to a soft maximum; past it, tasks queue, and the pool grows beyond
// the maximum only when no task has started for a while (every thread is stuck, e.g. in steps
// that block), so work never deadlocks behind busy threads. Threads idle for a while retire.
// Threads are detached and own a reference to the pool's state, so a workflow stuck in user code
// past Shutdown's timeout cannot leave a dangling pool behind.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace dbos::util {

class WorkerPool {
 public:
  explicit WorkerPool(std::chrono::milliseconds idle_retire = std::chrono::seconds(30),
                      size_t soft_max_threads = SIZE_MAX);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `task` on a pool thread (an idle one, a new one, or the next free one past the soft
  /// maximum). Tasks must not throw. When no thread can be started and none runs, throws and
  /// leaves nothing queued (the task never runs), unless a running thread took the task meanwhile.
  void Submit(std::function<void()> task);

  /// Waits until no task is queued or running, up to `timeout`; returns true if idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

  /// Number of threads (for tests and benchmarks).
  size_t ThreadCount();

  /// How long queued tasks may see no task start before the pool grows past its soft maximum.
  static constexpr std::chrono::milliseconds kStallGrowth{250};

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable work;
    std::condition_variable idle_cv;
    std::condition_variable watchdog_cv;
    std::deque<std::pair<uint64_t, std::function<void()>>> tasks;  ///< With submit numbers.
    uint64_t submitted = 0;
    uint64_t started = 0;  ///< Tasks taken by a thread so far (the watchdog's progress mark).
    size_t threads = 0;
    size_t idle_threads = 0;
    int busy = 0;
    bool stopping = false;
    bool watchdog = false;  ///< The stall watchdog runs.
    size_t soft_max = SIZE_MAX;
    std::chrono::milliseconds idle_retire{30000};
  };
  static void Loop(std::shared_ptr<State> state);
  static void Watchdog(std::shared_ptr<State> state);
  /// Under the lock: starts a thread; false when the system refused one.
  static bool SpawnLocked(const std::shared_ptr<State>& state);
  std::shared_ptr<State> state_;
};

}  // namespace dbos::util
