// The two kinds of workflow handle: a local one that waits on an execution in this process, and a
// polling one that reads the system database (RetrieveWorkflow, workflows run elsewhere). Both
// turn a recorded outcome into the same result or exception. A handle obtained inside a workflow
// checkpoints GetResult ("DBOS.getResult") and GetStatus ("DBOS.getStatus") as steps of that
// workflow, so a replay sees the same answers.
#pragma once

#include <memory>
#include <string>

#include "core/outcome.hpp"
#include "core/workflow_state.hpp"
#include "dbos/detail/erased.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {
class Runtime;
}

namespace dbos::executor {

/// A handle waiting on `outcome`, falling back to the database when the execution ends without a
/// result here. `caller` is the workflow that obtained the handle, or null.
std::shared_ptr<detail::HandleCore> MakeLocalHandle(
    std::shared_ptr<detail::Runtime> runtime, std::string workflow_id,
    std::shared_ptr<detail::WorkflowOutcome> outcome,
    std::shared_ptr<detail::WorkflowState> caller = nullptr);

/// A handle polling the system database (and waiting locally if the workflow runs here).
std::shared_ptr<detail::HandleCore> MakePollingHandle(
    std::shared_ptr<detail::Runtime> runtime, std::string workflow_id,
    std::shared_ptr<detail::WorkflowState> caller = nullptr);

/// Converts a status row to the public WorkflowStatus.
WorkflowStatus ToWorkflowStatus(const sysdb::WorkflowRow& row);

/// WorkflowStatus as JSON with DBOS's field names (workflow_uuid, status, …; times in epoch ms),
/// and back.
nlohmann::json StatusToJson(const WorkflowStatus& status);
WorkflowStatus StatusFromJson(const nlohmann::json& json);

}  // namespace dbos::executor
