// SystemDatabase over SQLite. Every write is one BEGIN IMMEDIATE transaction on the pool's single
// writer connection: SQLite serializes writers anyway, and queueing them on an in-process mutex is
// far cheaper than letting several connections poll SQLite's busy handler. Reads go to separate
// reader connections, which WAL lets proceed while a write is in progress. Each operation uses as
// few statements as possible (RETURNING, INSERT … SELECT … WHERE EXISTS, UPDATE … WHERE IN (SELECT
// …)), since each statement and each committed transaction costs time on the hot path. SQLITE_BUSY
// that outlasts the 5 s busy timeout (another process holding the lock) is retried with capped
// backoff; every write is idempotent (ON CONFLICT, guarded UPDATE), so retrying is safe.
#include "sysdb/sqlite/sqlite_system_database.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "dbos/errors.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "sysdb/core/operations.hpp"
#include "sysdb/core/outcomes.hpp"
#include "sysdb/core/run.hpp"
#include "sysdb/core/workflow_rows.hpp"
#include "sysdb/sqlite/sqlite_connection.hpp"
#include "sysdb/sqlite/sqlite_schema.hpp"
#include "util/uuid.hpp"

namespace dbos::sysdb {
namespace sqlite {
namespace {

// RETURNING arrived in SQLite 3.35.0.
constexpr int kMinimumSqliteVersion = 3035000;
constexpr int kDefaultPoolSize = 4;

/// SQLite's backoff: lock waits are short, so it starts at 10 ms and caps at 1 s.
core::Backoff SqliteBackoff() {
  return core::Backoff(std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

// ---------------------------------------------------------------------------------------------
// SQL

constexpr const char* kInsertWorkflowSql = R"sql(
INSERT INTO workflow_status (
    workflow_uuid, status, name, class_name, config_name, authenticated_user, assumed_role,
    authenticated_roles, executor_id, application_version, application_id, application_name,
    queue_name, workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority,
    queue_partition_key, parent_workflow_id, serialization, creator_xid, created_at, updated_at,
    recovery_attempts)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
        ?21, ?22, ?22, CASE WHEN ?2 IN ('ENQUEUED', 'DELAYED') THEN 0 ELSE 1 END)
ON CONFLICT (workflow_uuid) DO UPDATE SET
    updated_at = excluded.updated_at,
    executor_id = CASE WHEN excluded.status IN ('ENQUEUED', 'DELAYED')
                       THEN workflow_status.executor_id ELSE excluded.executor_id END
RETURNING status, name, queue_name, recovery_attempts, workflow_timeout_ms,
          workflow_deadline_epoch_ms, creator_xid)sql";

constexpr const char* kInsertInputSql = R"sql(
INSERT INTO workflow_input (workflow_uuid, inputs, retention_timestamp) VALUES (?1, ?2, ?3)
ON CONFLICT (workflow_uuid) DO NOTHING)sql";

constexpr const char* kFinishWorkflowSql = R"sql(
UPDATE workflow_status
SET status = ?2, completed_at = ?3, updated_at = ?3, deduplication_id = NULL,
    serialization = 'portable_json'
WHERE workflow_uuid = ?1 AND status = 'PENDING')sql";

constexpr const char* kFinishedAsSql = R"sql(
SELECT 1 FROM workflow_status WHERE workflow_uuid = ?1 AND status = ?2 AND completed_at = ?3)sql";

constexpr const char* kUpsertOutputSql = R"sql(
INSERT INTO workflow_output (workflow_uuid, output, error, retention_timestamp)
VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (workflow_uuid) DO UPDATE SET output = excluded.output, error = excluded.error)sql";

constexpr const char* kMarkDeadLetterSql = R"sql(
UPDATE workflow_status
SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', deduplication_id = NULL,
    started_at_epoch_ms = NULL, queue_name = NULL, updated_at = ?2
WHERE workflow_uuid = ?1 AND status = 'PENDING')sql";

// The workflow read, shared with PostgreSQL (core/workflow_rows.hpp).
const std::string& GetWorkflowWithValuesSql() {
  static const std::string kSql = core::SelectWorkflowSql("", "?1", true);
  return kSql;
}

const std::string& GetWorkflowWithoutValuesSql() {
  static const std::string kSql = core::SelectWorkflowSql("", "?1", false);
  return kSql;
}

// Inserts only while the workflow exists and is not cancelled; a conflict leaves the first record.
constexpr const char* kRecordStepSql = R"sql(
INSERT INTO operation_outputs (
    workflow_uuid, function_id, function_name, output, error, child_workflow_id,
    started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
WHERE EXISTS (SELECT 1 FROM workflow_status
              WHERE workflow_uuid = ?1 AND status IS NOT 'CANCELLED')
ON CONFLICT (workflow_uuid, function_id) DO NOTHING)sql";

// Why RecordStep inserted nothing: the workflow row (column 0: present, 1: status) and the step
// row already recorded (columns 2..8), in one read.
constexpr const char* kRecordStepProbeSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL, ws.status, oo.function_id, oo.function_name, oo.output,
       oo.error, oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms,
       oo.serialization
FROM (SELECT ?1 AS id, ?2 AS function_id) AS k
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON oo.workflow_uuid = k.id AND oo.function_id = k.function_id)sql";

constexpr const char* kListStepsSql = R"sql(
SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
       completed_at_epoch_ms, serialization
FROM operation_outputs WHERE workflow_uuid = ?1 ORDER BY function_id)sql";

constexpr const char* kGetStatusSql = "SELECT status FROM workflow_status WHERE workflow_uuid = ?1";

constexpr const char* kReenqueueSql = R"sql(
UPDATE workflow_status
SET status = 'ENQUEUED', queue_name = COALESCE(NULLIF(queue_name, ''), ?3),
    started_at_epoch_ms = NULL, updated_at = ?4
WHERE status = 'PENDING' AND executor_id = ?1 AND application_version = ?2
  AND (application_name IS NULL OR application_name = ?5)
RETURNING workflow_uuid)sql";

// Claims in one statement: the inner SELECT picks the candidates in queue order, the UPDATE claims
// them. The redundant "status IN (...)" term lets SQLite use the partial in-flight index.
constexpr const char* kDequeueSql = R"sql(
UPDATE workflow_status
SET status = 'PENDING', executor_id = ?2, application_version = ?3, started_at_epoch_ms = ?4,
    updated_at = ?4, recovery_attempts = COALESCE(recovery_attempts, 0) + 1,
    workflow_deadline_epoch_ms = COALESCE(workflow_deadline_epoch_ms, ?4 + workflow_timeout_ms),
    owner_xid = ?9
WHERE status = 'ENQUEUED' AND workflow_uuid IN (
    SELECT workflow_uuid FROM workflow_status
    WHERE queue_name = ?1 AND status IN ('ENQUEUED', 'PENDING') AND status = 'ENQUEUED'
      AND (application_version = ?3 OR (?5 AND application_version IS NULL))
      AND (application_name IS NULL OR application_name = ?7)
      AND name IN (SELECT value FROM json_each(?8))
    ORDER BY priority, created_at
    LIMIT ?6)
RETURNING workflow_uuid, name,
    COALESCE((SELECT wi.inputs FROM workflow_input AS wi
              WHERE wi.workflow_uuid = workflow_status.workflow_uuid), inputs),
    serialization, authenticated_user, assumed_role, authenticated_roles,
    workflow_deadline_epoch_ms, queue_name, priority, created_at, recovery_attempts)sql";

// The rows an earlier attempt of the same DequeueWorkflows call claimed (its commit may have
// happened with the reply lost), in the column order of kDequeueSql's RETURNING.
constexpr const char* kClaimedByTokenSql = R"sql(
SELECT workflow_uuid, name,
    COALESCE((SELECT wi.inputs FROM workflow_input AS wi
              WHERE wi.workflow_uuid = workflow_status.workflow_uuid), inputs),
    serialization, authenticated_user, assumed_role, authenticated_roles,
    workflow_deadline_epoch_ms, queue_name, priority, created_at, recovery_attempts
FROM workflow_status
WHERE status = 'PENDING' AND executor_id = ?1 AND owner_xid = ?2)sql";

// A lock-free look (on a reader) before claiming, so polling an idle queue never takes the write
// lock away from the checkpoints on the hot path.
constexpr const char* kHasCandidatesSql = R"sql(
SELECT EXISTS (
    SELECT 1 FROM workflow_status
    WHERE queue_name = ?1 AND status IN ('ENQUEUED', 'PENDING') AND status = 'ENQUEUED'
      AND (application_version = ?2 OR (?3 AND application_version IS NULL))
      AND (application_name IS NULL OR application_name = ?4)
      AND name IN (SELECT value FROM json_each(?5))))sql";

constexpr const char* kInsertVersionSql = R"sql(
INSERT INTO application_versions (
    version_id, version_name, version_timestamp, created_at, application_name)
VALUES (?1, ?2, ?3, ?3, ?4)
ON CONFLICT DO NOTHING)sql";

// Ours is the latest when no version of this app (or unclaimed) has a greater timestamp.
constexpr const char* kIsLatestVersionSql = R"sql(
SELECT COALESCE(
    (SELECT version_timestamp FROM application_versions WHERE version_name = ?1) >=
    (SELECT MAX(version_timestamp) FROM application_versions
     WHERE application_name = ?2 OR application_name IS NULL), 0))sql";

// Send's checks, in one read: the sender (column 0: present, 1: status), the sender's step row
// (columns 2..9, laid out as in kRecordStepProbeSql) and whether the destination exists (10).
constexpr const char* kSendProbeSql = R"sql(
SELECT ws.workflow_uuid IS NOT NULL, ws.status, oo.function_id, oo.function_name, oo.output,
       oo.error, oo.child_workflow_id, oo.started_at_epoch_ms, oo.completed_at_epoch_ms,
       oo.serialization, EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = ?3)
FROM (SELECT ?1 AS id, ?2 AS function_id) AS k
LEFT JOIN workflow_status AS ws ON ws.workflow_uuid = k.id
LEFT JOIN operation_outputs AS oo ON oo.workflow_uuid = k.id AND oo.function_id = k.function_id)sql";

// The same message_uuid sent again (a retried send with an idempotency key) is delivered once.
constexpr const char* kInsertNotificationSql = R"sql(
INSERT INTO notifications (
    message_uuid, destination_uuid, topic, message, created_at_epoch_ms, serialization, consumed)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
ON CONFLICT (message_uuid) DO NOTHING)sql";

// The oldest unconsumed message of (destination, topic); rowid breaks ties between messages sent
// in the same millisecond in insertion order.
constexpr const char* kOldestMessageSql = R"sql(
SELECT rowid, message, serialization FROM notifications
WHERE destination_uuid = ?1 AND topic = ?2 AND consumed = 0
ORDER BY created_at_epoch_ms, rowid
LIMIT 1)sql";

constexpr const char* kMarkConsumedSql = R"sql(
UPDATE notifications SET consumed = 1, consumed_by_function_id = ?2 WHERE rowid = ?1)sql";

constexpr const char* kOlderUnconsumedSql = R"sql(
SELECT EXISTS (SELECT 1 FROM notifications
               WHERE destination_uuid = ?1 AND topic = ?2 AND consumed = 0 AND message_uuid <> ?3))sql";

constexpr const char* kUpsertEventSql = R"sql(
INSERT INTO workflow_events (workflow_uuid, key, value, serialization) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (workflow_uuid, key) DO UPDATE SET
    value = excluded.value, serialization = excluded.serialization)sql";

// A step may set the same key more than once at one function_id: the last value wins there too.
constexpr const char* kUpsertEventHistorySql = R"sql(
INSERT INTO workflow_events_history (workflow_uuid, function_id, key, value, serialization)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (workflow_uuid, function_id, key) DO UPDATE SET
    value = excluded.value, serialization = excluded.serialization)sql";

constexpr const char* kGetEventSql =
    "SELECT value, serialization FROM workflow_events WHERE workflow_uuid = ?1 AND key = ?2";

constexpr const char* kCancelWorkflowSql = R"sql(
UPDATE workflow_status
SET status = 'CANCELLED', updated_at = ?2, completed_at = ?2, queue_name = NULL,
    deduplication_id = NULL, started_at_epoch_ms = NULL
WHERE workflow_uuid = ?1 AND (status IS NULL OR status NOT IN ('SUCCESS', 'ERROR', 'CANCELLED')))sql";

// ?1 is a JSON array of workflow IDs.
constexpr const char* kFilterCancelledSql = R"sql(
SELECT workflow_uuid FROM workflow_status
WHERE workflow_uuid IN (SELECT value FROM json_each(?1)) AND status = 'CANCELLED')sql";

// ---------------------------------------------------------------------------------------------
// Helpers

WorkflowRow ReadWorkflowRow(const Statement& stmt) { return core::ReadWorkflowColumns(stmt); }

// Columns: status, name, queue_name, recovery_attempts, timeout, deadline.
WorkflowInsertResult ReadInsertResult(const Statement& stmt) {
  WorkflowInsertResult result;
  result.status = stmt.Text(0);
  result.name = stmt.OptText(1);
  result.queue_name = stmt.OptText(2);
  result.recovery_attempts = stmt.Int64(3);
  result.workflow_timeout_ms = stmt.OptInt64(4);
  result.workflow_deadline_epoch_ms = stmt.OptInt64(5);
  return result;
}

// Columns from `first`: function_id, then the step columns of core::ReadStepColumns.
StepRow ReadStepRow(const Statement& stmt, int first) {
  return core::ReadStepColumns(stmt, first + 1, stmt.Int(first));
}

using core::StepProbe;

// What kRecordStepProbeSql (or the first ten columns of kSendProbeSql) found.
StepProbe ReadStepProbe(const Statement& stmt) {
  StepProbe probe;
  probe.workflow_exists = stmt.Int64(0) != 0;
  probe.cancelled = probe.workflow_exists && stmt.Text(1) == "CANCELLED";
  if (!stmt.IsNull(2)) probe.step = ReadStepRow(stmt, 2);
  return probe;
}

// The workflow and the step row at (workflow_uuid, function_id), read inside the caller's
// transaction.
StepProbe ProbeStep(Connection& conn, const std::string& workflow_uuid, int function_id) {
  Statement probe = conn.Prepare(kRecordStepProbeSql);
  probe.Bind(1, workflow_uuid).Bind(2, function_id);
  if (!probe.Step()) return StepProbe{};
  return ReadStepProbe(probe);
}

// Classifies a probe (core::Blocked). Nullopt when the checkpoint can be written.
std::optional<StepWriteResult> CheckpointBlocked(StepProbe& probe) {
  return core::Blocked(std::move(probe));
}

// Writes `step` with kRecordStepSql (output replaced by `output`); true when a row was inserted.
bool InsertCheckpoint(Connection& conn, const StepWrite& step,
                      const std::optional<std::string>& output,
                      const std::optional<std::string>& serialization = kPortableJson) {
  Statement insert = conn.Prepare(kRecordStepSql);
  insert.Bind(1, step.workflow_uuid)
      .Bind(2, step.function_id)
      .Bind(3, step.function_name)
      .Bind(4, output)
      .Bind(5, step.error)
      .Bind(6, step.child_workflow_id)
      .Bind(7, step.started_at_epoch_ms)
      .Bind(8, step.completed_at_epoch_ms)
      .Bind(9, serialization)
      .Bind(10, step.application_name)
      .Run();
  return insert.Changes() == 1;
}

// Columns: those of core::ReadDequeuedColumns, with priority and created_at (for the claim
// order) at 9 and 10, so recovery_attempts at 11.
DequeuedWorkflow ReadDequeued(const Statement& stmt) { return core::ReadDequeuedColumns(stmt, 11); }

// The oldest unconsumed message of a topic.
struct OldestMessage {
  int64_t rowid = 0;
  std::string message;
  std::optional<std::string> serialization;
};

std::optional<OldestMessage> TakeOldest(Connection& conn, const std::string& destination,
                                        const std::string& topic) {
  Statement select = conn.Prepare(kOldestMessageSql);
  select.Bind(1, destination).Bind(2, topic);
  if (!select.Step()) return std::nullopt;
  return OldestMessage{select.Int64(0), select.Text(1), select.OptText(2)};
}

// ConsumeMessage's decision from reads alone: its result when nothing is to be written (the step
// is recorded, the workflow is missing or CANCELLED, no message waits, or the oldest one cannot
// be decoded by the caller); nullopt, with `oldest` set, when the oldest message is to be taken.
std::optional<ConsumeResult> DecideConsume(Connection& conn, const std::string& topic,
                                           const StepWrite& checkpoint,
                                           const std::vector<std::string>& readable,
                                           std::optional<OldestMessage>& oldest) {
  ConsumeResult result;
  StepProbe probe = ProbeStep(conn, checkpoint.workflow_uuid, checkpoint.function_id);
  if (std::optional<StepWriteResult> blocked = CheckpointBlocked(probe)) {
    result.kind = blocked->kind;
    result.existing = std::move(blocked->existing);
    return result;
  }
  oldest = TakeOldest(conn, checkpoint.workflow_uuid, topic);
  if (!oldest) return result;
  if (!core::Readable(oldest->serialization, readable)) {
    result.unreadable_serialization = oldest->serialization;
    return result;  // Never consume what cannot be decoded.
  }
  return std::nullopt;
}

// The receiver of `message` waits in Recv in this process: when `message` is the only unconsumed
// message of its topic (older ones go first, through the receiver's own Recv), consume it on the
// receiver's behalf and record its "DBOS.recv" checkpoint, in the sender's transaction. False
// (nothing written) when an older message waits, or the receiver's step is recorded already, or
// the receiver is missing or CANCELLED.
bool DeliverToWaitingReceiver(Connection& conn, const std::string& topic,
                              const MessageWrite& message) {
  const StepWrite& receiver = *message.deliver_to;
  {
    Statement older = conn.Prepare(kOlderUnconsumedSql);
    older.Bind(1, message.destination_uuid).Bind(2, topic).Bind(3, message.message_uuid);
    if (older.Step() && older.Int64(0) != 0) return false;
  }
  StepProbe probe = ProbeStep(conn, message.destination_uuid, receiver.function_id);
  if (CheckpointBlocked(probe)) return false;
  std::optional<OldestMessage> oldest = TakeOldest(conn, message.destination_uuid, topic);
  if (!oldest) return false;
  conn.Prepare(kMarkConsumedSql).Bind(1, oldest->rowid).Bind(2, receiver.function_id).Run();
  if (!InsertCheckpoint(conn, receiver, oldest->message, oldest->serialization)) {
    throw std::logic_error("a receiver checkpoint checked free was not inserted");  // rolls back
  }
  return true;
}

// True when the workflow row exists (read inside the caller's transaction).
bool WorkflowExists(Connection& conn, const std::string& workflow_uuid) {
  Statement select = conn.Prepare(kGetStatusSql);
  select.Bind(1, workflow_uuid);
  return select.Step();
}

using core::StoredTopic;

bool IsDedupViolation(const SqliteError& error) {
  return error.Code() == SQLITE_CONSTRAINT_UNIQUE &&
         error.Message().find("deduplication_id") != std::string::npos;
}

// How to name the database in messages: the path as given plus where it resolves to.
std::string DescribeLocation(const SqliteTarget& target) {
  if (target.in_memory || target.is_uri) return "'" + target.filename + "'";
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(target.filename, ec);
  if (ec || absolute.string() == target.filename) return "'" + target.filename + "'";
  return "'" + target.filename + "' (" + absolute.string() + ")";
}

std::string DirectoryOf(const SqliteTarget& target) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(target.filename, ec);
  if (ec) absolute = target.filename;
  const std::filesystem::path parent = absolute.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Turns a startup failure into the Initialization error a user can act on.
DBOSError StartupError(const SqliteTarget& target, const std::string& location,
                       const SqliteError& error, std::chrono::milliseconds startup_timeout) {
  std::string advice;
  std::error_code ec;
  switch (error.PrimaryCode()) {
    case SQLITE_CANTOPEN:
      if (!target.is_uri && std::filesystem::is_directory(target.filename, ec)) {
        advice = "the path is a directory; name a database file (e.g. " +
                 (std::filesystem::path(target.filename) / "dbos.sqlite").string() + ")";
        break;
      }
      advice = target.is_uri ? "check the file: URI and that its directory exists and is writable"
                             : "check that the directory '" + DirectoryOf(target) +
                                   "' exists and that this process may create and write files in "
                                   "it, or change the database URL";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      advice =
          "the database file or its directory is not writable by this process (SQLite also "
          "creates -wal and -shm files beside it); fix the permissions or change the "
          "database URL";
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      advice = "the file is not a valid SQLite database; point the database URL at a new file";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      advice = "another process kept the database locked for longer than the startup timeout (" +
               std::to_string(startup_timeout.count()) + " ms)";
      break;
    default:
      advice = "check the database URL and the file";
      break;
  }
  return DBOSError(ErrorCode::Initialization, "cannot open the SQLite system database " + location +
                                                  ": " + error.Message() + "; " + advice);
}

// ---------------------------------------------------------------------------------------------
// SqliteSystemDatabase

class SqliteSystemDatabase final : public SystemDatabase {
 public:
  SqliteSystemDatabase(std::unique_ptr<ConnectionPool> pool, std::shared_ptr<Logger> logger,
                       std::string location)
      : pool_(std::move(pool)), logger_(std::move(logger)), location_(std::move(location)) {}

  WorkflowInsertResult InsertWorkflow(const WorkflowInsert& row) override {
    return Write(core::op::kInsertWorkflow, [&](Connection& conn, Transaction& txn) {
      WorkflowInsertResult result;
      {
        Statement insert = conn.Prepare(kInsertWorkflowSql);
        insert.Bind(1, row.workflow_uuid)
            .Bind(2, row.status)
            .Bind(3, row.name)
            .Bind(4, row.class_name)
            .Bind(5, row.config_name)
            .Bind(6, row.authenticated_user)
            .Bind(7, row.assumed_role)
            .Bind(8, row.authenticated_roles)
            .Bind(9, row.executor_id)
            .Bind(10, row.application_version)
            .Bind(11, row.application_id)
            .Bind(12, row.application_name)
            .Bind(13, row.queue_name)
            .Bind(14, row.workflow_timeout_ms)
            .Bind(15, row.workflow_deadline_epoch_ms)
            .Bind(16, row.deduplication_id)
            .Bind(17, row.priority)
            .Bind(18, row.queue_partition_key)
            .Bind(19, row.parent_workflow_id)
            .Bind(20, row.serialization)
            .Bind(21, row.creator_xid)
            .Bind(22, row.now_ms);
        bool has_row = false;
        try {
          has_row = insert.Step();
        } catch (const SqliteError& error) {
          if (!IsDedupViolation(error)) throw;
          throw DBOSError(ErrorCode::QueueDeduplicated,
                          "Workflow " + row.workflow_uuid +
                              " was deduplicated due to an existing workflow in queue " +
                              row.queue_name.value_or("") + " with deduplication ID " +
                              row.deduplication_id.value_or(""),
                          row.workflow_uuid);
        }
        if (!has_row) throw std::logic_error("INSERT ... RETURNING returned no row");
        result = ReadInsertResult(insert);
        result.created = insert.Text(6) == row.creator_xid;
        insert.Run();
      }
      if (result.created) {
        conn.Prepare(kInsertInputSql)
            .Bind(1, row.workflow_uuid)
            .Bind(2, row.inputs)
            .Bind(3, row.now_ms)
            .Run();
      }
      txn.Commit();
      return result;
    });
  }

  bool FinishWorkflow(const std::string& workflow_uuid, const std::string& status,
                      const std::optional<std::string>& output,
                      const std::optional<std::string>& error, int64_t now_ms) override {
    return Write(core::op::kFinishWorkflow, [&](Connection& conn, Transaction& txn, bool retry) {
      {
        Statement update = conn.Prepare(kFinishWorkflowSql);
        update.Bind(1, workflow_uuid).Bind(2, status).Bind(3, now_ms).Run();
        if (update.Changes() == 0) {
          // After an in-doubt commit, our own finish (same status and completed_at) is found.
          if (!retry) return false;
          Statement mine = conn.Prepare(kFinishedAsSql);
          mine.Bind(1, workflow_uuid).Bind(2, status).Bind(3, now_ms);
          return mine.Step();
        }
      }
      conn.Prepare(kUpsertOutputSql)
          .Bind(1, workflow_uuid)
          .Bind(2, output)
          .Bind(3, error)
          .Bind(4, now_ms)
          .Run();
      txn.Commit();
      return true;
    });
  }

  void MarkDeadLetter(const std::string& workflow_uuid, int64_t now_ms) override {
    Write(core::op::kMarkDeadLetter, [&](Connection& conn, Transaction& txn) {
      conn.Prepare(kMarkDeadLetterSql).Bind(1, workflow_uuid).Bind(2, now_ms).Run();
      txn.Commit();
      return true;
    });
  }

  std::optional<WorkflowRow> GetWorkflow(const std::string& workflow_uuid,
                                         bool load_values) override {
    return Read(core::op::kGetWorkflow, [&](Connection& conn) -> std::optional<WorkflowRow> {
      Statement select =
          conn.Prepare(load_values ? GetWorkflowWithValuesSql() : GetWorkflowWithoutValuesSql());
      select.Bind(1, workflow_uuid);
      if (!select.Step()) return std::nullopt;
      return ReadWorkflowRow(select);
    });
  }

  StepWriteResult RecordStep(const StepWrite& step) override {
    return Write(core::op::kRecordStep, [&](Connection& conn, Transaction& txn, bool retry) {
      if (InsertCheckpoint(conn, step, step.output)) {
        txn.Commit();
        return StepWriteResult{};  // Inserted
      }
      // Nothing inserted: find out why, in the same transaction. Nothing to commit.
      StepProbe probe = ProbeStep(conn, step.workflow_uuid, step.function_id);
      // After an in-doubt commit, our own row counts as written now.
      if (retry && probe.step && core::SameStep(*probe.step, step)) return StepWriteResult{};
      if (std::optional<StepWriteResult> blocked = CheckpointBlocked(probe)) return *blocked;
      throw std::logic_error("RecordStep inserted nothing, yet workflow " + step.workflow_uuid +
                             " is not cancelled and step " + std::to_string(step.function_id) +
                             " is not recorded");
    });
  }

  std::vector<StepRow> ListSteps(const std::string& workflow_uuid) override {
    return Read(core::op::kListSteps, [&](Connection& conn) {
      std::vector<StepRow> steps;
      Statement select = conn.Prepare(kListStepsSql);
      select.Bind(1, workflow_uuid);
      while (select.Step()) steps.push_back(ReadStepRow(select, 0));
      return steps;
    });
  }

  std::optional<std::string> GetWorkflowStatusString(const std::string& workflow_uuid) override {
    return Read(core::op::kGetWorkflowStatusString,
                [&](Connection& conn) -> std::optional<std::string> {
                  Statement select = conn.Prepare(kGetStatusSql);
                  select.Bind(1, workflow_uuid);
                  if (!select.Step()) return std::nullopt;
                  return select.Text(0);
                });
  }

  std::vector<std::string> ReenqueuePendingWorkflows(const std::vector<std::string>& executor_ids,
                                                     const std::string& application_version,
                                                     const std::string& application_name,
                                                     int64_t now_ms) override {
    if (executor_ids.empty()) return {};
    return Write(core::op::kReenqueuePendingWorkflows, [&](Connection& conn, Transaction& txn) {
      std::vector<std::string> ids;
      for (const std::string& executor_id : executor_ids) {
        Statement update = conn.Prepare(kReenqueueSql);
        update.Bind(1, executor_id)
            .Bind(2, application_version)
            .BindStatic(3, kInternalQueueName)
            .Bind(4, now_ms)
            .Bind(5, application_name);
        while (update.Step()) ids.push_back(update.Text(0));
      }
      if (!ids.empty()) txn.Commit();
      return ids;
    });
  }

  std::vector<DequeuedWorkflow> DequeueWorkflows(const DequeueRequest& request) override {
    if (request.max_tasks < 0 || request.workflow_names.empty()) return {};
    const std::string names = nlohmann::json(request.workflow_names).dump();
    const std::string token = util::NewUuid();
    // A lock-free look first, so polling an idle queue never takes the write lock.
    const bool has_candidates = Read(core::op::kDequeueWorkflows, [&](Connection& conn) {
      Statement select = conn.Prepare(kHasCandidatesSql);
      select.Bind(1, request.queue_name)
          .Bind(2, request.application_version)
          .Bind(3, request.accept_unversioned ? 1 : 0)
          .Bind(4, request.application_name)
          .Bind(5, names);
      return select.Step() && select.Int64(0) != 0;
    });
    if (!has_candidates) return {};
    bool attempted = false;
    return Write(core::op::kDequeueWorkflows, [&](Connection& conn, Transaction& txn) {
      // Any attempt after the first may follow an in-doubt commit: look for its claims first.
      const bool look_for_earlier = attempted;
      attempted = true;
      return ClaimOrFindClaimed(conn, txn, request, names, token, look_for_earlier);
    });
  }

 private:
  // Claims rows for `request` with `token`; when `look_for_earlier`, first returns the rows an
  // earlier attempt with the same token claimed, if any.
  static std::vector<DequeuedWorkflow> ClaimOrFindClaimed(Connection& conn, Transaction& txn,
                                                          const DequeueRequest& request,
                                                          const std::string& names,
                                                          const std::string& token,
                                                          bool look_for_earlier) {
    struct Claimed {
      DequeuedWorkflow workflow;
      int64_t priority;
      int64_t created_at;
    };
    std::vector<Claimed> claimed;
    if (look_for_earlier) {
      Statement select = conn.Prepare(kClaimedByTokenSql);
      select.Bind(1, request.executor_id).Bind(2, token);
      while (select.Step())
        claimed.push_back(Claimed{ReadDequeued(select), select.Int64(9), select.Int64(10)});
    }
    if (claimed.empty()) {
      Statement update = conn.Prepare(kDequeueSql);
      update.Bind(1, request.queue_name)
          .Bind(2, request.executor_id)
          .Bind(3, request.application_version)
          .Bind(4, request.now_ms)
          .Bind(5, request.accept_unversioned ? 1 : 0)
          .Bind(6, request.max_tasks > 0 ? static_cast<int64_t>(request.max_tasks) : int64_t{-1})
          .Bind(7, request.application_name)
          .Bind(8, names)
          .Bind(9, token);
      while (update.Step()) {
        claimed.push_back(Claimed{ReadDequeued(update), update.Int64(9), update.Int64(10)});
      }
    }
    if (claimed.empty()) return std::vector<DequeuedWorkflow>();  // Roll back: no WAL append.
    txn.Commit();
    // RETURNING order is unspecified: hand the claims out in queue order.
    std::stable_sort(claimed.begin(), claimed.end(), [](const Claimed& a, const Claimed& b) {
      return std::tie(a.priority, a.created_at) < std::tie(b.priority, b.created_at);
    });
    std::vector<DequeuedWorkflow> result;
    result.reserve(claimed.size());
    for (Claimed& item : claimed) result.push_back(std::move(item.workflow));
    return result;
  }

 public:
  bool RegisterApplicationVersion(const std::string& version_name,
                                  const std::string& application_name, int64_t now_ms) override {
    const std::string version_id = util::NewUuid();
    std::optional<std::string> owner;
    if (!application_name.empty()) owner = application_name;
    return Write(core::op::kRegisterApplicationVersion, [&](Connection& conn, Transaction& txn) {
      conn.Prepare(kInsertVersionSql)
          .Bind(1, version_id)
          .Bind(2, version_name)
          .Bind(3, now_ms)
          .Bind(4, owner)
          .Run();
      bool latest = false;
      {
        Statement select = conn.Prepare(kIsLatestVersionSql);
        select.Bind(1, version_name).Bind(2, owner);
        latest = select.Step() && select.Int64(0) != 0;
      }
      txn.Commit();
      return latest;
    });
  }

  // ---- Messages, events, cancellation -----------------------------------------------------

  SendResult Send(const MessageWrite& message) override {
    const std::string& topic = StoredTopic(message.topic);
    return Write(core::op::kSend, [&](Connection& conn, Transaction& txn, bool retry) {
      if (message.checkpoint) {
        // One read for every check; any early return rolls back with nothing written.
        const StepWrite& step = *message.checkpoint;
        Statement probe = conn.Prepare(kSendProbeSql);
        probe.Bind(1, step.workflow_uuid)
            .Bind(2, step.function_id)
            .Bind(3, message.destination_uuid);
        if (!probe.Step()) throw std::logic_error("Send probe returned no row");
        const core::SendProbe found{ReadStepProbe(probe), probe.Int64(10) != 0};
        if (auto blocked = core::SendBlocked(found, message.checkpoint, retry)) return *blocked;
      } else {
        const core::SendProbe found{std::nullopt, WorkflowExists(conn, message.destination_uuid)};
        if (auto blocked = core::SendBlocked(found, message.checkpoint, retry)) return *blocked;
      }
      conn.Prepare(kInsertNotificationSql)
          .Bind(1, message.message_uuid)
          .Bind(2, message.destination_uuid)
          .Bind(3, topic)
          .Bind(4, message.message)
          .Bind(5, message.now_ms)
          .BindStatic(6, kPortableJson)
          .Run();
      if (message.checkpoint &&
          !InsertCheckpoint(conn, *message.checkpoint, message.checkpoint->output)) {
        throw std::logic_error("a sender checkpoint checked free was not inserted");  // rolls back
      }
      const bool delivered = message.deliver_to && DeliverToWaitingReceiver(conn, topic, message);
      txn.Commit();
      return delivered ? SendResult::Delivered : SendResult::Sent;
    });
  }

  ConsumeResult ConsumeMessage(const std::string& topic, const StepWrite& checkpoint,
                               const std::vector<std::string>& readable) override {
    const std::string& stored_topic = StoredTopic(topic);
    // Decide from reads first: a waiting Recv polls this, and must not take the write lock
    // (BEGIN IMMEDIATE) while there is nothing it can take.
    const std::optional<ConsumeResult> decided =
        Read(core::op::kConsumeMessage, [&](Connection& conn) -> std::optional<ConsumeResult> {
          std::optional<OldestMessage> oldest;
          return DecideConsume(conn, stored_topic, checkpoint, readable, oldest);
        });
    if (decided) return *decided;
    return Write(core::op::kConsumeMessage, [&](Connection& conn, Transaction& txn) {
      std::optional<OldestMessage> oldest;
      // Decided again under the write lock: another writer may have taken the message.
      if (auto done = DecideConsume(conn, stored_topic, checkpoint, readable, oldest)) {
        return *done;  // Nothing written: roll back.
      }
      conn.Prepare(kMarkConsumedSql).Bind(1, oldest->rowid).Bind(2, checkpoint.function_id).Run();
      ConsumeResult result;
      result.message = std::move(oldest->message);
      result.serialization = oldest->serialization;
      if (!InsertCheckpoint(conn, checkpoint, result.message, result.serialization)) {
        throw std::logic_error("ConsumeMessage could not record step " +
                               std::to_string(checkpoint.function_id) + " of workflow " +
                               checkpoint.workflow_uuid);
      }
      txn.Commit();
      return result;
    });
  }

  StepWriteResult SetEvent(const EventWrite& event) override {
    return Write(core::op::kSetEvent, [&](Connection& conn, Transaction& txn, bool retry) {
      if (event.checkpoint) {
        StepProbe probe =
            ProbeStep(conn, event.checkpoint->workflow_uuid, event.checkpoint->function_id);
        if (retry && probe.step && core::SameStep(*probe.step, *event.checkpoint)) {
          return StepWriteResult{};  // our own in-doubt commit
        }
        if (std::optional<StepWriteResult> blocked = CheckpointBlocked(probe)) return *blocked;
      }
      if ((!event.checkpoint || event.checkpoint->workflow_uuid != event.workflow_uuid) &&
          !WorkflowExists(conn, event.workflow_uuid)) {
        StepWriteResult missing;
        missing.kind = StepWriteResult::Kind::WorkflowMissing;
        return missing;
      }
      conn.Prepare(kUpsertEventSql)
          .Bind(1, event.workflow_uuid)
          .Bind(2, event.key)
          .Bind(3, event.value)
          .BindStatic(4, kPortableJson)
          .Run();
      conn.Prepare(kUpsertEventHistorySql)
          .Bind(1, event.workflow_uuid)
          .Bind(2, event.function_id)
          .Bind(3, event.key)
          .Bind(4, event.value)
          .BindStatic(5, kPortableJson)
          .Run();
      if (event.checkpoint &&
          !InsertCheckpoint(conn, *event.checkpoint, event.checkpoint->output)) {
        throw std::logic_error("SetEvent could not record step " +
                               std::to_string(event.checkpoint->function_id) + " of workflow " +
                               event.checkpoint->workflow_uuid);
      }
      txn.Commit();
      return StepWriteResult{};
    });
  }

  std::optional<StoredValue> GetEvent(const std::string& workflow_uuid,
                                      const std::string& key) override {
    return Read(core::op::kGetEvent, [&](Connection& conn) -> std::optional<StoredValue> {
      Statement select = conn.Prepare(kGetEventSql);
      select.Bind(1, workflow_uuid).Bind(2, key);
      if (!select.Step() || select.IsNull(0)) return std::nullopt;
      return StoredValue{select.Text(0), select.OptText(1)};
    });
  }

  bool CancelWorkflow(const std::string& workflow_uuid, int64_t now_ms) override {
    return Write(core::op::kCancelWorkflow, [&](Connection& conn, Transaction& txn) {
      {
        Statement update = conn.Prepare(kCancelWorkflowSql);
        update.Bind(1, workflow_uuid).Bind(2, now_ms).Run();
        if (update.Changes() == 1) {
          txn.Commit();
          return true;
        }
      }
      // Nothing changed (already terminal, or missing): roll back, say whether the row exists.
      return WorkflowExists(conn, workflow_uuid);
    });
  }

  std::vector<std::string> FilterCancelled(
      const std::vector<std::string>& workflow_uuids) override {
    if (workflow_uuids.empty()) return {};
    const std::string ids = nlohmann::json(workflow_uuids).dump();
    return Read(core::op::kFilterCancelled, [&](Connection& conn) {
      std::vector<std::string> cancelled;
      Statement select = conn.Prepare(kFilterCancelledSql);
      select.Bind(1, ids);
      while (select.Step()) cancelled.push_back(select.Text(0));
      return cancelled;
    });
  }

  // SQLite has no LISTEN/NOTIFY: the runtime signals waiters in-process and polls.
  bool StartListening(NotificationCallback /*callback*/) override { return false; }
  void StopListening() override {}

 private:
  /// The SQLite dialect of the shared retry loop (see core/run.hpp).
  struct Dialect {
    using Error = SqliteError;
    SqliteSystemDatabase* db;
    static bool IsTransient(const SqliteError& e) { return e.IsTransient(); }
    static std::string Code(const SqliteError& e) { return sqlite3_errstr(e.Code()); }
    static void AfterTransient(const SqliteError&) {}
    Logger& Log() const { return *db->logger_; }
    const char* Name() const { return db->name_.c_str(); }
    static core::Backoff NewBackoff() { return SqliteBackoff(); }
    bool Stopped() const { return db->RetryingStopped(); }
  };

  // Runs `fn(conn, txn[, is_retry])` inside BEGIN IMMEDIATE on the writer, in the shared retry
  // loop; `fn` commits (or returns without committing to roll back).
  template <typename Fn>
  using WriteResult =
      typename std::conditional_t<std::is_invocable_v<Fn&, Connection&, Transaction&, bool>,
                                  std::invoke_result<Fn&, Connection&, Transaction&, bool>,
                                  std::invoke_result<Fn&, Connection&, Transaction&>>::type;

  template <typename Fn>
  WriteResult<Fn> Write(const core::Operation& operation, Fn&& fn) {
    Dialect dialect{this};
    return core::RunOperation(dialect, operation, "", [&](bool retry) {
      const testing::Fault fault = testing::FaultInjectionOn()
                                       ? testing::NextFault({"sqlite", operation.name, "write"})
                                       : testing::Fault{};
      ThrowIfFault(fault, testing::Fault::Kind::kBeforeExecute);
      ConnectionPool::Lease lease = pool_->Writer();
      Transaction txn(*lease, Transaction::Mode::Immediate);
      // A connection lost inside the transaction: SQLite rolls it back.
      ThrowIfFault(fault, testing::Fault::Kind::kDropConnection);
      WriteResult<Fn> result = [&]() -> WriteResult<Fn> {
        if constexpr (std::is_invocable_v<Fn&, Connection&, Transaction&, bool>) {
          return fn(*lease, txn, retry);
        } else {
          return fn(*lease, txn);
        }
      }();
      ThrowIfFault(fault, testing::Fault::Kind::kAfterCommit);
      return result;
    });
  }

  // Runs `fn(conn)` on a reader connection (single statements: each is its own snapshot).
  template <typename Fn>
  std::invoke_result_t<Fn&, Connection&> Read(const core::Operation& operation, Fn&& fn) {
    Dialect dialect{this};
    return core::RunOperation(dialect, operation, "", [&](bool) {
      const testing::Fault fault = testing::FaultInjectionOn()
                                       ? testing::NextFault({"sqlite", operation.name, "read"})
                                       : testing::Fault{};
      ThrowIfFault(fault, testing::Fault::Kind::kBeforeExecute);
      ThrowIfFault(fault, testing::Fault::Kind::kDropConnection);
      ConnectionPool::Lease lease = pool_->Reader();
      return fn(*lease);
    });
  }

  // Raises the injected failure when `fault` is of kind `at`.
  static void ThrowIfFault(const testing::Fault& fault, testing::Fault::Kind at) {
    if (fault.kind != at) return;
    switch (at) {
      case testing::Fault::Kind::kBeforeExecute:
        throw SqliteError(fault.sqlite_code != 0 ? fault.sqlite_code : SQLITE_IOERR,
                          "injected fault before the transaction");
      case testing::Fault::Kind::kDropConnection:
        throw SqliteError(SQLITE_IOERR, "injected fault: connection lost in the transaction");
      case testing::Fault::Kind::kAfterCommit:
        throw SqliteError(SQLITE_IOERR, "injected fault: reply lost after the commit");
      case testing::Fault::Kind::kNone:
        break;
    }
  }

  std::unique_ptr<ConnectionPool> pool_;
  std::shared_ptr<Logger> logger_;
  std::string location_;
  std::string name_ = "SQLite " + location_;  // for messages: "SQLite '<path>'"
};

}  // namespace
}  // namespace sqlite

std::unique_ptr<SystemDatabase> OpenSqlite(const Options& options) {
  using sqlite::Connection;
  using sqlite::SqliteError;

  const std::optional<sqlite::SqliteTarget> target = sqlite::ParseSqliteUrl(options.url);
  if (!target) {
    throw DBOSError(ErrorCode::Initialization,
                    "'" + options.url +
                        "' is not a SQLite database URL; use sqlite:PATH, sqlite:///ABSOLUTE/PATH, "
                        "sqlite::memory: or sqlite:file:URI");
  }
  if (sqlite3_libversion_number() < sqlite::kMinimumSqliteVersion) {
    throw DBOSError(ErrorCode::Initialization,
                    std::string("the linked SQLite library is version ") + sqlite3_libversion() +
                        "; DBOS needs SQLite 3.35.0 or newer (for RETURNING)");
  }
  if (sqlite3_threadsafe() == 0) {
    throw DBOSError(ErrorCode::Initialization,
                    "the linked SQLite library was built without thread support "
                    "(SQLITE_THREADSAFE=0); DBOS needs a thread-safe build");
  }
  const std::string location = sqlite::DescribeLocation(*target);
  Logger& logger = *options.logger;

  // Open the writer and bring the schema up, retrying lock contention until the startup deadline.
  const auto deadline = std::chrono::steady_clock::now() + options.startup_timeout;
  // SQLite's own busy wait is bounded by the startup timeout too.
  const std::chrono::milliseconds startup_busy_timeout = std::min(
      sqlite::kBusyTimeout, std::max(options.startup_timeout, std::chrono::milliseconds(1)));
  std::unique_ptr<Connection> writer;
  core::Backoff backoff = sqlite::SqliteBackoff();
  for (;;) {
    try {
      writer = std::make_unique<Connection>(*target, startup_busy_timeout);
      if (writer->IsReadOnly()) throw SqliteError(SQLITE_READONLY, "the file opened read-only");
      sqlite::EnsureSchema(*writer, logger, location);
      writer->SetBusyTimeout(sqlite::kBusyTimeout);
      break;
    } catch (const SqliteError& error) {
      writer.reset();
      const auto delay = backoff.Next();
      if (!error.IsTransient() || std::chrono::steady_clock::now() + delay > deadline) {
        throw sqlite::StartupError(*target, location, error, options.startup_timeout);
      }
      std::this_thread::sleep_for(delay);
    }
  }
  if (!target->in_memory && writer->JournalMode() != "wal") {
    logger.Log(LogLevel::Warn, "SQLite system database " + location + " uses journal mode '" +
                                   writer->JournalMode() +
                                   "' instead of WAL; readers will wait for writers");
  }

  // Readers: none for an in-memory database (every connection would be a separate database).
  std::vector<std::unique_ptr<Connection>> readers;
  if (!target->in_memory) {
    const int pool_size = options.pool_size > 0 ? options.pool_size : sqlite::kDefaultPoolSize;
    for (int i = 1; i < pool_size; ++i) {
      try {
        readers.push_back(std::make_unique<Connection>(*target));
      } catch (const SqliteError& error) {
        throw sqlite::StartupError(*target, location, error, options.startup_timeout);
      }
    }
  }
  auto pool = std::make_unique<sqlite::ConnectionPool>(std::move(writer), std::move(readers));
  return std::make_unique<sqlite::SqliteSystemDatabase>(std::move(pool), options.logger, location);
}

}  // namespace dbos::sysdb
