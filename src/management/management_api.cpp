// The management calls on a DBOSContext (include/dbos/management.hpp): thin wrappers over the
// shared layer (management.hpp) that add what only an executor has. Inside a workflow each call
// is a checkpointed step named as DBOS names it ("DBOS.listWorkflows", "DBOS.getWorkflowSteps",
// "DBOS.resumeWorkflow", "DBOS.forkWorkflow"), so a replay sees the same answers and does not
// write again; inside a step they throw StepExecution. After a resume or fork the local queue
// runner is woken, so the workflow starts at once.
#include <functional>
#include <string>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "dbos/errors.hpp"
#include "dbos/management.hpp"
#include "executor/handles.hpp"
#include "executor/operation.hpp"
#include "management/management.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"
#include "util/uuid.hpp"

namespace dbos {
namespace detail {
namespace {

management::Target TargetOf(Runtime& runtime) {
  return {runtime.Db(), runtime.Config().app_name, runtime.Log()};
}

/// Runs `body`: inside a workflow as the checkpointed step `step_name`, where the answers to bad
/// input (an unknown ID, another application's workflow, a taken ID, invalid options) are
/// recorded as the step's error like a value; failures of the database are never recorded.
nlohmann::json Run(DBOSContext& ctx, const char* operation, const std::string& step_name,
                   const std::string& workflow_id,
                   const std::function<nlohmann::json(WorkflowState*)>& body) {
  Runtime& runtime = RuntimeOf(ctx);
  WorkflowState* state = CallingWorkflow(ctx, operation, /*required=*/false);
  if (state == nullptr) return body(nullptr);
  return CheckpointedRead(
      runtime, *state, operation, step_name, ErrorCode::InvalidOption, workflow_id, std::nullopt,
      [&]() -> ReadOutcome {
        try {
          return {body(state), std::nullopt};
        } catch (const DBOSError& e) {
          switch (e.Code()) {
            case ErrorCode::NonExistentWorkflow:
            case ErrorCode::InvalidOption:
            case ErrorCode::ConflictingID:
              return {nullptr, serialization::ErrorRecord{std::string(ErrorCodeName(e.Code())),
                                                          e.what(), static_cast<int>(e.Code())}};
            default:
              throw;
          }
        }
      });
}

}  // namespace

std::vector<WorkflowStatus> ListWorkflowsErased(DBOSContext& ctx,
                                                const ListWorkflowsOptions& options) {
  Runtime& runtime = RuntimeOf(ctx);
  management::ValidateListOptions(options);
  const nlohmann::json listed =
      Run(ctx, "ListWorkflows", "DBOS.listWorkflows", "", [&](WorkflowState*) {
        nlohmann::json out = nlohmann::json::array();
        for (const WorkflowStatus& status :
             management::ListWorkflows(TargetOf(runtime), options, /*default_load_values=*/true)) {
          out.push_back(executor::StatusToJson(status));
        }
        return out;
      });
  std::vector<WorkflowStatus> out;
  out.reserve(listed.size());
  for (const nlohmann::json& status : listed) out.push_back(executor::StatusFromJson(status));
  return out;
}

std::shared_ptr<HandleCore> ResumeWorkflowErased(DBOSContext& ctx, const std::string& workflow_id,
                                                 const std::type_info& result_type) {
  Runtime& runtime = RuntimeOf(ctx);
  Run(ctx, "ResumeWorkflow", "DBOS.resumeWorkflow", workflow_id, [&](WorkflowState*) {
    if (management::ResumeWorkflow(TargetOf(runtime), workflow_id, util::NowEpochMs()) ==
        management::Resumed::Enqueued) {
      runtime.WakeQueueRunner();
    }
    return nlohmann::json(nullptr);
  });
  return RetrieveWorkflowErased(ctx, workflow_id, result_type);
}

std::shared_ptr<HandleCore> ForkWorkflowErased(DBOSContext& ctx, const ForkWorkflowInput& input,
                                               const std::type_info& result_type) {
  Runtime& runtime = RuntimeOf(ctx);
  const nlohmann::json forked =
      Run(ctx, "ForkWorkflow", "DBOS.forkWorkflow", input.original_workflow_id,
          [&](WorkflowState* state) {
            // Inside a workflow the default ID and the fork's identity derive from the step, so a
            // replay after a crash between the fork and its checkpoint finds the same fork.
            std::string default_id = util::NewUuid();
            std::string creator_xid = util::NewUuid();
            if (state != nullptr) {
              const std::string step = std::to_string(state->next_step_id.load() - 1);
              default_id = state->workflow_id + "-fork-" + step;
              creator_xid = state->workflow_id + ":" + step + ":fork";
            }
            std::string id = management::ForkWorkflow(TargetOf(runtime), input, default_id,
                                                      creator_xid, util::NowEpochMs());
            runtime.WakeQueueRunner();
            return nlohmann::json(std::move(id));
          });
  return RetrieveWorkflowErased(ctx, forked.get<std::string>(), result_type);
}

}  // namespace detail

std::vector<StepInfo> GetWorkflowSteps(DBOSContext& ctx, const std::string& workflow_id) {
  detail::Runtime& runtime = detail::RuntimeOf(ctx);
  const nlohmann::json listed = detail::Run(
      ctx, "GetWorkflowSteps", "DBOS.getWorkflowSteps", workflow_id, [&](detail::WorkflowState*) {
        nlohmann::json out = nlohmann::json::array();
        for (const StepInfo& step :
             management::GetWorkflowSteps(detail::TargetOf(runtime), workflow_id)) {
          out.push_back(management::StepToJson(step));
        }
        return out;
      });
  std::vector<StepInfo> out;
  out.reserve(listed.size());
  for (const nlohmann::json& step : listed) out.push_back(management::StepFromJson(step));
  return out;
}

}  // namespace dbos
