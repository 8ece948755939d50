// Workflow start and execution; see workflow_executor.hpp and reference §4.1.
//
// Idempotency: the workflow_status insert is the arbiter across processes (ON CONFLICT, with a
// per-attempt creator_xid telling who created the row); inside one process, ClaimExecution makes
// concurrent starts of one ID share a single execution.
#include "executor/workflow_executor.hpp"

#include <utility>

#include "core/cancel_scope.hpp"
#include "core/context_access.hpp"
#include "core/error_messages.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
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
    // Readers of its streams stop waiting (in other processes when it wrote to one here).
    runtime.Notifications().Notify(messaging::StreamEndKey(id));
    if (state.wrote_streams) runtime.Db().AnnounceStreamEnd(id);
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

void Park(const std::shared_ptr<Runtime>& runtime, const detail::RegisteredWorkflow* workflow,
          const std::shared_ptr<WorkflowState>& state,
          const std::shared_ptr<WorkflowOutcome>& outcome, const nlohmann::json& input,
          bool unwound);

// A Recv that parked left its claim open to local senders; an execution that ends without
// reaching that Recv again (interrupted, failed) releases it.
void LeaveParkedReceiver(Runtime& runtime, WorkflowState& state) {
  if (auto parked = std::exchange(state.parked_receiver, std::nullopt)) {
    runtime.Notifications().LeaveParkedReceiver(parked->first, parked->second);
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
  state->logger = &runtime->Log();
  // A system database failure met on this thread is noted in the state (guarded_database.hpp).
  detail::CurrentWorkflowScope current(state.get());
  // An interrupted execution runs no code, so it needs no history either.
  if (replaying && state->Pending() == detail::Interruption::None) {
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
      LeaveParkedReceiver(*runtime, *state);
      runtime->ReleaseExecution(id);
      return;
    }
  }
  std::optional<nlohmann::json> result;
  std::optional<serialization::ErrorRecord> error;
  bool parked = false;
  // A workflow cancelled (or shut down) before it began, or whose cancellation could not be
  // recorded, runs none of its code.
  if (state->Pending() == detail::Interruption::None && !state->InfrastructureFailure()) {
    try {
      DBOSContext context = detail::MakeWorkflowContext(runtime, state);
      nlohmann::json value = workflow->fn(context, input);
      serialization::CheckRepresentable(value);  // else recorded as the workflow's error
      result = std::move(value);
    } catch (const detail::ParkInterrupt&) {
      parked = true;
    } catch (const detail::ShutdownInterrupt&) {
      // Only ever thrown after the state was interrupted; decided below.
    } catch (...) {
      error = serialization::CaptureCurrentException();
    }
  }
  if (parked || state->parking) {
    Park(runtime, workflow, state, outcome, input, parked);
    return;  // the execution goes on when the workflow wakes
  }
  const std::optional<std::string> failure = state->InfrastructureFailure();
  switch (state->Pending()) {
    case detail::Interruption::Shutdown:
      // Stays PENDING for recovery, whatever the code returned or threw.
      outcome->Complete(WorkflowOutcome::Kind::NoResultHere);
      break;
    case detail::Interruption::Cancelled:
      // The row is CANCELLED already (a cancellation is written before it interrupts). Its
      // stream readers here stop waiting, whoever cancelled it (CancelWorkflow, its deadline,
      // its WithTimeout scope).
      runtime->Notifications().Notify(messaging::StreamEndKey(id));
      outcome->Complete(
          WorkflowOutcome::Kind::Error, nullptr,
          CodeRecord(ErrorCode::AwaitedWorkflowCancelled, "workflow " + id + " was cancelled"));
      break;
    case detail::Interruption::None:
      if (failure) {
        // The system database failed under the workflow: that is not its outcome, even when its
        // code caught the exception and returned. It stays PENDING and runs again when recovered.
        const std::string what = serialization::SanitizeUtf8(*failure);
        runtime->Log().Log(LogLevel::Error, "workflow " + id + ": the system database failed (" +
                                                what + "); it stays PENDING and will be recovered");
        outcome->Complete(
            WorkflowOutcome::Kind::Unrecorded, nullptr,
            CodeRecord(ErrorCode::WorkflowExecution,
                       "workflow " + id +
                           " could not continue: the system database "
                           "failed (" +
                           what + "); it stays PENDING and runs again when recovered"));
      } else if (result) {
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
  LeaveParkedReceiver(*runtime, *state);
  runtime->ReleaseExecution(id);
}

void Submit(Runtime& runtime, const detail::RegisteredWorkflow& workflow,
            std::shared_ptr<WorkflowState> state, std::shared_ptr<WorkflowOutcome> outcome,
            nlohmann::json input, bool replaying) {
  runtime.Pool().Submit(
      [rt = runtime.shared_from_this(), wf = &workflow, state = std::move(state),
       outcome = std::move(outcome), input = std::move(input),
       replaying]() mutable { Execute(rt, wf, state, outcome, input, replaying); });
}

// Runs a parked workflow again from its first step, on a pool thread (called by the parking
// lot's thread when it wakes). An interrupted one (cancelled, shut down) ends there at once
// without running code. Everything is moved into the pool's task: the lot's thread keeps no
// reference that could end up destroying the runtime on it.
void Resume(std::shared_ptr<Runtime> runtime, const detail::RegisteredWorkflow* workflow,
            std::shared_ptr<WorkflowState> state, std::shared_ptr<WorkflowOutcome> outcome,
            nlohmann::json input) noexcept {
  state->ResetForReplay();
  if (runtime->ShuttingDown()) state->Interrupt(detail::Interruption::Shutdown);
  const std::weak_ptr<Runtime> weak_runtime = runtime;
  const std::string id = state->workflow_id;
  const std::weak_ptr<WorkflowState> weak_state = state;
  const std::weak_ptr<WorkflowOutcome> weak_outcome = outcome;
  util::WorkerPool& pool = runtime->Pool();
  try {
    pool.Submit([rt = std::move(runtime), workflow, state = std::move(state),
                 outcome = std::move(outcome), input = std::move(input)]() mutable {
      Execute(rt, workflow, state, outcome, input, /*replaying=*/true);
    });
  } catch (const std::exception& e) {
    // No thread for it: it stays PENDING here, and the next launch recovers it.
    auto rt = weak_runtime.lock();
    auto failed_outcome = weak_outcome.lock();
    if (!rt || !failed_outcome) return;
    rt->Log().Log(LogLevel::Error, "workflow " + id + ": could not resume it after a wait (" +
                                       e.what() + "); it stays PENDING until recovered");
    failed_outcome->Complete(
        WorkflowOutcome::Kind::Unrecorded, nullptr,
        CodeRecord(ErrorCode::WorkflowExecution,
                   "workflow " + id + " could not resume after a wait (" + e.what() +
                       "); it stays PENDING and runs again when recovered"));
    rt->ForgetDeadline(id);
    if (auto failed_state = weak_state.lock()) {
      if (auto scope = failed_state->cancel_scope.lock()) scope->Remove(id);
      LeaveParkedReceiver(*rt, *failed_state);
    }
    rt->ReleaseExecution(id);
  }
}

// The workflow's code unwound to park (see core/parking.hpp). When its code caught the unwinding
// and carried on (`catch (...)` without rethrow), nothing it returned or threw is its outcome: it
// is told loudly, and the workflow runs again from its recorded steps without ever parking.
void Park(const std::shared_ptr<Runtime>& runtime, const detail::RegisteredWorkflow* workflow,
          const std::shared_ptr<WorkflowState>& state,
          const std::shared_ptr<WorkflowOutcome>& outcome, const nlohmann::json& input,
          bool unwound) {
  // Called once; it hands its references on (see Resume).
  auto resume = [runtime, workflow, state, outcome, input]() mutable {
    Resume(std::move(runtime), workflow, std::move(state), std::move(outcome), std::move(input));
  };
  if (unwound && state->parking) {
    runtime->Parking().CompletePark(*state, std::move(resume));
    return;
  }
  runtime->Log().Log(LogLevel::Error,
                     "workflow " + state->workflow_id + " (" + workflow->name +
                         ") caught the unwinding of a DBOS wait and did not rethrow it (a "
                         "catch (...) around a DBOS call must rethrow what it does not know); "
                         "what it returned or threw is not recorded: it runs again from its "
                         "recorded steps, and its waits keep their thread from now on");
  if (state->parking) runtime->Parking().CancelPark(*state);
  state->never_park = true;
  resume();
}

std::shared_ptr<WorkflowState> NewState(const std::string& id) {
  auto state = std::make_shared<WorkflowState>();
  state->workflow_id = id;
  return state;
}

// Cancels a workflow that must end before any of its code runs (its WithTimeout scope was
// cancelled, or its deadline passed already): durably, then locally, so that its execution ends
// CANCELLED at once. When the durable write fails, the execution still runs nothing: the
// failure is noted, so the row stays PENDING and its waiters are told.
void CancelBeforeStart(Runtime& runtime, const std::string& id, WorkflowState& state) {
  // A failure here is this workflow's, not its caller's (a parent carries on with its handle).
  detail::CurrentWorkflowScope current(&state);
  try {
    runtime.Db().CancelWorkflow(id, util::NowEpochMs());
    state.Interrupt(detail::Interruption::Cancelled);
  } catch (const std::exception& e) {
    state.NoteInfrastructureFailure(std::string("cancelling it before it started failed: ") +
                                    e.what());
  }
}

// Makes a claimed execution reachable before it starts (a cancellation, a shutdown and its
// deadline find its state) and applies a cancellation that happened already. Throws nothing a
// database failure could cause.
void PrepareExecution(Runtime& runtime, const std::string& id,
                      const std::shared_ptr<WorkflowState>& state, std::optional<int64_t> deadline,
                      const std::shared_ptr<detail::CancelScope>& scope) {
  runtime.AttachState(id, state);
  bool cancel_now = false;
  if (deadline) {
    if (*deadline <= util::NowEpochMs()) {
      cancel_now = true;
    } else {
      runtime.WatchDeadline(id, *deadline);
    }
  }
  if (scope) {
    state->cancel_scope = scope;
    if (scope->Add(id)) cancel_now = true;
  }
  if (cancel_now) CancelBeforeStart(runtime, id, *state);
}

// Records the parent's checkpoint naming its child `child_id` at `step_id`. Returns the child
// the parent has at that step: `child_id`, or the one another execution of the parent recorded
// there first. Throws UnexpectedStep when another operation is recorded there, and the parent's
// cancellation when it was cancelled (nothing is recorded then).
std::string LinkChild(Runtime& runtime, WorkflowState& parent, int step_id,
                      const std::string& workflow_name, const std::string& child_id,
                      int64_t now_ms) {
  sysdb::StepWrite link;
  link.workflow_uuid = parent.workflow_id;
  link.function_id = step_id;
  link.function_name = workflow_name;
  link.child_workflow_id = child_id;
  link.started_at_epoch_ms = now_ms;
  link.completed_at_epoch_ms = now_ms;
  link.application_name = runtime.Config().app_name;
  const sysdb::StepWriteResult result = runtime.Db().RecordStep(link);
  using Kind = sysdb::StepWriteResult::Kind;
  switch (result.kind) {
    case Kind::Inserted:
      return child_id;
    case Kind::AlreadyRecorded:
      if (result.existing->function_name != workflow_name) {
        throw DBOSError(ErrorCode::UnexpectedStep,
                        detail::UnexpectedStepMessage(parent.workflow_id, step_id,
                                                      result.existing->function_name, workflow_name,
                                                      /*is_workflow=*/true),
                        parent.workflow_id);
      }
      return result.existing->child_workflow_id.value_or(child_id);
    case Kind::WorkflowCancelled:
      parent.Interrupt(detail::Interruption::Cancelled);
      detail::ThrowInterruption(parent, detail::Interruption::Cancelled);
    case Kind::WorkflowMissing:
      break;
  }
  throw DBOSError(ErrorCode::NonExistentWorkflow,
                  "workflow " + parent.workflow_id + " no longer exists in the system database",
                  parent.workflow_id);
}

// A child row this call created but that its parent does not name (the parent was cancelled, or
// names another child): it must never run, so it is cancelled before anything executes it.
void AbandonUnlinkedChild(Runtime& runtime, const std::string& id) noexcept {
  try {
    runtime.Db().CancelWorkflow(id, util::NowEpochMs());
  } catch (const std::exception& e) {
    runtime.Log().Log(LogLevel::Error, "workflow " + id +
                                           ": could not cancel this child its parent does not "
                                           "name (" +
                                           e.what() + ")");
  }
}

void ValidateOptions(const detail::RunOptions& options) {
  if (options.debounced) return;  // the debouncer chose its queue and key itself
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

// A delayed start: the row is DELAYED on its queue (the internal one without WithQueue) until
// delay_until; the delay promoter then makes it ENQUEUED.
void SetDelayed(sysdb::WorkflowInsert& row, const detail::RunOptions& options) {
  const auto delay = std::max(std::chrono::milliseconds(0), detail::ClampWait(*options.delay));
  row.status = "DELAYED";
  row.queue_name = options.queue_name.empty() ? sysdb::kInternalQueueName : options.queue_name;
  row.delay_until_epoch_ms = row.now_ms + delay.count();
  if (!options.deduplication_id.empty()) row.deduplication_id = options.deduplication_id;
  row.is_debounced = options.debounced;
  row.debounce_deadline_epoch_ms = options.debounce_deadline_epoch_ms;
}

}  // namespace

std::shared_ptr<detail::HandleCore> StartWorkflow(Runtime& runtime, const DBOSContext& caller,
                                                  const detail::RegisteredWorkflow& workflow,
                                                  nlohmann::json input,
                                                  const detail::RunOptions& options,
                                                  bool* inserted_out) {
  if (inserted_out != nullptr) *inserted_out = false;
  ValidateOptions(options);
  const auto& parent = detail::WorkflowOf(caller);
  std::string id = options.workflow_id;
  std::optional<int> parent_step;
  // A database failure while starting a child is the parent's (also from its own threads).
  detail::CurrentWorkflowScope current(parent ? parent.get() : detail::current_workflow);
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
  const bool enqueue = !options.queue_name.empty() || options.delay.has_value();
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
    if (options.delay) SetDelayed(row, options);
    inserted = runtime.Db().InsertWorkflow(row);
    if (inserted_out != nullptr) *inserted_out = inserted.created;
    if (row.delay_until_epoch_ms) runtime.WakeDelayPromoter();  // it may be due sooner
    if (inserted.name && *inserted.name != workflow.name) {
      throw DBOSError(ErrorCode::UnexpectedWorkflow,
                      "Workflow already exists with a different name: " + *inserted.name +
                          ", but the provided name is: " + workflow.name,
                      id);
    }
    if (parent) {
      std::string linked;
      try {
        linked = LinkChild(runtime, *parent, *parent_step, workflow.name, id, row.now_ms);
      } catch (...) {
        // Not when the database failed: the parent then stays PENDING, and when it is
        // recovered, its replay finds this child again and links it.
        if (inserted.created && !parent->InfrastructureFailure()) {
          AbandonUnlinkedChild(runtime, id);
        }
        throw;
      }
      if (linked != id) {
        // Another execution of the parent started its child at this step first: that one is
        // the parent's child, and this row never runs.
        if (inserted.created) AbandonUnlinkedChild(runtime, id);
        runtime.ReleaseExecution(id);
        return MakePollingHandle(runtime.shared_from_this(), linked, parent);
      }
    }
  } catch (...) {
    if (claimed) runtime.ReleaseExecution(id);
    throw;
  }

  // Execute only a row this call created, and never an enqueued one: that is the queue
  // runner's, even when this call sees it PENDING (its insert was in doubt and a claim took it
  // before the retry read it). An existing row is finished, queued, or owned by another
  // execution (here after a crash: recovery resumes it), so the handle polls it.
  if (enqueue || !inserted.created || inserted.status != "PENDING") {
    if (claimed) runtime.ReleaseExecution(id);
    // Enqueued: start it without waiting (a DELAYED one is the delay promoter's, woken above).
    if (inserted.created && inserted.status == "ENQUEUED") {
      runtime.WakeQueueRunnerFor(inserted.queue_name.value_or(""));
    }
    return MakePollingHandle(runtime.shared_from_this(), id, parent);
  }
  auto state = NewState(id);
  state->deadline_epoch_ms = deadline;
  if (!options.authenticated_user.empty()) state->authenticated_user = options.authenticated_user;
  if (parent && !state->authenticated_user) state->authenticated_user = parent->authenticated_user;
  const auto& scope = detail::ScopeOf(caller);
  try {
    // Before the execution starts, so that its end always finds what to release, and so that a
    // cancelled scope or a passed deadline ends it before any of its code runs.
    PrepareExecution(runtime, id, state, deadline, scope);
    Submit(runtime, workflow, state, outcome, std::move(input), /*replaying=*/false);
  } catch (...) {
    // Nothing runs: the row stays PENDING and is recovered like a crashed start.
    runtime.ForgetDeadline(id);
    if (scope) scope->Remove(id);
    runtime.ReleaseExecution(id);
    throw;
  }
  return MakeLocalHandle(runtime.shared_from_this(), id, outcome, parent);
}

DequeuedStart StartDequeued(Runtime& runtime, const sysdb::DequeuedWorkflow& claimed) {
  const std::string id = claimed.workflow_uuid;
  const auto* workflow = claimed.name ? runtime.Registry().FindByName(*claimed.name) : nullptr;
  if (workflow == nullptr) {
    // The claim takes only registered names; kept, so that the row is never left behind.
    runtime.Log().Log(LogLevel::Error, "workflow " + id + " names '" + claimed.name.value_or("") +
                                           "', which is not registered in this process");
    return DequeuedStart::kRetryLater;
  }
  bool is_new = false;
  std::shared_ptr<detail::WorkflowOutcome> outcome;
  try {
    outcome = runtime.ClaimExecution(id, workflow->name, is_new);
  } catch (const DBOSError& e) {
    // The ID executes here as another workflow: started when that execution ended.
    runtime.Log().Log(LogLevel::Error, e.what());
    return DequeuedStart::kRetryLater;
  }
  if (!is_new) {
    // An earlier execution of this ID still runs here (e.g. cancelled, then resumed before it
    // unwound): this claim starts once it ended, unless that execution finished the row.
    runtime.Log().Log(LogLevel::Info, "workflow " + id +
                                          " still executes here; it starts again when that "
                                          "execution ended");
    return DequeuedStart::kRetryLater;
  }
  // The claim counted this start attempt: a workflow that keeps crashing its process is
  // dead-lettered once it exceeds its maximum recovery attempts.
  const int max_retries = workflow->max_retries;
  if (max_retries > 0 && claimed.recovery_attempts > max_retries + 1) {
    try {
      runtime.Db().MarkDeadLetter(id, util::NowEpochMs());
      runtime.Notifications().Notify(messaging::StreamEndKey(id));
    } catch (...) {
      runtime.ReleaseExecution(id);
      throw;  // dead-lettered at the next attempt
    }
    runtime.Log().Log(LogLevel::Error,
                      "workflow " + id + " exceeded its maximum of " + std::to_string(max_retries) +
                          " recovery attempts and was moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED");
    runtime.ReleaseExecution(id);
    return DequeuedStart::kDone;
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
    const bool recorded = outcome->Wait() != WorkflowOutcome::Kind::Unrecorded;
    runtime.ReleaseExecution(id);
    return recorded ? DequeuedStart::kDone : DequeuedStart::kRetryLater;
  } catch (...) {
    runtime.ReleaseExecution(id);
    throw;
  }
  try {
    // A deadline that passed already (e.g. while the workflow waited for recovery) ends it
    // before any of its code runs.
    PrepareExecution(runtime, id, state, claimed.workflow_deadline_epoch_ms, nullptr);
    // The claim says whether an earlier execution recorded steps: a first start reads no
    // history (one query fewer per queued workflow). A step another execution records after the
    // claim is found by its checkpoint's conflict, as it would be after the read.
    Submit(runtime, *workflow, state, outcome, std::move(input), /*replaying=*/claimed.has_steps);
  } catch (...) {
    runtime.ForgetDeadline(id);
    runtime.ReleaseExecution(id);
    throw;
  }
  return DequeuedStart::kDone;
}

}  // namespace dbos::executor
