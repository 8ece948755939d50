// The workflow_status SELECT shared by both dialects.
#include "sysdb/core/workflow_rows.hpp"

namespace dbos::sysdb::core {

std::string SelectWorkflowFromSql(const std::string& table_prefix, bool load_input,
                                  bool load_output) {
  std::string sql = R"sql(
SELECT ws.workflow_uuid, COALESCE(ws.status, ''), ws.name, ws.authenticated_user,
    ws.assumed_role, ws.authenticated_roles, ws.executor_id, ws.created_at, ws.updated_at,
    ws.application_version, ws.application_id, ws.class_name, ws.config_name,
    COALESCE(ws.recovery_attempts, 0), ws.queue_name, ws.workflow_timeout_ms,
    ws.workflow_deadline_epoch_ms, ws.started_at_epoch_ms, ws.deduplication_id,
    COALESCE(ws.priority, 0), ws.queue_partition_key, ws.forked_from, ws.parent_workflow_id,
    ws.serialization, CAST(COALESCE(ws.was_forked_from, FALSE) AS INTEGER), ws.completed_at,
    ws.application_name,)sql";
  // Values live in workflow_input / workflow_output; rows of older SDKs in the legacy columns.
  sql += load_input
             ? "\n    CASE WHEN wi.workflow_uuid IS NOT NULL THEN wi.inputs ELSE ws.inputs END,"
             : "\n    NULL,";
  sql += load_output
             ? "\n    CASE WHEN wo.workflow_uuid IS NOT NULL THEN wo.output ELSE ws.output END,"
               "\n    CASE WHEN wo.workflow_uuid IS NOT NULL THEN wo.error ELSE ws.error END"
             : "\n    NULL, NULL";
  sql += "\nFROM " + table_prefix + "workflow_status AS ws";
  if (load_input) {
    sql += "\nLEFT JOIN " + table_prefix +
           "workflow_input AS wi ON wi.workflow_uuid = ws.workflow_uuid";
  }
  if (load_output) {
    sql += "\nLEFT JOIN " + table_prefix +
           "workflow_output AS wo ON wo.workflow_uuid = ws.workflow_uuid";
  }
  return sql;
}

std::string SelectWorkflowSql(const std::string& table_prefix, const std::string& id_param,
                              bool load_values) {
  return SelectWorkflowFromSql(table_prefix, load_values, load_values) +
         "\nWHERE ws.workflow_uuid = " + id_param;
}

}  // namespace dbos::sysdb::core
