// The workflow_status read, written once: the SELECT text both dialects run (they differ only in
// how the schema and the parameter are spelled) and the mapping of its columns to WorkflowRow.
#pragma once

#include <string>

#include "sysdb/system_database.hpp"

namespace dbos::sysdb::core {

/// SELECT … FROM workflow_status (with the joins the values need) of the columns
/// ReadWorkflowColumns reads, for a caller to append its WHERE/ORDER BY. `table_prefix` as below;
/// input and output/error are loaded as asked, else NULL.
std::string SelectWorkflowFromSql(const std::string& table_prefix, bool load_input,
                                  bool load_output);

/// SELECT of one workflow row by ID. `table_prefix` qualifies the tables ("" on SQLite,
/// "<schema>." on PostgreSQL); `id_param` is the dialect's first parameter ("?1", "$1::text").
/// With `load_values`, inputs/output/error come from workflow_input/workflow_output when their
/// row exists, else from the legacy workflow_status columns older SDKs wrote; without, NULL.
std::string SelectWorkflowSql(const std::string& table_prefix, const std::string& id_param,
                              bool load_values);

/// Reads the columns of SelectWorkflowSql (any row type with Text/OptText/Int64/OptInt64).
template <typename Row>
WorkflowRow ReadWorkflowColumns(const Row& r) {
  WorkflowRow row;
  row.workflow_uuid = r.Text(0);
  row.status = r.Text(1);
  row.name = r.OptText(2);
  row.authenticated_user = r.OptText(3);
  row.assumed_role = r.OptText(4);
  row.authenticated_roles = r.OptText(5);
  row.executor_id = r.OptText(6);
  row.created_at = r.Int64(7);
  row.updated_at = r.Int64(8);
  row.application_version = r.OptText(9);
  row.application_id = r.OptText(10);
  row.class_name = r.OptText(11);
  row.config_name = r.OptText(12);
  row.recovery_attempts = r.Int64(13);
  row.queue_name = r.OptText(14);
  row.workflow_timeout_ms = r.OptInt64(15);
  row.workflow_deadline_epoch_ms = r.OptInt64(16);
  row.started_at_epoch_ms = r.OptInt64(17);
  row.deduplication_id = r.OptText(18);
  row.priority = static_cast<int>(r.Int64(19));
  row.queue_partition_key = r.OptText(20);
  row.forked_from = r.OptText(21);
  row.parent_workflow_id = r.OptText(22);
  row.serialization = r.OptText(23);
  row.was_forked_from = r.Int64(24) != 0;
  row.completed_at = r.OptInt64(25);
  row.application_name = r.OptText(26);
  row.inputs = r.OptText(27);
  row.output = r.OptText(28);
  row.error = r.OptText(29);
  return row;
}

}  // namespace dbos::sysdb::core
