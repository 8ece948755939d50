// The safety net of waiting workflows, for all of them at once. Notifications wake waits first
// (in-process signals; LISTEN/NOTIFY on PostgreSQL); what they can miss — a write by another
// process on SQLite, a child workflow that ended in another process, a notification lost while
// the listener reconnected, a cancellation made elsewhere, a parked Recv's own step recorded by
// another execution of its workflow — one background thread looks for in the database: the
// cancellations of every workflow executing here, and what each parked wait waits for (its
// probes). Every round checks the ends of workflows (never announced) and, without a listener,
// messages and events; a full round, once a minute and at once after a listener reconnect, checks
// every probe (with a listener, messages and events are announced; a step recorded elsewhere is
// rare news). Those it finds are woken if still parked in a wait for that probe, so a parked
// workflow replays only when there is news for it, and a round costs one query per kChunk probes.
// Its queries fail fast: a chunk that fails is tried again next round (smaller, with other
// neighbours; a full round that failed somewhere is repeated), the rest of the round goes on (see
// AdaptiveChunks), and rounds come less often while the database is away (nothing succeeds).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <vector>

#include "core/parking.hpp"
#include "core/runtime.hpp"
#include "util/adaptive_chunks.hpp"
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

  /// Most IDs one query of a round carries, and fewest after failures.
  static constexpr size_t kChunk = 2000;
  static constexpr size_t kSmallestChunk = 50;
  /// A round stops after this many queries failed one after the other (the database is away).
  static constexpr int kFailuresInARow = 2;
  /// A round's interval grows with the waits it checks by this much per wait (above the
  /// runtime's background poll interval), so that its cost stays a small share of the process:
  /// 100,000 parked waits are checked every 5 s.
  static constexpr std::chrono::microseconds kIntervalPerWait{50};

 private:
  /// How a round's queries went.
  struct Health {
    bool succeeded = false;          ///< At least one query succeeded.
    bool failed = false;             ///< At least one query (or the round itself) failed.
    bool cancellations_ran = false;  ///< The cancellation chunks ran a round.
    bool probes_ran = false;         ///< The probe chunks ran a round.
  };
  /// One round; returns how many waits it checked. Each part (the cancellations, each chunk of
  /// probes) goes on when another fails.
  size_t Round(Health& health);
  /// Interrupts the workflows executing here that another process cancelled; returns how many
  /// it checked.
  size_t CheckCancellations(Health& health);
  /// Wakes the parked waits that have news; returns how many waits it checked.
  size_t CheckProbes(Health& health);
  /// A probe of this round and the index of the parked wait it belongs to.
  struct ProbeOf {
    const ParkProbe* probe;
    size_t owner;
  };
  /// The probes this round checks, pointing into `parked`: every probe in a full round (the
  /// runtime's WatcherFullRoundInterval passed, or the listener reconnected), otherwise the ends
  /// of workflows and, without a listener, messages and events. `waits`: how many parked waits
  /// they belong to.
  std::vector<ProbeOf> ProbesOfThisRound(std::vector<ParkedProbes>& parked, bool& full_round,
                                         size_t& waits);
  /// Runs one query of a round, noting in `health` how it went; a failure is logged. Returns
  /// whether it succeeded.
  bool Query(const char* part, Health& health, const std::function<void()>& query);
  /// Logs a failed part, unless shutting down (the database then refuses on purpose); at most
  /// once per kLogInterval, counting the failures it did not log.
  void LogFailure(const char* part, const std::exception& e);
  static constexpr std::chrono::seconds kLogInterval{60};

  Runtime& runtime_;
  std::atomic<bool> reconnected_{false};                   ///< The next round checks every probe.
  std::chrono::steady_clock::time_point full_round_at_{};  ///< Only the loop's thread.
  std::chrono::steady_clock::time_point logged_failure_at_{};  ///< Only the loop's thread.
  size_t unlogged_failures_ = 0;                               ///< Only the loop's thread.
  util::FailureBackoff backoff_;                               ///< Only the loop's thread.
  util::AdaptiveChunks cancellation_chunks_{kChunk, kSmallestChunk, kFailuresInARow};  ///< Ditto.
  util::AdaptiveChunks probe_chunks_{kChunk, kSmallestChunk, kFailuresInARow};         ///< Ditto.
  util::BackgroundLoop loop_;  ///< Last: stopped first, before the members its rounds use.
};

}  // namespace dbos::detail
