// Send/Recv and SetEvent/GetEvent (reference §4.5, §4.6).
//
// Writes commit together with their step checkpoint (exactly once), then wake local waiters at
// once; PostgreSQL's NOTIFY wakes other processes. Waits register their waiter before reading the
// database, so a message or event that lands meanwhile is not missed, and re-check at a polling
// interval as a safety net.
#include "dbos/messaging.hpp"

#include <algorithm>

#include "dbos/errors.hpp"
#include "executor/operation.hpp"
#include "messaging/notifier.hpp"
#include "runtime/context_access.hpp"
#include "runtime/runtime.hpp"
#include "runtime/validation.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"
#include "util/uuid.hpp"

namespace dbos::detail {
namespace {

const std::string kSendStep = "DBOS.send";
const std::string kRecvStep = "DBOS.recv";
const std::string kSetEventStep = "DBOS.setEvent";
const std::string kGetEventStep = "DBOS.getEvent";

std::string StoredTopic(const std::string& topic) {
  return topic.empty() ? sysdb::kNullTopic : topic;
}

serialization::ErrorRecord TimeoutRecord(const std::string& message) {
  return {std::string(ErrorCodeName(ErrorCode::Timeout)), message,
          static_cast<int>(ErrorCode::Timeout)};
}

// Records that a wait at `checkpoint` timed out, so that a replay times out too, then throws
// Timeout. Returns instead the value recorded at that step when something recorded it first (a
// sender in this process delivering the awaited message at the last moment).
nlohmann::json RecordTimeoutOrReplay(Runtime& runtime, WorkflowState* state,
                                     sysdb::StepWrite checkpoint, const std::string& message) {
  if (state != nullptr) {
    checkpoint.error = serialization::EncodeError(TimeoutRecord(message));
    checkpoint.completed_at_epoch_ms = util::NowEpochMs();
    nlohmann::json replayed;
    if (HandleCheckpointResult(runtime, *state, runtime.Db().RecordStep(checkpoint),
                               ErrorCode::StepExecution, &replayed)) {
      return replayed;
    }
  }
  throw DBOSError(ErrorCode::Timeout, message, state != nullptr ? state->workflow_id : "");
}

// Releases a receiver claim on scope exit.
class ReceiverClaim {
 public:
  ReceiverClaim(messaging::Notifier& notifier, std::string key, int step_id,
                const std::string& workflow_id, const std::string& topic)
      : notifier_(notifier), key_(std::move(key)) {
    if (!notifier_.ClaimReceiver(key_, step_id)) {
      throw DBOSError(ErrorCode::ConflictingID,
                      "workflow " + workflow_id + " is already receiving on topic '" + topic +
                          "'; only one Recv per workflow and topic may wait at a time",
                      workflow_id);
    }
  }
  ~ReceiverClaim() { notifier_.ReleaseReceiver(key_); }
  ReceiverClaim(const ReceiverClaim&) = delete;
  ReceiverClaim& operator=(const ReceiverClaim&) = delete;

 private:
  messaging::Notifier& notifier_;
  std::string key_;
};

// Time until the next re-check: the deadline or the polling interval, whichever comes first.
std::chrono::steady_clock::time_point NextCheck(const Runtime& runtime, int64_t deadline_ms) {
  const auto remaining =
      std::chrono::milliseconds(std::max<int64_t>(0, deadline_ms - util::NowEpochMs()));
  return std::chrono::steady_clock::now() + std::min(remaining, runtime.WaitPollInterval());
}

}  // namespace

void SendErased(DBOSContext& ctx, const std::string& destination_id, const nlohmann::json& message,
                const std::string& topic) {
  Runtime& runtime = detail::RuntimeOf(ctx);
  ValidateName("Send's destination ID", destination_id, false);
  ValidateName("Send's topic", topic, true);
  ValidateJsonText("Send's message", message);
  WorkflowState* state = CallingWorkflow(ctx, "Send", /*required=*/false);
  sysdb::MessageWrite write;
  write.destination_uuid = destination_id;
  write.topic = StoredTopic(topic);
  write.message = serialization::EncodeValue(message);
  write.message_uuid = util::NewUuid();
  write.now_ms = util::NowEpochMs();
  if (state != nullptr) {
    ThrowIfInterrupted(*state);
    const int step_id = state->next_step_id++;
    if (FindRecorded(*state, step_id, kSendStep) != nullptr) return;  // sent before the crash
    write.checkpoint = NewCheckpoint(runtime, *state, step_id, kSendStep);
  }
  // The destination waits in Recv here: let this transaction record its receipt as well, which
  // saves the receiver a commit (it then finds its step recorded and replays it).
  const std::string key = messaging::MessageKey(destination_id, write.topic);
  if (const auto receiver_step = runtime.Notifications().WaitingReceiver(key)) {
    sysdb::StepWrite receipt;
    receipt.workflow_uuid = destination_id;
    receipt.function_id = *receiver_step;
    receipt.function_name = kRecvStep;
    receipt.output = write.message;
    receipt.started_at_epoch_ms = receipt.completed_at_epoch_ms = write.now_ms;
    receipt.application_name = runtime.Config().app_name;
    write.deliver_to = std::move(receipt);
  }
  switch (runtime.Db().Send(write)) {
    case sysdb::SendResult::Delivered:
      // Committed as received: hand the message over so the receiver needs no query at all.
      runtime.Notifications().HandOver(key, write.deliver_to->function_id, write.message);
      runtime.Notifications().Notify(key);
      return;
    case sysdb::SendResult::Sent:
      runtime.Notifications().Notify(key);
      return;
    case sysdb::SendResult::AlreadyRecorded:
      return;
    case sysdb::SendResult::WorkflowCancelled:
      state->Interrupt(Interruption::Cancelled);
      ThrowInterruption(*state, Interruption::Cancelled);
    case sysdb::SendResult::DestinationMissing:
      break;
  }
  throw DBOSError(ErrorCode::NonExistentWorkflow,
                  "cannot send to workflow " + destination_id + ": it does not exist",
                  destination_id);
}

nlohmann::json RecvErased(DBOSContext& ctx, const std::string& topic,
                          std::chrono::milliseconds timeout) {
  Runtime& runtime = detail::RuntimeOf(ctx);
  ValidateName("Recv's topic", topic, true);
  timeout = ClampWait(timeout);
  WorkflowState& state = *CallingWorkflow(ctx, "Recv", /*required=*/true);
  ThrowIfInterrupted(state);
  const int step_id = state.next_step_id++;
  const int sleep_step_id = state.next_step_id++;
  if (const auto* row = FindRecorded(state, step_id, kRecvStep)) {
    return ReplayStep(runtime, state, *row, ErrorCode::StepExecution);
  }
  const std::string stored_topic = StoredTopic(topic);
  const std::string key = messaging::MessageKey(state.workflow_id, stored_topic);
  ReceiverClaim claim(runtime.Notifications(), key, step_id, state.workflow_id, topic);
  messaging::Notifier::Registration registration(runtime.Notifications(), key, state.waiter);
  const int64_t deadline = RecordDurableDeadline(runtime, state, sleep_step_id, timeout);
  sysdb::StepWrite checkpoint = NewCheckpoint(runtime, state, step_id, kRecvStep);
  for (;;) {
    state.waiter.Arm();
    if (auto handed_over = runtime.Notifications().TakeHandedOver(key)) {
      return serialization::DecodeValue(handed_over);  // a local sender recorded our receipt
    }
    auto consumed = runtime.Db().ConsumeMessage(stored_topic, checkpoint);
    if (consumed.kind == sysdb::StepWriteResult::Kind::Inserted) {
      if (consumed.message) return serialization::DecodeValue(consumed.message);
    } else {
      sysdb::StepWriteResult result{consumed.kind, consumed.existing};
      nlohmann::json replayed;
      HandleCheckpointResult(runtime, state, result, ErrorCode::StepExecution, &replayed);
      return replayed;
    }
    if (util::NowEpochMs() >= deadline) {
      return RecordTimeoutOrReplay(runtime, &state, checkpoint,
                                   "Step DBOS.recv timed out in workflow " + state.workflow_id +
                                       ": no message received within " +
                                       std::to_string(timeout.count()) + " ms");
    }
    if (state.waiter.WaitUntil(NextCheck(runtime, deadline)) ==
        messaging::Waiter::Wake::Interrupted) {
      ThrowInterruption(state, state.Pending());
    }
  }
}

void SetEventErased(DBOSContext& ctx, const std::string& key, const nlohmann::json& value) {
  Runtime& runtime = detail::RuntimeOf(ctx);
  ValidateName("SetEvent's key", key, true);
  ValidateJsonText("SetEvent's value", value);
  WorkflowState* state = detail::WorkflowOf(ctx).get();
  if (state == nullptr) {
    throw DBOSError(ErrorCode::StepExecution, "SetEvent must be called from inside a workflow");
  }
  sysdb::EventWrite write;
  write.workflow_uuid = state->workflow_id;
  write.key = key;
  write.value = serialization::EncodeValue(value);
  if (state->in_step) {
    write.function_id = state->current_step_id;  // part of the step: not checkpointed on its own
  } else {
    ThrowIfInterrupted(*state);
    write.function_id = state->next_step_id++;
    if (FindRecorded(*state, write.function_id, kSetEventStep) != nullptr) return;
    write.checkpoint = NewCheckpoint(runtime, *state, write.function_id, kSetEventStep);
  }
  nlohmann::json replayed;
  if (HandleCheckpointResult(runtime, *state, runtime.Db().SetEvent(write),
                             ErrorCode::StepExecution, &replayed)) {
    return;
  }
  runtime.Notifications().Notify(messaging::EventKey(state->workflow_id, key));
}

nlohmann::json GetEventErased(DBOSContext& ctx, const std::string& workflow_id,
                              const std::string& key, std::chrono::milliseconds timeout) {
  Runtime& runtime = detail::RuntimeOf(ctx);
  ValidateName("GetEvent's workflow ID", workflow_id, false);
  ValidateName("GetEvent's key", key, true);
  timeout = ClampWait(timeout);
  WorkflowState* state = detail::WorkflowOf(ctx).get();
  if (state != nullptr && state->in_step) state = nullptr;  // a read inside a step: not recorded
  std::optional<sysdb::StepWrite> checkpoint;
  int64_t deadline = util::NowEpochMs() + std::max<int64_t>(0, timeout.count());
  if (state != nullptr) {
    ThrowIfInterrupted(*state);
    const int step_id = state->next_step_id++;
    const int sleep_step_id = state->next_step_id++;
    if (const auto* row = FindRecorded(*state, step_id, kGetEventStep)) {
      return ReplayStep(runtime, *state, *row, ErrorCode::StepExecution);
    }
    deadline = RecordDurableDeadline(runtime, *state, sleep_step_id, timeout);
    checkpoint = NewCheckpoint(runtime, *state, step_id, kGetEventStep);
  }
  messaging::Waiter local_waiter;
  messaging::Waiter& waiter = state != nullptr ? state->waiter : local_waiter;
  messaging::Notifier::Registration registration(runtime.Notifications(),
                                                 messaging::EventKey(workflow_id, key), waiter);
  for (;;) {
    waiter.Arm();
    if (auto value = runtime.Db().GetEvent(workflow_id, key)) {
      if (checkpoint) {
        checkpoint->output = *value;
        checkpoint->completed_at_epoch_ms = util::NowEpochMs();
        nlohmann::json replayed;
        if (HandleCheckpointResult(runtime, *state, runtime.Db().RecordStep(*checkpoint),
                                   ErrorCode::StepExecution, &replayed)) {
          return replayed;
        }
      }
      return serialization::DecodeValue(value);
    }
    if (util::NowEpochMs() >= deadline) {
      return RecordTimeoutOrReplay(runtime, state, checkpoint.value_or(sysdb::StepWrite{}),
                                   "no event found for key '" + key + "' of workflow " +
                                       workflow_id + " within " + std::to_string(timeout.count()) +
                                       " ms");
    }
    if (waiter.WaitUntil(NextCheck(runtime, deadline)) == messaging::Waiter::Wake::Interrupted) {
      ThrowInterruption(*state, state->Pending());
    }
  }
}

}  // namespace dbos::detail
