// Queue runner loop; see queue_runner.hpp. Database errors are logged and retried at the next
// round with backoff, so an outage pauses dequeuing without losing work. A claimed workflow is
// PENDING under this executor, so nothing but this runner starts it before the next launch: one
// that fails to start is kept until it starts or ends, or until it failed kMaxFailedStarts times
// (then it is dead-lettered, which frees its slot). Cancellations made by other processes are
// noticed by the wait watcher (core/wait_watcher.hpp).
#include "queue/queue_runner.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/notifier.hpp"
#include "core/runtime.hpp"
#include "executor/workflow_executor.hpp"
#include "util/time_util.hpp"

namespace dbos::queue {

QueueRunner::QueueRunner(detail::Runtime& runtime)
    : runtime_(runtime),
      poll_interval_(runtime.BackgroundPollInterval()),
      backoff_(poll_interval_) {}

QueueRunner::~QueueRunner() { Stop(); }

void QueueRunner::Start() {
  runtime_.SetQueueRunnerSignals([this](const std::string& id) { Released(id); });
  loop_.Start([this](bool) { return Round(); });
}

void QueueRunner::Stop() { loop_.Stop(); }

void QueueRunner::Wake() {
  internal_due_.store(true);  // before the wake-up: the round it starts must see it
  loop_.Wake();
}

void QueueRunner::WakeForDeclaredQueues() { loop_.Wake(); }

util::BackgroundLoop::Pause QueueRunner::Round() {
  bool failed = false;
  try {
    DequeueRound();
  } catch (const std::exception& e) {
    failed = true;
    runtime_.Log().Log(LogLevel::Error, std::string("queue runner: ") + e.what());
  }
  const auto backoff = backoff_.After(failed);
  if (!contended_) contention_streak_ = 0;
  if (failed) return {backoff, /*wakeable=*/false};
  const std::chrono::steady_clock::duration pause = contended_ ? ContentionDelay() : poll_interval_;
  if (looked_internal_) return {pause};
  // A round that skipped the internal queue pauses no longer than until its next look is due,
  // so that the look comes at least every poll interval (not up to two).
  const auto until_internal = std::max<std::chrono::steady_clock::duration>(
      std::chrono::milliseconds(1),
      internal_checked_ + poll_interval_ - std::chrono::steady_clock::now());
  return {std::min(pause, until_internal)};
}

void QueueRunner::DequeueRound() {
  // Whether this process runs the latest version decides whether it takes unversioned workflows;
  // a deployment of a newer (or an older made latest again) version changes it while we run.
  const auto now = std::chrono::steady_clock::now();
  if (now - version_checked_ >= runtime_.VersionCheckInterval()) {
    version_checked_ = now;
    runtime_.RefreshLatestVersion();
    internal_due_.store(true);  // unversioned workflows there may have become this process's
  }
  const auto& config = runtime_.Config();
  sysdb::DequeueRequest request;
  request.queue_name = sysdb::kInternalQueueName;
  request.executor_id = config.executor_id;
  request.application_version = config.application_version;
  request.accept_unversioned = runtime_.IsLatestVersion();
  request.now_ms = util::NowEpochMs();
  request.application_name = config.app_name;
  request.workflow_names = runtime_.Registry().Names();
  request.max_tasks = kInternalClaimBatch;
  // The internal queue only when something may be there: a round for each enqueue on a declared
  // queue and each ended execution would otherwise add a query that finds nothing.
  std::vector<sysdb::DequeuedWorkflow> claimed;
  looked_internal_ = internal_due_.exchange(false) || now - internal_checked_ >= poll_interval_;
  if (looked_internal_) {
    try {
      claimed = runtime_.Db().DequeueWorkflows(request);
    } catch (...) {
      internal_due_.store(true);  // looked at again after the failure's backoff
      throw;
    }
    // From the end of the look, as the pause after a round that looked counts.
    internal_checked_ = std::chrono::steady_clock::now();
    // A full batch: more may wait (a recovered backlog), claimed at the next round, right away.
    if (claimed.size() >= static_cast<size_t>(kInternalClaimBatch)) Wake();
  }
  auto batch = std::exchange(retry_, {});
  for (auto& workflow : claimed) batch.emplace_back(std::move(workflow), 0);
  for (auto& [workflow, failed_attempts] : batch) {
    if (runtime_.ShuttingDown()) return;  // claimed rows stay PENDING: recovered next launch
    StartClaimed(std::move(workflow), failed_attempts);
  }
  contended_ = ClaimDeclaredQueues(request);
  ReconcileSlots();
}

bool QueueRunner::StillClaimed(const std::string& id) {
  try {
    const auto row = runtime_.Db().GetWorkflow(id, /*load_values=*/false);
    return row && row->status == "PENDING" &&
           row->executor_id.value_or("") == runtime_.Config().executor_id;
  } catch (const std::exception& e) {
    runtime_.Log().Log(LogLevel::Warn, "queue runner: could not read workflow " + id + " (" +
                                           e.what() + "); trying again at the next round");
    return true;
  }
}

void QueueRunner::StartClaimed(sysdb::DequeuedWorkflow workflow, int failed_attempts) {
  const std::string id = workflow.workflow_uuid;
  // While the claim waits to start, an earlier execution of its ID that ends here hands its
  // worker slot over (Released) rather than freeing it. Only a claim from the queue whose slot
  // the ID holds takes it (one resumed onto the internal queue has none to take). Set before
  // the start, so that an execution ending during it cannot free the slot first.
  const auto awaiting = [&](bool waits) {
    std::lock_guard lock(slots_mutex_);
    auto slot = slot_of_.find(id);
    if (waits && slot != slot_of_.end() && slot->second.first == workflow.queue_name.value_or("")) {
      awaiting_start_.insert(id);
    } else {
      awaiting_start_.erase(id);
    }
  };
  // A row kept from an earlier round may have been finished (by the execution that still ran
  // here), cancelled or taken over meanwhile: then it is no longer this runner's to start.
  if (failed_attempts > 0 && !StillClaimed(id)) {
    failed_starts_.erase(id);
    return awaiting(false);
  }
  awaiting(true);
  std::string why;
  try {
    if (runtime_.DequeueHook()) runtime_.DequeueHook()(id);
    if (executor::StartDequeued(runtime_, workflow) == executor::DequeuedStart::kDone) {
      failed_starts_.erase(id);
      return awaiting(false);
    }
    why = "it cannot start yet";
  } catch (const std::exception& e) {
    why = e.what();
  }
  // The row is PENDING under this executor and nothing else starts it before the next launch:
  // it is kept and started again at the next rounds (logged at doubling intervals, so that a
  // lasting failure does not flood the log), until it has failed too often. An earlier execution
  // of its ID still running here is a wait, not a failure: that execution ends.
  if (runtime_.FindExecution(id) == nullptr && GiveUpAfterFailedStart(id, why)) {
    return awaiting(false);
  }
  ++failed_attempts;
  if ((failed_attempts & (failed_attempts - 1)) == 0) {
    runtime_.Log().Log(LogLevel::Error, "queue runner: could not start workflow " + id + " (" +
                                            why + "; attempt " + std::to_string(failed_attempts) +
                                            "); trying again at the next round");
  }
  // Its next try reads its steps whatever the claim said: an earlier execution of its ID that
  // held it up may have recorded some since.
  workflow.has_steps = true;
  retry_.emplace_back(std::move(workflow), failed_attempts);
}

bool QueueRunner::GiveUpAfterFailedStart(const std::string& id, const std::string& why) {
  const auto now = std::chrono::steady_clock::now();
  auto& [failures, since] = failed_starts_.try_emplace(id, 0, now).first->second;
  if (++failures < kMaxFailedStarts || now - since < kMaxFailedStarts * poll_interval_) {
    return false;
  }
  try {
    runtime_.Db().MarkDeadLetter(id, util::NowEpochMs());
  } catch (const std::exception& e) {
    runtime_.Log().Log(LogLevel::Warn, "queue runner: could not give up workflow " + id + " (" +
                                           e.what() + "); trying again at the next round");
    return false;
  }
  const int times = failures;
  failed_starts_.erase(id);
  runtime_.Notifications().Notify(messaging::StreamEndKey(id));
  runtime_.Log().Log(LogLevel::Error,
                     "queue runner: workflow " + id + " failed to start " + std::to_string(times) +
                         " times in a row (last: " + why +
                         "); moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED, which frees its queue "
                         "slot. Fix the cause, then ResumeWorkflow starts it again");
  return true;
}

}  // namespace dbos::queue
