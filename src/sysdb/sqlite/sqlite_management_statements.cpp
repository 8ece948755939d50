// SQLite statements of the management operations (resume, fork): each a short write transaction
// whose first statement reads, under the write lock, what the writes depend on;
// core/statements.hpp says what each receives and returns.
#include "sysdb/sqlite/sqlite_statements.hpp"

namespace dbos::sysdb::sqlite {
namespace {

constexpr const char* kResumeStatusSql =
    "SELECT COALESCE(status, '') FROM workflow_status WHERE workflow_uuid = ?1";

// On a retry (after an in-doubt commit) a PENDING row updated at or after this resume's time was
// claimed by a queue runner because of it (a claim never moves updated_at back): enqueueing it
// again would run it twice.
constexpr const char* kResumeSql = R"sql(
UPDATE workflow_status
SET status = 'ENQUEUED', queue_name = ?2, queue_partition_key = NULL, recovery_attempts = 0,
    workflow_deadline_epoch_ms = NULL, deduplication_id = NULL, started_at_epoch_ms = NULL,
    completed_at = NULL, delay_until_epoch_ms = NULL, updated_at = ?3
WHERE workflow_uuid = ?1
  AND (status IS NULL OR status NOT IN ('SUCCESS', 'ERROR'))
  AND NOT (?4 AND status = 'PENDING' AND COALESCE(updated_at, 0) >= ?3))sql";

constexpr const char* kForkGateSql = R"sql(
SELECT EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?1)
   AND NOT EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?2))sql";

constexpr const char* kForkStatusSql = R"sql(
INSERT INTO workflow_status (
    workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
    authenticated_roles, application_version, application_id, application_name, queue_name,
    queue_partition_key, serialization, attributes, forked_from, created_at, updated_at,
    recovery_attempts, priority, creator_xid)
SELECT ?2, 'ENQUEUED', name, class_name, config_name, authenticated_user, assumed_role,
    authenticated_roles, COALESCE(?4, application_version), application_id, application_name,
    ?5, ?6, serialization, attributes, ?1, ?8, ?8, 0, 0, ?7
FROM workflow_status WHERE workflow_uuid = ?1)sql";

constexpr const char* kForkInputSql = R"sql(
INSERT INTO workflow_input (workflow_uuid, inputs)
SELECT ?2, CASE WHEN wi.workflow_uuid IS NOT NULL THEN wi.inputs ELSE ws.inputs END
FROM workflow_status ws LEFT JOIN workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
WHERE ws.workflow_uuid = ?1)sql";

constexpr const char* kForkStepsSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
SELECT ?2, function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
    completed_at_epoch_ms, serialization, application_name
FROM operation_outputs WHERE workflow_uuid = ?1 AND function_id < ?3)sql";

constexpr const char* kForkHistorySql = R"sql(
INSERT INTO workflow_events_history (workflow_uuid, function_id, key, value, serialization)
SELECT ?2, function_id, key, value, serialization
FROM workflow_events_history WHERE workflow_uuid = ?1 AND function_id < ?3)sql";

// The latest value of each key below the start step.
constexpr const char* kForkEventsSql = R"sql(
INSERT INTO workflow_events (workflow_uuid, key, value, serialization)
SELECT ?2, h.key, h.value, h.serialization
FROM workflow_events_history h
WHERE h.workflow_uuid = ?1 AND h.function_id = (
    SELECT MAX(h2.function_id) FROM workflow_events_history h2
    WHERE h2.workflow_uuid = ?1 AND h2.key = h.key AND h2.function_id < ?3))sql";

constexpr const char* kForkStreamsSql = R"sql(
INSERT INTO streams (workflow_uuid, key, value, "offset", function_id, serialization)
SELECT ?2, key, value, "offset", function_id, serialization
FROM streams WHERE workflow_uuid = ?1 AND function_id < ?3)sql";

constexpr const char* kForkMarkSql =
    "UPDATE workflow_status SET was_forked_from = 1 WHERE workflow_uuid = ?1";

constexpr const char* kForkedSql = "SELECT 1, 1, NULL";

constexpr const char* kNotForkedSql = R"sql(
SELECT EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?1), 0,
       (SELECT creator_xid FROM workflow_status WHERE workflow_uuid = ?2))sql";

}  // namespace

void AddManagementStatements(core::Statements& s) {
  using Access = core::Script::Access;
  using core::Part;
  s.spelling = {"", false};
  s.resume_workflow = core::Script{
      "resume_workflow", Access::kWrite, {Part{kResumeStatusSql, true, false}, Part{kResumeSql}}};
  s.fork_workflow = core::Script{
      "fork_workflow",
      Access::kWrite,
      {Part{kForkGateSql, false, true}, Part{kForkStatusSql}, Part{kForkInputSql},
       Part{kForkStepsSql}, Part{kForkHistorySql}, Part{kForkEventsSql}, Part{kForkStreamsSql},
       Part{kForkMarkSql}, Part{kForkedSql, true}, Part{kNotForkedSql, true, false, true}}};
}

}  // namespace dbos::sysdb::sqlite
