// ResumeWorkflow and ForkWorkflow for contexts and clients (management.hpp): the checks that
// refuse bad input before anything is written, then one system database write each.
#include <algorithm>
#include <string>

#include "core/queue_registry.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "management/management.hpp"

namespace dbos::management {
namespace {

/// The workflow's row; NonExistentWorkflow when missing, InvalidOption when another application
/// owns it.
sysdb::WorkflowRow OwnWorkflow(const Target& target, const std::string& workflow_id,
                               const char* operation) {
  auto row = target.db.GetWorkflow(workflow_id, /*load_values=*/false);
  if (!row) {
    throw DBOSError(
        ErrorCode::NonExistentWorkflow,
        std::string("cannot ") + operation + " workflow " + workflow_id + ": it does not exist",
        workflow_id);
  }
  if (!target.application_name.empty() && row->application_name &&
      *row->application_name != target.application_name) {
    throw DBOSError(ErrorCode::InvalidOption,
                    std::string("cannot ") + operation + " workflow " + workflow_id +
                        ": it belongs to application '" + *row->application_name + "', not '" +
                        target.application_name + "'; use that application",
                    workflow_id);
  }
  return *row;
}

}  // namespace

Resumed ResumeWorkflow(const Target& target, const std::string& workflow_id, int64_t now_ms) {
  detail::ValidateName("ResumeWorkflow's workflow ID", workflow_id, false);
  OwnWorkflow(target, workflow_id, "resume");
  switch (target.db.ResumeWorkflow(workflow_id, sysdb::kInternalQueueName, now_ms)) {
    case sysdb::ResumeOutcome::Resumed:
      return Resumed::Enqueued;
    case sysdb::ResumeOutcome::Ended:
      return Resumed::AlreadyEnded;
    case sysdb::ResumeOutcome::Missing:
      break;
  }
  throw DBOSError(ErrorCode::NonExistentWorkflow,
                  "cannot resume workflow " + workflow_id + ": it does not exist", workflow_id);
}

std::string ForkWorkflow(const Target& target, const ForkWorkflowInput& input,
                         const std::string& default_forked_id, const std::string& creator_xid,
                         int64_t now_ms) {
  const std::string& original = input.original_workflow_id;
  detail::ValidateName("ForkWorkflowInput::original_workflow_id", original, false);
  detail::ValidateName("ForkWorkflowInput::forked_workflow_id", input.forked_workflow_id, true);
  detail::ValidateName("ForkWorkflowInput::application_version", input.application_version, true);
  detail::ValidateName("ForkWorkflowInput::queue_name", input.queue_name, true);
  detail::ValidateName("ForkWorkflowInput::queue_partition_key", input.queue_partition_key, true);
  if (input.start_step < 0) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "ForkWorkflowInput::start_step must not be negative (0 reruns every step)",
                    original);
  }
  if (!input.queue_partition_key.empty() && input.queue_name.empty()) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "ForkWorkflowInput::queue_partition_key needs a queue_name (the internal "
                    "queue has no partitions)",
                    original);
  }
  OwnWorkflow(target, original, "fork");
  // A declared queue's rules apply as to an enqueue: a keyless row on a partitioned queue would
  // never be dequeued. An undeclared queue is not an error (its executors may start later).
  if (!input.queue_name.empty()) {
    if (auto queue_row = target.db.GetQueue(input.queue_name)) {
      detail::RunOptions probe;
      probe.queue_name = input.queue_name;
      probe.queue_partition_key = input.queue_partition_key;
      detail::CheckQueueOptions(detail::FromQueueRow(*queue_row), probe);
    }
  }
  // One past the last recorded step reuses them all; further is a mistake.
  const std::vector<sysdb::StepRow> steps = target.db.ListSteps(original);
  const int end = steps.empty() ? 0 : steps.back().function_id + 1;
  if (input.start_step > end) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "cannot fork workflow " + original + " from step " +
                        std::to_string(input.start_step) + ": it has recorded steps up to " +
                        (steps.empty() ? std::string("none (use 0)")
                                       : std::to_string(end - 1) + " (use at most " +
                                             std::to_string(end) + ")"),
                    original);
  }
  sysdb::ForkRequest request;
  request.original_workflow_id = original;
  request.forked_workflow_id =
      input.forked_workflow_id.empty() ? default_forked_id : input.forked_workflow_id;
  request.start_step = input.start_step;
  if (!input.application_version.empty()) request.application_version = input.application_version;
  if (!input.queue_name.empty()) request.queue_name = input.queue_name;
  if (!input.queue_partition_key.empty()) request.queue_partition_key = input.queue_partition_key;
  request.creator_xid = creator_xid;
  request.now_ms = now_ms;
  switch (target.db.ForkWorkflow(request)) {
    case sysdb::ForkOutcome::Forked:
      return request.forked_workflow_id;
    case sysdb::ForkOutcome::OriginalMissing:
      throw DBOSError(ErrorCode::NonExistentWorkflow,
                      "cannot fork workflow " + original + ": it does not exist", original);
    case sysdb::ForkOutcome::IdTaken:
      break;
  }
  throw DBOSError(ErrorCode::ConflictingID,
                  "cannot fork workflow " + original + " as " + request.forked_workflow_id +
                      ": a workflow with that ID exists already; choose another "
                      "forked_workflow_id (or leave it empty for a new UUID)",
                  request.forked_workflow_id);
}

}  // namespace dbos::management
