// PostgreSQL system database: startup (connect within a deadline, create a missing database,
// create or check the schema), and every SystemDatabase method as one prepared statement (one
// round trip) run on a pooled connection. Multi-step writes are single statements with
// data-modifying CTEs, so each call is atomic without BEGIN/COMMIT round trips. Transient failures
// (lost connection, server restart, serialization failure, deadlock) are retried with capped
// exponential backoff and jitter; every statement is safe to repeat.
#include "sysdb/postgres/postgres_system_database.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>
#include <utility>

#include "dbos/errors.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "sysdb/core/operations.hpp"
#include "sysdb/core/outcomes.hpp"
#include "sysdb/core/run.hpp"
#include "sysdb/core/workflow_rows.hpp"
#include "sysdb/postgres/pg_connection.hpp"
#include "sysdb/postgres/pg_listener.hpp"
#include "sysdb/postgres/pg_pool.hpp"
#include "sysdb/postgres/pg_schema.hpp"
#include "util/uuid.hpp"

namespace dbos::sysdb {
namespace {

using pg::ConnectFailure;
using pg::ConnectionSpec;
using pg::PgConnectError;
using pg::PgConnection;
using pg::PgError;
using pg::PgParams;
using pg::PgPool;
using pg::PgResult;
using Clock = std::chrono::steady_clock;

constexpr size_t kDefaultPoolSize = 16;
constexpr std::chrono::milliseconds kDefaultStartupTimeout{10000};
constexpr std::chrono::milliseconds kInitialBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr int kMinServerVersion = 130000;  // gen_random_uuid() is built in from 13 on
constexpr const char* kMaintenanceDatabase = "postgres";

using core::Jitter;

/// The operation running on this thread, for the fault injector's site.
thread_local const char* t_operation = "";

/// Used only if a caller breaks the "logger is never null" rule.
class SilentLogger final : public Logger {
 public:
  void Log(LogLevel, std::string_view) noexcept override {}
};

/// Throws DBOSError(Initialization) with `message`.
[[noreturn]] void ThrowInit(const std::string& message) {
  throw DBOSError(ErrorCode::Initialization, message);
}

/// `text` followed by `more`, with a period between them unless `text` already ends a sentence.
std::string Sentences(const std::string& text, const std::string& more) {
  const bool ended =
      !text.empty() && (text.back() == '.' || text.back() == '?' || text.back() == '!');
  return text + (ended ? " " : ". ") + more;
}

/// Replaces "{s}" in `sql` with the quoted schema name.
std::string WithSchema(std::string_view sql, const std::string& quoted_schema) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t next = sql.find("{s}", pos);
    if (next == std::string_view::npos) {
      out.append(sql.substr(pos));
      return out;
    }
    out.append(sql.substr(pos, next - pos));
    out.append(quoted_schema);
    pos = next + 3;
  }
}

// ---- Statements. "{s}" is the quoted schema. Every parameter carries an explicit type. ----

constexpr std::string_view kInsertWorkflowSql = R"SQL(
WITH ins AS (
  INSERT INTO {s}.workflow_status AS ws (
      workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
      authenticated_roles, executor_id, application_version, application_id, application_name,
      queue_name, workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority,
      queue_partition_key, parent_workflow_id, serialization, creator_xid, created_at, updated_at,
      recovery_attempts)
  VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
      $9::text, $10::text, $11::text, $12::text, $13::text, $14::bigint, $15::bigint, $16::text,
      $17::integer, $18::text, $19::text, $21::text, $22::text, $23::bigint, $23::bigint,
      CASE WHEN $2::text IN ('ENQUEUED', 'DELAYED') THEN 0 ELSE 1 END)
  ON CONFLICT (workflow_uuid) DO UPDATE SET
      updated_at = EXCLUDED.updated_at,
      executor_id = CASE WHEN EXCLUDED.status IN ('ENQUEUED', 'DELAYED') THEN ws.executor_id
                         ELSE EXCLUDED.executor_id END
  RETURNING ws.creator_xid IS NOT DISTINCT FROM $22::text AS created, ws.status, ws.name,
      ws.queue_name, ws.recovery_attempts, ws.workflow_timeout_ms, ws.workflow_deadline_epoch_ms
), input AS (
  INSERT INTO {s}.workflow_input (workflow_uuid, inputs)
  SELECT $1::text, $20::text FROM ins WHERE ins.created
  ON CONFLICT (workflow_uuid) DO NOTHING
)
SELECT created, status, name, queue_name, recovery_attempts, workflow_timeout_ms,
       workflow_deadline_epoch_ms
FROM ins
)SQL";

// $6 is true on a retry: a finish that already committed (same status and completed_at) then
// counts as done instead of "no longer PENDING".
constexpr std::string_view kFinishWorkflowSql = R"SQL(
WITH upd AS (
  UPDATE {s}.workflow_status
  SET status = $2::text, completed_at = $5::bigint, updated_at = $5::bigint,
      deduplication_id = NULL, serialization = 'portable_json'
  WHERE workflow_uuid = $1::text AND status = 'PENDING'
  RETURNING workflow_uuid
), saved AS (
  INSERT INTO {s}.workflow_output (workflow_uuid, output, error)
  SELECT workflow_uuid, $3::text, $4::text FROM upd
  ON CONFLICT (workflow_uuid) DO UPDATE SET output = EXCLUDED.output, error = EXCLUDED.error
)
SELECT EXISTS (SELECT 1 FROM upd)
    OR ($6::boolean AND EXISTS (
        SELECT 1 FROM {s}.workflow_status
        WHERE workflow_uuid = $1::text AND status = $2::text AND completed_at = $5::bigint))
)SQL";

constexpr std::string_view kMarkDeadLetterSql = R"SQL(
UPDATE {s}.workflow_status
SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', deduplication_id = NULL,
    started_at_epoch_ms = NULL, queue_name = NULL, updated_at = $2::bigint
WHERE workflow_uuid = $1::text AND status = 'PENDING'
)SQL";

// One row always. The CTEs share the statement's snapshot: `wf` and `prior` see the rows that
// existed before this statement, never the row `ins` adds.
constexpr std::string_view kRecordStepSql = R"SQL(
WITH wf AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), prior AS (
  SELECT function_name, output, error, child_workflow_id, started_at_epoch_ms,
         completed_at_epoch_ms, serialization
  FROM {s}.operation_outputs WHERE workflow_uuid = $1::text AND function_id = $2::integer
), ins AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $1::text, $2::integer, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::bigint,
         'portable_json', $9::text
  FROM wf WHERE wf.status IS DISTINCT FROM 'CANCELLED'
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM wf) AS wf_found,
       (SELECT status FROM wf) AS wf_status, p.function_name, p.output, p.error,
       p.child_workflow_id, p.started_at_epoch_ms, p.completed_at_epoch_ms, p.serialization
FROM (SELECT 1) AS one LEFT JOIN prior p ON true
)SQL";

constexpr std::string_view kListStepsSql = R"SQL(
SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
       completed_at_epoch_ms, serialization
FROM {s}.operation_outputs
WHERE workflow_uuid = $1::text
ORDER BY function_id
)SQL";

constexpr std::string_view kGetStatusSql = R"SQL(
SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
)SQL";

constexpr std::string_view kReenqueueSql = R"SQL(
UPDATE {s}.workflow_status
SET status = 'ENQUEUED', queue_name = COALESCE(NULLIF(queue_name, ''), $3::text),
    started_at_epoch_ms = NULL, updated_at = $4::bigint
WHERE status = 'PENDING' AND executor_id = ANY ($1::text[]) AND application_version = $2::text
  AND (application_name IS NULL OR application_name = $5::text)
RETURNING workflow_uuid
)SQL";

// One statement, so one transaction: candidates are locked with SKIP LOCKED and claimed by the
// UPDATE. When nothing is claimed no row is locked or written and no transaction ID is used.
constexpr std::string_view kDequeueSql = R"SQL(
WITH candidates AS (
  SELECT workflow_uuid
  FROM {s}.workflow_status
  WHERE queue_name = $1::text AND status = 'ENQUEUED'
    AND (application_version = $3::text OR ($4::boolean AND application_version IS NULL))
    AND (application_name IS NULL OR application_name = $7::text)
    AND name = ANY ($8::text[])
  ORDER BY priority, created_at
  LIMIT $5::bigint
  FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE {s}.workflow_status ws
  SET status = 'PENDING', executor_id = $2::text, application_version = $3::text,
      started_at_epoch_ms = $6::bigint, updated_at = $6::bigint,
      recovery_attempts = COALESCE(ws.recovery_attempts, 0) + 1,
      workflow_deadline_epoch_ms = COALESCE(ws.workflow_deadline_epoch_ms,
                                            $6::bigint + ws.workflow_timeout_ms),
      owner_xid = $9::text
  FROM candidates c
  WHERE ws.workflow_uuid = c.workflow_uuid AND ws.status = 'ENQUEUED'
  RETURNING ws.workflow_uuid, ws.name, ws.inputs, ws.serialization, ws.authenticated_user,
            ws.assumed_role, ws.authenticated_roles, ws.workflow_deadline_epoch_ms,
            ws.queue_name, ws.priority, ws.created_at, ws.recovery_attempts
)
SELECT c.workflow_uuid, c.name, COALESCE(i.inputs, c.inputs), c.serialization,
       c.authenticated_user, c.assumed_role, c.authenticated_roles,
       c.workflow_deadline_epoch_ms, c.queue_name, c.recovery_attempts
FROM claimed c
LEFT JOIN {s}.workflow_input i ON i.workflow_uuid = c.workflow_uuid
ORDER BY c.priority, c.created_at
)SQL";

// The rows an earlier attempt of the same DequeueWorkflows call claimed (its commit may have
// happened with the reply lost): PENDING under this executor with this call's claim token.
constexpr std::string_view kClaimedByTokenSql = R"SQL(
SELECT c.workflow_uuid, c.name, COALESCE(i.inputs, c.inputs), c.serialization,
       c.authenticated_user, c.assumed_role, c.authenticated_roles,
       c.workflow_deadline_epoch_ms, c.queue_name, c.recovery_attempts
FROM {s}.workflow_status c
LEFT JOIN {s}.workflow_input i ON i.workflow_uuid = c.workflow_uuid
WHERE c.status = 'PENDING' AND c.executor_id = $1::text AND c.owner_xid = $2::text
ORDER BY c.priority, c.created_at
)SQL";

// `mine` is the timestamp of version_name (new or existing); `top` the greatest timestamp among
// this application's and unclaimed versions as they were before this statement.
constexpr std::string_view kRegisterVersionSql = R"SQL(
WITH ins AS (
  INSERT INTO {s}.application_versions (
      version_id, version_name, version_timestamp, created_at, application_name)
  VALUES (gen_random_uuid()::text, $1::text, $3::bigint, $3::bigint, NULLIF($2::text, ''))
  ON CONFLICT DO NOTHING
  RETURNING version_timestamp
), mine AS (
  SELECT version_timestamp FROM ins
  UNION ALL
  SELECT version_timestamp FROM {s}.application_versions WHERE version_name = $1::text
)
SELECT (SELECT max(version_timestamp) FROM mine) AS mine,
       (SELECT max(version_timestamp) FROM {s}.application_versions
        WHERE application_name = NULLIF($2::text, '') OR application_name IS NULL) AS top
)SQL";

// Send without a checkpoint: the message is written when the destination exists.
// Send from outside a workflow. $6..$10 describe a receiver waiting in this process (NULL $6:
// none): its "DBOS.recv" checkpoint is inserted with this message as output, and the message
// marked consumed by it, when its step is free, it is not CANCELLED and no older message waits on
// the topic (FIFO); otherwise the message is inserted unconsumed.
constexpr std::string_view kSendSql = R"SQL(
WITH dest AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $2::text
), rck AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
      completed_at_epoch_ms, serialization, application_name)
  SELECT $2::text, $6::integer, $10::text, $4::text, $7::bigint, $8::bigint, 'portable_json',
         $9::text
  FROM dest
  WHERE $6::integer IS NOT NULL AND dest.status IS DISTINCT FROM 'CANCELLED'
    AND NOT EXISTS (SELECT 1 FROM {s}.notifications n
                    WHERE n.destination_uuid = $2::text AND n.topic = $3::text AND NOT n.consumed)
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING function_id
), msg AS (
  INSERT INTO {s}.notifications (
      message_uuid, destination_uuid, topic, message, created_at_epoch_ms, serialization,
      consumed, consumed_by_function_id)
  SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, 'portable_json',
         EXISTS (SELECT 1 FROM rck), (SELECT function_id FROM rck)
  FROM dest
  ON CONFLICT (message_uuid) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM dest), (SELECT count(*) FROM msg), (SELECT count(*) FROM rck)
)SQL";

// Send from a workflow: the sender's checkpoint ($6..$14) is inserted first and the message only
// together with it (the message INSERT reads the checkpoint's RETURNING), so a replayed or
// concurrent duplicate send writes nothing.
constexpr std::string_view kSendWithCheckpointSql = R"SQL(
WITH wf AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $6::text
), prior AS (
  SELECT function_name, output, error, child_workflow_id, started_at_epoch_ms,
         completed_at_epoch_ms, serialization
  FROM {s}.operation_outputs WHERE workflow_uuid = $6::text AND function_id = $7::integer
), dest AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $2::text
), ckpt AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $6::text, $7::integer, $8::text, $9::text, $10::text, $11::text, $12::bigint,
         $13::bigint, 'portable_json', $14::text
  FROM wf
  WHERE wf.status IS DISTINCT FROM 'CANCELLED' AND EXISTS (SELECT 1 FROM dest)
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING 1
), rck AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
      completed_at_epoch_ms, serialization, application_name)
  SELECT $2::text, $15::integer, $19::text, $4::text, $16::bigint, $17::bigint, 'portable_json',
         $18::text
  FROM dest
  WHERE $15::integer IS NOT NULL AND EXISTS (SELECT 1 FROM ckpt)
    AND dest.status IS DISTINCT FROM 'CANCELLED'
    AND NOT EXISTS (SELECT 1 FROM {s}.notifications n
                    WHERE n.destination_uuid = $2::text AND n.topic = $3::text AND NOT n.consumed)
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING function_id
), msg AS (
  INSERT INTO {s}.notifications (
      message_uuid, destination_uuid, topic, message, created_at_epoch_ms, serialization,
      consumed, consumed_by_function_id)
  SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, 'portable_json',
         EXISTS (SELECT 1 FROM rck), (SELECT function_id FROM rck)
  FROM ckpt
  ON CONFLICT (message_uuid) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ckpt), (SELECT count(*) FROM msg), (SELECT count(*) FROM wf),
       (SELECT status FROM wf), (SELECT count(*) FROM dest), (SELECT count(*) FROM rck),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization
FROM (SELECT 1) AS one LEFT JOIN prior p ON true
)SQL";

// Recv: locks the oldest unconsumed message of (workflow, topic), records the checkpoint with that
// message as output, and marks the message consumed only when the checkpoint was inserted.
// ctid breaks ties between messages sent in the same millisecond (never-updated rows stay in
// insertion order in practice).
constexpr std::string_view kConsumeMessageSql = R"SQL(
WITH wf AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), prior AS (
  SELECT function_name, output, error, child_workflow_id, started_at_epoch_ms,
         completed_at_epoch_ms, serialization
  FROM {s}.operation_outputs WHERE workflow_uuid = $1::text AND function_id = $2::integer
), oldest AS (
  SELECT n.message_uuid, n.message, n.serialization
  FROM {s}.notifications n
  WHERE n.destination_uuid = $1::text AND n.topic = $4::text AND NOT n.consumed
    AND NOT EXISTS (SELECT 1 FROM prior)
    AND EXISTS (SELECT 1 FROM wf WHERE wf.status IS DISTINCT FROM 'CANCELLED')
  ORDER BY n.created_at_epoch_ms, n.ctid
  LIMIT 1
  FOR UPDATE OF n
), msg AS (
  SELECT message_uuid, message, serialization FROM oldest
  WHERE serialization IS NULL OR serialization = ANY ($8::text[])
), ckpt AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $1::text, $2::integer, $3::text, msg.message, NULL, NULL, $5::bigint, $6::bigint,
         msg.serialization, $7::text
  FROM msg
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING output, serialization
), taken AS (
  UPDATE {s}.notifications n
  SET consumed = true, consumed_by_function_id = $2::integer
  FROM msg
  WHERE n.message_uuid = msg.message_uuid AND EXISTS (SELECT 1 FROM ckpt)
  RETURNING 1
)
SELECT (SELECT count(*) FROM ckpt), (SELECT output FROM ckpt), (SELECT count(*) FROM msg),
       (SELECT count(*) FROM taken), (SELECT count(*) FROM wf), (SELECT status FROM wf),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization, (SELECT serialization FROM ckpt),
       (SELECT count(*) FROM oldest), (SELECT serialization FROM oldest)
FROM (SELECT 1) AS one LEFT JOIN prior p ON true
)SQL";

// SetEvent. $4 says whether a checkpoint ($5..$13) comes with it. With one, the event rows are
// written only together with the checkpoint; without one, whenever the workflow exists. The
// NOTIFY is sent at commit.
constexpr std::string_view kSetEventSql = R"SQL(
WITH wf AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), prior AS (
  SELECT function_name, output, error, child_workflow_id, started_at_epoch_ms,
         completed_at_epoch_ms, serialization
  FROM {s}.operation_outputs
  WHERE $4::boolean AND workflow_uuid = $5::text AND function_id = $6::integer
), ckpt AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $5::text, $6::integer, $7::text, $8::text, $9::text, $10::text, $11::bigint,
         $12::bigint, 'portable_json', $13::text
  FROM wf
  WHERE $4::boolean AND wf.status IS DISTINCT FROM 'CANCELLED'
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING 1
), gate AS (
  SELECT 1 AS go FROM ckpt
  UNION ALL
  SELECT 1 FROM wf WHERE NOT $4::boolean
), ev AS (
  INSERT INTO {s}.workflow_events (workflow_uuid, key, value, serialization)
  SELECT $1::text, $2::text, $3::text, 'portable_json' FROM gate
  ON CONFLICT (workflow_uuid, key)
  DO UPDATE SET value = EXCLUDED.value, serialization = EXCLUDED.serialization
  RETURNING 1
), hist AS (
  INSERT INTO {s}.workflow_events_history (workflow_uuid, function_id, key, value, serialization)
  SELECT $1::text, $14::integer, $2::text, $3::text, 'portable_json' FROM gate
  ON CONFLICT (workflow_uuid, function_id, key)
  DO UPDATE SET value = EXCLUDED.value, serialization = EXCLUDED.serialization
  RETURNING 1
), note AS (
  SELECT pg_catalog.pg_notify('dbos_workflow_events_channel', $1::text || '::' || $2::text)
  FROM gate
)
SELECT (SELECT count(*) FROM gate), (SELECT count(*) FROM ev), (SELECT count(*) FROM note),
       (SELECT count(*) FROM wf), (SELECT status FROM wf),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization
FROM (SELECT 1) AS one LEFT JOIN prior p ON true
)SQL";

constexpr std::string_view kGetEventSql = R"SQL(
SELECT value, serialization FROM {s}.workflow_events
WHERE workflow_uuid = $1::text AND key = $2::text
)SQL";

constexpr std::string_view kCancelWorkflowSql = R"SQL(
WITH found AS (
  SELECT 1 FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), upd AS (
  UPDATE {s}.workflow_status
  SET status = 'CANCELLED', queue_name = NULL, deduplication_id = NULL,
      started_at_epoch_ms = NULL, completed_at = $2::bigint, updated_at = $2::bigint
  WHERE workflow_uuid = $1::text
    AND (status IS NULL OR status NOT IN ('SUCCESS', 'ERROR', 'CANCELLED'))
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM found) OR EXISTS (SELECT 1 FROM upd)
)SQL";

// $1 is a JSON array of workflow IDs.
constexpr std::string_view kFilterCancelledSql = R"SQL(
SELECT workflow_uuid FROM {s}.workflow_status
WHERE workflow_uuid IN (SELECT json_array_elements_text($1::json)) AND status = 'CANCELLED'
)SQL";

/// A named statement with its SQL (schema already substituted).
struct Statement {
  std::string name;
  std::string sql;
};

/// Reads InsertWorkflow columns (created, status, name, queue_name,
/// recovery_attempts, workflow_timeout_ms, workflow_deadline_epoch_ms).
WorkflowInsertResult ReadInsertResult(const PgResult& result) {
  WorkflowInsertResult out;
  out.created = result.Bool(0, 0);
  out.status = result.String(0, 1);
  out.name = result.OptString(0, 2);
  out.queue_name = result.OptString(0, 3);
  out.recovery_attempts = result.Int64(0, 4, 0);
  out.workflow_timeout_ms = result.OptInt64(0, 5);
  out.workflow_deadline_epoch_ms = result.OptInt64(0, 6);
  return out;
}

/// One row of a PgResult, read by column index (the row interface of core/outcomes.hpp).
struct PgRow {
  const PgResult& r;
  int row;
  std::string Text(int col) const { return r.String(row, col); }
  std::optional<std::string> OptText(int col) const { return r.OptString(row, col); }
  std::optional<int64_t> OptInt64(int col) const { return r.OptInt64(row, col); }
  int64_t Int64(int col) const { return r.Int64(row, col); }
};

/// Reads a step row whose columns start at `first` (core::ReadStepColumns order).
StepRow ReadStep(const PgResult& r, int row, int first, int function_id) {
  return core::ReadStepColumns(PgRow{r, row}, first, function_id);
}

/// The probe of a checkpointed statement: workflow found (count column), its status, and the
/// step row at `step_first` (NULL function_name when none).
core::StepProbe ReadProbe(const PgResult& r, int found_col, int status_col, int step_first,
                          int function_id) {
  core::StepProbe probe;
  probe.workflow_exists = r.Int64(0, found_col) > 0;
  probe.cancelled = probe.workflow_exists && r.Text(0, status_col) == "CANCELLED";
  if (!r.IsNull(0, step_first)) probe.step = ReadStep(r, 0, step_first, function_id);
  return probe;
}

/// The SystemDatabase over a pool of libpq connections.
class PostgresSystemDatabase final : public SystemDatabase {
 public:
  PostgresSystemDatabase(std::shared_ptr<Logger> logger, const std::string& schema,
                         ConnectionSpec spec, size_t pool_size,
                         std::chrono::milliseconds connect_timeout,
                         std::unique_ptr<PgConnection> first_connection)
      : logger_(std::move(logger)),
        quoted_schema_(pg::QuoteIdent(schema)),
        spec_(spec),
        connect_timeout_(connect_timeout),
        pool_(std::move(spec), pool_size, connect_timeout),
        insert_workflow_(Prepare("dbos_insert_workflow", kInsertWorkflowSql)),
        finish_workflow_(Prepare("dbos_finish_workflow", kFinishWorkflowSql)),
        mark_dead_letter_(Prepare("dbos_mark_dead_letter", kMarkDeadLetterSql)),
        get_workflow_(
            Prepare("dbos_get_workflow", core::SelectWorkflowSql("{s}.", "$1::text", true))),
        get_workflow_meta_(
            Prepare("dbos_get_workflow_meta", core::SelectWorkflowSql("{s}.", "$1::text", false))),
        record_step_(Prepare("dbos_record_step", kRecordStepSql)),
        list_steps_(Prepare("dbos_list_steps", kListStepsSql)),
        get_status_(Prepare("dbos_get_status", kGetStatusSql)),
        reenqueue_(Prepare("dbos_reenqueue", kReenqueueSql)),
        dequeue_(Prepare("dbos_dequeue", kDequeueSql)),
        claimed_by_token_(Prepare("dbos_claimed_by_token", kClaimedByTokenSql)),
        register_version_(Prepare("dbos_register_version", kRegisterVersionSql)),
        send_(Prepare("dbos_send", kSendSql)),
        send_with_checkpoint_(Prepare("dbos_send_checkpointed", kSendWithCheckpointSql)),
        consume_message_(Prepare("dbos_consume_message", kConsumeMessageSql)),
        set_event_(Prepare("dbos_set_event", kSetEventSql)),
        get_event_(Prepare("dbos_get_event", kGetEventSql)),
        cancel_workflow_(Prepare("dbos_cancel_workflow", kCancelWorkflowSql)),
        filter_cancelled_(Prepare("dbos_filter_cancelled", kFilterCancelledSql)) {
    pool_.Adopt(std::move(first_connection));
  }

  ~PostgresSystemDatabase() override { StopListening(); }

  WorkflowInsertResult InsertWorkflow(const WorkflowInsert& row) override {
    PgParams params;
    params.Text(row.workflow_uuid)
        .Text(row.status)
        .Text(row.name)
        .Text(row.class_name)
        .Text(row.config_name)
        .Text(row.authenticated_user)
        .Text(row.assumed_role)
        .Text(row.authenticated_roles)
        .Text(row.executor_id)
        .Text(row.application_version)
        .Text(row.application_id)
        .Text(row.application_name)
        .Text(row.queue_name)
        .Int(row.workflow_timeout_ms)
        .Int(row.workflow_deadline_epoch_ms)
        .Text(row.deduplication_id)
        .Int(row.priority)
        .Text(row.queue_partition_key)
        .Text(row.parent_workflow_id)
        .Text(row.inputs)
        .Text(row.serialization)
        .Text(row.creator_xid)
        .Int(row.now_ms);
    return Run(core::op::kInsertWorkflow, row.workflow_uuid, [&](PgConnection& conn, bool) {
      try {
        const PgResult result = Exec(conn, insert_workflow_, params);
        return ReadInsertResult(result);
      } catch (const PgError& e) {
        if (e.SqlState() == "23505" && e.Constraint() == "uq_workflow_status_dedup_id") {
          throw DBOSError(ErrorCode::QueueDeduplicated,
                          "workflow " + row.workflow_uuid + " was not enqueued: queue '" +
                              row.queue_name.value_or("") + "' already holds a workflow with " +
                              "deduplication ID '" + row.deduplication_id.value_or("") + "'",
                          row.workflow_uuid);
        }
        throw;
      }
    });
  }

  bool FinishWorkflow(const std::string& workflow_uuid, const std::string& status,
                      const std::optional<std::string>& output,
                      const std::optional<std::string>& error, int64_t now_ms) override {
    return Run(core::op::kFinishWorkflow, workflow_uuid, [&](PgConnection& conn, bool retry) {
      PgParams params;
      params.Text(workflow_uuid).Text(status).Text(output).Text(error).Int(now_ms).Bool(retry);
      return Exec(conn, finish_workflow_, params).Bool(0, 0);
    });
  }

  void MarkDeadLetter(const std::string& workflow_uuid, int64_t now_ms) override {
    PgParams params;
    params.Text(workflow_uuid).Int(now_ms);
    Run(core::op::kMarkDeadLetter, workflow_uuid,
        [&](PgConnection& conn, bool) { Exec(conn, mark_dead_letter_, params); });
  }

  std::optional<WorkflowRow> GetWorkflow(const std::string& workflow_uuid,
                                         bool load_values) override {
    PgParams params;
    params.Text(workflow_uuid);
    const Statement& statement = load_values ? get_workflow_ : get_workflow_meta_;
    return Run(core::op::kGetWorkflow, workflow_uuid,
               [&](PgConnection& conn, bool) -> std::optional<WorkflowRow> {
                 const PgResult result = Exec(conn, statement, params);
                 if (result.Rows() == 0) return std::nullopt;
                 return core::ReadWorkflowColumns(PgRow{result, 0});
               });
  }

  StepWriteResult RecordStep(const StepWrite& step) override {
    PgParams params;
    AddStepParams(params, step);
    return Run(core::op::kRecordStep, step.workflow_uuid, [&](PgConnection& conn, bool retry) {
      // A concurrent insert of the same step that commits while this statement runs makes
      // ON CONFLICT skip our row although `prior` (older snapshot) did not see it: run again,
      // and the second snapshot sees it.
      for (int pass = 0;; ++pass) {
        const PgResult r = Exec(conn, record_step_, params);
        if (r.Int64(0, 0) > 0) return StepWriteResult{};  // Inserted
        core::StepProbe probe = ReadProbe(r, 1, 2, 3, step.function_id);
        // After an in-doubt commit, our own row counts as written now.
        if (retry && probe.step && core::SameStep(*probe.step, step)) return StepWriteResult{};
        if (auto blocked = core::Blocked(std::move(probe))) return *blocked;
        if (pass >= 3) ThrowStepRace(step);
      }
    });
  }

  std::vector<StepRow> ListSteps(const std::string& workflow_uuid) override {
    PgParams params;
    params.Text(workflow_uuid);
    return Run(core::op::kListSteps, workflow_uuid, [&](PgConnection& conn, bool) {
      const PgResult r = Exec(conn, list_steps_, params);
      std::vector<StepRow> steps;
      steps.reserve(static_cast<size_t>(r.Rows()));
      for (int i = 0; i < r.Rows(); ++i) {
        steps.push_back(ReadStep(r, i, 1, static_cast<int>(r.Int64(i, 0))));
      }
      return steps;
    });
  }

  std::optional<std::string> GetWorkflowStatusString(const std::string& workflow_uuid) override {
    PgParams params;
    params.Text(workflow_uuid);
    return Run(core::op::kGetWorkflowStatusString, workflow_uuid,
               [&](PgConnection& conn, bool) -> std::optional<std::string> {
                 const PgResult r = Exec(conn, get_status_, params);
                 if (r.Rows() == 0) return std::nullopt;
                 return r.String(0, 0);
               });
  }

  std::vector<std::string> ReenqueuePendingWorkflows(const std::vector<std::string>& executor_ids,
                                                     const std::string& application_version,
                                                     const std::string& application_name,
                                                     int64_t now_ms) override {
    if (executor_ids.empty()) return {};
    const std::string ids = pg::TextArrayLiteral(executor_ids);
    const std::string queue = kInternalQueueName;
    PgParams params;
    params.Text(ids).Text(application_version).Text(queue).Int(now_ms).Text(application_name);
    return Run(core::op::kReenqueuePendingWorkflows, "", [&](PgConnection& conn, bool) {
      const PgResult r = Exec(conn, reenqueue_, params);
      std::vector<std::string> out;
      out.reserve(static_cast<size_t>(r.Rows()));
      for (int i = 0; i < r.Rows(); ++i) out.push_back(r.String(i, 0));
      return out;
    });
  }

  std::vector<DequeuedWorkflow> DequeueWorkflows(const DequeueRequest& request) override {
    if (request.max_tasks < 0 || request.workflow_names.empty()) return {};
    const std::string names = pg::TextArrayLiteral(request.workflow_names);
    const std::string token = util::NewUuid();
    PgParams params;
    params.Text(request.queue_name)
        .Text(request.executor_id)
        .Text(request.application_version)
        .Bool(request.accept_unversioned);
    if (request.max_tasks == 0) {
      params.Null();  // LIMIT NULL: no limit
    } else {
      params.Int(request.max_tasks);
    }
    params.Int(request.now_ms).Text(request.application_name).Text(names).Text(token);
    PgParams by_token;
    by_token.Text(request.executor_id).Text(token);
    return Run(core::op::kDequeueWorkflows, "", [&](PgConnection& conn, bool retry) {
      // After an in-doubt commit the rows an earlier attempt claimed carry the token.
      std::optional<PgResult> earlier;
      if (retry) earlier.emplace(Exec(conn, claimed_by_token_, by_token));
      const PgResult r =
          earlier && earlier->Rows() > 0 ? std::move(*earlier) : Exec(conn, dequeue_, params);
      std::vector<DequeuedWorkflow> out;
      out.reserve(static_cast<size_t>(r.Rows()));
      for (int i = 0; i < r.Rows(); ++i) out.push_back(core::ReadDequeuedColumns(PgRow{r, i}));
      return out;
    });
  }

  bool RegisterApplicationVersion(const std::string& version_name,
                                  const std::string& application_name, int64_t now_ms) override {
    PgParams params;
    params.Text(version_name).Text(application_name).Int(now_ms);
    return Run(core::op::kRegisterApplicationVersion, "", [&](PgConnection& conn, bool) {
      const PgResult r = Exec(conn, register_version_, params);
      if (r.IsNull(0, 1)) return true;  // no version of this app (or unclaimed) before
      return r.Int64(0, 0) >= r.Int64(0, 1);
    });
  }

  SendResult Send(const MessageWrite& message) override {
    const std::string& wf_id = message.checkpoint ? message.checkpoint->workflow_uuid : "";
    PgParams params;
    params.Text(message.message_uuid)
        .Text(message.destination_uuid)
        .Text(message.topic)
        .Text(message.message)
        .Int(message.now_ms);
    if (message.checkpoint) AddStepParams(params, *message.checkpoint);
    AddReceiverParams(params, message.deliver_to);
    return Run(core::op::kSend, wf_id, [&](PgConnection& conn, bool retry) {
      for (int pass = 0;; ++pass) {
        try {
          core::SendProbe probe;
          if (!message.checkpoint) {
            const PgResult r = Exec(conn, send_, params);
            probe.destination_exists = r.Int64(0, 0) > 0;
            if (auto blocked = core::SendBlocked(probe, message.checkpoint, retry)) {
              return *blocked;
            }
            return r.Int64(0, 2) > 0 ? SendResult::Delivered : SendResult::Sent;
          }
          const PgResult r = Exec(conn, send_with_checkpoint_, params);
          if (r.Int64(0, 0) > 0) {
            return r.Int64(0, 5) > 0 ? SendResult::Delivered : SendResult::Sent;
          }
          probe.sender = ReadProbe(r, 2, 3, 6, message.checkpoint->function_id);
          probe.destination_exists = r.Int64(0, 4) > 0;
          if (auto blocked = core::SendBlocked(probe, message.checkpoint, retry)) return *blocked;
        } catch (const PgError& e) {
          // The destination was deleted between the existence check and the insert.
          if (e.SqlState() == "23503") return SendResult::DestinationMissing;
          throw;
        }
        // A concurrent insert of the same checkpoint committed during the statement: run again.
        if (pass >= 3) ThrowStepRace(*message.checkpoint);
      }
    });
  }

  ConsumeResult ConsumeMessage(const std::string& topic, const StepWrite& checkpoint,
                               const std::vector<std::string>& readable) override {
    const std::string readable_array = pg::TextArrayLiteral(readable);
    PgParams params;
    params.Text(checkpoint.workflow_uuid)
        .Int(checkpoint.function_id)
        .Text(checkpoint.function_name)
        .Text(topic)
        .Int(checkpoint.started_at_epoch_ms)
        .Int(checkpoint.completed_at_epoch_ms)
        .Text(checkpoint.application_name)
        .Text(readable_array);
    return Run(core::op::kConsumeMessage, checkpoint.workflow_uuid, [&](PgConnection& conn, bool) {
      for (int pass = 0;; ++pass) {
        const PgResult r = Exec(conn, consume_message_, params);
        ConsumeResult out;
        if (r.Int64(0, 0) > 0) {
          out.message = r.OptString(0, 1);
          out.serialization = r.OptString(0, 13);
          return out;
        }
        if (auto blocked = core::Blocked(ReadProbe(r, 4, 5, 6, checkpoint.function_id))) {
          out.kind = blocked->kind;
          out.existing = std::move(blocked->existing);
          return out;
        }
        if (r.Int64(0, 2) == 0) {
          // Nothing written: no message waiting, or the oldest one cannot be decoded here.
          if (r.Int64(0, 14) > 0) out.unreadable_serialization = r.OptString(0, 15);
          return out;
        }
        // A message was found but a concurrent checkpoint at this step won: run again.
        if (pass >= 3) ThrowStepRace(checkpoint);
      }
    });
  }

  StepWriteResult SetEvent(const EventWrite& event) override {
    PgParams params;
    params.Text(event.workflow_uuid)
        .Text(event.key)
        .Text(event.value)
        .Bool(event.checkpoint.has_value());
    if (event.checkpoint) {
      AddStepParams(params, *event.checkpoint);
    } else {
      for (int i = 0; i < 9; ++i) params.Null();
    }
    params.Int(event.function_id);
    return Run(core::op::kSetEvent, event.workflow_uuid, [&](PgConnection& conn, bool retry) {
      for (int pass = 0;; ++pass) {
        const PgResult r = Exec(conn, set_event_, params);
        if (r.Int64(0, 0) > 0) return StepWriteResult{};  // Inserted
        const int function_id = event.checkpoint ? event.checkpoint->function_id : 0;
        core::StepProbe probe = ReadProbe(r, 3, 4, 5, function_id);
        if (retry && probe.step && core::SameStep(*probe.step, *event.checkpoint)) {
          return StepWriteResult{};
        }
        if (auto blocked = core::Blocked(std::move(probe))) return *blocked;
        if (pass >= 3) ThrowStepRace(*event.checkpoint);
      }
    });
  }

  std::optional<StoredValue> GetEvent(const std::string& workflow_uuid,
                                      const std::string& key) override {
    PgParams params;
    params.Text(workflow_uuid).Text(key);
    return Run(core::op::kGetEvent, workflow_uuid,
               [&](PgConnection& conn, bool) -> std::optional<StoredValue> {
                 const PgResult r = Exec(conn, get_event_, params);
                 if (r.Rows() == 0 || r.IsNull(0, 0)) return std::nullopt;
                 return StoredValue{r.String(0, 0), r.OptString(0, 1)};
               });
  }

  bool CancelWorkflow(const std::string& workflow_uuid, int64_t now_ms) override {
    PgParams params;
    params.Text(workflow_uuid).Int(now_ms);
    return Run(core::op::kCancelWorkflow, workflow_uuid, [&](PgConnection& conn, bool) {
      return Exec(conn, cancel_workflow_, params).Bool(0, 0);
    });
  }

  std::vector<std::string> FilterCancelled(
      const std::vector<std::string>& workflow_uuids) override {
    if (workflow_uuids.empty()) return {};
    const std::string ids = nlohmann::json(workflow_uuids).dump();
    PgParams params;
    params.Text(ids);
    return Run(core::op::kFilterCancelled, "", [&](PgConnection& conn, bool) {
      const PgResult r = Exec(conn, filter_cancelled_, params);
      std::vector<std::string> out;
      for (int i = 0; i < r.Rows(); ++i) out.push_back(r.String(i, 0));
      return out;
    });
  }

  bool StartListening(NotificationCallback callback) override {
    std::lock_guard lock(listener_mutex_);
    if (listener_) return true;
    ConnectionSpec spec = spec_;  // carries the keepalives (see WithKeepalives)
    auto listener = std::make_unique<pg::PgListener>(
        std::move(spec), std::vector<std::string>{kNotificationsChannel, kWorkflowEventsChannel},
        std::move(callback), logger_, connect_timeout_);
    listener->Start();
    listener_ = std::move(listener);
    return true;
  }

  void StopListening() override {
    std::unique_ptr<pg::PgListener> listener;
    {
      std::lock_guard lock(listener_mutex_);
      listener = std::move(listener_);
    }
    // Destroying it joins the thread, outside the lock.
  }

 private:
  /// Appends the nine checkpoint parameters: workflow_uuid, function_id, function_name, output,
  /// error, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms, application_name.
  static void AddStepParams(PgParams& params, const StepWrite& step) {
    params.Text(step.workflow_uuid)
        .Int(step.function_id)
        .Text(step.function_name)
        .Text(step.output)
        .Text(step.error)
        .Text(step.child_workflow_id)
        .Int(step.started_at_epoch_ms)
        .Int(step.completed_at_epoch_ms)
        .Text(step.application_name);
  }

  /// The receiver parameters of the Send statements (all NULL when there is none).
  static void AddReceiverParams(PgParams& params, const std::optional<StepWrite>& receiver) {
    if (!receiver) {
      params.Null().Null().Null().Null().Null();
      return;
    }
    params.Int(receiver->function_id)
        .Int(receiver->started_at_epoch_ms)
        .Int(receiver->completed_at_epoch_ms)
        .Text(receiver->application_name)
        .Text(receiver->function_name);
  }

  /// Gives up on a step write that keeps losing races with another writer of the same step.
  [[noreturn]] static void ThrowStepRace(const StepWrite& step) {
    throw DBOSError(ErrorCode::ConflictingID,
                    "step " + std::to_string(step.function_id) + " of workflow " +
                        step.workflow_uuid +
                        " could neither be recorded nor read back; another executor may be "
                        "running this workflow",
                    step.workflow_uuid);
  }

  /// Builds a named statement with the schema substituted.
  Statement Prepare(const char* name, std::string_view sql) const {
    return Statement{name, WithSchema(sql, quoted_schema_)};
  }

  /// Runs a prepared statement on `conn` (through the fault injector when one is installed).
  static PgResult Exec(PgConnection& conn, const Statement& statement, const PgParams& params) {
    if (testing::FaultInjectionOn()) return ExecWithFault(conn, statement, params);
    return conn.ExecPrepared(statement.name, statement.sql, params);
  }

  /// Exec with the fault the installed injector picks for this statement.
  static PgResult ExecWithFault(PgConnection& conn, const Statement& statement,
                                const PgParams& params) {
    using Kind = testing::Fault::Kind;
    const testing::Fault fault =
        testing::NextFault({"postgres", t_operation, statement.name.c_str()});
    switch (fault.kind) {
      case Kind::kNone:
        break;
      case Kind::kBeforeExecute:
        if (fault.sqlstate.empty()) {
          ::shutdown(conn.Socket(), SHUT_RDWR);
          throw PgError("injected fault: connection lost before the statement ran", "", "", true);
        }
        throw PgError("injected fault: SQLSTATE " + fault.sqlstate, fault.sqlstate, "", false);
      case Kind::kAfterCommit: {
        // Every statement here runs in autocommit: once it returns, it is committed.
        PgResult committed = conn.ExecPrepared(statement.name, statement.sql, params);
        ::shutdown(conn.Socket(), SHUT_RDWR);
        throw PgError("injected fault: connection lost after the statement committed", "", "",
                      true);
      }
      case Kind::kDropConnection:
        ::shutdown(conn.Socket(), SHUT_RDWR);  // libpq finds the connection gone mid-statement
        break;
    }
    return conn.ExecPrepared(statement.name, statement.sql, params);
  }

  /// The PostgreSQL dialect of the shared retry loop (see core/run.hpp).
  struct Dialect {
    using Error = PgError;
    PostgresSystemDatabase* db;
    static bool IsTransient(const PgError& e) { return e.IsTransient(); }
    static std::string Code(const PgError& e) {
      return e.SqlState().empty() ? std::string("connection") : "SQLSTATE " + e.SqlState();
    }
    void AfterTransient(const PgError& e) const {
      // The server probably restarted or failed over: the idle connections are stale too.
      if (e.ConnectionLost() || e.SqlState().compare(0, 2, "08") == 0 ||
          e.SqlState().compare(0, 3, "57P") == 0 || e.SqlState() == "25006") {
        db->pool_.DiscardIdle();
      }
    }
    Logger& Log() const { return *db->logger_; }
    static const char* Name() { return "PostgreSQL"; }
    static core::Backoff NewBackoff() { return core::Backoff(kInitialBackoff, kMaxBackoff); }
    bool Stopped() const { return db->RetryingStopped(); }
  };

  /// Runs `fn(connection, is_retry)` on a pooled connection in the shared retry loop.
  template <typename Fn>
  auto Run(const core::Operation& operation, const std::string& workflow_id, Fn&& fn)
      -> decltype(fn(std::declval<PgConnection&>(), false)) {
    Dialect dialect{this};
    return core::RunOperation(dialect, operation, workflow_id, [&](bool retry) {
      t_operation = operation.name;
      PgPool::Lease lease = pool_.Acquire();
      return fn(*lease, retry);
    });
  }

  std::shared_ptr<Logger> logger_;
  std::string quoted_schema_;
  const ConnectionSpec spec_;  // for the listener connection
  const std::chrono::milliseconds connect_timeout_;
  PgPool pool_;
  const Statement insert_workflow_;
  const Statement finish_workflow_;
  const Statement mark_dead_letter_;
  const Statement get_workflow_;
  const Statement get_workflow_meta_;
  const Statement record_step_;
  const Statement list_steps_;
  const Statement get_status_;
  const Statement reenqueue_;
  const Statement dequeue_;
  const Statement claimed_by_token_;
  const Statement register_version_;
  const Statement send_;
  const Statement send_with_checkpoint_;
  const Statement consume_message_;
  const Statement set_event_;
  const Statement get_event_;
  const Statement cancel_workflow_;
  const Statement filter_cancelled_;
  std::mutex listener_mutex_;
  std::unique_ptr<pg::PgListener> listener_;  // guarded by listener_mutex_; destroyed first
};

// ---- Startup ----

/// Remaining time until `deadline`, in whole milliseconds (0 when past).
int64_t RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max<int64_t>(left.count(), 0);
}

/// What to check, by failure kind, appended to connection error messages.
const char* ConnectHint(ConnectFailure reason) {
  switch (reason) {
    case ConnectFailure::kRejected:
      return "Check the user name, password and database name in the system database URL, and "
             "that pg_hba.conf allows this client.";
    case ConnectFailure::kBadParameters:
      return "Fix the connection parameter in the system database URL.";
    case ConnectFailure::kNetwork:
    case ConnectFailure::kServerUnavailable:
    case ConnectFailure::kTimeout:
      break;
  }
  return "Check that PostgreSQL is running and reachable at this host and port, or raise the "
         "startup timeout.";
}

/// When `database` does not exist, creates it through the maintenance database. Returns true when
/// the database was created (by us or by a concurrent process), false when it already existed or
/// the maintenance database could not be reached (the original error then stands).
bool CreateDatabaseIfMissing(const ConnectionSpec& spec, const std::string& database,
                             Clock::time_point deadline, Logger& logger) {
  if (database.empty() || database == kMaintenanceDatabase) return false;
  ConnectionSpec maintenance_spec = spec;
  maintenance_spec.Set("dbname", kMaintenanceDatabase);
  std::unique_ptr<PgConnection> admin;
  try {
    admin = PgConnection::Connect(maintenance_spec, deadline);
  } catch (const PgConnectError&) {
    return false;
  }
  try {
    const PgResult exists = admin->ExecParams(
        "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1::text", PgParams().Text(database));
    if (exists.Rows() > 0) return false;
    logger.Log(LogLevel::Info,
               "DBOS system database \"" + database + "\" does not exist; creating it");
    std::chrono::milliseconds backoff = kInitialBackoff;
    while (true) {
      try {
        admin->Exec("CREATE DATABASE " + pg::QuoteIdent(database));
        return true;
      } catch (const PgError& e) {
        // 42P04: created concurrently. 23505: concurrent creation raced on pg_database.
        if (e.SqlState() == "42P04" || e.SqlState() == "23505") return true;
        // 55006: the template database is briefly in use by another session.
        if (e.SqlState() != "55006" || RemainingMs(deadline) <= backoff.count()) throw;
        std::this_thread::sleep_for(Jitter(backoff));
        backoff = std::min(backoff * 2, kMaxBackoff);
      }
    }
  } catch (const PgError& e) {
    ThrowInit(
        "the system database \"" + database + "\" does not exist and could not be created (" +
        (e.SqlState().empty() ? std::string("connection error") : "SQLSTATE " + e.SqlState()) +
        "): " +
        Sentences(spec.Redact(e.what()),
                  "Create it yourself (CREATE DATABASE) or grant the user the "
                  "CREATEDB privilege."));
  }
}

/// Connects for startup: retries unreachable or starting servers until `deadline`, creates a
/// missing database, and turns every failure into DBOSError(Initialization).
std::unique_ptr<PgConnection> ConnectForStartup(const ConnectionSpec& spec,
                                                Clock::time_point deadline,
                                                std::chrono::milliseconds timeout, Logger& logger) {
  std::chrono::milliseconds backoff = kInitialBackoff;
  bool created = false;
  std::string last_error;  // the last failure other than running out of time
  while (true) {
    try {
      return PgConnection::Connect(spec, deadline);
    } catch (const PgConnectError& e) {
      if (e.Reason() == ConnectFailure::kRejected && !created &&
          CreateDatabaseIfMissing(spec, e.Database(), deadline, logger)) {
        created = true;
        continue;
      }
      const std::string where =
          "could not connect to the DBOS system database (" + spec.Describe() + "): ";
      if (!e.IsTransient()) ThrowInit(Sentences(where + e.what(), ConnectHint(e.Reason())));
      if (e.Reason() != ConnectFailure::kTimeout || last_error.empty()) last_error = e.what();
      const int64_t remaining = RemainingMs(deadline);
      if (e.Reason() == ConnectFailure::kTimeout || remaining <= 0) {
        ThrowInit(Sentences(where + "gave up after the startup timeout of " +
                                std::to_string(timeout.count()) + " ms; last error: " + last_error,
                            ConnectHint(e.Reason())));
      }
      // Sleep at most until the deadline, so the last attempt happens right before it.
      std::this_thread::sleep_for(std::min(Jitter(backoff), std::chrono::milliseconds(remaining)));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }
}

}  // namespace

std::unique_ptr<SystemDatabase> OpenPostgres(const Options& options) {
  std::shared_ptr<Logger> logger =
      options.logger ? options.logger : std::make_shared<SilentLogger>();
  const std::chrono::milliseconds timeout =
      options.startup_timeout.count() > 0 ? options.startup_timeout : kDefaultStartupTimeout;
  const Clock::time_point deadline = Clock::now() + timeout;

  const std::string& schema = options.schema;
  if (schema.empty() || schema.size() > 63 || schema.find('\0') != std::string::npos) {
    ThrowInit("invalid PostgreSQL schema name \"" + schema +
              "\" for the DBOS system database: use a non-empty name of at most 63 bytes");
  }

  ConnectionSpec spec;
  try {
    spec = ConnectionSpec::Parse(options.url);
  } catch (const std::invalid_argument& e) {
    ThrowInit(std::string("the system database URL is malformed: ") + e.what() +
              ". Use postgres://user:password@host:port/database or a libpq key=value string.");
  }
  if (!options.app_name.empty()) spec.Set("application_name", options.app_name);
  pg::WithKeepalives(spec);
  spec.Set("client_encoding", "UTF8");
  // libpq's own bound on each connection attempt (whole seconds, at least 2); the loop below also
  // enforces the overall deadline to the millisecond.
  spec.SetDefault("connect_timeout",
                  std::to_string(std::max<int64_t>(2, (timeout.count() + 999) / 1000)));

  std::unique_ptr<PgConnection> conn = ConnectForStartup(spec, deadline, timeout, *logger);
  if (conn->ServerVersion() < kMinServerVersion) {
    ThrowInit("the DBOS system database needs PostgreSQL 13 or later; the server reports version " +
              std::to_string(conn->ServerVersion()));
  }

  std::chrono::milliseconds backoff = kInitialBackoff;
  while (true) {
    try {
      pg::EnsureSchema(*conn, schema, *logger, deadline);
      break;
    } catch (const PgError& e) {
      const std::string what = "could not create or check the DBOS system database schema " +
                               pg::QuoteIdent(schema) + " (" + spec.Describe() + ")";
      if (e.IsTransient() && RemainingMs(deadline) > backoff.count()) {
        std::this_thread::sleep_for(Jitter(backoff));
        backoff = std::min(backoff * 2, kMaxBackoff);
        conn = ConnectForStartup(spec, deadline, timeout, *logger);
        continue;
      }
      if (e.SqlState() == "57014") {
        ThrowInit(what + ": timed out after the startup timeout of " +
                  std::to_string(timeout.count()) +
                  " ms (another process may be holding the schema lock)");
      }
      ThrowInit(what + (e.SqlState().empty() ? "" : " (SQLSTATE " + e.SqlState() + ")") + ": " +
                Sentences(spec.Redact(e.what()),
                          "Check that the user may create schemas and tables in this database."));
    }
  }

  const size_t pool_size =
      options.pool_size > 0 ? static_cast<size_t>(options.pool_size) : kDefaultPoolSize;
  return std::make_unique<PostgresSystemDatabase>(logger, schema, std::move(spec), pool_size,
                                                  timeout, std::move(conn));
}

}  // namespace dbos::sysdb
