// One background thread that runs rounds: a round runs, says how long to pause, and the thread
// sleeps until then, until Wake, or until Stop. The queue runner, the delay promoter, the wait
// watcher and the scheduler are each one of these; what differs is their round.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace dbos::util {

class BackgroundLoop {
 public:
  using Duration = std::chrono::steady_clock::duration;
  /// What a round asks for: sleep this long (at most kLongestPause), or less when woken (unless
  /// `wakeable` is false: after a failure, wake-ups must not hammer a database that is failing;
  /// only Stop cuts it short).
  struct Pause {
    Duration length;
    bool wakeable = true;
  };
  /// A longer pause is cut to this (a time point near the clock's end would overflow the wait).
  static constexpr std::chrono::hours kLongestPause{24};
  /// A round, on the loop's thread. `woken`: Wake was called since the previous round began.
  using Round = std::function<Pause(bool woken)>;

  BackgroundLoop() = default;
  ~BackgroundLoop();
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  /// Starts the thread; its first round runs at once. Called once. The round must not throw (it
  /// catches and logs its own failures and asks for a non-wakeable pause).
  void Start(Round round);
  /// Stops and joins the thread (a round in progress finishes first); idempotent, and a no-op
  /// when never started.
  void Stop();
  /// Ends the current pause if it is wakeable; during a round, ends the next pause at once if
  /// that one is wakeable. The next round learns of it either way.
  void Wake();
  /// True once Stop was called: a long round checks it between its parts.
  bool Stopping();

 private:
  void Run(const Round& round);

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;   ///< Guarded by mutex_.
  bool woken_ = false;  ///< Guarded by mutex_.
  std::thread thread_;
};

/// The pause after a round of a background loop: `base` while rounds succeed; after failures in
/// a row, doubling up to a minute (never below `base`, never below a millisecond: a failing
/// database is not hammered in a tight loop).
class FailureBackoff {
 public:
  explicit FailureBackoff(std::chrono::milliseconds base) : base_(base), current_(base) {}
  /// The pause after a round that failed (or not).
  std::chrono::milliseconds After(bool failed) {
    using std::chrono::milliseconds;
    current_ = failed
                   ? std::max({base_, milliseconds(1), std::min(current_ * 2, milliseconds(60000))})
                   : base_;
    return current_;
  }

 private:
  const std::chrono::milliseconds base_;
  std::chrono::milliseconds current_;
};

}  // namespace dbos::util
