// The one waiting primitive behind every blocking DBOS operation (sleep, recv, get-event, result
// waits): a thread waits until it is signalled (a notification for what it waits on), a deadline
// passes, it is interrupted (cancellation, shutdown), or it is asked to park (give its thread back;
// see core/parking.hpp). Arm() before checking the database and Wait() after: a signal that lands
// in between is not lost.
//
// While its workflow is parked the waiter has no thread: a wake callback then takes the place of
// the condition variable, so that a signal or an interruption resumes the workflow.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>

namespace dbos::messaging {

class Waiter {
 public:
  enum class Wake { Signaled, Deadline, Interrupted, Park };

  /// Forgets earlier signals; call before re-checking the condition.
  void Arm() {
    std::lock_guard lock(mutex_);
    signaled_ = false;
  }
  /// Wakes the waiting thread (or makes its next Wait return at once, or resumes the parked
  /// workflow).
  void Signal() {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      signaled_ = true;
      wake = on_wake_;
    }
    cv_.notify_all();
    if (wake) wake();
  }
  /// Signal(), unless the workflow is parked (then nothing).
  void SignalUnlessParked() {
    {
      std::lock_guard lock(mutex_);
      if (on_wake_) return;
      signaled_ = true;
    }
    cv_.notify_all();
  }
  /// Interrupts the waiting thread now and every later Wait.
  void Interrupt() {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      interrupted_ = true;
      wake = on_wake_;
    }
    cv_.notify_all();
    if (wake) wake();
  }
  bool Interrupted() const {
    std::lock_guard lock(mutex_);
    return interrupted_;
  }
  /// Asks the waiting thread (now, or at its next Wait) to return Wake::Park unless it was
  /// signalled or interrupted.
  void RequestPark() {
    {
      std::lock_guard lock(mutex_);
      park_requested_ = true;
    }
    cv_.notify_all();
  }
  /// Withdraws a park request (the wait it was meant for ended on its own).
  void ClearParkRequest() {
    std::lock_guard lock(mutex_);
    park_requested_ = false;
  }
  /// Waits until signalled, `deadline`, interrupted, or asked to park.
  Wake WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, deadline, [&] { return signaled_ || interrupted_ || park_requested_; });
    if (interrupted_) return Wake::Interrupted;
    if (signaled_) return Wake::Signaled;
    if (park_requested_) return Wake::Park;
    return Wake::Deadline;
  }
  /// Parked: `on_wake` runs at each later Signal or Interrupt (it must be cheap: it may run under
  /// the notifier's lock). Returns true when a signal or an interruption came since the last
  /// Arm(): the caller must then wake the workflow itself.
  bool SetWakeCallback(std::function<void()> on_wake) {
    std::lock_guard lock(mutex_);
    on_wake_ = std::move(on_wake);
    return signaled_ || interrupted_;
  }
  /// Back to a thread waiting: drops the wake callback, the park request and earlier signals
  /// (the resumed execution re-checks everything). An interruption stays.
  void Unpark() {
    std::lock_guard lock(mutex_);
    on_wake_ = nullptr;
    park_requested_ = false;
    signaled_ = false;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool signaled_ = false;
  bool interrupted_ = false;
  bool park_requested_ = false;
  std::function<void()> on_wake_;
};

}  // namespace dbos::messaging
