// PostgreSQL statements. Each operation is one statement, so one round trip and one transaction
// without BEGIN/COMMIT: multi-step writes are data-modifying CTEs ending in the SELECT of the
// result columns core/statements.hpp defines. "{s}" stands for the quoted schema; every parameter
// carries an explicit type.
#include "sysdb/postgres/pg_statements.hpp"

#include <string_view>

#include "sysdb/core/workflow_rows.hpp"
#include "sysdb/postgres/pg_schedule_statements.hpp"

namespace dbos::sysdb::pg {
namespace {

constexpr std::string_view kInsertWorkflowSql = R"SQL(
WITH ins AS (
  INSERT INTO {s}.workflow_status AS ws (
      workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
      authenticated_roles, executor_id, application_version, application_id, application_name,
      queue_name, workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority,
      queue_partition_key, parent_workflow_id, serialization, creator_xid, created_at, updated_at,
      recovery_attempts, delay_until_epoch_ms, is_debounced, debounce_deadline_epoch_ms)
  VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
      $9::text, $10::text, $11::text, $12::text, $13::text, $14::bigint, $15::bigint, $16::text,
      $17::integer, $18::text, $19::text, $21::text, $22::text, $23::bigint, $23::bigint,
      CASE WHEN $2::text IN ('ENQUEUED', 'DELAYED') THEN 0 ELSE 1 END, $24::bigint, $25::boolean,
      $26::bigint)
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
// counts as done instead of "no longer PENDING". The end of a workflow of a queue with a global
// concurrency frees a slot every executor counts: it wakes their queue runners (NOTIFY at commit;
// only such a queue knows it, and its ends are as rare as its global concurrency makes them, so
// the notification lock this holds through the commit costs little, unlike on every enqueue: see
// pg_announcer.hpp). A rate limit counts starts, which an end does not undo: no NOTIFY for it.
constexpr std::string_view kFinishWorkflowSql = R"SQL(
WITH upd AS (
  UPDATE {s}.workflow_status
  SET status = $2::text, completed_at = $5::bigint, updated_at = $5::bigint,
      deduplication_id = NULL, serialization = 'portable_json'
  WHERE workflow_uuid = $1::text AND status = 'PENDING'
  RETURNING workflow_uuid, queue_name
), saved AS (
  INSERT INTO {s}.workflow_output (workflow_uuid, output, error)
  SELECT workflow_uuid, $3::text, $4::text FROM upd
  ON CONFLICT (workflow_uuid) DO UPDATE SET output = EXCLUDED.output, error = EXCLUDED.error
), note AS (
  SELECT pg_catalog.pg_notify('dbos_queue_channel', q.name)
  FROM upd JOIN {s}.queues q ON q.name = upd.queue_name
  WHERE q.concurrency IS NOT NULL OR q.partition_concurrency IS NOT NULL
)
SELECT (EXISTS (SELECT 1 FROM upd)
        OR ($6::boolean AND EXISTS (
            SELECT 1 FROM {s}.workflow_status
            WHERE workflow_uuid = $1::text AND status = $2::text AND completed_at = $5::bigint)))
   AND (SELECT count(*) FROM note) >= 0
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

// The steps of many workflows at once (ReadCoalescer), ordered as kListStepsSql per workflow.
// "= ANY (ARRAY(...))" is one scan of the primary key, in its order; "IN (SELECT ...)" would
// join and sort.
constexpr std::string_view kListStepsOfManySql = R"SQL(
SELECT workflow_uuid, function_id, function_name, output, error, child_workflow_id,
       started_at_epoch_ms, completed_at_epoch_ms, serialization
FROM {s}.operation_outputs
WHERE workflow_uuid = ANY (ARRAY(SELECT json_array_elements_text($1::json)))
ORDER BY workflow_uuid, function_id
)SQL";

constexpr std::string_view kGetStatusSql = R"SQL(
SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
)SQL";

constexpr std::string_view kReenqueueSql = R"SQL(
UPDATE {s}.workflow_status
SET status = 'ENQUEUED', queue_name = COALESCE(NULLIF(queue_name, ''), $3::text),
    started_at_epoch_ms = NULL, updated_at = $4::bigint
WHERE status = 'PENDING' AND executor_id IN (SELECT json_array_elements_text($1::json))
  AND application_version = $2::text
  AND (application_name IS NULL OR application_name = $5::text)
RETURNING workflow_uuid
)SQL";

// One statement, so one transaction: candidates are locked with SKIP LOCKED and claimed by the
// UPDATE. When nothing is claimed no row is locked or written and no transaction ID is used.
// updated_at only moves forward: a resume whose reply was lost recognises a claim that followed
// it by updated_at >= its own time, even if this claim read the clock first. (started_at stays
// this claim's time: rate limits count it, and another writer's clock must not stretch them.)
// The UPDATE finds its rows by primary key only: the row lock re-checked `status = 'ENQUEUED'` on
// the locked version, and no one can change a locked row before this commit. The lock is FOR NO
// KEY UPDATE, the one the UPDATE takes anyway: claimers and cancellations still exclude each
// other, but a send to the workflow, whose foreign-key check holds a key-share lock on its row
// until the send commits, neither waits for the claim nor makes it skip the workflow (which
// nothing would announce again: it would wait for a later round or the poll). (With the status
// in its WHERE, a planner working from statistics taken before the backlog grew walked the whole
// ENQUEUED part of the queue index for every claim: 5 ms per claim at a backlog of 3,000.)
constexpr std::string_view kDequeueSql = R"SQL(
WITH candidates AS (
  SELECT workflow_uuid
  FROM {s}.workflow_status
  WHERE queue_name = $1::text AND status = 'ENQUEUED'
    AND (application_version = $3::text OR ($4::boolean AND application_version IS NULL))
    AND (application_name IS NULL OR application_name = $7::text)
    AND name IN (SELECT json_array_elements_text($8::json))
  ORDER BY priority, created_at
  LIMIT $5::bigint
  FOR NO KEY UPDATE SKIP LOCKED
), claimed AS (
  UPDATE {s}.workflow_status ws
  SET status = 'PENDING', executor_id = $2::text, application_version = $3::text,
      started_at_epoch_ms = $6::bigint,
      updated_at = GREATEST($6::bigint, COALESCE(ws.updated_at, 0)),
      recovery_attempts = COALESCE(ws.recovery_attempts, 0) + 1,
      workflow_deadline_epoch_ms = COALESCE(ws.workflow_deadline_epoch_ms,
                                            $6::bigint + ws.workflow_timeout_ms),
      owner_xid = $9::text
  FROM candidates c
  WHERE ws.workflow_uuid = c.workflow_uuid
  RETURNING ws.workflow_uuid, ws.name, ws.inputs, ws.serialization, ws.authenticated_user,
            ws.assumed_role, ws.authenticated_roles, ws.workflow_deadline_epoch_ms,
            ws.queue_name, ws.priority, ws.created_at, ws.recovery_attempts
)
SELECT c.workflow_uuid, c.name, COALESCE(i.inputs, c.inputs), c.serialization,
       c.authenticated_user, c.assumed_role, c.authenticated_roles,
       c.workflow_deadline_epoch_ms, c.queue_name, c.recovery_attempts, c.priority, c.created_at,
       EXISTS (SELECT 1 FROM {s}.operation_outputs o WHERE o.workflow_uuid = c.workflow_uuid)
FROM claimed c
LEFT JOIN {s}.workflow_input i ON i.workflow_uuid = c.workflow_uuid
ORDER BY c.priority, c.created_at
)SQL";

// The rows an earlier attempt of the same DequeueWorkflows call claimed (its commit may have
// happened with the reply lost): PENDING under this executor with this call's claim token.
constexpr std::string_view kClaimedByTokenSql = R"SQL(
SELECT c.workflow_uuid, c.name, COALESCE(i.inputs, c.inputs), c.serialization,
       c.authenticated_user, c.assumed_role, c.authenticated_roles,
       c.workflow_deadline_epoch_ms, c.queue_name, c.recovery_attempts, c.priority, c.created_at,
       EXISTS (SELECT 1 FROM {s}.operation_outputs o WHERE o.workflow_uuid = c.workflow_uuid)
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
  VALUES ($4::text, $1::text, $3::bigint, $3::bigint, NULLIF($2::text, ''))
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
    AND NOT EXISTS (SELECT 1 FROM {s}.notifications WHERE message_uuid = $1::text)
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
    AND NOT EXISTS (SELECT 1 FROM {s}.notifications WHERE message_uuid = $1::text)
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

// Recv, first a read: what blocks the checkpoint, and the oldest unconsumed message of the topic.
// ctid breaks ties between messages sent in the same millisecond (never-updated rows stay in
// insertion order in practice).
constexpr std::string_view kConsumePeekSql = R"SQL(
SELECT (SELECT count(*) FROM {s}.workflow_status WHERE workflow_uuid = $1::text),
       (SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization, m.message_uuid, m.message, m.serialization
FROM (SELECT 1) AS one
LEFT JOIN {s}.operation_outputs p ON p.workflow_uuid = $1::text AND p.function_id = $2::integer
LEFT JOIN LATERAL (
  SELECT n.message_uuid, n.message, n.serialization
  FROM {s}.notifications n
  WHERE n.destination_uuid = $1::text AND n.topic = $3::text AND NOT n.consumed
  ORDER BY n.created_at_epoch_ms, n.ctid
  LIMIT 1
) m ON true
)SQL";

// Recv, then: takes the message the read chose. The row lock makes a concurrent taker wait and
// then see the message consumed; the message is marked consumed only with the checkpoint.
constexpr std::string_view kConsumeTakeSql = R"SQL(
WITH wf AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), prior AS (
  SELECT function_name, output, error, child_workflow_id, started_at_epoch_ms,
         completed_at_epoch_ms, serialization
  FROM {s}.operation_outputs WHERE workflow_uuid = $1::text AND function_id = $2::integer
), msg AS (
  SELECT n.message_uuid, n.message, n.serialization
  FROM {s}.notifications n
  WHERE n.message_uuid = $4::text AND n.destination_uuid = $1::text AND NOT n.consumed
    AND NOT EXISTS (SELECT 1 FROM prior)
    AND EXISTS (SELECT 1 FROM wf WHERE wf.status IS DISTINCT FROM 'CANCELLED')
  FOR UPDATE OF n
), ckpt AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $1::text, $2::integer, $3::text, msg.message, NULL, NULL, $5::bigint, $6::bigint,
         msg.serialization, $7::text
  FROM msg
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING 1
), taken AS (
  UPDATE {s}.notifications n
  SET consumed = true, consumed_by_function_id = $2::integer
  FROM msg
  WHERE n.message_uuid = msg.message_uuid AND EXISTS (SELECT 1 FROM ckpt)
  RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM wf), (SELECT status FROM wf),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization
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
SELECT (SELECT count(*) FROM gate) > 0 AND (SELECT count(*) FROM note) >= 0,
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

// What parked waits wait for, for many at once; $1, $2 and $4 are arrays of [workflow, topic, key
// or step] pairs, $3 of workflow IDs. Each branch reads by its table's index (the notifications'
// (destination_uuid, topic), the events', statuses' and steps' primary keys). A step is news when
// another execution of the workflow recorded it (a duplicate run after recovery elsewhere). A
// workflow counts as ended unless its row is PENDING, ENQUEUED or DELAYED: a missing row or a NULL
// status ends the wait too (with the error its replay reports).
constexpr std::string_view kWaitNewsSql = R"SQL(
SELECT 'm', p->>0, p->>1 FROM json_array_elements($1::json) AS p
WHERE EXISTS (SELECT 1 FROM {s}.notifications n
              WHERE n.destination_uuid = p->>0 AND n.topic = p->>1 AND NOT n.consumed)
UNION ALL
SELECT 'e', p->>0, p->>1 FROM json_array_elements($2::json) AS p
WHERE EXISTS (SELECT 1 FROM {s}.workflow_events e WHERE e.workflow_uuid = p->>0 AND e.key = p->>1)
UNION ALL
SELECT 'd', id, '' FROM json_array_elements_text($3::json) AS id
WHERE NOT EXISTS (SELECT 1 FROM {s}.workflow_status w
                  WHERE w.workflow_uuid = id AND w.status IN ('PENDING', 'ENQUEUED', 'DELAYED'))
UNION ALL
SELECT 's', p->>0, p->>1 FROM json_array_elements($4::json) AS p
WHERE EXISTS (SELECT 1 FROM {s}.operation_outputs o
              WHERE o.workflow_uuid = p->>0 AND o.function_id = (p->>1)::int)
)SQL";

// The earliest start among DELAYED rows; a row without a time is due at once. Both subqueries use
// the partial index on delay_until_epoch_ms.
constexpr std::string_view kNextDelayedSql = R"SQL(
SELECT COALESCE(
    (SELECT 0::bigint WHERE EXISTS (SELECT 1 FROM {s}.workflow_status
                                    WHERE status = 'DELAYED' AND delay_until_epoch_ms IS NULL)),
    (SELECT min(delay_until_epoch_ms) FROM {s}.workflow_status WHERE status = 'DELAYED'))
)SQL";

// Concurrent promoters (other processes) serialize on the row locks; the re-checked status makes
// each row promoted once.
constexpr std::string_view kPromoteDelayedSql = R"SQL(
UPDATE {s}.workflow_status
SET status = 'ENQUEUED', updated_at = $1::bigint,
    deduplication_id = CASE WHEN is_debounced THEN NULL ELSE deduplication_id END
WHERE status = 'DELAYED' AND COALESCE(delay_until_epoch_ms, 0) <= $1::bigint
RETURNING COALESCE(queue_name, '')
)SQL";

// The status the row had ('DELAYED' when this statement moved it; NULL when missing), and its
// delay_until_epoch_ms before (a retry recognises its own earlier move by it).
constexpr std::string_view kSetWorkflowDelaySql = R"SQL(
WITH cur AS (
  SELECT COALESCE(status, '') AS status, delay_until_epoch_ms
  FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), upd AS (
  UPDATE {s}.workflow_status SET delay_until_epoch_ms = $2::bigint, updated_at = $3::bigint
  WHERE workflow_uuid = $1::text AND status = 'DELAYED'
  RETURNING 1
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM upd) THEN 'DELAYED'
            WHEN (SELECT status FROM cur) = 'DELAYED' THEN 'ENQUEUED'  -- promoted meanwhile
            ELSE (SELECT status FROM cur) END,
       (SELECT delay_until_epoch_ms FROM cur)
)SQL";

constexpr std::string_view kPromotedAtSql = R"SQL(
SELECT DISTINCT COALESCE(queue_name, '') FROM {s}.workflow_status
WHERE status = 'ENQUEUED' AND updated_at = $1::bigint
)SQL";

constexpr std::string_view kBouncedEarlierSql = R"SQL(
SELECT ws.workflow_uuid FROM {s}.workflow_status ws
JOIN {s}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
WHERE ws.name = $1::text AND ws.queue_name = $2::text AND ws.is_debounced
  AND ws.status <> 'DELAYED' AND wi.inputs = $4::text
  AND ws.delay_until_epoch_ms = LEAST($3::bigint, COALESCE(ws.debounce_deadline_epoch_ms, $3::bigint))
ORDER BY ws.created_at DESC LIMIT 1
)SQL";

constexpr std::string_view kBounceDebouncedSql = R"SQL(
WITH upd AS (
  UPDATE {s}.workflow_status
  SET delay_until_epoch_ms = LEAST($4::bigint, COALESCE(debounce_deadline_epoch_ms, $4::bigint)),
      updated_at = $6::bigint
  WHERE name = $1::text AND queue_name = $2::text AND deduplication_id = $3::text
    AND status = 'DELAYED' AND is_debounced
  RETURNING workflow_uuid
), input AS (
  UPDATE {s}.workflow_input wi SET inputs = $5::text
  FROM upd WHERE wi.workflow_uuid = upd.workflow_uuid
  RETURNING 1
)
SELECT workflow_uuid FROM upd
)SQL";

constexpr std::string_view kFinishedAsSql = R"SQL(
SELECT 1 FROM {s}.workflow_status
WHERE workflow_uuid = $1::text AND status = $2::text AND completed_at = $3::bigint
)SQL";

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

// ---- Queues

constexpr std::string_view kUpsertQueueSql = R"SQL(
INSERT INTO {s}.queues (
    queue_id, name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, application_name, created_at, updated_at)
VALUES ($10::text, $1::text, $2::integer, $3::integer, $4::integer, $5::bigint / 1000.0,
        $6::boolean, $7::boolean, $8::text, $9::bigint, $9::bigint)
ON CONFLICT (name) DO UPDATE SET
    concurrency = EXCLUDED.concurrency, worker_concurrency = EXCLUDED.worker_concurrency,
    rate_limit_max = EXCLUDED.rate_limit_max,
    rate_limit_period_sec = EXCLUDED.rate_limit_period_sec,
    priority_enabled = EXCLUDED.priority_enabled, partition_queue = EXCLUDED.partition_queue,
    application_name = EXCLUDED.application_name, updated_at = EXCLUDED.updated_at
)SQL";

constexpr std::string_view kGetQueueSql = R"SQL(
SELECT name, concurrency, worker_concurrency, rate_limit_max,
       round(rate_limit_period_sec * 1000.0)::bigint, priority_enabled, partition_queue,
       application_name
FROM {s}.queues WHERE name = $1::text
)SQL";

constexpr std::string_view kListQueuePartitionsSql = R"SQL(
SELECT DISTINCT queue_partition_key FROM {s}.workflow_status
WHERE queue_name = $1::text AND status = 'ENQUEUED' AND queue_partition_key IS NOT NULL
)SQL";

// A claim within limits counted in the database. The counts are read from this statement's
// snapshot, so claimers of a limited queue take turns on the queue's `queues` row: `lk` locks it
// (SKIP LOCKED: a busy row means another claimer is at work, so claim nothing and report
// contention), and the row must still be the version the snapshot sees (every claim that takes
// something bumps it), else another claimer committed after the snapshot and the counts are
// stale. Without a limit counted here, no row is locked and rows are claimed as by
// dequeue_claim.
// The UPDATE finds its rows by primary key only, and the candidates are locked FOR NO KEY UPDATE,
// as in dequeue_claim (which says why).
constexpr std::string_view kQueueClaimSql = R"SQL(
WITH pre AS (
  SELECT GREATEST(0, LEAST(
      COALESCE($5::bigint, 2147483647),
      COALESCE($11::bigint - (
          SELECT count(*) FROM {s}.workflow_status
          WHERE queue_name = $1::text AND status = 'PENDING'
            AND ($10::text IS NULL OR queue_partition_key = $10::text)), 2147483647),
      COALESCE($12::bigint - (
          SELECT count(*) FROM {s}.workflow_status
          WHERE queue_name = $1::text AND rate_limited AND started_at_epoch_ms > $13::bigint
            AND status NOT IN ('ENQUEUED', 'DELAYED')
            AND ($10::text IS NULL OR queue_partition_key = $10::text)), 2147483647))) AS n,
    EXISTS (
      SELECT 1 FROM {s}.workflow_status
      WHERE queue_name = $1::text AND status = 'ENQUEUED'
        AND ($10::text IS NULL OR queue_partition_key = $10::text)) AS waiting,
    ($11::bigint IS NOT NULL OR $12::bigint IS NOT NULL) AS limited
), snap AS (
  SELECT q.xmin::text AS v FROM {s}.queues q WHERE q.name = $1::text
), lk AS (
  -- Only when the snapshot says something could be claimed: no lock (and no transaction ID)
  -- for a round that would take nothing.
  SELECT q.xmin::text AS v FROM {s}.queues q, pre
  WHERE q.name = $1::text AND pre.limited AND pre.n > 0 AND pre.waiting
  FOR UPDATE OF q SKIP LOCKED
), gate AS (
  SELECT NOT pre.limited OR EXISTS (SELECT 1 FROM lk JOIN snap ON lk.v = snap.v) AS open,
         pre.limited AND pre.n > 0 AND pre.waiting AS wanted
  FROM pre
), budget AS (
  SELECT CASE WHEN g.open THEN p.n ELSE 0 END AS n FROM gate g, pre p
), candidates AS (
  SELECT workflow_uuid
  FROM {s}.workflow_status
  WHERE queue_name = $1::text AND status = 'ENQUEUED'
    AND (application_version = $3::text OR ($4::boolean AND application_version IS NULL))
    AND (application_name IS NULL OR application_name = $7::text)
    AND name IN (SELECT json_array_elements_text($8::json))
    AND ($10::text IS NULL OR queue_partition_key = $10::text)
  ORDER BY priority, created_at
  LIMIT (SELECT n FROM budget)
  FOR NO KEY UPDATE SKIP LOCKED
), claimed AS (
  UPDATE {s}.workflow_status ws
  SET status = 'PENDING', executor_id = $2::text, application_version = $3::text,
      started_at_epoch_ms = $6::bigint,
      updated_at = GREATEST($6::bigint, COALESCE(ws.updated_at, 0)),
      recovery_attempts = COALESCE(ws.recovery_attempts, 0) + 1,
      workflow_deadline_epoch_ms = COALESCE(ws.workflow_deadline_epoch_ms,
                                            $6::bigint + ws.workflow_timeout_ms),
      owner_xid = $9::text, rate_limited = ($12::bigint IS NOT NULL)
  FROM candidates c
  WHERE ws.workflow_uuid = c.workflow_uuid
  RETURNING ws.workflow_uuid, ws.name, ws.inputs, ws.serialization, ws.authenticated_user,
            ws.assumed_role, ws.authenticated_roles, ws.workflow_deadline_epoch_ms,
            ws.queue_name, ws.priority, ws.created_at, ws.recovery_attempts
), bump AS (
  UPDATE {s}.queues SET updated_at = $6::bigint
  WHERE name = $1::text AND ($11::bigint IS NOT NULL OR $12::bigint IS NOT NULL)
    AND EXISTS (SELECT 1 FROM claimed)
)
SELECT c.workflow_uuid, c.name, COALESCE(i.inputs, c.inputs), c.serialization,
       c.authenticated_user, c.assumed_role, c.authenticated_roles,
       c.workflow_deadline_epoch_ms, c.queue_name, c.recovery_attempts, c.priority, c.created_at,
       EXISTS (SELECT 1 FROM {s}.operation_outputs o WHERE o.workflow_uuid = c.workflow_uuid),
       false AS contended
FROM claimed c
LEFT JOIN {s}.workflow_input i ON i.workflow_uuid = c.workflow_uuid
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       g.wanted AND NOT g.open
FROM gate g
WHERE NOT EXISTS (SELECT 1 FROM claimed)
)SQL";

// Streams (reference §4.7). WriteStream: the checkpoint ($4) gates the append as in SetEvent; the
// last row of the stream says both the next offset and whether the stream is closed.
constexpr std::string_view kWriteStreamSql = R"SQL(
WITH wf AS (
  SELECT status FROM {s}.workflow_status WHERE workflow_uuid = $1::text
), prior AS (
  SELECT function_name, output, error, child_workflow_id, started_at_epoch_ms,
         completed_at_epoch_ms, serialization
  FROM {s}.operation_outputs
  WHERE $4::boolean AND workflow_uuid = $5::text AND function_id = $6::integer
), last AS (
  SELECT "offset", value FROM {s}.streams
  WHERE workflow_uuid = $1::text AND key = $2::text
  ORDER BY "offset" DESC LIMIT 1
), closed AS (
  SELECT 1 FROM last WHERE value IN ('"__DBOS_STREAM_CLOSED__"', '__DBOS_STREAM_CLOSED__')
), ckpt AS (
  INSERT INTO {s}.operation_outputs (
      workflow_uuid, function_id, function_name, output, error, child_workflow_id,
      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
  SELECT $5::text, $6::integer, $7::text, $8::text, $9::text, $10::text, $11::bigint,
         $12::bigint, 'portable_json', $13::text
  FROM wf
  WHERE $4::boolean AND wf.status IS DISTINCT FROM 'CANCELLED'
    AND NOT EXISTS (SELECT 1 FROM closed)
  ON CONFLICT (workflow_uuid, function_id) DO NOTHING
  RETURNING 1
), gate AS (
  SELECT 1 AS go FROM ckpt
  UNION ALL
  SELECT 1 FROM wf WHERE NOT $4::boolean AND NOT EXISTS (SELECT 1 FROM closed)
), ins AS (
  INSERT INTO {s}.streams (workflow_uuid, key, value, "offset", function_id, serialization)
  SELECT $1::text, $2::text, $3::text, COALESCE((SELECT "offset" FROM last), -1) + 1,
         $14::integer, 'portable_json'
  FROM gate
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins) > 0, EXISTS (SELECT 1 FROM closed),
       (SELECT count(*) FROM wf), (SELECT status FROM wf),
       p.function_name, p.output, p.error, p.child_workflow_id, p.started_at_epoch_ms,
       p.completed_at_epoch_ms, p.serialization
FROM (SELECT 1) AS one LEFT JOIN prior p ON true
)SQL";

// The writer's status and a page of the stream, in one snapshot.
constexpr std::string_view kReadStreamSql = R"SQL(
SELECT ws.status, s."offset", s.value, s.serialization
FROM {s}.workflow_status ws
LEFT JOIN LATERAL (
  SELECT "offset", value, serialization FROM {s}.streams
  WHERE workflow_uuid = $1::text AND key = $2::text AND "offset" >= $3::bigint
  ORDER BY "offset" LIMIT $4::integer
) s ON true
WHERE ws.workflow_uuid = $1::text
ORDER BY s."offset"
)SQL";

}  // namespace

core::Statements MakeStatements(const std::string& quoted_schema) {
  using Access = core::Script::Access;
  // One statement per script: its rows are the result.
  const auto one = [&](const char* name, Access access, std::string_view sql) {
    core::Script script;
    script.name = name;
    script.access = access;
    script.parts.push_back(core::Part{WithSchema(sql, quoted_schema), true, false});
    return script;
  };
  core::Statements s;
  // The checkpoints every workflow writes share commits with other workflows' (group commit).
  // Sends, receipts and events too. A send's or an event's NOTIFY (the notifications trigger,
  // set_event's pg_notify) makes PostgreSQL serialise their commits, WAL flush included, on one
  // cluster-wide lock; sharing commits takes that lock once per group instead of once per message.
  const auto shared = [&](const char* name, std::string_view sql) {
    core::Script script = one(name, Access::kWrite, sql);
    script.shares_commit = true;
    return script;
  };
  s.insert_workflow = shared("insert_workflow", kInsertWorkflowSql);
  s.finish_workflow = shared("finish_workflow", kFinishWorkflowSql);
  s.finished_as = one("finished_as", Access::kRead, kFinishedAsSql);
  s.mark_dead_letter = one("mark_dead_letter", Access::kWrite, kMarkDeadLetterSql);
  s.get_workflow =
      one("get_workflow", Access::kRead, core::SelectWorkflowSql("{s}.", "$1::text", true));
  s.get_workflow_meta =
      one("get_workflow_meta", Access::kRead, core::SelectWorkflowSql("{s}.", "$1::text", false));
  s.record_step = shared("record_step", kRecordStepSql);
  s.list_steps = one("list_steps", Access::kRead, kListStepsSql);
  s.list_steps_of_many = one("list_steps_of_many", Access::kRead, kListStepsOfManySql);
  s.get_status = one("get_status", Access::kRead, kGetStatusSql);
  s.reenqueue = one("reenqueue", Access::kWrite, kReenqueueSql);
  // No precheck: a claim that finds nothing locks and writes nothing.
  s.dequeue_claim = one("dequeue_claim", Access::kWrite, kDequeueSql);
  s.dequeue_claimed_by_token = one("dequeue_claimed_by_token", Access::kRead, kClaimedByTokenSql);
  s.register_version = one("register_version", Access::kWrite, kRegisterVersionSql);
  s.send = shared("send", kSendSql);
  s.send_checkpointed = shared("send_checkpointed", kSendWithCheckpointSql);
  s.consume_peek = one("consume_peek", Access::kRead, kConsumePeekSql);
  s.consume_take = shared("consume_take", kConsumeTakeSql);
  s.set_event = shared("set_event", kSetEventSql);
  s.get_event = one("get_event", Access::kRead, kGetEventSql);
  s.cancel_workflow = one("cancel_workflow", Access::kWrite, kCancelWorkflowSql);
  s.filter_cancelled = one("filter_cancelled", Access::kRead, kFilterCancelledSql);
  s.wait_news = one("wait_news", Access::kRead, kWaitNewsSql);
  s.next_delayed = one("next_delayed", Access::kRead, kNextDelayedSql);
  s.promote_delayed = one("promote_delayed", Access::kWrite, kPromoteDelayedSql);
  s.set_workflow_delay = one("set_workflow_delay", Access::kWrite, kSetWorkflowDelaySql);
  s.bounce_debounced = one("bounce_debounced", Access::kWrite, kBounceDebouncedSql);
  s.bounced_earlier = one("bounced_earlier", Access::kRead, kBouncedEarlierSql);
  s.promoted_at = one("promoted_at", Access::kRead, kPromotedAtSql);

  s.upsert_queue = one("upsert_queue", Access::kWrite, kUpsertQueueSql);
  s.get_queue = one("get_queue", Access::kRead, kGetQueueSql);
  s.list_queue_partitions = one("list_queue_partitions", Access::kRead, kListQueuePartitionsSql);
  // No precheck: a claim that finds nothing locks and writes nothing. A claim that takes
  // workflows commits, and while workflows run, their checkpoints keep both commit lanes busy:
  // a claim of its own paid a WAL flush of its own, about one commit in three of a busy queue.
  // It shares one instead (its retry finds its rows by its token, as after any in-doubt commit;
  // it never waits on a row lock, SKIP LOCKED), holding the rows it claims until the shared
  // commit. A claim that counts limits in the database stays alone: it locks the queue's row,
  // which other executors' claims would find busy for the whole shared transaction, and its
  // start time feeds the rate limit. So does the internal queue's claim, which mostly finds
  // nothing and would wait for a lane for nothing.
  s.queue_claim = shared("queue_claim", kQueueClaimSql);
  s.queue_claim_alone = one("queue_claim", Access::kWrite, kQueueClaimSql);

  s.write_stream = one("write_stream", Access::kWrite, kWriteStreamSql);
  s.read_stream = one("read_stream", Access::kRead, kReadStreamSql);
  AddManagementStatements(s, quoted_schema);
  AddScheduleStatements(s, quoted_schema);
  return s;
}

}  // namespace dbos::sysdb::pg
