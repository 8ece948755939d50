// Test workflow rows; see workflow_rows.hpp.
#include "support/workflow_rows.hpp"

#include <nlohmann/json.hpp>

#include "serialization/codec.hpp"
#include "util/time_util.hpp"

namespace dbos::testing {

sysdb::WorkflowInsert WorkflowRow(const std::string& id, const std::string& name,
                                  const std::string& status) {
  sysdb::WorkflowInsert row;
  row.workflow_uuid = id;
  row.status = status;
  row.name = name;
  row.executor_id = "local";
  row.application_version = "test-v1";
  if (status == "ENQUEUED") row.queue_name = sysdb::kInternalQueueName;
  row.inputs = serialization::EncodeWorkflowInput(nlohmann::json());
  row.creator_xid = id + "-creator";
  row.now_ms = util::NowEpochMs();
  return row;
}

}  // namespace dbos::testing
