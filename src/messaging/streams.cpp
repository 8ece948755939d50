// WriteStream, CloseStream and ReadStream on a DBOSContext (reference §2.5, §4.7). Writes from a
// workflow commit with their step checkpoint (exactly once, never repeated by a replay), then wake
// local readers at once; PostgreSQL's NOTIFY wakes readers in other processes. Reads are
// messaging::ReadStreamValues, which a Client shares.
#include "dbos/streams.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>

#include "core/context_access.hpp"
#include "core/notifier.hpp"
#include "core/runtime.hpp"
#include "core/step_marks.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "executor/operation.hpp"
#include "messaging/stream_reader.hpp"
#include "serialization/codec.hpp"

namespace dbos::detail {
namespace {

const std::string kWriteStreamStep = "DBOS.writeStream";
const std::string kCloseStreamStep = "DBOS.closeStream";
const std::string kReadStreamStep = "DBOS.readStream";

// Appends `stored` (encoded) to stream `key` of the calling workflow: checkpointed as `step_name`
// in a workflow, part of the running step inside one.
void Append(Runtime& runtime, WorkflowState& state, const std::string& key,
            const std::string& stored, const std::string& step_name) {
  sysdb::StreamWrite write;
  write.workflow_uuid = state.workflow_id;
  write.key = key;
  write.value = stored;
  if (const auto step = CallerStep(state)) {
    write.function_id = *step;  // part of the step: not checkpointed on its own
  } else {
    ThrowIfInterrupted(state);
    write.function_id = state.next_step_id++;
    if (FindRecorded(state, write.function_id, step_name)) {
      state.wrote_streams = true;  // written before a crash: its end is still announced
      return;
    }
    write.checkpoint = NewCheckpoint(runtime, state, write.function_id, step_name);
  }
  const sysdb::StreamWriteResult result = runtime.Db().WriteStream(write);
  nlohmann::json replayed;
  const bool recorded_before =
      write.checkpoint ? HandleCheckpointResult(runtime, state, *write.checkpoint, result.step,
                                                ErrorCode::StepExecution, &replayed)
                       : HandleCheckpointResult(runtime, state, result.step,
                                                ErrorCode::StepExecution, &replayed);
  state.wrote_streams = true;
  if (recorded_before) return;
  if (result.stream_closed) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "stream '" + key + "' is already closed (workflow " + state.workflow_id +
                        "): nothing can be written to a stream after CloseStream",
                    state.workflow_id);
  }
  runtime.Notifications().Notify(messaging::StreamKey(state.workflow_id, key));
}

}  // namespace

void WriteStreamErased(DBOSContext& ctx, const std::string& key, const nlohmann::json& value) {
  Runtime& runtime = RuntimeOf(ctx);
  ValidateName("WriteStream's key", key, true);
  ValidateJsonText("WriteStream's value", value);
  if (value.is_string() && value.get_ref<const std::string&>() == sysdb::kStreamClosedSentinel) {
    throw DBOSError(ErrorCode::InvalidOption,
                    std::string("WriteStream's value \"") + sysdb::kStreamClosedSentinel +
                        "\" is reserved: it marks a closed stream (call CloseStream instead)");
  }
  WorkflowState* state = WorkflowOf(ctx).get();
  if (state == nullptr) {
    throw DBOSError(ErrorCode::StepExecution,
                    "WriteStream must be called from inside a workflow or one of its steps");
  }
  Append(runtime, *state, key, serialization::EncodeValue(value), kWriteStreamStep);
}

void CloseStreamErased(DBOSContext& ctx, const std::string& key) {
  Runtime& runtime = RuntimeOf(ctx);
  ValidateName("CloseStream's key", key, true);
  WorkflowState& state = *CallingWorkflow(ctx, "CloseStream", /*required=*/true);
  Append(runtime, state, key, sysdb::kStreamClosedStored, kCloseStreamStep);
}

ErasedStreamRead ReadStreamErased(DBOSContext& ctx, const std::string& workflow_id,
                                  const std::string& key, const ReadStreamSettings& settings) {
  Runtime& runtime = RuntimeOf(ctx);
  runtime.EnsureListening();  // a process that never launched gets pushed wake-ups too
  WorkflowState* state = WorkflowOf(ctx).get();
  if (state != nullptr && state->workflow_id == workflow_id && !settings.snapshot) {
    // Its own stream stays open while it runs: the read would wait for itself forever.
    throw DBOSError(ErrorCode::InvalidOption,
                    "workflow " + workflow_id + " cannot wait for its own stream '" + key +
                        "' to end; read it with WithReadStreamSnapshot()",
                    workflow_id);
  }
  messaging::StreamReaderEnv env{runtime.Db(),
                                 runtime.Notifications(),
                                 runtime.WaitPollInterval(),
                                 runtime.WaitPollCap(),
                                 nullptr,
                                 nullptr,
                                 nullptr};
  if (state == nullptr) {
    // Nothing interrupts this reader's own waiter: it stops at shutdown (which wakes it), as a
    // writer left PENDING by the shutdown would keep its stream open.
    env.stopped = [&runtime] { return runtime.ShuttingDown(); };
  } else {
    // Inside a step too: the wait has no timeout, so only the workflow's waiter, which
    // cancellation and shutdown interrupt, can end it before the writer does.
    env.waiter = &state->waiter;
    env.on_interrupted = [state] { ThrowInterruption(*state, state->Pending()); };
  }
  // A dbos::Go step waits on a waiter of its own (the workflow's belongs to the workflow's
  // thread, which may wait at the same time), interrupted with the workflow.
  messaging::Waiter step_waiter;
  std::optional<std::stop_callback<std::function<void()>>> interrupt_step_waiter;
  if (state != nullptr && OnStepWorker(*state)) {
    env.waiter = &step_waiter;
    interrupt_step_waiter.emplace(state->stop.get_token(), std::function<void()>([&step_waiter] {
                                    step_waiter.Interrupt();
                                  }));
  }
  if (state != nullptr && CallerStep(*state)) state = nullptr;  // inside a step: not recorded
  messaging::StreamReadRequest request{workflow_id, key, settings.snapshot, settings.from_offset};
  const auto read = [&] {
    messaging::StreamValues values = messaging::ReadStreamValues(env, request);
    return ErasedStreamRead{std::move(values.values), values.closed};
  };
  if (state == nullptr) return read();
  // In a workflow: the result is recorded, so a replay sees what this execution saw.
  const nlohmann::json recorded = CheckpointedRead(
      runtime, *state, "ReadStream", kReadStreamStep, ErrorCode::StepExecution, workflow_id,
      std::nullopt, [&]() -> ReadOutcome {
        try {
          ErasedStreamRead result = read();
          return ReadOutcome{
              nlohmann::json{{"values", std::move(result.values)}, {"closed", result.closed}},
              std::nullopt};
        } catch (const DBOSError& e) {
          if (e.Code() != ErrorCode::NonExistentWorkflow) throw;
          return ReadOutcome{
              nullptr, serialization::ErrorRecord{std::string(ErrorCodeName(e.Code())), e.Message(),
                                                  static_cast<int>(e.Code())}};
        }
      });
  ErasedStreamRead out;
  if (recorded.is_object()) {
    if (const auto values = recorded.find("values"); values != recorded.end()) {
      out.values = values->get<std::vector<nlohmann::json>>();
    }
    if (const auto closed = recorded.find("closed"); closed != recorded.end()) {
      out.closed = closed->is_boolean() && closed->get<bool>();
    }
  }
  return out;
}

}  // namespace dbos::detail
