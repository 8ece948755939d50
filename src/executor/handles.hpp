// The two kinds of workflow handle: a local one that waits on an execution in this process, and a
// polling one that reads the system database (RetrieveWorkflow, workflows run elsewhere). Both
// turn a recorded outcome into the same result or exception.
#pragma once

#include <memory>
#include <string>

#include "dbos/detail/erased.hpp"
#include "executor/outcome.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {
class Runtime;
}

namespace dbos::executor {

/// A handle waiting on `outcome`, falling back to the database when the execution ends without a
/// result here.
std::shared_ptr<detail::HandleCore> MakeLocalHandle(
    std::shared_ptr<detail::Runtime> runtime, std::string workflow_id,
    std::shared_ptr<detail::WorkflowOutcome> outcome);

/// A handle polling the system database (and waiting locally if the workflow runs here).
std::shared_ptr<detail::HandleCore> MakePollingHandle(std::shared_ptr<detail::Runtime> runtime,
                                                      std::string workflow_id);

/// Converts a status row to the public WorkflowStatus.
WorkflowStatus ToWorkflowStatus(const sysdb::WorkflowRow& row);

}  // namespace dbos::executor
