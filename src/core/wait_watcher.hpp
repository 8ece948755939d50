// The safety net of waiting workflows, for all of them at once. Notifications wake waits first
// (in-process signals; LISTEN/NOTIFY on PostgreSQL); what they can miss — a write by another
// process on SQLite, a child workflow that ended in another process, a notification lost while
// the listener reconnected, a cancellation made elsewhere — one background thread looks for in
// the database every round: the cancellations of every workflow executing here, and what each
// parked wait waits for (its probes). With a listener (PostgreSQL), messages and events are
// announced, so their probes are checked once a minute and at once after a reconnect; the end of
// a workflow is never announced and is checked every round. Those it finds are woken through their
// notifier keys, so a parked workflow replays only when there is news for it, and a round costs one
// query per kChunk waits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <vector>

#include "core/parking.hpp"
#include "core/runtime.hpp"
#include "util/background_loop.hpp"

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
  /// Runs a round of every probe now (the listener reconnected: any notification may have been
  /// missed).
  void Wake() override;

  /// Most IDs one query of a round carries.
  static constexpr size_t kChunk = 2000;
  /// A round's interval grows with the waits it checks by this much per wait (above the
  /// runtime's background poll interval), so that its cost stays a small share of the process:
  /// 100,000 parked waits are checked every 5 s.
  static constexpr std::chrono::microseconds kIntervalPerWait{50};
  /// With a listener, how often the probes of announced things (messages, events) are checked.
  static constexpr std::chrono::seconds kAnnouncedInterval{60};

 private:
  /// One round; returns how many waits it checked. Each part (the cancellations, each chunk of
  /// probes) goes on when another fails; `failed` tells whether one did.
  size_t Round(bool& failed);
  /// The probes this round checks: all of them (`every_probe` set), or with a listener only the
  /// ends of workflows (unless kAnnouncedInterval passed or the listener reconnected).
  std::vector<ParkProbe> ProbesOfThisRound(bool& every_probe);
  /// Logs a failed part, unless shutting down (the database then refuses on purpose).
  void LogFailure(const char* part, const std::exception& e);

  Runtime& runtime_;
  std::atomic<bool> reconnected_{false};  ///< The next round checks every probe.
  std::chrono::steady_clock::time_point announced_checked_{};  ///< Only the loop's thread.
  util::FailureBackoff backoff_;                               ///< Only the loop's thread.
  util::BackgroundLoop loop_;  ///< Last: stopped first, before the members its rounds use.
};

}  // namespace dbos::detail
