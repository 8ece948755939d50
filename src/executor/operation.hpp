// What every DBOS operation inside a workflow shares: finding the calling workflow (and refusing
// calls from inside a step), honouring interruption, taking step IDs, and replaying a recorded
// outcome with the same result or exception as the first execution.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/workflow_state.hpp"
#include "dbos/context.hpp"
#include "serialization/codec.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {

class Runtime;

/// The calling workflow. Throws StepExecution "cannot call <operation> within a step" inside a
/// step, and, when `required`, StepExecution outside a workflow. Returns nullptr outside a
/// workflow when not required.
WorkflowState* CallingWorkflow(const DBOSContext& ctx, const char* operation, bool required);

/// Throws the pending interruption: ShutdownInterrupt or DBOSError(WorkflowCancelled).
void ThrowIfInterrupted(const WorkflowState& state);
[[noreturn]] void ThrowInterruption(const WorkflowState& state, Interruption why);
/// Throws why no workflow can start while DBOS shuts down. From a workflow (`caller`) that is
/// the workflow's own shutdown, so that it stays PENDING however its code handles the throw
/// (an error it caught could otherwise end it with an outcome it never had).
[[noreturn]] void ThrowShutDown(WorkflowState* caller);

/// Takes the row recorded at `step_id` by an earlier execution (released from memory then), or
/// nullopt. Throws UnexpectedStep when a step with another name is recorded there.
std::optional<sysdb::StepRow> FindRecorded(WorkflowState& state, int step_id,
                                           const std::string& expected_name);

/// Returns a recorded step's output, or throws its recorded error (unregistered exception types
/// surface as DBOSError(`wrap_code`)).
nlohmann::json ReplayStep(const Runtime& runtime, const WorkflowState& state,
                          const sysdb::StepRow& row, ErrorCode wrap_code);

/// A checkpoint row for `step_id` of the calling workflow, started now.
sysdb::StepWrite NewCheckpoint(const Runtime& runtime, const WorkflowState& state, int step_id,
                               const std::string& name);

/// Throws UnexpectedStep (as a replay does) when `existing`, the row found at the step ID of
/// `write`, was recorded by another operation: another execution took another path there.
void CheckRecordedName(const WorkflowState& state, const sysdb::StepWrite& write,
                       const sysdb::StepRow& existing);

/// Acts on the result of writing the checkpoint `write`: false for Inserted; true for
/// AlreadyRecorded (an earlier or concurrent execution recorded it first: its value is stored in
/// `*replayed`, or its error thrown; UnexpectedStep when it is another operation's);
/// WorkflowCancelled interrupts the workflow and throws; WorkflowMissing throws.
bool HandleCheckpointResult(const Runtime& runtime, WorkflowState& state,
                            const sysdb::StepWrite& write, const sysdb::StepWriteResult& result,
                            ErrorCode wrap_code, nlohmann::json* replayed);

/// The same without the name check, for callers that do not pass their checkpoint.
bool HandleCheckpointResult(const Runtime& runtime, WorkflowState& state,
                            const sysdb::StepWriteResult& result, ErrorCode wrap_code,
                            nlohmann::json* replayed);

}  // namespace dbos::detail

namespace dbos::detail {

/// The durable deadline of a wait: recorded as a "DBOS.sleep" step at `step_id` (output = the
/// deadline in epoch ms) on the first execution, read back on replay.
int64_t RecordDurableDeadline(Runtime& runtime, WorkflowState& state, int step_id,
                              std::chrono::milliseconds duration);

/// Blocks until the epoch-ms `deadline` (notifications do not cut it short); throws the
/// interruption if the workflow is cancelled or shut down meanwhile. May park the workflow.
void WaitUntilEpochMs(Runtime& runtime, WorkflowState& state, int64_t deadline_ms);

}  // namespace dbos::detail

namespace dbos::detail {

/// What a read-only workflow operation saw: a value, or an error to record and throw.
struct ReadOutcome {
  nlohmann::json value;
  std::optional<serialization::ErrorRecord> error;
};

/// Runs a read-only operation of the calling workflow as the checkpointed step `name` (e.g.
/// "DBOS.getResult"): on replay the recorded value comes back (or its error is thrown); otherwise
/// `read` runs and its outcome is recorded first. Errors are thrown as the recorded type, else as
/// DBOSError(`wrap_code`) naming `error_workflow_id`. Refused inside a step.
nlohmann::json CheckpointedRead(Runtime& runtime, WorkflowState& state, const char* operation,
                                const std::string& name, ErrorCode wrap_code,
                                const std::string& error_workflow_id,
                                const std::optional<std::string>& child_workflow_id,
                                const std::function<ReadOutcome()>& read);

}  // namespace dbos::detail
