// The public free functions and DBOSContext members: argument checks and lifecycle rules, then
// delegation to the runtime and executor.
#include <string_view>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/step_marks.hpp"
#include "core/validation.hpp"
#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/workflow_status.hpp"
#include "executor/go_steps.hpp"
#include "executor/handles.hpp"
#include "executor/operation.hpp"
#include "executor/workflow_executor.hpp"
#include "runtime/schedule_checks.hpp"

namespace dbos {

DBOSContext NewDBOSContext(const Config& config) {
  return detail::MakeOwningContext(std::make_shared<detail::Runtime>(config));
}

void Launch(DBOSContext& ctx) { detail::RuntimeOf(ctx).Launch(); }

void Shutdown(DBOSContext& ctx, std::chrono::milliseconds timeout) {
  detail::RuntimeOf(ctx).Shutdown(timeout);
}

std::string GetWorkflowID(const DBOSContext& ctx) {
  if (!detail::WorkflowOf(ctx)) {
    throw DBOSError(ErrorCode::InvalidOption, "GetWorkflowID must be called inside a workflow");
  }
  return detail::WorkflowOf(ctx)->workflow_id;
}

int GetStepID(const DBOSContext& ctx) {
  const auto& state = detail::WorkflowOf(ctx);
  const auto step = state ? detail::CallerStep(*state) : std::nullopt;
  if (!step) throw DBOSError(ErrorCode::InvalidOption, "GetStepID must be called inside a step");
  return *step;
}

std::string GetApplicationVersion(const DBOSContext& ctx) {
  return detail::RuntimeOf(ctx).Config().application_version;
}

std::string GetExecutorID(const DBOSContext& ctx) {
  return detail::RuntimeOf(ctx).Config().executor_id;
}

std::string_view ToString(WorkflowStatusType status) {
  switch (status) {
    case WorkflowStatusType::Pending:
      return "PENDING";
    case WorkflowStatusType::Enqueued:
      return "ENQUEUED";
    case WorkflowStatusType::Success:
      return "SUCCESS";
    case WorkflowStatusType::Error:
      return "ERROR";
    case WorkflowStatusType::Cancelled:
      return "CANCELLED";
    case WorkflowStatusType::MaxRecoveryAttemptsExceeded:
      return "MAX_RECOVERY_ATTEMPTS_EXCEEDED";
    case WorkflowStatusType::Delayed:
      return "DELAYED";
  }
  return "UNKNOWN";
}

WorkflowStatusType ParseWorkflowStatusType(std::string_view text) {
  for (auto status :
       {WorkflowStatusType::Pending, WorkflowStatusType::Enqueued, WorkflowStatusType::Success,
        WorkflowStatusType::Error, WorkflowStatusType::Cancelled,
        WorkflowStatusType::MaxRecoveryAttemptsExceeded, WorkflowStatusType::Delayed}) {
    if (ToString(status) == text) return status;
  }
  throw DBOSError(ErrorCode::InvalidOption, "unknown workflow status '" + std::string(text) + "'");
}

namespace detail {

std::string WorkflowIDOrEmpty(const DBOSContext& ctx) {
  const auto& state = WorkflowOf(ctx);
  return state ? state->workflow_id : std::string();
}

void RegisterErrorTypeErased(DBOSContext& ctx, const std::type_info& type, ErrorThrower thrower) {
  detail::RuntimeOf(ctx).MutableErrorTypes().Add(type, thrower);
}

void RegisterWorkflowErased(DBOSContext& ctx, RegistrationSpec spec) {
  auto& runtime = detail::RuntimeOf(ctx);
  if (runtime.Launched()) {
    throw DBOSError(ErrorCode::Initialization,
                    "RegisterWorkflow must be called before Launch (workflow '" +
                        (spec.explicit_name.empty() ? spec.derived_name : spec.explicit_name) +
                        "')");
  }
  // Stored in every row and compared on replay: the same rules as IDs (both backends agree).
  if (!spec.explicit_name.empty()) ValidateName("WithWorkflowName", spec.explicit_name, false);
  if (!spec.schedule.empty()) ValidateScheduledWorkflow(spec);
  spec.fn = executor::WaitingForGoSteps(std::move(spec.fn));
  runtime.Registry().Add(std::move(spec));
}

std::shared_ptr<HandleCore> RunWorkflowErased(DBOSContext& ctx, const std::string& key,
                                              nlohmann::json input, const RunOptions& options) {
  auto& runtime = detail::RuntimeOf(ctx);
  if (options.workflow_id_given) ValidateName("WithWorkflowID", options.workflow_id, false);
  ValidateName("WithQueue", options.queue_name, true);
  ValidateName("WithDeduplicationID", options.deduplication_id, true);
  ValidateName("WithQueuePartitionKey", options.queue_partition_key, true);
  ValidateName("WithApplicationVersion", options.application_version, true);
  ValidateName("WithAuthenticatedUser", options.authenticated_user, true);
  ValidateJsonText("RunWorkflow's input", input);
  WorkflowState* caller = CallingWorkflow(ctx, "RunWorkflow", /*required=*/false);
  if (!runtime.Launched()) {
    throw DBOSError(ErrorCode::Initialization,
                    "DBOS must be launched before running workflows; call Launch first");
  }
  if (runtime.ShuttingDown()) ThrowShutDown(caller);
  const auto* workflow = runtime.Registry().FindByKey(key);
  if (workflow == nullptr) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "this workflow function is not registered: call dbos::RegisterWorkflow on it "
                    "before Launch");
  }
  CheckEnqueueOptions(runtime.Queues(), runtime.Db(), options);
  return executor::StartWorkflow(runtime, ctx, *workflow, std::move(input), options);
}

WorkflowQueue RegisterQueueErased(DBOSContext& ctx, WorkflowQueue queue) {
  auto& runtime = detail::RuntimeOf(ctx);
  if (runtime.Launched()) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "NewWorkflowQueue must be called before Launch (queue '" + queue.name + "')");
  }
  return runtime.Queues().Add(std::move(queue));
}

std::shared_ptr<HandleCore> RetrieveWorkflowErased(DBOSContext& ctx, const std::string& workflow_id,
                                                   const std::type_info& result_type) {
  auto& runtime = detail::RuntimeOf(ctx);
  ValidateName("RetrieveWorkflow's workflow ID", workflow_id, false);
  CallingWorkflow(ctx, "RetrieveWorkflow", /*required=*/false);
  auto status = runtime.Db().GetWorkflow(workflow_id, /*load_values=*/false);
  if (!status) {
    throw DBOSError(ErrorCode::NonExistentWorkflow, "workflow " + workflow_id + " does not exist",
                    workflow_id);
  }
  if (status->name) {
    const auto* workflow = runtime.Registry().FindByName(*status->name);
    if (workflow != nullptr && result_type != typeid(nlohmann::json) &&
        *workflow->output_type != result_type) {
      throw DBOSError(ErrorCode::WorkflowUnexpectedType,
                      "workflow " + workflow_id + " (" + *status->name + ") returns " +
                          DemangledTypeName(*workflow->output_type) + ", not " +
                          DemangledTypeName(result_type),
                      workflow_id);
    }
  }
  return executor::MakePollingHandle(runtime.shared_from_this(), workflow_id,
                                     detail::WorkflowOf(ctx));
}

}  // namespace detail
}  // namespace dbos
