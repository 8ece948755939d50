// The Client's management calls: the layer a DBOSContext uses too (management/management.hpp),
// on behalf of no application (a client sees and steers every application's workflows), with
// inputs and outputs left out of listings unless asked for. Nothing is checkpointed (a client
// runs no workflow) and no local queue runner is woken: the application's executors start
// resumed and forked workflows from DBOS's internal queue.
#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "dbos/client.hpp"
#include "executor/handles.hpp"
#include "management/management.hpp"
#include "util/time_util.hpp"
#include "util/uuid.hpp"

namespace dbos {
namespace {

management::Target TargetOf(detail::Runtime& runtime) {
  return {runtime.Db(), /*application_name=*/"", runtime.Log()};
}

}  // namespace

std::vector<WorkflowStatus> Client::ListWorkflowsWith(
    const detail::ListWorkflowsOptions& options) const {
  detail::Runtime& runtime = detail::RuntimeOf(Context());
  management::ValidateListOptions(options);
  return management::ListWorkflows(TargetOf(runtime), options, /*default_load_values=*/false);
}

std::vector<StepInfo> Client::GetWorkflowSteps(const std::string& workflow_id) const {
  return management::GetWorkflowSteps(TargetOf(detail::RuntimeOf(Context())), workflow_id);
}

std::shared_ptr<detail::HandleCore> Client::ResumeErased(const std::string& workflow_id) const {
  detail::Runtime& runtime = detail::RuntimeOf(Context());
  management::ResumeWorkflow(TargetOf(runtime), workflow_id, util::NowEpochMs());
  return executor::MakePollingHandle(runtime.shared_from_this(), workflow_id);
}

std::shared_ptr<detail::HandleCore> Client::ForkErased(const ForkWorkflowInput& input) const {
  detail::Runtime& runtime = detail::RuntimeOf(Context());
  const std::string id = management::ForkWorkflow(TargetOf(runtime), input, util::NewUuid(),
                                                  util::NewUuid(), util::NowEpochMs());
  return executor::MakePollingHandle(runtime.shared_from_this(), id);
}

}  // namespace dbos
