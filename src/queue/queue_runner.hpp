// The queue runner: one background thread that claims ENQUEUED workflows from the system
// database and starts them. It serves the internal queue (recovery re-enqueues there) and every
// queue declared in this process (queue_claims.cpp: their limits). A round runs at once when a
// workflow is enqueued here or a queued workflow ends here, and, on PostgreSQL, when another
// process announces work on a queue served here (a NOTIFY: an enqueue, a promoted delayed
// workflow, a free global-concurrency slot); otherwise every second (the safety net for work
// nobody announces, such as other DBOS SDKs' enqueues). A round looks at the internal queue only
// when something may have put work there (a wake-up other than an enqueue on a declared queue or
// an ended execution, a full batch, a version check) or a poll interval has passed. A claimed
// workflow that fails to start is tried again at the next rounds (the rest of its batch starts
// regardless), and given up after kMaxFailedStarts failures.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/runtime.hpp"
#include "sysdb/system_database.hpp"
#include "util/background_loop.hpp"

namespace dbos::queue {

/// Failed starts in a row after which a claimed workflow is given up, once they also span this
/// many poll intervals (so that a short outage during a burst of rounds gives up nothing): it is
/// moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED, which frees its queue slot and which ResumeWorkflow
/// starts again. Until then it holds its slot and is tried again at the next rounds. Waiting for
/// an earlier execution of its ID to end here is no failure.
inline constexpr int kMaxFailedStarts = 10;

class QueueRunner final : public detail::BackgroundService {
 public:
  explicit QueueRunner(detail::Runtime& runtime);
  ~QueueRunner() override;
  QueueRunner(const QueueRunner&) = delete;
  QueueRunner& operator=(const QueueRunner&) = delete;

  /// Starts the background thread.
  void Start();
  /// Stops and joins the background thread.
  void Stop() override;
  /// Runs a round now (work was enqueued or promoted in this process), the internal queue
  /// included.
  void Wake() override;
  /// Runs a round now for work on the declared queues only (an enqueue on one of them, an ended
  /// execution that frees a slot): the round looks at the internal queue only if it is due.
  void WakeForDeclaredQueues() override;

  /// The most workflows (with their inputs) one round claims from the internal queue: a recovered
  /// backlog is claimed and started a batch at a time, the next batch at once after the last.
  static constexpr int kInternalClaimBatch = 500;

 private:
  /// One round of the loop: dequeues, then says how long to pause.
  util::BackgroundLoop::Pause Round();
  void DequeueRound();
  /// Starts one claimed workflow; when it cannot start, keeps it for the next round (never
  /// throws).
  void StartClaimed(sysdb::DequeuedWorkflow workflow, int failed_attempts);
  /// True unless the row is known to be no longer PENDING under this executor.
  bool StillClaimed(const std::string& id);
  /// Counts a failed start of a claimed workflow; after kMaxFailedStarts, moves it to
  /// MAX_RECOVERY_ATTEMPTS_EXCEEDED and returns true (false: keep it for the next round).
  bool GiveUpAfterFailedStart(const std::string& id, const std::string& why);

  // ---- Declared queues (queue_claims.cpp)
  /// Claims from every declared queue (each partition of a partitioned one) within its limits
  /// and starts what it claimed. Returns true when a claim met another executor's.
  bool ClaimDeclaredQueues(const sysdb::DequeueRequest& base);
  /// A claim of a queue with limits counted in the database reported contention: when the
  /// queue's `queues` row is gone (deleted by another process or by hand), writes it again. On
  /// PostgreSQL claimers take turns on that row, so without it nothing would ever be claimed.
  void RestoreQueueRow(const WorkflowQueue& queue);
  /// An execution ended here: frees its queue slot (if it had one) and wakes the runner.
  void Released(const std::string& workflow_id);
  /// Workflows of (queue, partition) this process claimed and has not seen end.
  int Running(const std::string& queue, const std::string& partition);
  /// Forgets slots of workflows that neither execute here nor wait to be started again (a
  /// claimed workflow that could not start).
  void ReconcileSlots();
  /// The wait after a round that met another claimer: short, growing, jittered.
  std::chrono::milliseconds ContentionDelay();

  detail::Runtime& runtime_;
  const std::chrono::milliseconds poll_interval_;  ///< Runtime::BackgroundPollInterval()
  util::FailureBackoff backoff_;                   ///< Runner thread only.
  std::chrono::steady_clock::time_point version_checked_ = std::chrono::steady_clock::now();
  /// Something may have put work on the internal queue since the last look: a wake-up not only
  /// for declared queues, a full batch, a version check. Starts true: the first round looks.
  std::atomic<bool> internal_due_{true};
  /// The end of the last look at the internal queue (runner thread only); a round looks at least
  /// every poll interval anyway, for work nobody announces (other processes on SQLite, other
  /// SDKs).
  std::chrono::steady_clock::time_point internal_checked_{};
  /// The current round looked at the internal queue (runner thread only).
  bool looked_internal_ = false;
  /// Claimed (PENDING here) but not started yet, with their failed start attempts.
  std::vector<std::pair<sysdb::DequeuedWorkflow, int>> retry_;

  bool contended_ = false;  ///< The last round met another claimer (runner thread only).
  int contention_streak_ = 0;
  std::minstd_rand jitter_{std::random_device{}()};
  /// Worker-concurrency accounting, per (queue, partition) ("" when not partitioned).
  std::mutex slots_mutex_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> slot_of_;
  std::map<std::pair<std::string, std::string>, int> running_;
  /// Claimed workflows waiting in retry_ to be started again: an earlier execution of theirs
  /// that ends meanwhile hands its slot over instead of freeing it.
  std::unordered_set<std::string> awaiting_start_;
  /// Claimed workflows whose start failed: failures in a row and the time of the first (runner
  /// thread only).
  std::unordered_map<std::string, std::pair<int, std::chrono::steady_clock::time_point>>
      failed_starts_;
  util::BackgroundLoop loop_;  ///< Last: stopped first, before the members its rounds use.
};

}  // namespace dbos::queue
