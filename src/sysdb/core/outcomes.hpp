// The meaning of the system database operations' probe rows, written once for both backends.
// Each checkpointed write (RecordStep, Send from a workflow, ConsumeMessage, SetEvent) reads, in
// the same statement or transaction as its write, the workflow row and the step row at its step
// ID; this file turns what was found into the operation's result, so the two dialects classify
// identically. It also holds the small encodings both backends share.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "sysdb/system_database.hpp"

namespace dbos::sysdb::core {

/// What a checkpointed write found before (or instead of) writing.
struct StepProbe {
  bool workflow_exists = false;
  bool cancelled = false;
  std::optional<StepRow> step;  ///< The row already recorded at the step ID.
};

/// Why a checkpoint cannot be written, in the order every operation checks: the step is recorded
/// already (AlreadyRecorded, with the row), the workflow is missing, the workflow is CANCELLED.
/// Nullopt when the checkpoint can be written.
std::optional<StepWriteResult> Blocked(StepProbe probe);

/// True when a recorded step holds exactly what `step` would write (a retry after an in-doubt
/// commit then finds its own row and reports it as written now).
bool SameStep(const StepRow& row, const StepWrite& step);

/// What Send reports when the sending workflow's row is missing or CANCELLED: nothing written.
/// Both look the same to the sender: its workflow no longer runs here.
inline constexpr SendResult kSenderGone = SendResult::WorkflowCancelled;

/// What a Send found: the sender's probe (set when the send is checkpointed, i.e. made from a
/// workflow) and whether the destination exists.
struct SendProbe {
  std::optional<StepProbe> sender;
  bool destination_exists = false;
};

/// Why a Send writes nothing, in the order both dialects check: the sender's step is recorded
/// (AlreadyRecorded, or Sent when it is this call's own in-doubt commit found by a retry), the
/// sender is missing or CANCELLED (kSenderGone), the destination is missing. Nullopt when the
/// message is to be written.
std::optional<SendResult> SendBlocked(const SendProbe& probe,
                                      const std::optional<StepWrite>& checkpoint, bool retry);

/// The stored topic: Send/Recv without a topic use DBOS's sentinel.
const std::string& StoredTopic(const std::string& topic);

/// Reads a step row from columns first..first+6 (function_name, output, error,
/// child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms, serialization) of a backend row
/// (any type with Text/OptText/OptInt64 by column index).
template <typename Row>
StepRow ReadStepColumns(const Row& r, int first, int function_id) {
  StepRow step;
  step.function_id = function_id;
  step.function_name = r.Text(first);
  step.output = r.OptText(first + 1);
  step.error = r.OptText(first + 2);
  step.child_workflow_id = r.OptText(first + 3);
  step.started_at_epoch_ms = r.OptInt64(first + 4);
  step.completed_at_epoch_ms = r.OptInt64(first + 5);
  step.serialization = r.OptText(first + 6);
  return step;
}

/// Reads a claimed workflow from columns 0..8 (workflow_uuid, name, inputs, serialization,
/// authenticated_user, assumed_role, authenticated_roles, workflow_deadline_epoch_ms,
/// queue_name) and recovery_attempts (column 9, or later when a dialect selects more columns
/// before it); both dialects return them in this order.
template <typename Row>
DequeuedWorkflow ReadDequeuedColumns(const Row& r, int recovery_attempts_column = 9) {
  DequeuedWorkflow wf;
  wf.workflow_uuid = r.Text(0);
  wf.name = r.OptText(1);
  wf.inputs = r.OptText(2);
  wf.serialization = r.OptText(3);
  wf.authenticated_user = r.OptText(4);
  wf.assumed_role = r.OptText(5);
  wf.authenticated_roles = r.OptText(6);
  wf.workflow_deadline_epoch_ms = r.OptInt64(7);
  wf.queue_name = r.OptText(8);
  wf.recovery_attempts = r.Int64(recovery_attempts_column);
  return wf;
}

}  // namespace dbos::sysdb::core
