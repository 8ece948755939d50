// The safety net of waiting workflows, for all of them at once. Notifications wake waits first
// (in-process signals; LISTEN/NOTIFY on PostgreSQL); what they can miss — a write by another
// process on SQLite, a child workflow that ended in another process, a notification lost while
// the listener reconnected, a cancellation made elsewhere — one background thread looks for in
// the database every round: the cancellations of every workflow executing here, and what each
// parked wait waits for (its probes). Those it finds are woken through their notifier keys, so a
// parked workflow replays only when there is news for it, and a round costs a few chunked
// queries however many workflows wait.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "core/runtime.hpp"

namespace dbos::detail {

class WaitWatcher final : public BackgroundService {
 public:
  explicit WaitWatcher(Runtime& runtime);
  ~WaitWatcher() override;
  WaitWatcher(const WaitWatcher&) = delete;
  WaitWatcher& operator=(const WaitWatcher&) = delete;

  /// Starts the background thread.
  void Start();
  /// Stops and joins the background thread.
  void Stop() override;
  /// Runs a round now (the listener reconnected: any notification may have been missed).
  void Wake() override;

  /// Most IDs one query of a round carries.
  static constexpr size_t kChunk = 2000;
  /// A round's interval grows with the waits it checks by this much per wait (above the
  /// runtime's background poll interval), so that its cost stays a small share of the process:
  /// 100,000 parked waits are checked every 5 s.
  static constexpr std::chrono::microseconds kIntervalPerWait{50};

 private:
  void Run();
  /// One round; returns how many waits it checked. Each part (the cancellations, each chunk of
  /// probes) goes on when another fails; `failed` tells whether one did.
  size_t Round(bool& failed);
  bool Stopping();
  /// Logs a failed part, unless shutting down (the database then refuses on purpose).
  void LogFailure(const char* part, const std::exception& e);

  Runtime& runtime_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dbos::detail
