// The dbos::Go steps of one workflow execution: how many still run, and the one lock and
// condition under which their outcomes are published and awaited (Get, Select, the end of the
// workflow). Waits that a cancellation or a shutdown must cut short take the workflow's stop
// token: WorkflowState::Interrupt requests it after recording why, so an interrupted wait finds
// the reason set.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace dbos::detail {

class ConcurrentSteps {
 public:
  /// A step was handed to a worker.
  void Started() {
    std::lock_guard lock(mutex_);
    ++running_;
  }
  /// A step's worker is done: `publish` runs under the lock (it stores the outcome), then every
  /// waiter re-checks.
  template <typename Publish>
  void Finished(Publish&& publish) {
    {
      std::lock_guard lock(mutex_);
      publish();
      --running_;
    }
    cv_.notify_all();
  }
  /// Runs `read` under the lock (to read an outcome) and returns its result.
  template <typename Read>
  auto Locked(Read&& read) {
    std::lock_guard lock(mutex_);
    return read();
  }
  /// Waits until `ready()` (called under the lock) holds; false when `stop` was requested first.
  template <typename Ready>
  bool WaitUntilReady(std::stop_token stop, Ready&& ready) {
    std::unique_lock lock(mutex_);
    return cv_.wait(lock, std::move(stop), ready);
  }
  /// Waits until `ready()` holds, whatever happens meanwhile (a step body may reference what the
  /// waiter is about to destroy).
  template <typename Ready>
  void WaitUntilReadyUninterruptibly(Ready&& ready) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, ready);
  }
  /// Sleeps until `deadline`; false when `stop` was requested first.
  bool SleepUntil(std::stop_token stop, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, stop, deadline, [] { return false; });
    return !stop.stop_requested();
  }
  /// Number of steps still running (a workflow with some cannot park: its replay would start
  /// them again).
  int Running() {
    std::lock_guard lock(mutex_);
    return running_;
  }
  /// Waits until every step handed to a worker is done.
  void WaitAllFinished() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return running_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any cv_;
  int running_ = 0;
};

}  // namespace dbos::detail
