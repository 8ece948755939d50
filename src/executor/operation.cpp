// Shared operation helpers; see operation.hpp.
#include "executor/operation.hpp"

#include <algorithm>
#include <exception>

#include "core/context_access.hpp"
#include "core/error_messages.hpp"
#include "core/runtime.hpp"
#include "core/step_marks.hpp"
#include "dbos/errors.hpp"
#include "executor/park_wait.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

WorkflowState* CallingWorkflow(const DBOSContext& ctx, const char* operation, bool required) {
  WorkflowState* state = detail::WorkflowOf(ctx).get();
  if (state == nullptr) {
    if (required) {
      throw DBOSError(ErrorCode::StepExecution,
                      std::string(operation) + " must be called from inside a workflow");
    }
    return nullptr;
  }
  if (CallerStep(*state)) {
    throw DBOSError(ErrorCode::StepExecution,
                    std::string("cannot call ") + operation + " within a step", state->workflow_id);
  }
  return state;
}

void ThrowInterruption(const WorkflowState& state, Interruption why) {
  if (why == Interruption::Shutdown) throw ShutdownInterrupt{};
  throw DBOSError(ErrorCode::WorkflowCancelled, "workflow " + state.workflow_id + " was cancelled",
                  state.workflow_id);
}

void ThrowShutDown(WorkflowState* caller) {
  if (caller != nullptr) {
    caller->Interrupt(Interruption::Shutdown);
    ThrowInterruption(*caller, caller->Pending());  // a cancellation that came first stays
  }
  throw DBOSError(ErrorCode::Initialization, "DBOS is shut down; no new workflows can start");
}

void ThrowIfInterrupted(const WorkflowState& state) {
  // Code that caught a park's unwinding cannot carry on: it would run ahead of its own replay.
  // Inside a handler (cleanup before a rethrow) the unwinding goes on; code that swallowed it is
  // held until the workflow is cancelled or shut down.
  if (state.parking) {
    if (std::current_exception()) throw ParkInterrupt{};
    HoldSwallowedPark(const_cast<WorkflowState&>(state));
  }
  const auto why = state.Pending();
  if (why != Interruption::None) ThrowInterruption(state, why);
}

std::optional<sysdb::StepRow> FindRecorded(WorkflowState& state, int step_id,
                                           const std::string& expected_name) {
  auto row = state.TakeRecorded(step_id);
  if (row && row->function_name != expected_name) {
    throw DBOSError(ErrorCode::UnexpectedStep,
                    UnexpectedStepMessage(state.workflow_id, step_id, row->function_name,
                                          expected_name, /*is_workflow=*/false),
                    state.workflow_id);
  }
  return row;
}

nlohmann::json ReplayStep(const Runtime& runtime, const WorkflowState& state,
                          const sysdb::StepRow& row, ErrorCode wrap_code) {
  if (row.error) {
    runtime.ErrorTypes().Throw(serialization::DecodeError(*row.error, row.serialization), wrap_code,
                               state.workflow_id);
  }
  return serialization::DecodeValue(row.output, row.serialization);
}

sysdb::StepWrite NewCheckpoint(const Runtime& runtime, const WorkflowState& state, int step_id,
                               const std::string& name) {
  sysdb::StepWrite write;
  write.workflow_uuid = state.workflow_id;
  write.function_id = step_id;
  write.function_name = name;
  write.application_name = runtime.Config().app_name;
  write.started_at_epoch_ms = util::NowEpochMs();
  write.completed_at_epoch_ms = write.started_at_epoch_ms;
  return write;
}

void CheckRecordedName(const WorkflowState& state, const sysdb::StepWrite& write,
                       const sysdb::StepRow& existing) {
  if (existing.function_name == write.function_name) return;
  throw DBOSError(ErrorCode::UnexpectedStep,
                  UnexpectedStepMessage(state.workflow_id, write.function_id,
                                        existing.function_name, write.function_name,
                                        /*is_workflow=*/false),
                  state.workflow_id);
}

bool HandleCheckpointResult(const Runtime& runtime, WorkflowState& state,
                            const sysdb::StepWrite& write, const sysdb::StepWriteResult& result,
                            ErrorCode wrap_code, nlohmann::json* replayed) {
  if (result.kind == sysdb::StepWriteResult::Kind::AlreadyRecorded) {
    CheckRecordedName(state, write, *result.existing);
  }
  return HandleCheckpointResult(runtime, state, result, wrap_code, replayed);
}

bool HandleCheckpointResult(const Runtime& runtime, WorkflowState& state,
                            const sysdb::StepWriteResult& result, ErrorCode wrap_code,
                            nlohmann::json* replayed) {
  using Kind = sysdb::StepWriteResult::Kind;
  switch (result.kind) {
    case Kind::Inserted:
      return false;
    case Kind::AlreadyRecorded: {
      // Recorded concurrently by another execution: the recorded outcome wins.
      nlohmann::json value = ReplayStep(runtime, state, *result.existing, wrap_code);
      if (replayed != nullptr) *replayed = std::move(value);
      return true;
    }
    case Kind::WorkflowCancelled:
      state.Interrupt(Interruption::Cancelled);
      ThrowInterruption(state, Interruption::Cancelled);
    case Kind::WorkflowMissing:
      break;
  }
  throw DBOSError(ErrorCode::NonExistentWorkflow,
                  "workflow " + state.workflow_id + " no longer exists in the system database",
                  state.workflow_id);
}

}  // namespace dbos::detail

namespace dbos::detail {

int64_t RecordDurableDeadline(Runtime& runtime, WorkflowState& state, int step_id,
                              std::chrono::milliseconds duration) {
  static const std::string kSleep = "DBOS.sleep";
  if (const auto row = FindRecorded(state, step_id, kSleep)) {
    return ReplayStep(runtime, state, *row, ErrorCode::StepExecution).get<int64_t>();
  }
  sysdb::StepWrite write = NewCheckpoint(runtime, state, step_id, kSleep);
  const int64_t deadline = write.started_at_epoch_ms + std::max<int64_t>(0, duration.count());
  write.output = std::to_string(deadline);
  write.completed_at_epoch_ms = deadline;
  nlohmann::json replayed;
  if (HandleCheckpointResult(runtime, state, write, runtime.Db().RecordStep(write),
                             ErrorCode::StepExecution, &replayed)) {
    return replayed.get<int64_t>();
  }
  return deadline;
}

void WaitUntilEpochMs(Runtime& runtime, WorkflowState& state, int64_t deadline_ms) {
  ParkableWait wait(runtime, state, {});  // parked, only the time (or an interruption) wakes it
  for (;;) {
    const int64_t remaining = deadline_ms - util::NowEpochMs();
    if (remaining <= 0) return;
    state.waiter.Arm();
    wait.Wait(std::chrono::steady_clock::now() + std::chrono::milliseconds(remaining), deadline_ms);
  }
}

}  // namespace dbos::detail

namespace dbos::detail {

nlohmann::json CheckpointedRead(Runtime& runtime, WorkflowState& state, const char* operation,
                                const std::string& name, ErrorCode wrap_code,
                                const std::string& error_workflow_id,
                                const std::optional<std::string>& child_workflow_id,
                                const std::function<ReadOutcome()>& read) {
  if (CallerStep(state)) {
    throw DBOSError(ErrorCode::StepExecution,
                    std::string("cannot call ") + operation + " within a step", state.workflow_id);
  }
  ThrowIfInterrupted(state);
  const int step_id = state.next_step_id++;
  std::optional<sysdb::StepRow> recorded = FindRecorded(state, step_id, name);
  ReadOutcome outcome;
  if (!recorded) {
    outcome = read();
    sysdb::StepWrite write = NewCheckpoint(runtime, state, step_id, name);
    write.child_workflow_id = child_workflow_id;
    if (outcome.error) {
      write.error = serialization::EncodeError(*outcome.error);
    } else {
      write.output = serialization::EncodeValue(outcome.value);
    }
    write.completed_at_epoch_ms = util::NowEpochMs();
    const auto result = runtime.Db().RecordStep(write);
    if (result.kind == sysdb::StepWriteResult::Kind::AlreadyRecorded) {
      CheckRecordedName(state, write, *result.existing);
      recorded = result.existing;  // another execution recorded it first: that outcome wins
    } else {
      HandleCheckpointResult(runtime, state, result, wrap_code, nullptr);
    }
  }
  if (recorded) {
    if (recorded->error) {
      outcome.error = serialization::DecodeError(*recorded->error, recorded->serialization);
    } else {
      outcome.value = serialization::DecodeValue(recorded->output, recorded->serialization);
    }
  }
  if (outcome.error) runtime.ErrorTypes().Throw(*outcome.error, wrap_code, error_workflow_id);
  return std::move(outcome.value);
}

}  // namespace dbos::detail
