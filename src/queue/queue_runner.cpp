// Queue runner loop; see queue_runner.hpp. Each round also looks for cancellations made by other
// processes, so a workflow sleeping or waiting here stops within a round. Database errors are
// logged and retried at the next round with backoff, so an outage pauses dequeuing without losing
// work.
#include "queue/queue_runner.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "core/runtime.hpp"
#include "executor/workflow_executor.hpp"
#include "util/time_util.hpp"

namespace dbos::queue {

QueueRunner::QueueRunner(detail::Runtime& runtime) : runtime_(runtime) {}

QueueRunner::~QueueRunner() { Stop(); }

void QueueRunner::Start() {
  runtime_.SetQueueRunnerSignals([this] { Wake(); },
                                 [this](const std::string& id) { Released(id); });
  thread_ = std::thread([this] { Run(); });
}

void QueueRunner::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void QueueRunner::Run() {
  auto backoff = poll_interval_;
  for (;;) {
    bool failed = false;
    try {
      DequeueRound();
    } catch (const std::exception& e) {
      failed = true;
      runtime_.Log().Log(LogLevel::Error, std::string("queue runner: ") + e.what());
    }
    backoff = failed ? std::min(backoff * 2, std::chrono::milliseconds(60000)) : poll_interval_;
    const auto wait = failed ? backoff : contended_ ? ContentionDelay() : poll_interval_;
    if (!contended_) contention_streak_ = 0;
    std::unique_lock lock(mutex_);
    // After a failure only the backoff (or Stop) ends the wait: wake-ups must not hammer a
    // database that is failing.
    wake_.wait_for(lock, wait, [&] { return stop_ || (woken_ && !failed); });
    if (stop_) return;
    woken_ = false;
  }
}

void QueueRunner::DequeueRound() {
  // Workflows cancelled by another process notice it here, even while sleeping or waiting.
  runtime_.PollCancellations();
  // Whether this process runs the latest version decides whether it takes unversioned workflows;
  // a deployment of a newer (or an older made latest again) version changes it while we run.
  const auto now = std::chrono::steady_clock::now();
  if (now - version_checked_ >= runtime_.VersionCheckInterval()) {
    version_checked_ = now;
    runtime_.RefreshLatestVersion();
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
  auto claimed = runtime_.Db().DequeueWorkflows(request);
  auto batch = std::exchange(retry_, {});
  for (auto& workflow : claimed) batch.emplace_back(std::move(workflow), 0);
  for (auto& [workflow, failed_attempts] : batch) {
    if (runtime_.ShuttingDown()) return;  // claimed rows stay PENDING: recovered next launch
    StartClaimed(std::move(workflow), failed_attempts);
  }
  contended_ = ClaimDeclaredQueues(request);
  ReconcileSlots();
}

void QueueRunner::StartClaimed(sysdb::DequeuedWorkflow workflow, int failed_attempts) {
  // A workflow that cannot even be started after this many rounds is left PENDING under this
  // executor: recovery at the next launch tries it again.
  constexpr int kMaxStartAttempts = 5;
  const std::string id = workflow.workflow_uuid;
  try {
    if (runtime_.DequeueHook()) runtime_.DequeueHook()(id);
    executor::StartDequeued(runtime_, workflow);
  } catch (const std::exception& e) {
    ++failed_attempts;
    const bool retry = failed_attempts < kMaxStartAttempts;
    runtime_.Log().Log(LogLevel::Error,
                       "queue runner: could not start workflow " + id + " (" + e.what() + "); " +
                           (retry ? "trying again at the next round"
                                  : "it stays PENDING and is recovered at the next launch"));
    if (retry) retry_.emplace_back(std::move(workflow), failed_attempts);
  }
}

}  // namespace dbos::queue
