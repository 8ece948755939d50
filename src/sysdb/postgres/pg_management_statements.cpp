// PostgreSQL statements of the management operations (resume, fork): each one statement, so one
// round trip and one transaction; core/statements.hpp says what each receives and returns.
#include <string_view>

#include "sysdb/postgres/pg_statements.hpp"

namespace dbos::sysdb::pg {
namespace {

// On a retry (after an in-doubt commit) a PENDING row updated at or after this resume's time was
// claimed by a queue runner because of it (a claim never moves updated_at back): enqueueing it
// again would run it twice. Clocks of different machines that disagree can still mislead this.
constexpr std::string_view kResumeSql = R"SQL(
WITH cur AS (
  SELECT COALESCE(status, '') AS status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), upd AS (
  UPDATE {s}.workflow_status
  SET status = 'ENQUEUED', queue_name = $2::text, queue_partition_key = NULL,
      recovery_attempts = 0, workflow_deadline_epoch_ms = NULL, deduplication_id = NULL,
      started_at_epoch_ms = NULL, completed_at = NULL, delay_until_epoch_ms = NULL,
      updated_at = $3::bigint
  WHERE workflow_uuid = $1::text
    AND (status IS NULL OR status NOT IN ('SUCCESS', 'ERROR'))
    AND NOT ($4::boolean AND status = 'PENDING'
             AND COALESCE(updated_at, 0) >= $3::bigint)
  RETURNING 1
)
SELECT (SELECT status FROM cur), EXISTS (SELECT 1 FROM upd)
)SQL";

// Every copy depends on the status insert (ON CONFLICT DO NOTHING), so a taken ID or a missing
// original writes nothing. The final SELECT reads the snapshot from before the statement: the
// creator_xid it shows is that of a row already there.
constexpr std::string_view kForkSql = R"SQL(
WITH orig AS (
  SELECT ws.*, CASE WHEN wi.workflow_uuid IS NOT NULL THEN wi.inputs ELSE ws.inputs END AS input
  FROM {s}.workflow_status ws
  LEFT JOIN {s}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
  WHERE ws.workflow_uuid = $1::text
), ins AS (
  INSERT INTO {s}.workflow_status (
      workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
      authenticated_roles, application_version, application_id, application_name, queue_name,
      queue_partition_key, serialization, attributes, forked_from, created_at, updated_at,
      recovery_attempts, priority, creator_xid)
  SELECT $2::text, 'ENQUEUED', o.name, o.class_name, o.config_name, o.authenticated_user,
      o.assumed_role, o.authenticated_roles, COALESCE($4::text, o.application_version),
      o.application_id, o.application_name, $5::text, $6::text, o.serialization, o.attributes,
      $1::text, $8::bigint, $8::bigint, 0, 0, $7::text
  FROM orig o
  ON CONFLICT (workflow_uuid) DO NOTHING
  RETURNING workflow_uuid
), input AS (
  INSERT INTO {s}.workflow_input (workflow_uuid, inputs)
  SELECT $2::text, o.input FROM orig o WHERE EXISTS (SELECT 1 FROM ins)
), steps AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $2::text, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name
  FROM {s}.operation_outputs
  WHERE workflow_uuid = $1::text AND function_id < $3::integer AND EXISTS (SELECT 1 FROM ins)
), history AS (
  INSERT INTO {s}.workflow_events_history (workflow_uuid, function_id, key, value, serialization)
  SELECT $2::text, function_id, key, value, serialization
  FROM {s}.workflow_events_history
  WHERE workflow_uuid = $1::text AND function_id < $3::integer AND EXISTS (SELECT 1 FROM ins)
), events AS (
  INSERT INTO {s}.workflow_events (workflow_uuid, key, value, serialization)
  SELECT DISTINCT ON (key) $2::text, key, value, serialization
  FROM {s}.workflow_events_history
  WHERE workflow_uuid = $1::text AND function_id < $3::integer AND EXISTS (SELECT 1 FROM ins)
  ORDER BY key, function_id DESC
), streams AS (
  INSERT INTO {s}.streams (workflow_uuid, key, value, "offset", function_id, serialization)
  SELECT $2::text, key, value, "offset", function_id, serialization
  FROM {s}.streams
  WHERE workflow_uuid = $1::text AND function_id < $3::integer AND EXISTS (SELECT 1 FROM ins)
), mark AS (
  UPDATE {s}.workflow_status SET was_forked_from = TRUE
  WHERE workflow_uuid = $1::text AND EXISTS (SELECT 1 FROM ins)
)
SELECT EXISTS (SELECT 1 FROM orig), EXISTS (SELECT 1 FROM ins),
       (SELECT creator_xid FROM {s}.workflow_status WHERE workflow_uuid = $2::text)
)SQL";

std::string Substitute(std::string_view sql, const std::string& quoted_schema) {
  std::string out(sql);
  for (size_t pos = out.find("{s}"); pos != std::string::npos; pos = out.find("{s}", pos)) {
    out.replace(pos, 3, quoted_schema);
    pos += quoted_schema.size();
  }
  return out;
}

core::Script One(const char* name, std::string_view sql, const std::string& quoted_schema) {
  core::Script script;
  script.name = name;
  script.access = core::Script::Access::kWrite;
  script.parts.push_back(core::Part{Substitute(sql, quoted_schema), true, false});
  return script;
}

}  // namespace

void AddManagementStatements(core::Statements& s, const std::string& quoted_schema) {
  s.spelling = {quoted_schema + ".", true};
  s.resume_workflow = One("resume_workflow", kResumeSql, quoted_schema);
  s.fork_workflow = One("fork_workflow", kForkSql, quoted_schema);
}

}  // namespace dbos::sysdb::pg
