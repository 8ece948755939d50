// The instance's shared state: construction (configuration, system database), the workflows
// executing here, wake-up routing, deadlines and the application-version check. Launch and
// shutdown, which start and stop the layers above (recovery, the queue runner), are in
// runtime/lifecycle.cpp.
#include "core/runtime.hpp"

#include "dbos/errors.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

Runtime::Runtime(const dbos::Config& config)
    : config_(ResolveConfig(config)),
      logger_(config.logger ? config.logger : NewConsoleLogger(LogLevel::Info)) {
  sysdb::Options options;
  options.url = config_.database_url;
  options.schema = config_.database_schema;
  options.app_name = config_.app_name;
  options.pool_size = config.system_db_pool_size;
  options.startup_timeout = config.system_db_startup_timeout;
  options.logger = logger_;
  sysdb_ = sysdb::OpenSystemDatabase(options);
  guarded_ = std::make_unique<GuardedSystemDatabase>(*sysdb_);
}

Runtime::Runtime(ResolvedConfig config, std::shared_ptr<Logger> logger, sysdb::Options options)
    : config_(std::move(config)), logger_(std::move(logger)), is_client_(true) {
  options.existing_only = true;
  options.logger = logger_;
  sysdb_ = sysdb::OpenSystemDatabase(options);
  guarded_ = std::make_unique<GuardedSystemDatabase>(*sysdb_);
}

void Runtime::RefreshLatestVersion() {
  // One refresh at a time: a refresh that read before another's read must not store its older
  // answer after it (the queue runner's periodic refresh beside a caller's own).
  std::lock_guard refreshing(version_refresh_mutex_);
  const bool latest = sysdb_->RegisterApplicationVersion(config_.application_version,
                                                         config_.app_name, util::NowEpochMs());
  if (is_latest_version_.exchange(latest) == latest) return;
  if (latest) {
    logger_->Log(LogLevel::Info, "application version " + config_.application_version +
                                     " is now the latest of '" + config_.app_name +
                                     "': this process also runs its unversioned workflows");
  } else {
    logger_->Log(LogLevel::Warn, "application version " + config_.application_version +
                                     " is not the latest registered version of '" +
                                     config_.app_name +
                                     "': unversioned workflows are left to the latest version");
  }
}

void Runtime::EnsureListening() noexcept {
  if (listening_.load()) return;
  std::lock_guard lock(listen_mutex_);
  if (listen_attempted_ || shutting_down_.load()) return;
  listen_attempted_ = true;
  try {
    listening_.store(
        sysdb_->StartListening([this](const std::string& channel, const std::string& payload) {
          OnDatabaseNotification(channel, payload);
        }));
  } catch (const std::exception& e) {
    logger_->Log(LogLevel::Warn, std::string("could not listen for database notifications (") +
                                     e.what() + "); waits poll the database instead");
  }
}

void Runtime::WatchDeadline(const std::string& workflow_id, int64_t deadline_epoch_ms) {
  if (deadlines_) deadlines_->Add(workflow_id, deadline_epoch_ms);
}

void Runtime::ForgetDeadline(const std::string& workflow_id) {
  if (deadlines_) deadlines_->Remove(workflow_id);
}

size_t Runtime::WatchedDeadlineCount() const { return deadlines_ ? deadlines_->Size() : 0; }

std::vector<std::string> Runtime::ExecutingWorkflowIDs() {
  std::vector<std::string> running;
  std::lock_guard lock(active_mutex_);
  running.reserve(active_.size());
  for (const auto& [id, execution] : active_) {
    if (execution.state) running.push_back(id);
  }
  return running;
}

bool Runtime::InterruptLocal(const std::string& workflow_id, Interruption why) {
  std::shared_ptr<WorkflowState> state;
  {
    std::lock_guard lock(active_mutex_);
    auto it = active_.find(workflow_id);
    if (it == active_.end() || !it->second.state) return false;
    state = it->second.state;
  }
  state->Interrupt(why);
  return true;
}

std::shared_ptr<WorkflowOutcome> Runtime::ClaimExecution(const std::string& workflow_id,
                                                         const std::string& workflow_name,
                                                         bool& claimed) {
  std::shared_ptr<WorkflowOutcome> outcome;
  {
    std::lock_guard lock(active_mutex_);
    auto [it, inserted] = active_.try_emplace(workflow_id);
    claimed = inserted;
    if (inserted) {
      it->second.workflow_name = workflow_name;
      it->second.outcome = std::make_shared<WorkflowOutcome>();
    } else if (it->second.workflow_name != workflow_name) {
      throw DBOSError(ErrorCode::UnexpectedWorkflow,
                      "Workflow already exists with a different name: " + it->second.workflow_name +
                          ", but the provided name is: " + workflow_name,
                      workflow_id);
    }
    outcome = it->second.outcome;
  }
  // Handles polling for this ID (e.g. an enqueued workflow's) now wait on the execution.
  if (claimed) notifier_.Notify(messaging::ExecutionKey(workflow_id));
  return outcome;
}

void Runtime::AttachState(const std::string& workflow_id,
                          const std::shared_ptr<WorkflowState>& state) {
  bool interrupt = false;
  {
    std::lock_guard lock(active_mutex_);
    auto it = active_.find(workflow_id);
    if (it != active_.end()) it->second.state = state;
    interrupt = shutting_down_.load();
  }
  if (interrupt) state->Interrupt(Interruption::Shutdown);
}

void Runtime::ReleaseExecution(const std::string& workflow_id) {
  std::shared_ptr<WorkflowOutcome> outcome;
  {
    std::lock_guard lock(active_mutex_);
    auto it = active_.find(workflow_id);
    if (it == active_.end()) return;
    outcome = it->second.outcome;
    active_.erase(it);
  }
  outcome->Complete(WorkflowOutcome::Kind::NoResultHere);
  // A workflow awaiting this one here (perhaps parked) looks again now that the outcome is set.
  notifier_.Notify(messaging::StreamEndKey(workflow_id));
  if (execution_released_) execution_released_(workflow_id);
}

std::shared_ptr<WorkflowOutcome> Runtime::FindExecution(const std::string& workflow_id) const {
  std::lock_guard lock(active_mutex_);
  auto it = active_.find(workflow_id);
  return it == active_.end() ? nullptr : it->second.outcome;
}

size_t Runtime::ActiveCount() const {
  std::lock_guard lock(active_mutex_);
  return active_.size();
}

// services_mutex_, not lifecycle_mutex_: Shutdown holds the latter while it waits for workflow
// threads, which may call these.
void Runtime::WakeDelayPromoter() { WakeService(delay_promoter_); }

void Runtime::WakeQueueRunner() { WakeService(queue_runner_); }

void Runtime::WakeQueueRunnerFor(const std::string& queue) {
  const bool declared = queue != sysdb::kInternalQueueName && queues_.Contains(queue);
  std::lock_guard lock(services_mutex_);
  if (!queue_runner_) return;
  if (declared) {
    queue_runner_->WakeForDeclaredQueues();
  } else {
    queue_runner_->Wake();
  }
}

void Runtime::WakeService(const std::unique_ptr<BackgroundService>& service) {
  std::lock_guard lock(services_mutex_);
  if (service) service->Wake();
}

// Runs on the listener thread. Queue work announced on a queue this process does not serve is
// none of its business; this process's own announcements wake it a second time (it woke itself
// in-process already), which costs one empty round.
void Runtime::OnDatabaseNotification(const std::string& channel, const std::string& payload) {
  if (channel == sysdb::kQueueChannel) {
    if (payload == sysdb::kInternalQueueName || queues_.Contains(payload)) {
      WakeQueueRunnerFor(payload);
    }
  } else if (channel == sysdb::kDelayChannel) {
    WakeDelayPromoter();
  } else {
    notifier_.OnDatabaseNotification(channel, payload);
    if (channel.empty()) {  // the listener reconnected: any announcement may have been missed
      WakeQueueRunner();
      WakeDelayPromoter();
      // Parked waits are not all woken (the notifier woke the waits on a thread): the watcher
      // checks what each waits for and wakes those with news. After the notifier's pass: a wait
      // that parks after it was signalled by it, one parked before it is in the watcher's next
      // snapshot (the other order lets a wait park between the snapshot and the pass).
      WakeService(wait_watcher_);
    }
  }
}

void Runtime::SetScheduler(std::unique_ptr<BackgroundService> scheduler) {
  std::lock_guard lock(services_mutex_);
  scheduler_ = std::move(scheduler);
}

void Runtime::WakeScheduler() {
  std::lock_guard lock(services_mutex_);
  if (scheduler_) scheduler_->Wake();
}

}  // namespace dbos::detail
