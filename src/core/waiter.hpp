// The one waiting primitive behind every blocking DBOS operation (sleep, recv, get-event, result
// waits): a thread waits until it is signalled (a notification for what it waits on), a deadline
// passes, or it is interrupted (cancellation, shutdown). Arm() before checking the database and
// Wait() after: a signal that lands in between is not lost.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace dbos::messaging {

class Waiter {
 public:
  enum class Wake { Signaled, Deadline, Interrupted };

  /// Forgets earlier signals; call before re-checking the condition.
  void Arm() {
    std::lock_guard lock(mutex_);
    signaled_ = false;
  }
  /// Wakes the waiting thread (or makes its next Wait return at once).
  void Signal() {
    {
      std::lock_guard lock(mutex_);
      signaled_ = true;
    }
    cv_.notify_all();
  }
  /// Interrupts the waiting thread now and every later Wait.
  void Interrupt() {
    {
      std::lock_guard lock(mutex_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }
  bool Interrupted() const {
    std::lock_guard lock(mutex_);
    return interrupted_;
  }
  /// Waits until signalled, `deadline`, or interrupted.
  Wake WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, deadline, [&] { return signaled_ || interrupted_; });
    if (interrupted_) return Wake::Interrupted;
    if (signaled_) return Wake::Signaled;
    return Wake::Deadline;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool signaled_ = false;
  bool interrupted_ = false;
};

}  // namespace dbos::messaging
