// SetWorkflowDelay and Debounce (include/dbos/delay.hpp), on top of DELAYED rows: the delay
// promoter (delay_promoter.cpp) turns them ENQUEUED when due. A debounced row is keyed by its
// deduplication ID "<workflow name>-<key>" on its queue; a Debounce first moves that row's start
// (a bounce) and only when there is none starts a new one, so a burst runs one workflow.
#include <algorithm>
#include <thread>

#include "core/context_access.hpp"
#include "core/queue_registry.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
#include "dbos/delay.hpp"
#include "dbos/errors.hpp"
#include "executor/handles.hpp"
#include "executor/operation.hpp"
#include "executor/workflow_executor.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {
namespace {

const std::string kSetDelayStep = "DBOS.setWorkflowDelay";
const std::string kAssignIdStep = "DBOS.debounce.assignWorkflowID";

// How often a Debounce retries when a concurrent Debounce of the same key wins the insert (its
// row is then there to bounce).
constexpr int kDebounceAttempts = 50;

serialization::ErrorRecord Record(ErrorCode code, const std::string& message) {
  return {std::string(ErrorCodeName(code)), message, static_cast<int>(code)};
}

// The start time SetWorkflowDelay asks for, in epoch ms.
int64_t RequestedStart(const DelaySpec& spec, int64_t now_ms) {
  if (spec.duration) {
    return now_ms + std::max(std::chrono::milliseconds(0), ClampWait(*spec.duration)).count();
  }
  const int64_t until =
      std::chrono::duration_cast<std::chrono::milliseconds>(spec.until->time_since_epoch()).count();
  // The same bounds as a duration: not before now, at most ten years ahead.
  return std::clamp(until, now_ms, now_ms + ClampWait(std::chrono::milliseconds::max()).count());
}

// Throws the errors Debounce and RunWorkflow share before anything is written.
void CheckCanStart(Runtime& runtime, WorkflowState* caller) {
  if (!runtime.Launched()) {
    throw DBOSError(ErrorCode::Initialization,
                    "DBOS must be launched before running workflows; call Launch first");
  }
  if (runtime.ShuttingDown()) ThrowShutDown(caller);
}

const RegisteredWorkflow& DebouncedWorkflow(Runtime& runtime, const std::string& callable_key) {
  const auto* workflow = runtime.Registry().FindByKey(callable_key);
  if (workflow == nullptr) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "NewDebouncer: this workflow function is not registered: call "
                    "dbos::RegisterWorkflow on it before Launch");
  }
  return *workflow;
}

// A context outside any workflow with the caller's deadline: the debounced workflow is no child
// of the caller (its ID is recorded by the caller's own step instead).
DBOSContext StarterContext(Runtime& runtime, const DBOSContext& caller) {
  auto impl = std::make_shared<ContextImpl>();
  impl->runtime = runtime.shared_from_this();
  impl->deadline_epoch_ms = DeadlineOf(caller);
  return ContextAccess::Make(std::move(impl));
}

}  // namespace

void SetWorkflowDelayErased(DBOSContext& ctx, const std::string& workflow_id,
                            const DelaySpec& spec) {
  Runtime& runtime = RuntimeOf(ctx);
  ValidateName("SetWorkflowDelay's workflow ID", workflow_id, false);
  if (spec.given != 1) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "SetWorkflowDelay takes exactly one of WithDelayDuration and WithDelayUntil");
  }
  auto apply = [&]() -> ReadOutcome {
    const int64_t now = util::NowEpochMs();
    switch (runtime.Db().SetWorkflowDelay(workflow_id, RequestedStart(spec, now), now)) {
      case sysdb::DelayUpdate::Updated:
        runtime.WakeDelayPromoter();  // the next due time may be sooner now
        return {};
      case sysdb::DelayUpdate::Missing:
        return {nullptr, Record(ErrorCode::NonExistentWorkflow,
                                "workflow " + workflow_id + " does not exist")};
      case sysdb::DelayUpdate::NotDelayed:
        break;
    }
    return {nullptr, Record(ErrorCode::InvalidOption,
                            "workflow " + workflow_id +
                                " is not DELAYED (it has started, or was never delayed): its "
                                "start can no longer be moved")};
  };
  if (WorkflowState* state = CallingWorkflow(ctx, "SetWorkflowDelay", /*required=*/false)) {
    CheckpointedRead(runtime, *state, "SetWorkflowDelay", kSetDelayStep, ErrorCode::InvalidOption,
                     workflow_id, std::nullopt, apply);
    return;
  }
  const ReadOutcome outcome = apply();
  if (outcome.error) {
    throw DBOSError(static_cast<ErrorCode>(*outcome.error->dbos_code), outcome.error->message,
                    workflow_id);
  }
}

std::string CheckDebouncerErased(DBOSContext& ctx, const std::string& callable_key,
                                 const DebouncerSettings& settings) {
  Runtime& runtime = RuntimeOf(ctx);
  ValidateName("WithDebouncerQueue", settings.queue_name, true);
  if (settings.queue_name == sysdb::kInternalQueueName) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "WithDebouncerQueue: _dbos_internal_queue is the default already; name a "
                    "queue of your own or leave the option out");
  }
  if (!settings.queue_name.empty()) {
    // The queue must exist here or in the database; a partitioned one cannot take the key-less
    // enqueues of a debouncer.
    RunOptions probe;
    probe.queue_name = settings.queue_name;
    CheckEnqueueOptions(runtime.Queues(), runtime.Db(), probe);
  }
  if (settings.timeout.count() < 0) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "WithDebouncerTimeout must not be negative (0 means no timeout)");
  }
  return DebouncedWorkflow(runtime, callable_key).name;
}

std::shared_ptr<HandleCore> DebounceErased(DBOSContext& ctx, const std::string& callable_key,
                                           const DebouncerSettings& settings,
                                           const std::string& key, std::chrono::milliseconds delay,
                                           nlohmann::json input, const RunOptions& options) {
  Runtime& runtime = RuntimeOf(ctx);
  ValidateName("Debounce's key", key, true);
  if (options.workflow_id_given) ValidateName("WithWorkflowID", options.workflow_id, false);
  ValidateName("WithApplicationVersion", options.application_version, true);
  ValidateName("WithAuthenticatedUser", options.authenticated_user, true);
  if (!options.queue_name.empty() || !options.deduplication_id.empty() || options.delay ||
      options.priority || !options.queue_partition_key.empty()) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "Debounce chooses the queue, deduplication ID and delay itself: do not pass "
                    "WithQueue, WithDeduplicationID, WithDelay, WithPriority or "
                    "WithQueuePartitionKey");
  }
  ValidateJsonText("Debounce's input", input);
  WorkflowState* caller = CallingWorkflow(ctx, "Debounce", /*required=*/false);
  CheckCanStart(runtime, caller);
  const RegisteredWorkflow& workflow = DebouncedWorkflow(runtime, callable_key);
  const std::string queue =
      settings.queue_name.empty() ? sysdb::kInternalQueueName : settings.queue_name;
  const std::string debounce_key = workflow.name + "-" + key;
  delay = std::max(std::chrono::milliseconds(0), ClampWait(delay));
  const std::chrono::milliseconds timeout = ClampWait(settings.timeout);
  const std::string inputs = serialization::EncodeWorkflowInput(input);
  const DBOSContext starter = StarterContext(runtime, ctx);

  // The workflow that runs: the waiting one of this key (moved and given this input), or a new
  // one when none waits.
  auto assign = [&]() -> std::string {
    for (int attempt = 1;; ++attempt) {
      const int64_t now = util::NowEpochMs();
      sysdb::Bounce bounce{workflow.name, queue, debounce_key, now + delay.count(), inputs, now};
      if (auto id = runtime.Db().BounceDebounced(bounce)) {
        runtime.WakeDelayPromoter();  // a capped start may be sooner than it knew
        return *id;
      }
      if (options.workflow_id_given) {
        // The ID names one workflow: once that one no longer waits, starting "it" again would
        // return the old workflow and drop this input. A DELAYED row may be a concurrent call's
        // new one, which the next bounce finds.
        if (const auto row = runtime.Db().GetWorkflow(options.workflow_id, false)) {
          if (row->status != "DELAYED" || attempt >= kDebounceAttempts) {
            throw DBOSError(ErrorCode::ConflictingID,
                            "Debounce: workflow ID " + options.workflow_id +
                                " already names a workflow that is not this key's waiting one (" +
                                row->status +
                                "), so it cannot run this input; give each Debounce call a new "
                                "workflow ID, or none",
                            options.workflow_id);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
      }
      RunOptions start = options;
      start.queue_name = queue;
      start.deduplication_id = debounce_key;
      start.debounced = true;
      start.delay = timeout.count() > 0 ? std::min(delay, timeout) : delay;
      if (timeout.count() > 0) start.debounce_deadline_epoch_ms = now + timeout.count();
      try {
        bool inserted = false;
        auto handle = executor::StartWorkflow(runtime, starter, workflow, input, start, &inserted);
        // With a workflow ID, a concurrent first call of this key may have inserted the row
        // since this one looked for it: that row got the other call's input, so bounce it with
        // this one's (the next attempt), or say why it cannot run this input.
        if (inserted || !options.workflow_id_given) return handle->WorkflowID();
      } catch (const DBOSError& e) {
        // A concurrent Debounce of this key inserted its row first: bounce that one.
        if (e.Code() != ErrorCode::QueueDeduplicated || attempt >= kDebounceAttempts) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  };
  std::string id;
  if (caller != nullptr) {
    // Replays get the same workflow back.
    id = CheckpointedRead(runtime, *caller, "Debounce", kAssignIdStep, ErrorCode::InvalidOption,
                          caller->workflow_id, std::nullopt,
                          [&] {
                            return ReadOutcome{assign(), std::nullopt};
                          })
             .get<std::string>();
  } else {
    id = assign();
  }
  return executor::MakePollingHandle(runtime.shared_from_this(), id, WorkflowOf(ctx));
}

}  // namespace dbos::detail
