// Creates or checks the SQLite system database schema (migration 123). The DDL follows
// schema-v123.sql in table, column, key, index and foreign-key order; the comments below only note
// where SQLite's dialect forces a difference.
#include "sysdb/sqlite/sqlite_schema.hpp"

#include <string_view>

#include "dbos/errors.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::sysdb::sqlite {
namespace {

// unixepoch() with the 'subsec' modifier arrived in SQLite 3.42.0.
constexpr int kUnixEpochSubsecVersion = 3042000;

// "@NOW_MS@" is replaced by NowMsDefaultExpression(); "@UUID@" by a random 32-hex-digit id.
// Booleans are INTEGER 0/1; double precision is REAL; jsonb is TEXT; varchar(255) is TEXT.
constexpr std::string_view kSchemaTemplate = R"sql(
CREATE TABLE application_versions (
    version_id TEXT NOT NULL,
    version_name TEXT NOT NULL,
    version_timestamp INTEGER DEFAULT @NOW_MS@ NOT NULL,
    created_at INTEGER DEFAULT @NOW_MS@ NOT NULL,
    application_name TEXT,
    CONSTRAINT application_versions_pkey PRIMARY KEY (version_id),
    CONSTRAINT application_versions_version_name_key UNIQUE (version_name)
);

CREATE TABLE dbos_migrations (
    version INTEGER NOT NULL,
    CONSTRAINT dbos_migrations_pkey PRIMARY KEY (version)
);

CREATE TABLE event_dispatch_kv (
    service_name TEXT NOT NULL,
    workflow_fn_name TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    update_seq NUMERIC,
    update_time NUMERIC,
    CONSTRAINT event_dispatch_kv_pkey PRIMARY KEY (service_name, workflow_fn_name, key)
);

CREATE TABLE workflow_status (
    workflow_uuid TEXT NOT NULL,
    status TEXT,
    name TEXT,
    authenticated_user TEXT,
    assumed_role TEXT,
    authenticated_roles TEXT,
    request TEXT,
    output TEXT,
    error TEXT,
    executor_id TEXT,
    created_at INTEGER DEFAULT @NOW_MS@ NOT NULL,
    updated_at INTEGER DEFAULT @NOW_MS@ NOT NULL,
    application_version TEXT,
    application_id TEXT,
    class_name TEXT DEFAULT NULL,
    config_name TEXT DEFAULT NULL,
    recovery_attempts INTEGER DEFAULT 0,
    queue_name TEXT,
    workflow_timeout_ms INTEGER,
    workflow_deadline_epoch_ms INTEGER,
    inputs TEXT,
    started_at_epoch_ms INTEGER,
    deduplication_id TEXT,
    priority INTEGER DEFAULT 0 NOT NULL,
    queue_partition_key TEXT,
    forked_from TEXT,
    owner_xid TEXT,
    parent_workflow_id TEXT,
    serialization TEXT,
    delay_until_epoch_ms INTEGER,
    was_forked_from INTEGER DEFAULT 0 NOT NULL,
    rate_limited INTEGER DEFAULT 0 NOT NULL,
    completed_at INTEGER,
    attributes TEXT,
    schedule_name TEXT,
    debounce_deadline_epoch_ms INTEGER,
    is_debounced INTEGER DEFAULT 0 NOT NULL,
    application_name TEXT,
    creator_xid TEXT,
    CONSTRAINT workflow_status_pkey PRIMARY KEY (workflow_uuid)
);

CREATE TABLE notifications (
    message_uuid TEXT DEFAULT @UUID@ NOT NULL,
    destination_uuid TEXT NOT NULL,
    topic TEXT,
    message TEXT NOT NULL,
    created_at_epoch_ms INTEGER DEFAULT @NOW_MS@ NOT NULL,
    serialization TEXT,
    consumed INTEGER DEFAULT 0 NOT NULL,
    consumed_by_function_id INTEGER,
    CONSTRAINT notifications_pkey PRIMARY KEY (message_uuid),
    CONSTRAINT notifications_destination_uuid_fkey FOREIGN KEY (destination_uuid)
        REFERENCES workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE operation_outputs (
    workflow_uuid TEXT NOT NULL,
    function_id INTEGER NOT NULL,
    function_name TEXT DEFAULT '' NOT NULL,
    output TEXT,
    error TEXT,
    child_workflow_id TEXT,
    started_at_epoch_ms INTEGER,
    completed_at_epoch_ms INTEGER,
    serialization TEXT,
    application_name TEXT,
    retention_timestamp INTEGER DEFAULT @NOW_MS@ NOT NULL,
    CONSTRAINT operation_outputs_pkey PRIMARY KEY (workflow_uuid, function_id)
);

CREATE TABLE queues (
    queue_id TEXT DEFAULT @UUID@ NOT NULL,
    name TEXT NOT NULL,
    concurrency INTEGER,
    worker_concurrency INTEGER,
    rate_limit_max INTEGER,
    rate_limit_period_sec REAL,
    priority_enabled INTEGER DEFAULT 0 NOT NULL,
    partition_queue INTEGER DEFAULT 0 NOT NULL,
    polling_interval_sec REAL DEFAULT 1.0 NOT NULL,
    created_at INTEGER DEFAULT @NOW_MS@ NOT NULL,
    updated_at INTEGER DEFAULT @NOW_MS@ NOT NULL,
    application_name TEXT,
    partition_concurrency INTEGER,
    partition_worker_concurrency INTEGER,
    partition_rate_limit_max INTEGER,
    partition_rate_limit_period_sec REAL,
    CONSTRAINT queues_pkey PRIMARY KEY (queue_id),
    CONSTRAINT queues_name_key UNIQUE (name)
);

CREATE TABLE streams (
    workflow_uuid TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    "offset" INTEGER NOT NULL,
    function_id INTEGER DEFAULT 0 NOT NULL,
    serialization TEXT,
    CONSTRAINT streams_pkey PRIMARY KEY (workflow_uuid, key, "offset"),
    CONSTRAINT streams_workflow_uuid_fkey FOREIGN KEY (workflow_uuid)
        REFERENCES workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE workflow_events (
    workflow_uuid TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    serialization TEXT,
    CONSTRAINT workflow_events_pkey PRIMARY KEY (workflow_uuid, key),
    CONSTRAINT workflow_events_workflow_uuid_fkey FOREIGN KEY (workflow_uuid)
        REFERENCES workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE workflow_events_history (
    workflow_uuid TEXT NOT NULL,
    function_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    serialization TEXT,
    CONSTRAINT workflow_events_history_pkey PRIMARY KEY (workflow_uuid, function_id, key),
    CONSTRAINT workflow_events_history_workflow_uuid_fkey FOREIGN KEY (workflow_uuid)
        REFERENCES workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE workflow_input (
    workflow_uuid TEXT NOT NULL,
    inputs TEXT,
    retention_timestamp INTEGER DEFAULT @NOW_MS@ NOT NULL,
    CONSTRAINT workflow_input_pkey PRIMARY KEY (workflow_uuid)
);

CREATE TABLE workflow_output (
    workflow_uuid TEXT NOT NULL,
    output TEXT,
    error TEXT,
    retention_timestamp INTEGER DEFAULT @NOW_MS@ NOT NULL,
    CONSTRAINT workflow_output_pkey PRIMARY KEY (workflow_uuid)
);

CREATE TABLE workflow_schedules (
    schedule_id TEXT NOT NULL,
    schedule_name TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    workflow_class_name TEXT,
    schedule TEXT NOT NULL,
    status TEXT DEFAULT 'ACTIVE' NOT NULL,
    context TEXT NOT NULL,
    last_fired_at TEXT,
    automatic_backfill INTEGER DEFAULT 0 NOT NULL,
    cron_timezone TEXT,
    queue_name TEXT,
    application_name TEXT,
    CONSTRAINT workflow_schedules_pkey PRIMARY KEY (schedule_id),
    CONSTRAINT workflow_schedules_schedule_name_key UNIQUE (schedule_name)
);

CREATE INDEX idx_operation_outputs_completed_at_function_name_v2
    ON operation_outputs (completed_at_epoch_ms, function_name);
CREATE INDEX idx_operation_outputs_retention ON operation_outputs (retention_timestamp);
CREATE INDEX idx_workflow_input_retention ON workflow_input (retention_timestamp);
CREATE INDEX idx_workflow_output_retention ON workflow_output (retention_timestamp);
CREATE INDEX idx_workflow_status_completed_at ON workflow_status (completed_at)
    WHERE completed_at IS NOT NULL;
CREATE INDEX idx_workflow_status_deadline ON workflow_status (workflow_deadline_epoch_ms)
    WHERE status IN ('ENQUEUED', 'PENDING', 'DELAYED') AND workflow_deadline_epoch_ms IS NOT NULL;
CREATE INDEX idx_workflow_status_delayed ON workflow_status (delay_until_epoch_ms)
    WHERE status = 'DELAYED';
CREATE INDEX idx_workflow_status_failed ON workflow_status (status, created_at)
    WHERE status IN ('ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED');
CREATE INDEX idx_workflow_status_forked_from ON workflow_status (forked_from)
    WHERE forked_from IS NOT NULL;
CREATE INDEX idx_workflow_status_in_flight_v2
    ON workflow_status (queue_name, status, priority, created_at)
    WHERE status IN ('ENQUEUED', 'PENDING');
CREATE INDEX idx_workflow_status_parent_workflow_id ON workflow_status (parent_workflow_id)
    WHERE parent_workflow_id IS NOT NULL;
CREATE INDEX idx_workflow_status_partition_dequeue_v3
    ON workflow_status (queue_name, status, queue_partition_key, priority, created_at, workflow_uuid)
    WHERE status IN ('ENQUEUED', 'PENDING') AND queue_partition_key IS NOT NULL;
CREATE INDEX idx_workflow_status_pending ON workflow_status (created_at)
    WHERE status = 'PENDING';
CREATE INDEX idx_workflow_status_rate_limited ON workflow_status (queue_name, started_at_epoch_ms)
    WHERE rate_limited = 1;
CREATE INDEX idx_workflow_status_schedule_name ON workflow_status (schedule_name)
    WHERE schedule_name IS NOT NULL;
CREATE INDEX idx_workflow_status_started_at ON workflow_status (started_at_epoch_ms)
    WHERE started_at_epoch_ms IS NOT NULL;
CREATE INDEX idx_workflow_topic ON notifications (destination_uuid, topic);
CREATE UNIQUE INDEX uq_application_versions_owner_version
    ON application_versions (application_name, version_name)
    WHERE application_name IS NOT NULL;
CREATE UNIQUE INDEX uq_application_versions_unclaimed_version
    ON application_versions (version_name)
    WHERE application_name IS NULL;
CREATE UNIQUE INDEX uq_workflow_status_dedup_id ON workflow_status (queue_name, deduplication_id)
    WHERE deduplication_id IS NOT NULL;
CREATE INDEX workflow_status_created_at_index ON workflow_status (created_at);
)sql";

void ReplaceAll(std::string& text, std::string_view from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

}  // namespace

std::string NowMsDefaultExpression() {
  if (sqlite3_libversion_number() >= kUnixEpochSubsecVersion) {
    return "(CAST(unixepoch('subsec') * 1000 AS INTEGER))";
  }
  return "(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))";
}

std::string SchemaScript() {
  std::string script(kSchemaTemplate);
  ReplaceAll(script, "@NOW_MS@", NowMsDefaultExpression());
  ReplaceAll(script, "@UUID@", "(lower(hex(randomblob(16))))");
  return script;
}

int64_t ReadSchemaVersion(Connection& conn) {
  {
    Statement exists = conn.Prepare(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dbos_migrations'");
    if (!exists.Step()) return -1;
  }
  Statement version = conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM dbos_migrations");
  return version.Step() ? version.Int64(0) : 0;
}

void EnsureSchema(Connection& conn, Logger& logger, const std::string& location) {
  int64_t version = ReadSchemaVersion(conn);
  if (version < 0) {
    // Take the write lock, then look again: another process may have created it meanwhile.
    Transaction txn(conn, Transaction::Mode::Immediate);
    version = ReadSchemaVersion(conn);
    if (version < 0) {
      {
        Statement tables = conn.Prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'workflow_status'");
        if (tables.Step()) {
          throw DBOSError(ErrorCode::Initialization,
                          "the SQLite system database " + location +
                              " has a workflow_status table but no dbos_migrations table, so its "
                              "schema version is unknown; point the database URL at a new file or "
                              "at a database created by DBOS");
        }
      }
      conn.Exec(SchemaScript().c_str());
      conn.Prepare("INSERT INTO dbos_migrations (version) VALUES (?1)")
          .Bind(1, kSchemaVersion)
          .Run();
      txn.Commit();
      logger.Log(LogLevel::Info, "created the DBOS system database schema (version " +
                                     std::to_string(kSchemaVersion) + ") in SQLite database " +
                                     location);
      return;
    }
  }
  if (version == kSchemaVersion) return;
  if (version > kSchemaVersion) {
    logger.Log(LogLevel::Warn,
               "the SQLite system database " + location + " has schema version " +
                   std::to_string(version) + ", newer than the version " +
                   std::to_string(kSchemaVersion) +
                   " this library was built for; using it as is (newer columns are ignored)");
    return;
  }
  throw DBOSError(ErrorCode::Initialization,
                  "SQLite system database " + location + ": schema version " +
                      std::to_string(version) + " is older than " + std::to_string(kSchemaVersion) +
                      "; cannot upgrade it (schema upgrades are not implemented yet): migrate it "
                      "with a current DBOS SDK or point the database URL at a new file");
}

}  // namespace dbos::sysdb::sqlite
