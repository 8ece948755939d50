// The state behind a DBOSContext: resolved configuration, the system database, the registries,
// the workflows executing in this process, the worker threads and the queue runner, plus the
// launch/shutdown order that ties them together.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/config_resolution.hpp"
#include "core/deadline_watcher.hpp"
#include "core/error_types.hpp"
#include "core/guarded_database.hpp"
#include "core/notifier.hpp"
#include "core/outcome.hpp"
#include "core/parking.hpp"
#include "core/queue_registry.hpp"
#include "core/registry.hpp"
#include "core/workflow_state.hpp"
#include "dbos/config.hpp"
#include "dbos/logging.hpp"
#include "sysdb/system_database.hpp"
#include "util/worker_pool.hpp"

namespace dbos::detail {

/// A background loop started at Launch by a layer above this one (the queue runner), stopped
/// first at Shutdown.
class BackgroundService {
 public:
  virtual ~BackgroundService() = default;
  /// Stops and joins the loop; idempotent.
  virtual void Stop() = 0;
  /// Asks the loop to run a round now instead of at its next scheduled time.
  virtual void Wake() {}
  /// As Wake, for work only the queues declared in this process can have (an enqueue on one of
  /// them): the queue runner's round then need not look at the internal queue. Other services
  /// just run a round.
  virtual void WakeForDeclaredQueues() { Wake(); }
};

/// A workflow executing (or about to execute) in this process.
struct ActiveExecution {
  std::string workflow_name;
  std::shared_ptr<WorkflowOutcome> outcome;
  std::shared_ptr<WorkflowState> state;  ///< Null until the execution thread starts.
};

class Runtime : public std::enable_shared_from_this<Runtime> {
 public:
  explicit Runtime(const Config& config);
  /// A Client's runtime: never launched, it executes nothing; it opens an existing system
  /// database (`options.existing_only`) with the already resolved `config`.
  Runtime(ResolvedConfig config, std::shared_ptr<Logger> logger, sysdb::Options options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void Launch();
  void Shutdown(std::chrono::milliseconds timeout) noexcept;

  const ResolvedConfig& Config() const noexcept { return config_; }
  Logger& Log() const noexcept { return *logger_; }
  /// The system database; a failure of an operation is noted in the workflow running on the
  /// calling thread (see guarded_database.hpp).
  sysdb::SystemDatabase& Db() const noexcept { return *guarded_; }
  WorkflowRegistry& Registry() noexcept { return registry_; }
  const ErrorTypeRegistry& ErrorTypes() const noexcept { return error_types_; }
  ErrorTypeRegistry& MutableErrorTypes() noexcept { return error_types_; }
  util::WorkerPool& Pool() noexcept { return pool_; }
  /// Where waiting workflows park (give their thread back) when many wait at once.
  ParkingLot& Parking() noexcept { return *parking_; }
  /// Workflow threads kept at most while work makes progress (the pool grows past it only when
  /// every thread is stuck, e.g. in steps that block).
  static constexpr size_t kWorkflowThreads = 128;
  /// Workflows that may wait on their thread at once before the longest waiting one parks.
  static constexpr size_t kResidentWaits = 64;
  /// The queues declared in this process.
  QueueRegistry& Queues() noexcept { return queues_; }

  /// Set once by the queue runner before it starts: `released` learns of every execution that
  /// ended here (a queue slot may be free).
  void SetQueueRunnerSignals(std::function<void(const std::string&)> released) {
    execution_released_ = std::move(released);
  }
  /// Has the queue runner run a dequeue round now (work was enqueued or promoted, here or, on
  /// PostgreSQL, in another process); does nothing before Launch.
  void WakeQueueRunner();
  /// As WakeQueueRunner, for work enqueued on `queue` only: when that is a queue declared here,
  /// the round need not look at the internal queue.
  void WakeQueueRunnerFor(const std::string& queue);
  /// How often the queue runner and the delay promoter look at the database when nothing wakes
  /// them (the safety net for changes nobody announces, such as other DBOS SDKs' enqueues).
  std::chrono::milliseconds BackgroundPollInterval() const noexcept {
    return background_poll_interval_.load();
  }
  /// Test seam: a longer poll shows that wake-ups, not the poll, start the work (set before
  /// Launch).
  void SetBackgroundPollIntervalForTesting(std::chrono::milliseconds interval) {
    background_poll_interval_.store(interval);
  }
  /// How often the wait watcher checks every probe of the parked waits (see wait_watcher.hpp).
  std::chrono::milliseconds WatcherFullRoundInterval() const noexcept {
    return watcher_full_round_interval_.load();
  }
  void SetWatcherFullRoundIntervalForTesting(std::chrono::milliseconds interval) {
    watcher_full_round_interval_.store(interval);
  }

  /// Set once at Launch by the top layer: the scheduler of cron schedules.
  void SetScheduler(std::unique_ptr<BackgroundService> scheduler);
  /// Has the scheduler re-read workflow_schedules now (a schedule changed in this process).
  void WakeScheduler();
  /// How often the scheduler re-reads workflow_schedules (30 s; other processes' changes take
  /// this long to apply here).
  std::chrono::milliseconds SchedulerPollingInterval() const noexcept {
    return scheduler_polling_interval_.load();
  }
  /// Test seam: a shorter reconciliation interval (set before Launch).
  void SetSchedulerPollingIntervalForTesting(std::chrono::milliseconds interval) {
    scheduler_polling_interval_.store(interval);
  }

  bool Launched() const noexcept { return launched_.load(); }
  /// True for a Client's runtime (never launched; ListWorkflows loads no values by default).
  bool IsClient() const noexcept { return is_client_; }
  bool ShuttingDown() const noexcept { return shutting_down_.load(); }
  /// True when this process runs the latest registered application version.
  bool IsLatestVersion() const noexcept { return is_latest_version_.load(); }
  /// Registers this process's application version if absent and reads again whether it is the
  /// latest: a newer deployment (or SetLatestApplicationVersion elsewhere) changes the answer
  /// while this process runs, and with it whether unversioned workflows are this process's to
  /// take. Called at Launch and by the queue runner every VersionCheckInterval().
  void RefreshLatestVersion();
  std::chrono::milliseconds VersionCheckInterval() const noexcept {
    return version_check_interval_.load();
  }
  void SetVersionCheckIntervalForTesting(std::chrono::milliseconds interval) {
    version_check_interval_.store(interval);
  }

  /// Claims `workflow_id` for execution of `workflow_name` in this process. Returns the existing
  /// execution's outcome when another thread already claimed it (and sets `claimed` false);
  /// throws UnexpectedWorkflow when that execution runs another workflow.
  std::shared_ptr<WorkflowOutcome> ClaimExecution(const std::string& workflow_id,
                                                  const std::string& workflow_name, bool& claimed);
  /// Attaches the running state to a claimed execution (so cancel/shutdown can reach it).
  void AttachState(const std::string& workflow_id, const std::shared_ptr<WorkflowState>& state);
  /// Releases a claim; completes the outcome as NoResultHere if still running.
  void ReleaseExecution(const std::string& workflow_id);
  /// The outcome of a workflow executing here, or nullptr.
  std::shared_ptr<WorkflowOutcome> FindExecution(const std::string& workflow_id) const;
  /// Number of workflows executing here.
  size_t ActiveCount() const;

  /// Wake-up routing for messages and events.
  messaging::Notifier& Notifications() noexcept { return notifier_; }
  /// How soon a wait first re-checks the database when no notification comes (a safety net;
  /// short on SQLite, where other processes cannot push). Each quiet re-check doubles it up to
  /// WaitPollCap(), so many long waits cost little.
  std::chrono::milliseconds WaitPollInterval() const noexcept {
    return listening_ ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(200);
  }
  std::chrono::milliseconds WaitPollCap() const noexcept {
    return listening_ ? std::chrono::milliseconds(60000) : std::chrono::milliseconds(5000);
  }
  /// Starts the database listener once (at Launch, or at the first wait of a process that never
  /// launches: clients and webhooks get pushed wake-ups too). Never throws: without a listener,
  /// waits poll.
  void EnsureListening() noexcept;
  /// True when database notifications reach this process (PostgreSQL, once listening).
  bool Listening() const noexcept { return listening_.load(); }
  /// Cancels `workflow_id` when its deadline passes.
  void WatchDeadline(const std::string& workflow_id, int64_t deadline_epoch_ms);
  /// Stops watching the deadline of a workflow that ended.
  void ForgetDeadline(const std::string& workflow_id);
  /// Number of deadlines watched (for tests: finished workflows leave none behind).
  size_t WatchedDeadlineCount() const;
  /// The IDs of the workflows executing here (the wait watcher looks for their cancellations).
  std::vector<std::string> ExecutingWorkflowIDs();
  /// Has the delay promoter re-read when the next DELAYED workflow is due (a delayed start or a
  /// new delay in this process).
  void WakeDelayPromoter();

  /// Interrupts the workflow if it executes here; returns true if it did.
  bool InterruptLocal(const std::string& workflow_id, Interruption why);

  /// Test seam: called by the queue runner with each claimed workflow's ID before starting it
  /// (set before Launch).
  void SetDequeueHookForTesting(std::function<void(const std::string&)> hook) {
    dequeue_hook_ = std::move(hook);
  }
  const std::function<void(const std::string&)>& DequeueHook() const { return dequeue_hook_; }

 private:
  /// Routes a database notification: queue and delay announcements to the background services,
  /// messages and events to the notifier.
  void OnDatabaseNotification(const std::string& channel, const std::string& payload);
  /// Wakes `service` (one of the members below) if it was started.
  void WakeService(const std::unique_ptr<BackgroundService>& service);

  ResolvedConfig config_;
  std::shared_ptr<Logger> logger_;
  std::unique_ptr<sysdb::SystemDatabase> sysdb_;
  std::unique_ptr<GuardedSystemDatabase> guarded_;  ///< Over sysdb_; what Db() returns.
  WorkflowRegistry registry_;
  ErrorTypeRegistry error_types_;
  util::WorkerPool pool_{std::chrono::seconds(30), kWorkflowThreads};
  // Set once at Launch (under services_mutex_ too), kept until destruction.
  std::unique_ptr<BackgroundService> queue_runner_;
  std::unique_ptr<BackgroundService> delay_promoter_;
  std::unique_ptr<BackgroundService> wait_watcher_;
  std::mutex services_mutex_;
  messaging::Notifier notifier_;
  /// After notifier_: parked workflows hold registrations with it.
  std::unique_ptr<ParkingLot> parking_ =
      std::make_unique<ParkingLot>(notifier_, ParkingLot::DefaultResidentLimit(kResidentWaits));
  std::unique_ptr<executor::DeadlineWatcher> deadlines_;
  std::atomic<bool> listening_{false};
  std::mutex listen_mutex_;
  bool listen_attempted_ = false;  ///< Guarded by listen_mutex_.
  std::function<void(const std::string&)> dequeue_hook_;
  QueueRegistry queues_;
  std::function<void(const std::string&)> execution_released_;
  std::atomic<std::chrono::milliseconds> background_poll_interval_{std::chrono::seconds(1)};
  std::atomic<std::chrono::milliseconds> watcher_full_round_interval_{std::chrono::minutes(1)};

  const bool is_client_ = false;
  std::unique_ptr<BackgroundService> scheduler_;  ///< Under services_mutex_.
  std::atomic<std::chrono::milliseconds> scheduler_polling_interval_{std::chrono::seconds(30)};

  std::atomic<bool> launched_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> is_latest_version_{true};
  std::mutex version_refresh_mutex_;  // serialises RefreshLatestVersion
  std::atomic<std::chrono::milliseconds> version_check_interval_{std::chrono::seconds(10)};
  std::mutex lifecycle_mutex_;

  mutable std::mutex active_mutex_;
  std::unordered_map<std::string, ActiveExecution> active_;

 public:
  /// Threads for the steps workflows start with dbos::Go, apart from Pool(), which holds
  /// workflow executions: a workflow waiting for its steps never takes the threads they need.
  util::WorkerPool& StepPool() noexcept { return step_pool_; }

 private:
  util::WorkerPool step_pool_;
};

/// Shuts the instance down when the last owning DBOSContext goes away.
struct LifetimeGuard {
  std::shared_ptr<Runtime> runtime;
  ~LifetimeGuard() {
    if (runtime) runtime->Shutdown(std::chrono::seconds(5));
  }
};

}  // namespace dbos::detail
