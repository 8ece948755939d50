// SQLite statements. A write Script runs as one BEGIN IMMEDIATE transaction: the writer holds the
// write lock from its first statement, so a Script first reads what blocks the write (its gate and
// result: the same probe columns PostgreSQL computes from its snapshot) and then writes
// unconditionally; when the gate is closed nothing is written. RecordStep, the hot path, turns
// this around: its insert is the gate, and the probe runs only when the insert did not happen.
// Parameters are numbered as in core/statements.hpp; a statement may leave some unused.
#include "sysdb/sqlite/sqlite_statements.hpp"

#include <string>

#include "sysdb/core/workflow_rows.hpp"
#include "sysdb/sqlite/sqlite_schedule_statements.hpp"

namespace dbos::sysdb::sqlite {
namespace {

constexpr const char* kInsertWorkflowSql = R"sql(
INSERT INTO workflow_status (
    workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
    authenticated_roles, executor_id, application_version, application_id, application_name,
    queue_name, workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority,
    queue_partition_key, parent_workflow_id, serialization, creator_xid, created_at, updated_at,
    recovery_attempts, delay_until_epoch_ms, is_debounced, debounce_deadline_epoch_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?21,
        ?22, ?23, ?23, CASE WHEN ?2 IN ('ENQUEUED', 'DELAYED') THEN 0 ELSE 1 END, ?24, ?25, ?26)
ON CONFLICT (workflow_uuid) DO UPDATE SET
    updated_at = excluded.updated_at,
    executor_id = CASE WHEN excluded.status IN ('ENQUEUED', 'DELAYED')
                       THEN workflow_status.executor_id ELSE excluded.executor_id END
RETURNING creator_xid IS ?22, status, name, queue_name, recovery_attempts, workflow_timeout_ms,
          workflow_deadline_epoch_ms)sql";

// Only by the call that created the row (an existing row keeps its input; the upsert above still
// refreshes updated_at and executor_id, so this is no gate).
constexpr const char* kInsertInputSql = R"sql(
INSERT INTO workflow_input (workflow_uuid, inputs, retention_timestamp)
SELECT ?1, ?20, ?23
WHERE (SELECT creator_xid FROM workflow_status WHERE workflow_uuid = ?1) IS ?22
ON CONFLICT (workflow_uuid) DO NOTHING)sql";

constexpr const char* kFinishWorkflowSql = R"sql(
UPDATE workflow_status
SET status = ?2, completed_at = ?5, updated_at = ?5, deduplication_id = NULL,
    serialization = 'portable_json'
WHERE workflow_uuid = ?1 AND status = 'PENDING'
RETURNING 1)sql";

constexpr const char* kUpsertOutputSql = R"sql(
INSERT INTO workflow_output (workflow_uuid, output, error, retention_timestamp)
VALUES (?1, ?3, ?4, ?5)
ON CONFLICT (workflow_uuid) DO UPDATE SET output = excluded.output, error = excluded.error)sql";

constexpr const char* kFinishedAsSql = R"sql(
SELECT 1 FROM workflow_status WHERE workflow_uuid = ?1 AND status = ?2 AND completed_at = ?3)sql";

constexpr const char* kMarkDeadLetterSql = R"sql(
UPDATE workflow_status
SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', deduplication_id = NULL,
    started_at_epoch_ms = NULL, queue_name = NULL, updated_at = ?2
WHERE workflow_uuid = ?1 AND status = 'PENDING')sql";

// The gate of RecordStep: the workflow exists, is not CANCELLED, and the step is free.
constexpr const char* kRecordStepProbeSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL AND ws.status IS NOT 'CANCELLED'
           AND oo.function_name IS NULL,
       ws.workflow_uuid IS NOT NULL, ws.status, oo.function_name, oo.output, oo.error,
       oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms, oo.serialization
FROM (SELECT ?1 AS id, ?2 AS function_id) AS k
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON oo.workflow_uuid = k.id AND oo.function_id = k.function_id)sql";

// RecordStep in one statement on the hot path: the insert is its own gate and returns the result
// row of an inserted checkpoint (the probe columns are not needed then). When it inserts nothing
// (workflow missing or CANCELLED, step taken), the probe above runs as the result instead.
constexpr const char* kInsertStepSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'portable_json', ?9
WHERE EXISTS (SELECT 1 FROM workflow_status
              WHERE workflow_uuid = ?1 AND status IS NOT 'CANCELLED')
ON CONFLICT (workflow_uuid, function_id) DO NOTHING
RETURNING 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)sql";

constexpr const char* kListStepsSql = R"sql(
SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
       completed_at_epoch_ms, serialization
FROM operation_outputs WHERE workflow_uuid = ?1 ORDER BY function_id)sql";

// The steps of many workflows at once (ReadCoalescer), ordered as kListStepsSql per workflow.
constexpr const char* kListStepsOfManySql = R"sql(
SELECT workflow_uuid, function_id, function_name, output, error, child_workflow_id,
       started_at_epoch_ms, completed_at_epoch_ms, serialization
FROM operation_outputs WHERE workflow_uuid IN (SELECT value FROM json_each(?1))
ORDER BY workflow_uuid, function_id)sql";

constexpr const char* kGetStatusSql = "SELECT status FROM workflow_status WHERE workflow_uuid = ?1";

constexpr const char* kReenqueueSql = R"sql(
UPDATE workflow_status
SET status = 'ENQUEUED', queue_name = COALESCE(NULLIF(queue_name, ''), ?3),
    started_at_epoch_ms = NULL, updated_at = ?4
WHERE status = 'PENDING' AND executor_id IN (SELECT value FROM json_each(?1))
  AND application_version = ?2 AND (application_name IS NULL OR application_name = ?5)
RETURNING workflow_uuid)sql";

// A lock-free look (on a reader) before claiming, so polling an idle queue never takes the write
// lock away from the checkpoints on the hot path. The redundant "status IN (...)" term lets
// SQLite use the partial in-flight index.
constexpr const char* kHasCandidatesSql = R"sql(
SELECT EXISTS (
    SELECT 1 FROM workflow_status
    WHERE queue_name = ?1 AND status IN ('ENQUEUED', 'PENDING') AND status = 'ENQUEUED'
      AND (application_version = ?3 OR (?4 AND application_version IS NULL))
      AND (application_name IS NULL OR application_name = ?7)
      AND name IN (SELECT value FROM json_each(?8))))sql";

// Claims in one statement: the inner SELECT picks the candidates in queue order, the UPDATE claims
// them (RETURNING order is unspecified; the caller sorts by priority and created_at).
// updated_at only moves forward: see the PostgreSQL statement (a resume's in-doubt retry).
constexpr const char* kDequeueSql = R"sql(
UPDATE workflow_status
SET status = 'PENDING', executor_id = ?2, application_version = ?3,
    started_at_epoch_ms = ?6, updated_at = MAX(?6, COALESCE(updated_at, 0)), recovery_attempts = COALESCE(recovery_attempts, 0) + 1,
    workflow_deadline_epoch_ms = COALESCE(workflow_deadline_epoch_ms, ?6 + workflow_timeout_ms),
    owner_xid = ?9
WHERE status = 'ENQUEUED' AND workflow_uuid IN (
    SELECT workflow_uuid FROM workflow_status
    WHERE queue_name = ?1 AND status IN ('ENQUEUED', 'PENDING') AND status = 'ENQUEUED'
      AND (application_version = ?3 OR (?4 AND application_version IS NULL))
      AND (application_name IS NULL OR application_name = ?7)
      AND name IN (SELECT value FROM json_each(?8))
    ORDER BY priority, created_at
    LIMIT COALESCE(?5, -1))
RETURNING workflow_uuid, name,
    COALESCE((SELECT wi.inputs FROM workflow_input AS wi
              WHERE wi.workflow_uuid = workflow_status.workflow_uuid), inputs),
    serialization, authenticated_user, assumed_role, authenticated_roles,
    workflow_deadline_epoch_ms, queue_name, recovery_attempts, priority, created_at,
    EXISTS (SELECT 1 FROM operation_outputs AS oo
            WHERE oo.workflow_uuid = workflow_status.workflow_uuid))sql";

constexpr const char* kClaimedByTokenSql = R"sql(
SELECT workflow_uuid, name,
    COALESCE((SELECT wi.inputs FROM workflow_input AS wi
              WHERE wi.workflow_uuid = workflow_status.workflow_uuid), inputs),
    serialization, authenticated_user, assumed_role, authenticated_roles,
    workflow_deadline_epoch_ms, queue_name, recovery_attempts, priority, created_at,
    EXISTS (SELECT 1 FROM operation_outputs AS oo
            WHERE oo.workflow_uuid = workflow_status.workflow_uuid)
FROM workflow_status
WHERE status = 'PENDING' AND executor_id = ?1 AND owner_xid = ?2)sql";

constexpr const char* kInsertVersionSql = R"sql(
INSERT INTO application_versions (
    version_id, version_name, version_timestamp, created_at, application_name)
VALUES (?4, ?1, ?3, ?3, NULLIF(?2, ''))
ON CONFLICT DO NOTHING)sql";

// After the insert: ours is the latest when none of this app's (or unclaimed) is greater.
constexpr const char* kVersionTimestampsSql = R"sql(
SELECT (SELECT version_timestamp FROM application_versions WHERE version_name = ?1),
       (SELECT MAX(version_timestamp) FROM application_versions
        WHERE application_name = NULLIF(?2, '') OR application_name IS NULL))sql";

// Send from outside a workflow ($6..$10: a receiver waiting in this process). The gate is the
// destination; the receiver's checkpoint is written first (when its step is free, it is not
// CANCELLED, no older message waits on the topic and this message is new), and the message is
// inserted consumed by it exactly when that insert happened (changes() of the statement before).
constexpr const char* kSendProbeSql = R"sql(
SELECT dest.found, NOT EXISTS (SELECT 1 FROM notifications WHERE message_uuid = ?1),
       ?6 IS NOT NULL AND dest.open
           AND NOT EXISTS (SELECT 1 FROM notifications WHERE message_uuid = ?1)
           AND NOT EXISTS (SELECT 1 FROM notifications
                           WHERE destination_uuid = ?2 AND topic = ?3 AND consumed = 0)
           AND NOT EXISTS (SELECT 1 FROM operation_outputs
                           WHERE workflow_uuid = ?2 AND function_id = ?6)
FROM (SELECT EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?2) AS found,
             EXISTS (SELECT 1 FROM workflow_status
                     WHERE workflow_uuid = ?2 AND status IS NOT 'CANCELLED') AS open) AS dest)sql";

constexpr const char* kSendReceiverCheckpointSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
    completed_at_epoch_ms, serialization, application_name)
SELECT ?2, ?6, ?10, ?4, ?7, ?8, 'portable_json', ?9
WHERE ?6 IS NOT NULL
  AND EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?2 AND status IS NOT 'CANCELLED')
  AND NOT EXISTS (SELECT 1 FROM notifications WHERE message_uuid = ?1)
  AND NOT EXISTS (SELECT 1 FROM notifications
                  WHERE destination_uuid = ?2 AND topic = ?3 AND consumed = 0)
  AND NOT EXISTS (SELECT 1 FROM operation_outputs WHERE workflow_uuid = ?2 AND function_id = ?6))sql";

// The same message_uuid sent again (a retried send with an idempotency key) is delivered once.
constexpr const char* kSendMessageSql = R"sql(
INSERT INTO notifications (
    message_uuid, destination_uuid, topic, message, created_at_epoch_ms, serialization, consumed,
    consumed_by_function_id)
SELECT ?1, ?2, ?3, ?4, ?5, 'portable_json', changes() > 0,
       CASE WHEN changes() > 0 THEN ?6 END
WHERE true  -- an upsert after INSERT ... SELECT needs a WHERE clause
ON CONFLICT (message_uuid) DO NOTHING)sql";

// Send from a workflow: $6..$14 the sender's checkpoint, $15..$19 the receiver. Gate: the sender
// exists, is not CANCELLED, its step is free and the destination exists.
constexpr const char* kSendCheckpointedProbeSql = R"sql(
WITH p AS (
  SELECT ws.workflow_uuid IS NOT NULL AS found, ws.status AS status,
         ws.workflow_uuid IS NOT NULL AND ws.status IS NOT 'CANCELLED'
             AND oo.function_name IS NULL
             AND EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?2) AS go,
         EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?2) AS dest_found,
         oo.function_name, oo.output, oo.error, oo.child_workflow_id, oo.started_at_epoch_ms,
         oo.completed_at_epoch_ms, oo.serialization
  FROM (SELECT ?6 AS id, ?7 AS function_id) AS k
  LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
  LEFT JOIN operation_outputs AS oo ON oo.workflow_uuid = k.id AND oo.function_id = k.function_id
)
SELECT go, go AND NOT EXISTS (SELECT 1 FROM notifications WHERE message_uuid = ?1), found, status,
       dest_found,
       go AND ?15 IS NOT NULL
           AND EXISTS (SELECT 1 FROM workflow_status
                       WHERE workflow_uuid = ?2 AND status IS NOT 'CANCELLED')
           AND NOT EXISTS (SELECT 1 FROM notifications WHERE message_uuid = ?1)
           AND NOT EXISTS (SELECT 1 FROM notifications
                           WHERE destination_uuid = ?2 AND topic = ?3 AND consumed = 0)
           AND NOT EXISTS (SELECT 1 FROM operation_outputs
                           WHERE workflow_uuid = ?2 AND function_id = ?15),
       function_name, output, error, child_workflow_id, started_at_epoch_ms,
       completed_at_epoch_ms, serialization
FROM p)sql";

constexpr const char* kSenderCheckpointSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
VALUES (?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'portable_json', ?14))sql";

constexpr const char* kSendCheckpointedReceiverSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
    completed_at_epoch_ms, serialization, application_name)
SELECT ?2, ?15, ?19, ?4, ?16, ?17, 'portable_json', ?18
WHERE ?15 IS NOT NULL
  AND EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?2 AND status IS NOT 'CANCELLED')
  AND NOT EXISTS (SELECT 1 FROM notifications WHERE message_uuid = ?1)
  AND NOT EXISTS (SELECT 1 FROM notifications
                  WHERE destination_uuid = ?2 AND topic = ?3 AND consumed = 0)
  AND NOT EXISTS (SELECT 1 FROM operation_outputs WHERE workflow_uuid = ?2 AND function_id = ?15))sql";

constexpr const char* kSendCheckpointedMessageSql = R"sql(
INSERT INTO notifications (
    message_uuid, destination_uuid, topic, message, created_at_epoch_ms, serialization, consumed,
    consumed_by_function_id)
SELECT ?1, ?2, ?3, ?4, ?5, 'portable_json', changes() > 0,
       CASE WHEN changes() > 0 THEN ?15 END
WHERE true  -- an upsert after INSERT ... SELECT needs a WHERE clause
ON CONFLICT (message_uuid) DO NOTHING)sql";

// rowid breaks ties between messages sent in the same millisecond, in insertion order.
constexpr const char* kConsumePeekSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL, ws.status, oo.function_name, oo.output, oo.error,
       oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms, oo.serialization,
       m.message_uuid, m.message, m.serialization
FROM (SELECT ?1 AS id, ?2 AS function_id) AS k
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON oo.workflow_uuid = k.id AND oo.function_id = k.function_id
LEFT JOIN (SELECT message_uuid, message, serialization FROM notifications
           WHERE destination_uuid = ?1 AND topic = ?3 AND consumed = 0
           ORDER BY created_at_epoch_ms, rowid
           LIMIT 1) AS m ON 1)sql";

constexpr const char* kConsumeTakeProbeSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL AND ws.status IS NOT 'CANCELLED'
           AND oo.function_name IS NULL
           AND EXISTS (SELECT 1 FROM notifications
                       WHERE message_uuid = ?4 AND destination_uuid = ?1 AND consumed = 0),
       ws.workflow_uuid IS NOT NULL, ws.status, oo.function_name, oo.output, oo.error,
       oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms, oo.serialization
FROM (SELECT ?1 AS id, ?2 AS function_id) AS k
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON oo.workflow_uuid = k.id AND oo.function_id = k.function_id)sql";

constexpr const char* kMarkConsumedSql = R"sql(
UPDATE notifications SET consumed = 1, consumed_by_function_id = ?2 WHERE message_uuid = ?4)sql";

constexpr const char* kConsumeCheckpointSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
SELECT ?1, ?2, ?3, message, NULL, NULL, ?5, ?6, serialization, ?7
FROM notifications WHERE message_uuid = ?4)sql";

// SetEvent's gate: the workflow exists and, with a checkpoint ($4), is not CANCELLED and the
// checkpoint's step is free.
constexpr const char* kSetEventProbeSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL
           AND (NOT ?4 OR (ws.status IS NOT 'CANCELLED' AND oo.function_name IS NULL)),
       ws.workflow_uuid IS NOT NULL, ws.status, oo.function_name, oo.output, oo.error,
       oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms, oo.serialization
FROM (SELECT ?1 AS id) AS k
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON ?4 AND oo.workflow_uuid = ?5 AND oo.function_id = ?6)sql";

constexpr const char* kSetEventCheckpointSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
SELECT ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'portable_json', ?13 WHERE ?4)sql";

constexpr const char* kUpsertEventSql = R"sql(
INSERT INTO workflow_events (workflow_uuid, key, value, serialization)
VALUES (?1, ?2, ?3, 'portable_json')
ON CONFLICT (workflow_uuid, key) DO UPDATE SET
    value = excluded.value, serialization = excluded.serialization)sql";

// A step may set the same key more than once at one function_id: the last value wins there too.
constexpr const char* kUpsertEventHistorySql = R"sql(
INSERT INTO workflow_events_history (workflow_uuid, function_id, key, value, serialization)
VALUES (?1, ?14, ?2, ?3, 'portable_json')
ON CONFLICT (workflow_uuid, function_id, key) DO UPDATE SET
    value = excluded.value, serialization = excluded.serialization)sql";

constexpr const char* kGetEventSql =
    "SELECT value, serialization FROM workflow_events WHERE workflow_uuid = ?1 AND key = ?2";

constexpr const char* kWorkflowExistsSql =
    "SELECT EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?1)";

constexpr const char* kCancelWorkflowSql = R"sql(
UPDATE workflow_status
SET status = 'CANCELLED', updated_at = ?2, completed_at = ?2, queue_name = NULL,
    deduplication_id = NULL, started_at_epoch_ms = NULL
WHERE workflow_uuid = ?1 AND (status IS NULL OR status NOT IN ('SUCCESS', 'ERROR', 'CANCELLED')))sql";

constexpr const char* kFilterCancelledSql = R"sql(
SELECT workflow_uuid FROM workflow_status
WHERE workflow_uuid IN (SELECT value FROM json_each(?1)) AND status = 'CANCELLED')sql";

// What parked waits wait for, for many at once (as on PostgreSQL, by the same indexes).
constexpr const char* kWaitNewsSql = R"sql(
WITH m(w, t) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)),
     e(w, k) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2)),
     s(w, f) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?4))
SELECT 'm', w, t FROM m
WHERE EXISTS (SELECT 1 FROM notifications n
              WHERE n.destination_uuid = m.w AND n.topic = m.t AND n.consumed = 0)
UNION ALL
SELECT 'e', w, k FROM e
WHERE EXISTS (SELECT 1 FROM workflow_events v WHERE v.workflow_uuid = e.w AND v.key = e.k)
UNION ALL
SELECT 'd', id.value, '' FROM json_each(?3) AS id
WHERE NOT EXISTS (SELECT 1 FROM workflow_status w
                  WHERE w.workflow_uuid = id.value
                    AND w.status IN ('PENDING', 'ENQUEUED', 'DELAYED'))
UNION ALL
SELECT 's', w, f FROM s
WHERE EXISTS (SELECT 1 FROM operation_outputs o
              WHERE o.workflow_uuid = s.w AND o.function_id = CAST(s.f AS INTEGER)))sql";

constexpr const char* kNextDelayedSql = R"sql(
SELECT MIN(COALESCE(delay_until_epoch_ms, 0)) FROM workflow_status WHERE status = 'DELAYED')sql";

constexpr const char* kPromoteDelayedSql = R"sql(
UPDATE workflow_status
SET status = 'ENQUEUED', updated_at = ?1,
    deduplication_id = CASE WHEN is_debounced THEN NULL ELSE deduplication_id END
WHERE status = 'DELAYED' AND COALESCE(delay_until_epoch_ms, 0) <= ?1
RETURNING COALESCE(queue_name, ''))sql";

constexpr const char* kWorkflowStatusSql =
    "SELECT COALESCE(status, '') FROM workflow_status WHERE workflow_uuid = ?1";

constexpr const char* kSetWorkflowDelaySql = R"sql(
UPDATE workflow_status SET delay_until_epoch_ms = ?2, updated_at = ?3
WHERE workflow_uuid = ?1 AND status = 'DELAYED')sql";

constexpr const char* kBounceDebouncedSql = R"sql(
UPDATE workflow_status
SET delay_until_epoch_ms = MIN(?4, COALESCE(debounce_deadline_epoch_ms, ?4)), updated_at = ?6
WHERE name = ?1 AND queue_name = ?2 AND deduplication_id = ?3 AND status = 'DELAYED'
  AND is_debounced
RETURNING workflow_uuid)sql";

constexpr const char* kDelayStatusSql =
    "SELECT COALESCE(status, ''), delay_until_epoch_ms FROM workflow_status WHERE workflow_uuid = "
    "?1";

constexpr const char* kPromotedAtSql = R"sql(
SELECT DISTINCT COALESCE(queue_name, '') FROM workflow_status
WHERE status = 'ENQUEUED' AND updated_at = ?1)sql";

constexpr const char* kBouncedEarlierSql = R"sql(
SELECT ws.workflow_uuid FROM workflow_status AS ws
JOIN workflow_input AS wi ON wi.workflow_uuid = ws.workflow_uuid
WHERE ws.name = ?1 AND ws.queue_name = ?2 AND ws.is_debounced AND ws.status <> 'DELAYED'
  AND wi.inputs = ?4
  AND ws.delay_until_epoch_ms = MIN(?3, COALESCE(ws.debounce_deadline_epoch_ms, ?3))
ORDER BY ws.created_at DESC LIMIT 1)sql";

constexpr const char* kBounceInputSql = R"sql(
UPDATE workflow_input SET inputs = ?5
WHERE workflow_uuid IN (SELECT workflow_uuid FROM workflow_status
                        WHERE name = ?1 AND queue_name = ?2 AND deduplication_id = ?3
                          AND status = 'DELAYED' AND is_debounced))sql";

// ---- Queues

constexpr const char* kUpsertQueueSql = R"sql(
INSERT INTO queues (
    queue_id, name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, application_name, created_at, updated_at)
VALUES (?10, ?1, ?2, ?3, ?4, ?5 / 1000.0, ?6, ?7, ?8, ?9, ?9)
ON CONFLICT (name) DO UPDATE SET
    concurrency = excluded.concurrency, worker_concurrency = excluded.worker_concurrency,
    rate_limit_max = excluded.rate_limit_max,
    rate_limit_period_sec = excluded.rate_limit_period_sec,
    priority_enabled = excluded.priority_enabled, partition_queue = excluded.partition_queue,
    application_name = excluded.application_name, updated_at = excluded.updated_at)sql";

constexpr const char* kGetQueueSql = R"sql(
SELECT name, concurrency, worker_concurrency, rate_limit_max,
       CAST(round(rate_limit_period_sec * 1000.0) AS INTEGER), priority_enabled, partition_queue,
       application_name
FROM queues WHERE name = ?1)sql";

constexpr const char* kListQueuePartitionsSql = R"sql(
SELECT DISTINCT queue_partition_key FROM workflow_status
WHERE queue_name = ?1 AND status = 'ENQUEUED' AND queue_partition_key IS NOT NULL)sql";

// How many rows the queue's limits let this claim take (the write transaction makes the counts
// exact: no other claimer runs between this read and the claim).
constexpr const char* kQueueBudgetSql = R"sql(MAX(0, MIN(COALESCE(?5, 2147483647),
    COALESCE(?11 - (SELECT COUNT(*) FROM workflow_status WHERE queue_name = ?1
        AND status = 'PENDING' AND (?10 IS NULL OR queue_partition_key = ?10)), 2147483647),
    COALESCE(?12 - (SELECT COUNT(*) FROM workflow_status WHERE queue_name = ?1
        AND rate_limited = 1 AND started_at_epoch_ms > ?13
        AND status NOT IN ('ENQUEUED', 'DELAYED')
        AND (?10 IS NULL OR queue_partition_key = ?10)), 2147483647))))sql";

constexpr const char* kQueueCandidatesSql = R"sql(SELECT workflow_uuid FROM workflow_status
WHERE queue_name = ?1 AND status IN ('ENQUEUED', 'PENDING') AND status = 'ENQUEUED'
  AND (application_version = ?3 OR (?4 AND application_version IS NULL))
  AND (application_name IS NULL OR application_name = ?7)
  AND name IN (SELECT value FROM json_each(?8))
  AND (?10 IS NULL OR queue_partition_key = ?10))sql";

std::string QueueHasCandidatesSql() {
  return std::string("SELECT ") + kQueueBudgetSql + " > 0 AND EXISTS (" + kQueueCandidatesSql + ")";
}

std::string QueueClaimSql() {
  return std::string(R"sql(UPDATE workflow_status
SET status = 'PENDING', executor_id = ?2, application_version = ?3,
    started_at_epoch_ms = ?6, updated_at = MAX(?6, COALESCE(updated_at, 0)), recovery_attempts = COALESCE(recovery_attempts, 0) + 1,
    workflow_deadline_epoch_ms = COALESCE(workflow_deadline_epoch_ms, ?6 + workflow_timeout_ms),
    owner_xid = ?9, rate_limited = (?12 IS NOT NULL)
WHERE status = 'ENQUEUED' AND workflow_uuid IN ()sql") +
         kQueueCandidatesSql + "\n  ORDER BY priority, created_at LIMIT " + kQueueBudgetSql +
         R"sql()
RETURNING workflow_uuid, name,
    COALESCE((SELECT wi.inputs FROM workflow_input AS wi
              WHERE wi.workflow_uuid = workflow_status.workflow_uuid), inputs),
    serialization, authenticated_user, assumed_role, authenticated_roles,
    workflow_deadline_epoch_ms, queue_name, recovery_attempts, priority, created_at,
    EXISTS (SELECT 1 FROM operation_outputs AS oo
            WHERE oo.workflow_uuid = workflow_status.workflow_uuid), 0)sql";
}

using Access = core::Script::Access;

/// A script of one statement whose rows are the result.
core::Script One(const char* name, Access access, std::string sql) {
  return core::Script{name, access, {core::Part{std::move(sql), true, false}}};
}

/// A write script: `gate` (also the result) and then the writes it guards.
core::Script Gated(const char* name, std::string gate, std::vector<std::string> writes) {
  core::Script script{name, Access::kWrite, {core::Part{std::move(gate), true, true}}};
  for (std::string& sql : writes) script.parts.push_back(core::Part{std::move(sql), false, false});
  return script;
}

// Streams (reference §4.7). WriteStream's gate: the workflow exists, the stream's last value is
// not the close marker and, with a checkpoint ($4), the workflow is not CANCELLED and the
// checkpoint's step is free. Under the write lock the offset read by the insert is the last one.
constexpr const char* kWriteStreamProbeSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL AND NOT c.closed
           AND (NOT ?4 OR (ws.status IS NOT 'CANCELLED' AND oo.function_name IS NULL)),
       c.closed, ws.workflow_uuid IS NOT NULL, ws.status, oo.function_name, oo.output, oo.error,
       oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms, oo.serialization
FROM (SELECT ?1 AS id) AS k
JOIN (SELECT COALESCE((SELECT value IN ('"__DBOS_STREAM_CLOSED__"', '__DBOS_STREAM_CLOSED__')
                       FROM streams WHERE workflow_uuid = ?1 AND key = ?2
                       ORDER BY "offset" DESC LIMIT 1), 0) AS closed) AS c
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON ?4 AND oo.workflow_uuid = ?5 AND oo.function_id = ?6)sql";

constexpr const char* kWriteStreamCheckpointSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
SELECT ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'portable_json', ?13 WHERE ?4)sql";

constexpr const char* kAppendStreamSql = R"sql(
INSERT INTO streams (workflow_uuid, key, value, "offset", function_id, serialization)
SELECT ?1, ?2, ?3, COALESCE(MAX("offset"), -1) + 1, ?14, 'portable_json'
FROM streams WHERE workflow_uuid = ?1 AND key = ?2)sql";

// The writer's status and a page of the stream, in one snapshot.
constexpr const char* kReadStreamSql = R"sql(
SELECT ws.status, s."offset", s.value, s.serialization
FROM workflow_status AS ws
LEFT JOIN (SELECT "offset", value, serialization FROM streams
           WHERE workflow_uuid = ?1 AND key = ?2 AND "offset" >= ?3
           ORDER BY "offset" LIMIT ?4) AS s ON 1
WHERE ws.workflow_uuid = ?1
ORDER BY s."offset")sql";

}  // namespace

core::Statements MakeStatements() {
  core::Statements s;
  s.insert_workflow = core::Script{
      "insert_workflow",
      Access::kWrite,
      {core::Part{kInsertWorkflowSql, true, false}, core::Part{kInsertInputSql, false, false}}};
  s.finish_workflow = Gated("finish_workflow", kFinishWorkflowSql, {kUpsertOutputSql});
  s.finished_as = One("finished_as", Access::kRead, kFinishedAsSql);
  s.mark_dead_letter = One("mark_dead_letter", Access::kWrite, kMarkDeadLetterSql);
  s.get_workflow = One("get_workflow", Access::kRead, core::SelectWorkflowSql("", "?1", true));
  s.get_workflow_meta =
      One("get_workflow_meta", Access::kRead, core::SelectWorkflowSql("", "?1", false));
  s.record_step = core::Script{"record_step",
                               Access::kWrite,
                               {core::Part{kInsertStepSql, true, true, false},
                                core::Part{kRecordStepProbeSql, true, false, true}}};
  s.list_steps = One("list_steps", Access::kRead, kListStepsSql);
  s.list_steps_of_many = One("list_steps_of_many", Access::kRead, kListStepsOfManySql);
  s.get_status = One("get_status", Access::kRead, kGetStatusSql);
  s.reenqueue = One("reenqueue", Access::kWrite, kReenqueueSql);
  s.dequeue_precheck = One("dequeue_precheck", Access::kRead, kHasCandidatesSql);
  s.dequeue_claim = One("dequeue_claim", Access::kWrite, kDequeueSql);
  s.dequeue_claimed_by_token = One("dequeue_claimed_by_token", Access::kRead, kClaimedByTokenSql);
  s.register_version = core::Script{"register_version",
                                    Access::kWrite,
                                    {core::Part{kInsertVersionSql, false, false},
                                     core::Part{kVersionTimestampsSql, true, false}}};
  s.send = Gated("send", kSendProbeSql, {kSendReceiverCheckpointSql, kSendMessageSql});
  s.send_checkpointed =
      Gated("send_checkpointed", kSendCheckpointedProbeSql,
            {kSenderCheckpointSql, kSendCheckpointedReceiverSql, kSendCheckpointedMessageSql});
  s.consume_peek = One("consume_peek", Access::kRead, kConsumePeekSql);
  s.consume_take =
      Gated("consume_take", kConsumeTakeProbeSql, {kMarkConsumedSql, kConsumeCheckpointSql});
  s.set_event = Gated("set_event", kSetEventProbeSql,
                      {kSetEventCheckpointSql, kUpsertEventSql, kUpsertEventHistorySql});
  s.get_event = One("get_event", Access::kRead, kGetEventSql);
  s.cancel_workflow = core::Script{
      "cancel_workflow",
      Access::kWrite,
      {core::Part{kWorkflowExistsSql, true, false}, core::Part{kCancelWorkflowSql, false, false}}};
  s.filter_cancelled = One("filter_cancelled", Access::kRead, kFilterCancelledSql);
  s.wait_news = One("wait_news", Access::kRead, kWaitNewsSql);
  s.next_delayed = One("next_delayed", Access::kRead, kNextDelayedSql);
  s.promote_delayed = One("promote_delayed", Access::kWrite, kPromoteDelayedSql);
  // Under the write lock the status read first is the one the update sees.
  s.set_workflow_delay = core::Script{
      "set_workflow_delay",
      Access::kWrite,
      {core::Part{kDelayStatusSql, true, false}, core::Part{kSetWorkflowDelaySql, false, false}}};
  s.bounce_debounced = Gated("bounce_debounced", kBounceDebouncedSql, {kBounceInputSql});
  s.bounced_earlier = One("bounced_earlier", Access::kRead, kBouncedEarlierSql);
  s.promoted_at = One("promoted_at", Access::kRead, kPromotedAtSql);

  s.upsert_queue = One("upsert_queue", Access::kWrite, kUpsertQueueSql);
  s.get_queue = One("get_queue", Access::kRead, kGetQueueSql);
  s.list_queue_partitions = One("list_queue_partitions", Access::kRead, kListQueuePartitionsSql);
  s.queue_claim_precheck = One("queue_claim_precheck", Access::kRead, QueueHasCandidatesSql());
  // The gate re-reads the limits inside the write transaction; the claim is the result.
  s.queue_claim = core::Script{
      "queue_claim",
      Access::kWrite,
      {core::Part{QueueHasCandidatesSql(), false, true}, core::Part{QueueClaimSql(), true, false}}};
  s.queue_claim_alone = s.queue_claim;  // SQLite's claims are never shared

  s.write_stream =
      Gated("write_stream", kWriteStreamProbeSql, {kWriteStreamCheckpointSql, kAppendStreamSql});
  s.read_stream = One("read_stream", Access::kRead, kReadStreamSql);
  // The checkpoints every workflow writes share transactions with other workflows' (group
  // commit, sqlite_commit_group.hpp), as on PostgreSQL.
  for (core::Script* script : {&s.insert_workflow, &s.finish_workflow, &s.record_step, &s.send,
                               &s.send_checkpointed, &s.consume_take, &s.set_event}) {
    script->shares_commit = true;
  }
  AddManagementStatements(s);
  AddScheduleStatements(s);
  return s;
}

}  // namespace dbos::sysdb::sqlite
