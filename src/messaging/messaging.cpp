// Send/Recv and SetEvent/GetEvent (reference §4.5, §4.6).
//
// Writes commit together with their step checkpoint (exactly once), then wake local waiters at
// once; PostgreSQL's NOTIFY wakes other processes. Waits register their waiter before reading the
// database, so a message or event that lands meanwhile is not missed, and re-check at a polling
// interval as a safety net.
#include "dbos/messaging.hpp"

#include <algorithm>
#include <utility>

#include "core/context_access.hpp"
#include "core/notifier.hpp"
#include "core/runtime.hpp"
#include "core/step_marks.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "executor/operation.hpp"
#include "executor/park_wait.hpp"
#include "serialization/codec.hpp"
#include "serialization/formats.hpp"
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

// Records `error` as the outcome of the wait at `checkpoint`, so that a replay throws it too, then
// throws it. Returns instead the value recorded at that step when something recorded it first (a
// sender in this process delivering the awaited message at the last moment).
nlohmann::json RecordErrorOrReplay(Runtime& runtime, WorkflowState* state,
                                   sysdb::StepWrite checkpoint, const DBOSError& error) {
  if (state != nullptr) {
    checkpoint.error =
        serialization::EncodeError({std::string(ErrorCodeName(error.Code())), error.Message(),
                                    static_cast<int>(error.Code())});
    checkpoint.completed_at_epoch_ms = util::NowEpochMs();
    nlohmann::json replayed;
    if (HandleCheckpointResult(runtime, *state, checkpoint, runtime.Db().RecordStep(checkpoint),
                               ErrorCode::StepExecution, &replayed)) {
      return replayed;
    }
  }
  throw error;
}

nlohmann::json RecordTimeoutOrReplay(Runtime& runtime, WorkflowState* state,
                                     sysdb::StepWrite checkpoint, const std::string& message) {
  return RecordErrorOrReplay(
      runtime, state, std::move(checkpoint),
      DBOSError(ErrorCode::Timeout, message, state != nullptr ? state->workflow_id : ""));
}

// What Recv can read: a message in a readable serialization whose value converts to the type
// the caller asked for. Remembers why it refused the last message it refused.
class MessageReader {
 public:
  MessageReader(std::string workflow_id, std::string topic, ConversionCheck convert)
      : workflow_id_(std::move(workflow_id)), topic_(std::move(topic)), convert_(convert) {}

  /// For ConsumeMessage: nullopt when the stored message can be read, else why not.
  std::optional<std::string> Check(const sysdb::StoredValue& stored) {
    try {
      const nlohmann::json value =
          serialization::DecodeValue(stored.text, stored.serialization, "message");
      const std::string why = Convert(value);
      if (why.empty()) return std::nullopt;
      refusal_.emplace(ErrorCode::WorkflowUnexpectedType,
                       "workflow " + workflow_id_ + " cannot read the message on topic '" + topic_ +
                           "' as the type its Recv asked for (" + why +
                           "); the message was left unconsumed",
                       workflow_id_);
    } catch (const DBOSError& e) {
      Refuse(e.Code(), e.Message());
    } catch (const std::exception& e) {
      Refuse(ErrorCode::InvalidOption, e.what());
    }
    return std::string(refusal_->what());
  }

  /// For local senders: true when the value converts.
  bool Accepts(const nlohmann::json& value) const { return Convert(value).empty(); }

  /// Why the last refused message was refused.
  const DBOSError& Refusal() const { return *refusal_; }

 private:
  void Refuse(ErrorCode code, const std::string& why) {
    refusal_.emplace(code,
                     why + " (workflow " + workflow_id_ + ", topic '" + topic_ +
                         "'; the message was left unconsumed)",
                     workflow_id_);
  }

  std::string Convert(const nlohmann::json& value) const {
    if (convert_ == nullptr) return "";
    try {
      return convert_(value);
    } catch (...) {  // a user from_json that throws something other than std::exception
      return "the conversion threw a non-standard exception";
    }
  }

  std::string workflow_id_;
  std::string topic_;
  ConversionCheck convert_;
  std::optional<DBOSError> refusal_;
};

// A receiver claim: taken before the deadline is recorded, opened to local senders after it,
// released (waiting for deliveries under way) on scope exit.
class ReceiverClaim {
 public:
  ReceiverClaim(messaging::Notifier& notifier, std::string key, int step_id,
                const std::string& workflow_id, const std::string& topic,
                messaging::Notifier::Accepts accepts)
      : notifier_(notifier), key_(std::move(key)) {
    if (!notifier_.ClaimReceiver(key_, step_id, std::move(accepts))) {
      throw DBOSError(ErrorCode::ConflictingID,
                      "workflow " + workflow_id + " is already receiving on topic '" + topic +
                          "'; only one Recv per workflow and topic may wait at a time",
                      workflow_id);
    }
  }
  ~ReceiverClaim() {
    if (!left_) notifier_.LeaveReceiver(key_);
  }
  ReceiverClaim(const ReceiverClaim&) = delete;
  ReceiverClaim& operator=(const ReceiverClaim&) = delete;

  void Open() { notifier_.OpenReceiver(key_); }
  /// The Recv parks: the claim stays open to senders for its replay. Returns instead the message
  /// a sender recorded as received meanwhile, if any (the claim is then released).
  std::optional<std::string> Park() {
    left_ = true;
    return notifier_.ParkReceiver(key_);
  }
  /// Leaves now; returns the message a sender recorded as received meanwhile, if any.
  std::optional<std::string> Leave() {
    left_ = true;
    return notifier_.LeaveReceiver(key_);
  }

 private:
  messaging::Notifier& notifier_;
  std::string key_;
  bool left_ = false;
};

// A sender's delivery to a receiver waiting in this process; ended on scope exit.
class Delivery {
 public:
  Delivery(messaging::Notifier& notifier, std::string key, const nlohmann::json& message)
      : notifier_(notifier),
        key_(std::move(key)),
        step_id_(notifier_.BeginDelivery(key_, message)) {}
  ~Delivery() {
    if (step_id_) notifier_.EndDelivery(key_, *step_id_, delivered_);
  }
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  const std::optional<int>& ReceiverStep() const { return step_id_; }
  void Delivered(const std::string& message) { delivered_ = message; }

 private:
  messaging::Notifier& notifier_;
  std::string key_;
  std::optional<int> step_id_;
  std::optional<std::string> delivered_;
};

// When a wait re-checks the database without a notification: after the polling interval, doubled
// after each re-check that found nothing (up to the runtime's cap), or at the deadline if sooner.
// Notifications wake waits at once; the re-checks are a safety net whose cost must not grow with
// the number of waiting workflows.
class Rechecks {
 public:
  explicit Rechecks(const Runtime& runtime)
      : interval_(runtime.WaitPollInterval()), cap_(runtime.WaitPollCap()) {}
  std::chrono::steady_clock::time_point Next(int64_t deadline_ms) const {
    const auto remaining =
        std::chrono::milliseconds(std::max<int64_t>(0, deadline_ms - util::NowEpochMs()));
    return std::chrono::steady_clock::now() + std::min(remaining, interval_);
  }
  /// A re-check found nothing after a quiet interval: wait longer next time.
  void Quiet() { interval_ = std::min(interval_ * 2, cap_); }

 private:
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds cap_;
};

// Recv's wait: a message handed over by a local sender, else the oldest unconsumed one, else
// sleep until notified, the next re-check or the deadline.
nlohmann::json WaitForMessage(Runtime& runtime, WorkflowState& state, const std::string& key,
                              const std::string& stored_topic, const sysdb::StepWrite& checkpoint,
                              int64_t deadline, std::chrono::milliseconds timeout,
                              MessageReader& reader) {
  const sysdb::MessageCheck check = [&reader](const sysdb::StoredValue& stored) {
    return reader.Check(stored);
  };
  Rechecks rechecks(runtime);
  // Parked, it wakes for a message, or for its own step recorded by another execution of the
  // workflow (a duplicate after recovery elsewhere consumed the message it waits for).
  ParkableWait wait(
      runtime, state, {key},
      {{sysdb::WaitProbe::Kind::kMessage, state.workflow_id, stored_topic},
       {sysdb::WaitProbe::Kind::kStep, state.workflow_id, std::to_string(checkpoint.function_id)}});
  for (;;) {
    state.waiter.Arm();
    if (auto handed_over = runtime.Notifications().TakeHandedOver(key)) {
      return serialization::DecodeValue(handed_over);  // a local sender recorded our receipt
    }
    auto consumed = runtime.Db().ConsumeMessage(stored_topic, checkpoint, check);
    if (consumed.unreadable) {  // left unconsumed for a reader that can decode it
      return RecordErrorOrReplay(runtime, &state, checkpoint, reader.Refusal());
    }
    if (consumed.kind == sysdb::StepWriteResult::Kind::Inserted) {
      if (consumed.message) {
        return serialization::DecodeValue(consumed.message, consumed.serialization, "message");
      }
    } else {
      sysdb::StepWriteResult result{consumed.kind, consumed.existing};
      nlohmann::json replayed;
      HandleCheckpointResult(runtime, state, checkpoint, result, ErrorCode::StepExecution,
                             &replayed);
      return replayed;
    }
    if (util::NowEpochMs() >= deadline) {
      return RecordTimeoutOrReplay(runtime, &state, checkpoint,
                                   "Step DBOS.recv timed out in workflow " + state.workflow_id +
                                       ": no message received within " +
                                       std::to_string(timeout.count()) + " ms");
    }
    if (wait.Wait(rechecks.Next(deadline), deadline) == messaging::Waiter::Wake::Deadline) {
      rechecks.Quiet();
    }
  }
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
    if (FindRecorded(*state, step_id, kSendStep)) return;  // sent before the crash
    write.checkpoint = NewCheckpoint(runtime, *state, step_id, kSendStep);
  }
  // The destination waits in Recv here: let this transaction record its receipt as well, which
  // saves the receiver a commit (it then finds its step recorded and replays it).
  const std::string key = messaging::MessageKey(destination_id, write.topic);
  std::optional<Delivery> delivery;
  delivery.emplace(runtime.Notifications(), key, message);
  if (const auto receiver_step = delivery->ReceiverStep()) {
    if (const auto& hook = runtime.Notifications().Hooks().before_delivery) {
      hook(key, *receiver_step);
    }
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
      delivery->Delivered(write.message);
      delivery.reset();
      runtime.Notifications().Notify(key);
      return;
    case sysdb::SendResult::Sent:
      delivery.reset();
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
                          std::chrono::milliseconds timeout, ConversionCheck convert) {
  Runtime& runtime = detail::RuntimeOf(ctx);
  ValidateName("Recv's topic", topic, true);
  timeout = ClampWait(timeout);
  WorkflowState& state = *CallingWorkflow(ctx, "Recv", /*required=*/true);
  ThrowIfInterrupted(state);
  const int step_id = state.next_step_id++;
  const int sleep_step_id = state.next_step_id++;
  const std::string stored_topic = StoredTopic(topic);
  const std::string key = messaging::MessageKey(state.workflow_id, stored_topic);
  // The claim this Recv left open when it parked (if it did) is now this run's: released when
  // the step is found recorded (a local sender delivered), taken over by the claim below if not.
  // Until then it stays noted in the state, so that an execution ending on the way (a replay
  // that finds another step here throws) releases it.
  const bool parked_here = state.parked_receiver == std::make_pair(key, step_id);
  if (const auto row = FindRecorded(state, step_id, kRecvStep)) {
    if (parked_here) {
      state.parked_receiver.reset();
      runtime.Notifications().LeaveParkedReceiver(key, step_id);
    }
    return ReplayStep(runtime, state, *row, ErrorCode::StepExecution);
  }
  MessageReader reader(state.workflow_id, topic, convert);
  // Senders check with a copy: a parked claim outlives this stack.
  ReceiverClaim claim(runtime.Notifications(), key, step_id, state.workflow_id, topic,
                      [reader](const nlohmann::json& value) { return reader.Accepts(value); });
  if (parked_here) state.parked_receiver.reset();  // taken over: this claim releases it
  messaging::Notifier::Registration registration(runtime.Notifications(), key, state.waiter);
  // The deadline row (step ID + 1) commits before any local sender may record this Recv's step:
  // a kill between the two would otherwise leave a gap in the step history that no replay fills.
  const int64_t deadline = RecordDurableDeadline(runtime, state, sleep_step_id, timeout);
  claim.Open();
  sysdb::StepWrite checkpoint = NewCheckpoint(runtime, state, step_id, kRecvStep);
  // A message a local sender committed as received at this step: what a replay returns, so this
  // run returns it too, rather than park or throw.
  const auto go_on_with = [&](const std::optional<std::string>& message) {
    if (state.parking) runtime.Parking().CancelPark(state);
    return serialization::DecodeValue(message);
  };
  try {
    return WaitForMessage(runtime, state, key, stored_topic, checkpoint, deadline, timeout, reader);
  } catch (const ParkInterrupt&) {
    // Parked, it stays open to local senders: a send then records its receipt, and the replay
    // finds the step recorded (one commit fewer than consuming the message after the wake-up).
    if (auto message = claim.Park()) return go_on_with(message);
    if (auto earlier = std::exchange(state.parked_receiver, std::nullopt)) {
      // Parked at another Recv before and never back to it (code that does not replay the same
      // way): that claim must not take messages for a step this execution will not read.
      runtime.Notifications().LeaveParkedReceiver(earlier->first, earlier->second);
    }
    state.parked_receiver.emplace(key, step_id);
    throw;
  } catch (...) {
    // Leaving with an error (interrupted, timed out, a failed read): a local sender may have
    // committed this step as received meanwhile.
    if (auto message = claim.Leave()) return go_on_with(message);
    throw;
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
  if (const auto step = CallerStep(*state)) {
    write.function_id = *step;  // part of the step: not checkpointed on its own
  } else {
    ThrowIfInterrupted(*state);
    write.function_id = state->next_step_id++;
    if (FindRecorded(*state, write.function_id, kSetEventStep)) return;
    write.checkpoint = NewCheckpoint(runtime, *state, write.function_id, kSetEventStep);
  }
  nlohmann::json replayed;
  const sysdb::StepWriteResult set = runtime.Db().SetEvent(write);
  const bool recorded_before =
      write.checkpoint
          ? HandleCheckpointResult(runtime, *state, *write.checkpoint, set,
                                   ErrorCode::StepExecution, &replayed)
          : HandleCheckpointResult(runtime, *state, set, ErrorCode::StepExecution, &replayed);
  if (recorded_before) {
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
  if (state != nullptr && CallerStep(*state)) state = nullptr;  // inside a step: not recorded
  std::optional<sysdb::StepWrite> checkpoint;
  int64_t deadline = util::NowEpochMs() + std::max<int64_t>(0, timeout.count());
  if (state != nullptr) {
    ThrowIfInterrupted(*state);
    const int step_id = state->next_step_id++;
    const int sleep_step_id = state->next_step_id++;
    if (const auto row = FindRecorded(*state, step_id, kGetEventStep)) {
      return ReplayStep(runtime, *state, *row, ErrorCode::StepExecution);
    }
    deadline = RecordDurableDeadline(runtime, *state, sleep_step_id, timeout);
    checkpoint = NewCheckpoint(runtime, *state, step_id, kGetEventStep);
  }
  runtime.EnsureListening();  // a process that never launched gets pushed wake-ups too
  messaging::Waiter local_waiter;
  messaging::Waiter& waiter = state != nullptr ? state->waiter : local_waiter;
  const std::string event_key = messaging::EventKey(workflow_id, key);
  messaging::Notifier::Registration registration(runtime.Notifications(), event_key, waiter);
  std::optional<ParkableWait> parkable;
  if (state != nullptr) {
    parkable.emplace(runtime, *state, std::vector<std::string>{event_key},
                     std::vector<ParkProbe>{{sysdb::WaitProbe::Kind::kEvent, workflow_id, key}});
  }
  Rechecks rechecks(runtime);
  for (;;) {
    waiter.Arm();
    if (auto value = runtime.Db().GetEvent(workflow_id, key)) {
      nlohmann::json decoded =
          serialization::DecodeValue(value->text, value->serialization, "event");
      if (checkpoint) {
        checkpoint->output = serialization::EncodeValue(decoded);  // recorded as portable_json
        checkpoint->completed_at_epoch_ms = util::NowEpochMs();
        nlohmann::json replayed;
        if (HandleCheckpointResult(runtime, *state, *checkpoint,
                                   runtime.Db().RecordStep(*checkpoint), ErrorCode::StepExecution,
                                   &replayed)) {
          return replayed;
        }
      }
      return decoded;
    }
    if (util::NowEpochMs() >= deadline) {
      return RecordTimeoutOrReplay(runtime, state, checkpoint.value_or(sysdb::StepWrite{}),
                                   "no event found for key '" + key + "' of workflow " +
                                       workflow_id + " within " + std::to_string(timeout.count()) +
                                       " ms");
    }
    const auto wake = parkable ? parkable->Wait(rechecks.Next(deadline), deadline)
                               : waiter.WaitUntil(rechecks.Next(deadline));
    if (wake == messaging::Waiter::Wake::Deadline) rechecks.Quiet();
  }
}

}  // namespace dbos::detail
