// Multi-row forms of the shared checkpoints; see pg_batch.hpp.
#include "sysdb/postgres/pg_batch.hpp"

#include <charconv>
#include <cstring>
#include <string_view>

namespace dbos::sysdb::pg {
namespace {

// Workflow starts and enqueues (the parameters and result of kInsertWorkflowSql in
// pg_statements.cpp): each row creates its workflow, or finds the existing one (and refreshes it
// as the single-row statement does); "created" is whether this row's creator made it.
constexpr std::string_view kInsertWorkflowsSql = R"SQL(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                       $13::text[], $14::bigint[], $15::bigint[], $16::text[], $17::integer[],
                       $18::text[], $19::text[], $20::text[], $21::text[], $22::text[],
                       $23::bigint[], $24::bigint[], $25::boolean[], $26::bigint[])
    WITH ORDINALITY AS t(workflow_uuid, status, name, class_name, config_name,
                         authenticated_user, assumed_role, authenticated_roles, executor_id,
                         application_version, application_id, application_name, queue_name,
                         workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id,
                         priority, queue_partition_key, parent_workflow_id, inputs,
                         serialization, creator_xid, now_ms, delay_until_epoch_ms, is_debounced,
                         debounce_deadline_epoch_ms, ord)
), ins AS (
  INSERT INTO {s}.workflow_status AS ws (
      workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
      authenticated_roles, executor_id, application_version, application_id, application_name,
      queue_name, workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority,
      queue_partition_key, parent_workflow_id, serialization, creator_xid, created_at, updated_at,
      recovery_attempts, delay_until_epoch_ms, is_debounced, debounce_deadline_epoch_ms)
  SELECT workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
         authenticated_roles, executor_id, application_version, application_id, application_name,
         queue_name, workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority,
         queue_partition_key, parent_workflow_id, serialization, creator_xid, now_ms, now_ms,
         CASE WHEN status IN ('ENQUEUED', 'DELAYED') THEN 0 ELSE 1 END, delay_until_epoch_ms,
         is_debounced, debounce_deadline_epoch_ms
  FROM input
  ORDER BY ord
  ON CONFLICT (workflow_uuid) DO UPDATE SET
      updated_at = EXCLUDED.updated_at,
      executor_id = CASE WHEN EXCLUDED.status IN ('ENQUEUED', 'DELAYED') THEN ws.executor_id
                         ELSE EXCLUDED.executor_id END
  RETURNING ws.workflow_uuid, ws.creator_xid, ws.status, ws.name, ws.queue_name,
            ws.recovery_attempts, ws.workflow_timeout_ms, ws.workflow_deadline_epoch_ms
), saved AS (
  INSERT INTO {s}.workflow_input (workflow_uuid, inputs)
  SELECT i.workflow_uuid, i.inputs
  FROM ins JOIN input i ON i.workflow_uuid = ins.workflow_uuid
  WHERE ins.creator_xid IS NOT DISTINCT FROM i.creator_xid
  ON CONFLICT (workflow_uuid) DO NOTHING
)
SELECT i.ord, ins.creator_xid IS NOT DISTINCT FROM i.creator_xid AS created, ins.status,
       ins.name, ins.queue_name, ins.recovery_attempts, ins.workflow_timeout_ms,
       ins.workflow_deadline_epoch_ms
FROM input i JOIN ins ON ins.workflow_uuid = i.workflow_uuid
ORDER BY i.ord
)SQL";

// Step records (core::AddCheckpoint's nine parameters; the result of kRecordStepSql in
// pg_statements.cpp). Each row sees the workflow and the step row as they were before the
// statement, as its own statement would have, and is inserted unless its workflow is missing or
// CANCELLED; "inserted" is whether this row's insert took place.
constexpr std::string_view kRecordStepsSql = R"SQL(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::bigint[], $8::bigint[], $9::text[])
    WITH ORDINALITY AS t(workflow_uuid, function_id, function_name, output, error,
                         child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms,
                         application_name, ord)
), wf AS (
  SELECT i.ord, ws.status
  FROM input i JOIN {s}.workflow_status ws ON ws.workflow_uuid = i.workflow_uuid
), ins AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT i.workflow_uuid, i.function_id, i.function_name, i.output, i.error, i.child_workflow_id,
         i.started_at_epoch_ms, i.completed_at_epoch_ms, 'portable_json', i.application_name
  FROM input i JOIN wf ON wf.ord = i.ord
  WHERE wf.status IS DISTINCT FROM 'CANCELLED'
  ORDER BY i.ord
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING workflow_uuid, function_id
)
SELECT i.ord,
       (SELECT count(*) FROM ins
        WHERE ins.workflow_uuid = i.workflow_uuid AND ins.function_id = i.function_id),
       (SELECT count(*) FROM wf WHERE wf.ord = i.ord),
       (SELECT wf.status FROM wf WHERE wf.ord = i.ord),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization
FROM input i
LEFT JOIN {s}.operation_outputs p
  ON p.workflow_uuid = i.workflow_uuid AND p.function_id = i.function_id
ORDER BY i.ord
)SQL";

// Workflow finishes (the parameters and result of kFinishWorkflowSql in pg_statements.cpp):
// each row finishes its workflow when it is still PENDING, and says whether it did (or, on a
// retry, whether the workflow already ended exactly so).
constexpr std::string_view kFinishWorkflowsSql = R"SQL(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                       $6::boolean[])
    WITH ORDINALITY AS t(workflow_uuid, status, output, error, now_ms, retry, ord)
), upd AS (
  UPDATE {s}.workflow_status ws
  SET status = i.status, completed_at = i.now_ms, updated_at = i.now_ms,
      deduplication_id = NULL, serialization = 'portable_json'
  FROM input i
  WHERE ws.workflow_uuid = i.workflow_uuid AND ws.status = 'PENDING'
  RETURNING ws.workflow_uuid, ws.queue_name
), saved AS (
  INSERT INTO {s}.workflow_output (workflow_uuid, output, error)
  SELECT upd.workflow_uuid, i.output, i.error
  FROM upd JOIN input i ON i.workflow_uuid = upd.workflow_uuid
  ON CONFLICT (workflow_uuid) DO UPDATE SET output = EXCLUDED.output, error = EXCLUDED.error
), note AS (
  SELECT pg_catalog.pg_notify('dbos_queue_channel', q.name)
  FROM upd JOIN {s}.queues q ON q.name = upd.queue_name
  WHERE q.concurrency IS NOT NULL OR q.partition_concurrency IS NOT NULL
)
SELECT i.ord,
       (EXISTS (SELECT 1 FROM upd WHERE upd.workflow_uuid = i.workflow_uuid)
        OR (i.retry AND EXISTS (
            SELECT 1 FROM {s}.workflow_status ws
            WHERE ws.workflow_uuid = i.workflow_uuid AND ws.status = i.status
              AND ws.completed_at = i.now_ms)))
   AND (SELECT count(*) FROM note) >= 0
FROM input i
ORDER BY i.ord
)SQL";

/// Replaces "{s}" in `sql` with the quoted schema name.
std::string WithSchema(std::string_view sql, const std::string& quoted_schema) {
  std::string out;
  for (size_t pos = 0;;) {
    const size_t next = sql.find("{s}", pos);
    out.append(sql.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) return out;
    out.append(quoted_schema);
    pos = next + 3;
  }
}

/// Appends `value` to an array literal as one element: NULL, or double-quoted with escapes.
void AppendElement(std::string& out, const char* value) {
  if (value == nullptr) {
    out += "NULL";
    return;
  }
  out += '"';
  for (const char* c = value; *c != '\0'; ++c) {
    if (*c == '"' || *c == '\\') out += '\\';
    out += *c;
  }
  out += '"';
}

}  // namespace

PgBatchForms::PgBatchForms(const std::string& quoted_schema) {
  // The key is (workflow, step ID) for a step record and the workflow for a start or finish.
  forms_.emplace("insert_workflow", PgBatchForm{"insert_workflows",
                                                WithSchema(kInsertWorkflowsSql, quoted_schema), 1});
  forms_.emplace("record_step",
                 PgBatchForm{"record_steps", WithSchema(kRecordStepsSql, quoted_schema), 2});
  forms_.emplace("finish_workflow", PgBatchForm{"finish_workflows",
                                                WithSchema(kFinishWorkflowsSql, quoted_schema), 1});
}

const PgBatchForm* PgBatchForms::Find(const std::string& single_name) const {
  const auto it = forms_.find(single_name);
  return it == forms_.end() ? nullptr : &it->second;
}

void AppendBatchParams(const std::vector<const PgParams*>& rows, PgParams& out) {
  if (rows.empty()) return;
  const int count = rows.front()->Count();
  for (int k = 0; k < count; ++k) {
    std::string array = "{";
    for (size_t r = 0; r < rows.size(); ++r) {
      if (r > 0) array += ',';
      AppendElement(array, rows[r]->Values()[k]);
    }
    array += '}';
    out.Copy(std::move(array));
  }
}

bool SameKey(const PgParams& a, const PgParams& b, size_t count) {
  for (size_t k = 0; k < count; ++k) {
    const char* x = a.Values()[k];
    const char* y = b.Values()[k];
    if ((x == nullptr) != (y == nullptr)) return false;
    if (x != nullptr && std::strcmp(x, y) != 0) return false;
  }
  return true;
}

std::vector<PgResult> SplitByOrdinal(const PgResult& result, size_t count) {
  PGresult* all = result.Get();
  const int columns = all != nullptr ? PQnfields(all) - 1 : -1;
  if (columns < 0) throw PgError("a multi-row checkpoint returned no columns", "", "", false);
  std::vector<PGresAttDesc> attributes(static_cast<size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    PGresAttDesc& a = attributes[static_cast<size_t>(c)];
    a.name = PQfname(all, c + 1);
    a.tableid = PQftable(all, c + 1);
    a.columnid = PQftablecol(all, c + 1);
    a.format = PQfformat(all, c + 1);
    a.typid = PQftype(all, c + 1);
    a.typlen = PQfsize(all, c + 1);
    a.atttypmod = PQfmod(all, c + 1);
  }
  std::vector<PgResult> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    PgResult part(PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK));
    if (part.Get() == nullptr ||
        (columns > 0 && PQsetResultAttrs(part.Get(), columns, attributes.data()) == 0)) {
      throw std::bad_alloc();
    }
    out.push_back(std::move(part));
  }
  for (int r = 0; r < result.Rows(); ++r) {
    const std::string_view text = result.Text(r, 0);
    size_t ordinal = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ordinal);
    if (error != std::errc() || end != text.data() + text.size() || ordinal < 1 ||
        ordinal > count) {
      throw PgError(
          "a multi-row checkpoint returned an unknown ordinal '" + std::string(text) + "'", "", "",
          false);
    }
    PGresult* part = out[ordinal - 1].Get();
    const int row = PQntuples(part);
    for (int c = 0; c < columns; ++c) {
      const bool null = result.IsNull(r, c + 1);
      // PQsetvalue copies the value; a NULL is a length of -1.
      char* value = null ? nullptr : PQgetvalue(all, r, c + 1);
      const int length = null ? -1 : PQgetlength(all, r, c + 1);
      if (PQsetvalue(part, row, c, value, length) == 0) throw std::bad_alloc();
    }
  }
  return out;
}

}  // namespace dbos::sysdb::pg
