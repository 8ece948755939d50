// Launch and shutdown order of a DBOS instance: the top layer, which starts and stops the layers
// below it.
//
// Launch: register the application version -> re-enqueue this executor's PENDING workflows on the
// internal queue -> start the queue runner (which executes them), the delay promoter and the wait
// watcher -> write the WithSchedule schedules and start the scheduler.
// Shutdown: stop the scheduler, the delay promoter, the queue runner and the wait watcher,
// interrupt running workflows (they stay PENDING), wait for their threads, keep the system
// database open until the last reference goes (a stuck thread may still use it).
#include "core/runtime.hpp"
#include "core/wait_watcher.hpp"
#include "dbos/errors.hpp"
#include "queue/delay_promoter.hpp"
#include "queue/queue_runner.hpp"
#include "scheduler/scheduler.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

Runtime::~Runtime() { Shutdown(std::chrono::seconds(5)); }

void Runtime::Launch() {
  std::lock_guard lock(lifecycle_mutex_);
  if (launched_.load()) {
    throw DBOSError(ErrorCode::Initialization, "Launch was already called on this DBOS context");
  }
  if (shutting_down_.load()) {
    throw DBOSError(ErrorCode::Initialization,
                    "this DBOS context was shut down; create a new one with NewDBOSContext");
  }
  const int64_t now = util::NowEpochMs();
  is_latest_version_.store(true);
  RefreshLatestVersion();
  // Declared queues become rows other processes (and DBOS languages) see; the internal queue
  // always has one.
  sysdb::QueueRow internal;
  internal.name = sysdb::kInternalQueueName;
  sysdb_->UpsertQueue(internal, now);
  for (const auto& queue : queues_.All()) {
    sysdb_->UpsertQueue(ToQueueRow(queue, config_.app_name), now);
  }
  const auto recovered = sysdb_->ReenqueuePendingWorkflows(
      {config_.executor_id}, config_.application_version, config_.app_name, now);
  if (!recovered.empty()) {
    logger_->Log(LogLevel::Info, "recovering " + std::to_string(recovered.size()) +
                                     " pending workflow(s) of executor " + config_.executor_id);
  }
  EnsureListening();
  deadlines_ = std::make_unique<executor::DeadlineWatcher>([this](const std::string& id) {
    // The deadline of a workflow executing here passed: cancel it durably, then interrupt it.
    try {
      if (FindExecution(id) == nullptr) return;  // finished already
      sysdb_->CancelWorkflow(id, util::NowEpochMs());
      InterruptLocal(id, Interruption::Cancelled);
      logger_->Log(LogLevel::Info, "workflow " + id + " reached its deadline and was cancelled");
    } catch (const std::exception& e) {
      logger_->Log(LogLevel::Error,
                   "workflow " + id + ": could not cancel at its deadline: " + e.what());
    }
  });
  auto queue_runner = std::make_unique<queue::QueueRunner>(*this);
  queue::QueueRunner& runner = *queue_runner;
  auto delay_promoter = std::make_unique<queue::DelayPromoter>(*this);
  queue::DelayPromoter& promoter = *delay_promoter;
  auto wait_watcher = std::make_unique<WaitWatcher>(*this);
  WaitWatcher& watcher = *wait_watcher;
  {
    std::lock_guard services_lock(services_mutex_);
    queue_runner_ = std::move(queue_runner);
    delay_promoter_ = std::move(delay_promoter);
    wait_watcher_ = std::move(wait_watcher);
  }
  launched_.store(true);
  runner.Start();
  promoter.Start();
  watcher.Start();
  SetScheduler(scheduler::StartScheduler(*this));
  logger_->Log(LogLevel::Info, "DBOS launched: app " + config_.app_name + ", executor " +
                                   config_.executor_id + ", version " +
                                   config_.application_version);
}

void Runtime::Shutdown(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard lock(lifecycle_mutex_);
  if (shutting_down_.exchange(true)) return;
  notifier_.NotifyAll();  // waits outside workflows that stop at shutdown see it now
  // Nothing below may wait for a database that stays down (the queue runner, the deadline
  // watcher and finishing workflows would otherwise retry forever).
  sysdb_->StopRetrying();
  if (scheduler_) scheduler_->Stop();
  if (delay_promoter_) delay_promoter_->Stop();
  if (queue_runner_) queue_runner_->Stop();
  if (wait_watcher_) wait_watcher_->Stop();
  std::vector<std::shared_ptr<WorkflowState>> running;
  {
    std::lock_guard active_lock(active_mutex_);
    for (auto& [id, execution] : active_) {
      if (execution.state) running.push_back(execution.state);
    }
  }
  for (auto& state : running) state->Interrupt(Interruption::Shutdown);
  // Parked workflows end now (they stay PENDING); those parking from here on end as they park.
  parking_->Stop();
  if (!pool_.WaitIdle(timeout)) {
    logger_->Log(LogLevel::Warn, "shutdown timed out after " + std::to_string(timeout.count()) +
                                     " ms waiting for " + std::to_string(ActiveCount()) +
                                     " workflow(s); they stay PENDING and resume at the next "
                                     "launch");
  }
  if (deadlines_) deadlines_->Stop();
  std::lock_guard listen_lock(listen_mutex_);
  sysdb_->StopListening();
}

}  // namespace dbos::detail
