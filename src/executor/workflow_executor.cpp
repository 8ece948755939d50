// Workflow start and execution; see workflow_executor.hpp and reference §4.1.
//
// Idempotency: the workflow_status insert is the arbiter across processes (ON CONFLICT, with a
// per-attempt creator_xid telling who created the row); inside one process, ClaimExecution makes
// concurrent starts of one ID share a single execution.
#include "executor/workflow_executor.hpp"

#include "core/cancel_scope.hpp"
#include "core/context_access.hpp"
#include "core/error_messages.hpp"
#include "core/runtime.hpp"
#include "core/workflow_state.hpp"
#include "dbos/errors.hpp"
#include "executor/handles.hpp"
#include "executor/operation.hpp"
#include "serialization/codec.hpp"
#include "serialization/utf8.hpp"
#include "util/time_util.hpp"
#include "util/uuid.hpp"

namespace dbos::executor {
namespace {

using detail::Runtime;
using detail::WorkflowOutcome;
using detail::WorkflowState;

serialization::ErrorRecord CodeRecord(ErrorCode code, const std::string& message) {
  return {std::string(ErrorCodeName(code)), message, static_cast<int>(code)};
}

// The text to record for a workflow's outcome: the encoded output, or the encoded error. An
// outcome that JSON cannot carry (invalid UTF-8) becomes an error record that says what was
// wrong, which is what `recorded` then holds (the local waiters get the same answer).
struct EncodedOutcome {
  std::optional<std::string> output;
  std::optional<std::string> error;
  std::optional<serialization::ErrorRecord> recorded;  ///< Set when an error is recorded.
};

EncodedOutcome EncodeOutcome(const std::string& id, const nlohmann::json* output,
                             const serialization::ErrorRecord* error) {
  EncodedOutcome encoded;
  if (output != nullptr) {
    const auto bad = serialization::DescribeInvalidUtf8(*output);
    if (!bad) {
      encoded.output = serialization::EncodeValue(*output);
      return encoded;
    }
    encoded.recorded = CodeRecord(ErrorCode::WorkflowExecution,
                                  "the result of workflow " + id +
                                      " could not be stored: it is not valid UTF-8 (" + *bad +
                                      "); return text as UTF-8, or binary data encoded (e.g. "
                                      "base64)");
  } else {
    // Keeps the type and code (so the same exception type is rethrown), with a readable message.
    encoded.recorded = serialization::StorableError(*error, "the error of workflow " + id);
  }
  encoded.error = serialization::EncodeError(*encoded.recorded);
  return encoded;
}

// Records the workflow's outcome and completes the in-process outcome. Runs on the execution
// thread; never throws. Every local waiter gets an answer: the recorded outcome, or an error
// saying that the outcome could not be recorded (the row then stays PENDING for recovery).
void Finish(Runtime& runtime, WorkflowState& state, WorkflowOutcome& outcome,
            const nlohmann::json* output, const serialization::ErrorRecord* error) {
  const auto& id = state.workflow_id;
  try {
    const EncodedOutcome encoded = EncodeOutcome(id, output, error);
    const bool written =
        runtime.Db().FinishWorkflow(id, encoded.recorded ? "ERROR" : "SUCCESS", encoded.output,
                                    encoded.error, util::NowEpochMs());
    if (!written) {
      // Cancelled, or finished by another executor: the recorded outcome is the truth.
      outcome.Complete(WorkflowOutcome::Kind::NoResultHere);
      return;
    }
    if (!encoded.recorded) {
      outcome.Complete(WorkflowOutcome::Kind::Success, *output);
    } else {
      outcome.Complete(WorkflowOutcome::Kind::Error, nullptr, *encoded.recorded);
    }
  } catch (const std::exception& e) {
    const std::string what = serialization::SanitizeUtf8(e.what());
    runtime.Log().Log(LogLevel::Error, "workflow " + id + ": could not record its outcome (" +
                                           what + "); it stays PENDING and will be recovered");
    outcome.Complete(
        WorkflowOutcome::Kind::Unrecorded, nullptr,
        CodeRecord(ErrorCode::WorkflowExecution, "workflow " + id +
                                                     " finished but its outcome could not be "
                                                     "recorded (" +
                                                     what +
                                                     "); it stays PENDING and runs again when "
                                                     "recovered"));
  }
}

// The execution thread's body. What is recorded follows the workflow's own state, never what
// its code threw or returned: user code may catch the shutdown interrupt or the cancellation
// and return a fallback, or throw its own WorkflowCancelled error.
void Execute(const std::shared_ptr<Runtime>& runtime, const detail::RegisteredWorkflow* workflow,
             const std::shared_ptr<WorkflowState>& state,
             const std::shared_ptr<WorkflowOutcome>& outcome, const nlohmann::json& input,
             bool replaying) noexcept {
  const std::string id = state->workflow_id;
  runtime->AttachState(id, state);
  if (replaying) {
    // Without its history the workflow cannot replay: it stays PENDING (a database failure is
    // not the workflow's outcome) and its local waiters are told so.
    try {
      std::unordered_map<int, sysdb::StepRow> recorded;
      for (auto& step : runtime->Db().ListSteps(id)) {
        const int function_id = step.function_id;
        recorded.emplace(function_id, std::move(step));
      }
      state->SetRecorded(std::move(recorded));
    } catch (const std::exception& e) {
      const std::string what = serialization::SanitizeUtf8(e.what());
      runtime->Log().Log(LogLevel::Error, "workflow " + id +
                                              ": could not read its recorded steps (" + what +
                                              "); it stays PENDING");
      outcome->Complete(WorkflowOutcome::Kind::Unrecorded, nullptr,
                        CodeRecord(ErrorCode::WorkflowExecution,
                                   "workflow " + id + " could not read its recorded steps (" +
                                       what + "); it stays PENDING and runs again when recovered"));
      runtime->ForgetDeadline(id);
      runtime->ReleaseExecution(id);
      return;
    }
  }
  std::optional<nlohmann::json> result;
  std::optional<serialization::ErrorRecord> error;
  try {
    DBOSContext context = detail::MakeWorkflowContext(runtime, state);
    nlohmann::json value = workflow->fn(context, input);
    serialization::CheckRepresentable(value);  // else recorded as the workflow's error
    result = std::move(value);
  } catch (const detail::ShutdownInterrupt&) {
    // Only ever thrown after the state was interrupted; decided below.
  } catch (...) {
    error = serialization::CaptureCurrentException();
  }
  switch (state->Pending()) {
    case detail::Interruption::Shutdown:
      // Stays PENDING for recovery, whatever the code returned or threw.
      outcome->Complete(WorkflowOutcome::Kind::NoResultHere);
      break;
    case detail::Interruption::Cancelled:
      // The row is CANCELLED already (a cancellation is written before it interrupts).
      outcome->Complete(
          WorkflowOutcome::Kind::Error, nullptr,
          CodeRecord(ErrorCode::AwaitedWorkflowCancelled, "workflow " + id + " was cancelled"));
      break;
    case detail::Interruption::None:
      if (result) {
        Finish(*runtime, *state, *outcome, &*result, nullptr);
      } else if (error) {
        Finish(*runtime, *state, *outcome, nullptr, &*error);
      } else {
        outcome->Complete(WorkflowOutcome::Kind::NoResultHere);
      }
      break;
  }
  // Nothing about an ended execution is kept: its deadline, its place in a WithTimeout scope.
  runtime->ForgetDeadline(id);
  if (auto scope = state->cancel_scope.lock()) scope->Remove(id);
  runtime->ReleaseExecution(id);
}

std::shared_ptr<WorkflowState> NewState(const std::string& id) {
  auto state = std::make_shared<WorkflowState>();
  state->workflow_id = id;
  return state;
}

void Submit(Runtime& runtime, const detail::RegisteredWorkflow& workflow,
            std::shared_ptr<WorkflowState> state, std::shared_ptr<WorkflowOutcome> outcome,
            nlohmann::json input, bool replaying) {
  runtime.Pool().Submit(
      [rt = runtime.shared_from_this(), wf = &workflow, state = std::move(state),
       outcome = std::move(outcome), input = std::move(input),
       replaying]() mutable { Execute(rt, wf, state, outcome, input, replaying); });
}

void ValidateOptions(const detail::RunOptions& options) {
  if (!options.queue_name.empty()) {
    if (options.queue_name == sysdb::kInternalQueueName) {
      throw DBOSError(ErrorCode::InvalidOption,
                      "the queue name _dbos_internal_queue is reserved for DBOS");
    }
    return;  // checked against the queue by CheckEnqueueOptions
  }
  if (!options.deduplication_id.empty() || options.priority ||
      !options.queue_partition_key.empty()) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "WithDeduplicationID, WithPriority and WithQueuePartitionKey need WithQueue");
  }
}

}  // namespace

std::shared_ptr<detail::HandleCore> StartWorkflow(Runtime& runtime, const DBOSContext& caller,
                                                  const detail::RegisteredWorkflow& workflow,
                                                  nlohmann::json input,
                                                  const detail::RunOptions& options) {
  ValidateOptions(options);
  const auto& parent = detail::WorkflowOf(caller);
  std::string id = options.workflow_id;
  std::optional<int> parent_step;
  if (parent) {
    // A parent that was cancelled or shut down starts nothing, even when its code caught the
    // interruption and carried on.
    detail::ThrowIfInterrupted(*parent);
    // A child workflow: it takes the parent's next step ID, and on replay the recorded child.
    parent_step = parent->next_step_id++;
    if (const auto row = detail::FindRecorded(*parent, *parent_step, workflow.name)) {
      if (row->child_workflow_id) {
        return MakePollingHandle(runtime.shared_from_this(), *row->child_workflow_id, parent);
      }
    }
    if (id.empty()) id = parent->workflow_id + "-" + std::to_string(*parent_step);
  }
  if (id.empty()) id = util::NewUuid();

  // The durable deadline: the caller's (WithTimeout), and a child inherits its parent's unless
  // started WithoutCancel.
  std::optional<int64_t> deadline = detail::DeadlineOf(caller);
  if (parent && !detail::IsDetached(caller) && parent->deadline_epoch_ms) {
    deadline =
        deadline ? std::min(*deadline, *parent->deadline_epoch_ms) : parent->deadline_epoch_ms;
  }

  // An enqueued workflow is not executed by this call: claiming it here would make the queue
  // runner, which may claim the row as soon as it is committed, find it "already executing" and
  // leave it PENDING.
  const bool enqueue = !options.queue_name.empty();
  bool claimed = false;
  std::shared_ptr<WorkflowOutcome> outcome;
  if (!enqueue) {
    outcome = runtime.ClaimExecution(id, workflow.name, claimed);
    if (!claimed) return MakeLocalHandle(runtime.shared_from_this(), id, outcome, parent);
  }

  sysdb::WorkflowInsertResult inserted;
  try {
    sysdb::WorkflowInsert row;
    row.workflow_uuid = id;
    row.status = options.queue_name.empty() ? "PENDING" : "ENQUEUED";
    row.name = workflow.name;
    if (!options.queue_name.empty()) {
      row.queue_name = options.queue_name;
      if (!options.deduplication_id.empty()) row.deduplication_id = options.deduplication_id;
      row.priority = options.priority.value_or(0);
      if (!options.queue_partition_key.empty()) {
        row.queue_partition_key = options.queue_partition_key;
      }
    }
    row.executor_id = runtime.Config().executor_id;
    row.application_version = options.application_version.empty()
                                  ? runtime.Config().application_version
                                  : options.application_version;
    row.application_name = runtime.Config().app_name;
    if (!options.authenticated_user.empty()) {
      row.authenticated_user = options.authenticated_user;
    } else if (parent && parent->authenticated_user) {
      row.authenticated_user = parent->authenticated_user;
    }
    if (parent) row.parent_workflow_id = parent->workflow_id;
    row.inputs = serialization::EncodeWorkflowInput(input);
    row.creator_xid = util::NewUuid();
    row.now_ms = util::NowEpochMs();
    if (deadline) {
      row.workflow_deadline_epoch_ms = deadline;
      row.workflow_timeout_ms = std::max<int64_t>(0, *deadline - row.now_ms);
    }
    inserted = runtime.Db().InsertWorkflow(row);
    if (inserted.name && *inserted.name != workflow.name) {
      throw DBOSError(ErrorCode::UnexpectedWorkflow,
                      "Workflow already exists with a different name: " + *inserted.name +
                          ", but the provided name is: " + workflow.name,
                      id);
    }
    if (parent) {
      sysdb::StepWrite link;
      link.workflow_uuid = parent->workflow_id;
      link.function_id = *parent_step;
      link.function_name = workflow.name;
      link.child_workflow_id = id;
      link.started_at_epoch_ms = row.now_ms;
      link.completed_at_epoch_ms = row.now_ms;
      link.application_name = runtime.Config().app_name;
      runtime.Db().RecordStep(link);
    }
  } catch (...) {
    if (claimed) runtime.ReleaseExecution(id);
    throw;
  }

  // Execute only a row this call created. An existing row is finished, queued, or owned by
  // another execution (here after a crash: recovery resumes it), so the handle polls it.
  if (!inserted.created || inserted.status != "PENDING") {
    if (claimed) runtime.ReleaseExecution(id);
    if (inserted.created) runtime.WakeQueueRunner();  // enqueued: start it without waiting
    return MakePollingHandle(runtime.shared_from_this(), id, parent);
  }
  auto state = NewState(id);
  state->deadline_epoch_ms = deadline;
  if (!options.authenticated_user.empty()) state->authenticated_user = options.authenticated_user;
  if (parent && !state->authenticated_user) state->authenticated_user = parent->authenticated_user;
  // Registered before the execution starts, so that its end always finds them to release.
  if (deadline) runtime.WatchDeadline(id, *deadline);
  if (const auto& scope = detail::ScopeOf(caller)) {
    state->cancel_scope = scope;
    scope->Add(id);
  }
  Submit(runtime, workflow, state, outcome, std::move(input), /*replaying=*/false);
  return MakeLocalHandle(runtime.shared_from_this(), id, outcome, parent);
}

void StartDequeued(Runtime& runtime, sysdb::DequeuedWorkflow claimed) {
  const std::string id = claimed.workflow_uuid;
  const auto* workflow = claimed.name ? runtime.Registry().FindByName(*claimed.name) : nullptr;
  if (workflow == nullptr) {
    runtime.Log().Log(LogLevel::Error,
                      "workflow " + id + " names '" + claimed.name.value_or("") +
                          "', which is not registered in this process; it stays PENDING");
    return;
  }
  bool is_new = false;
  std::shared_ptr<detail::WorkflowOutcome> outcome;
  try {
    outcome = runtime.ClaimExecution(id, workflow->name, is_new);
  } catch (const DBOSError& e) {
    runtime.Log().Log(LogLevel::Error, e.what());
    return;
  }
  if (!is_new) return;  // already executing here
  // The claim counted this start attempt: a workflow that keeps crashing its process is
  // dead-lettered once it exceeds its maximum recovery attempts.
  const int max_retries = workflow->max_retries;
  if (max_retries > 0 && claimed.recovery_attempts > max_retries + 1) {
    try {
      runtime.Db().MarkDeadLetter(id, util::NowEpochMs());
      runtime.Log().Log(LogLevel::Error,
                        "workflow " + id + " exceeded its maximum of " +
                            std::to_string(max_retries) +
                            " recovery attempts and was moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED");
    } catch (const std::exception& e) {
      runtime.Log().Log(LogLevel::Error, "workflow " + id + ": dead-lettering failed: " + e.what());
    }
    runtime.ReleaseExecution(id);
    return;
  }
  auto state = NewState(id);
  state->authenticated_user = claimed.authenticated_user;
  state->deadline_epoch_ms = claimed.workflow_deadline_epoch_ms;
  nlohmann::json input;
  try {
    input = serialization::DecodeWorkflowArgument(claimed.inputs, claimed.serialization,
                                                  workflow->name);
  } catch (const DBOSError&) {
    // An input this process can never read (argument count, serialization): the workflow ends
    // in ERROR with the reason, rather than being claimed again at every start.
    auto record = serialization::CaptureCurrentException();
    Finish(runtime, *state, *outcome, nullptr, &record);
    runtime.ReleaseExecution(id);
    return;
  } catch (...) {
    runtime.ReleaseExecution(id);
    throw;
  }
  if (claimed.workflow_deadline_epoch_ms) {
    runtime.WatchDeadline(id, *claimed.workflow_deadline_epoch_ms);  // re-applied after recovery
  }
  Submit(runtime, *workflow, std::move(state), std::move(outcome), std::move(input),
         /*replaying=*/true);
}

}  // namespace dbos::executor
