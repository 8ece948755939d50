// Enqueueing a workflow by name, for a process that does not have the workflow's function (a
// Client): the row is written ENQUEUED (or DELAYED) exactly as an executor's own enqueue writes
// it, for an executor of the application, in any DBOS language, to dequeue and run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dbos/client.hpp"

namespace dbos::detail {
class Runtime;
}

namespace dbos::executor {

/// Checks the arguments (InvalidOption saying what to fix; nothing is written then), writes the
/// workflow's row and returns its ID. The row is idempotent on the workflow ID: an existing row
/// of the same workflow is left as it is; one of another workflow throws UnexpectedWorkflow. A
/// deduplication conflict throws QueueDeduplicated. Without an application version the row's
/// version stays NULL, which executors of the latest version take.
std::string EnqueueByName(detail::Runtime& runtime, const std::string& queue_name,
                          const std::string& workflow_name, const nlohmann::json& input,
                          const detail::EnqueueOptions& options);

}  // namespace dbos::executor
