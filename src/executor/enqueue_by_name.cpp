// Enqueue by workflow name; see enqueue_by_name.hpp and reference §2.7.
#include "executor/enqueue_by_name.hpp"

#include <limits>

#include "core/queue_registry.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"
#include "util/uuid.hpp"

namespace dbos::executor {
namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw DBOSError(ErrorCode::InvalidOption, message);
}

void Validate(const std::string& queue_name, const std::string& workflow_name,
              const nlohmann::json& input, const detail::EnqueueOptions& options) {
  if (queue_name.empty()) Invalid("queue name is required");
  if (workflow_name.empty()) Invalid("workflow name is required");
  detail::ValidateName("Enqueue's queue name", queue_name, false);
  detail::ValidateName("Enqueue's workflow name", workflow_name, false);
  if (options.workflow_id_given) {
    detail::ValidateName("WithEnqueueWorkflowID", options.workflow_id, false);
  }
  detail::ValidateName("WithEnqueueApplicationVersion", options.application_version, true);
  detail::ValidateName("WithEnqueueDeduplicationID", options.deduplication_id, true);
  detail::ValidateName("WithEnqueueQueuePartitionKey", options.queue_partition_key, true);
  detail::ValidateJsonText("Enqueue's input", input);
  if (options.timeout && options.timeout->count() <= 0) {
    Invalid("WithEnqueueTimeout must be positive (got " + std::to_string(options.timeout->count()) +
            " ms); leave it out for no timeout");
  }
  if (options.priority && *options.priority < 1) {
    Invalid("WithEnqueuePriority must be between 1 and " +
            std::to_string(std::numeric_limits<int>::max()) + " (got " +
            std::to_string(*options.priority) + "); lower runs first");
  }
}

}  // namespace

std::string EnqueueByName(detail::Runtime& runtime, const std::string& queue_name,
                          const std::string& workflow_name, const nlohmann::json& input,
                          const detail::EnqueueOptions& options) {
  Validate(queue_name, workflow_name, input, options);
  // A queue some executor declared is checked against its limits; an undeclared one is not an
  // error: its workflows wait until an executor serving the queue starts.
  if (auto queue_row = runtime.Db().GetQueue(queue_name)) {
    detail::RunOptions probe;
    probe.queue_name = queue_name;
    probe.priority = options.priority;
    probe.queue_partition_key = options.queue_partition_key;
    detail::CheckQueueOptions(detail::FromQueueRow(*queue_row), probe);
  }

  sysdb::WorkflowInsert row;
  row.workflow_uuid = options.workflow_id_given ? options.workflow_id : util::NewUuid();
  row.status = "ENQUEUED";
  row.name = workflow_name;
  row.queue_name = queue_name;
  if (!options.deduplication_id.empty()) row.deduplication_id = options.deduplication_id;
  row.priority = options.priority.value_or(0);
  if (!options.queue_partition_key.empty()) row.queue_partition_key = options.queue_partition_key;
  // No executor owns the row until one dequeues it (DBOS Transact TypeScript's client writes ""
  // as well); NULL version and application: any executor of the latest version takes it.
  row.executor_id = "";
  if (!options.application_version.empty()) row.application_version = options.application_version;
  // The deadline is set at dequeue (started_at + timeout), so the clock starts then.
  if (options.timeout) row.workflow_timeout_ms = detail::ClampWait(*options.timeout).count();
  row.inputs = serialization::EncodeWorkflowInput(input);
  row.creator_xid = util::NewUuid();
  row.now_ms = util::NowEpochMs();
  if (options.delay && options.delay->count() > 0) {
    row.status = "DELAYED";
    row.delay_until_epoch_ms = row.now_ms + detail::ClampWait(*options.delay).count();
  }
  const sysdb::WorkflowInsertResult inserted = runtime.Db().InsertWorkflow(row);
  if (inserted.name && *inserted.name != workflow_name) {
    throw DBOSError(ErrorCode::UnexpectedWorkflow,
                    "Workflow already exists with a different name: " + *inserted.name +
                        ", but the provided name is: " + workflow_name,
                    row.workflow_uuid);
  }
  return row.workflow_uuid;
}

}  // namespace dbos::executor
