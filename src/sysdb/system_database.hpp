// The system database seen by the executor: one narrow method per operation, each one round trip
// on the hot path. Both backends store exactly the DBOS system database layout (schema-v123), so
// other DBOS SDKs and tools can share it.
//
// Layers, bottom to top (a file includes only its own layer and the ones below it):
//   1. This contract: the types and the interface below; what each operation means and returns.
//      The executor, messaging, queue and runtime include nothing else from sysdb.
//   2. core/ (dialect-neutral, written once): sql_system_database.cpp implements every operation
//      once: its parameters, its flow of Scripts, how its rows are read and classified.
//      statements.hpp is the catalog of Scripts a dialect fills (parameters and result columns
//      of each); session.hpp the Session/Backend a dialect implements; outcomes.hpp classifies
//      probe rows (step already recorded, workflow missing or cancelled; Send's outcome);
//      workflow_rows.hpp maps workflow rows; operations.hpp gives each operation its retry class
//      (read-only, idempotent, claim-token guarded); run.hpp is the one retry loop, which turns
//      every permanent failure into a DBOSError; fault_injection.hpp is the test-only seam every
//      Script passes through.
//   3. Drivers: pg_connection / pg_pool / pg_listener and sqlite_connection wrap libpq and
//      sqlite3; pg_schema / sqlite_schema create and check the tables.
//   4. Dialects: pg_statements / sqlite_statements hold the statement text; the Backends in
//      postgres_system_database / sqlite_system_database run Scripts on their connections and
//      classify their driver's errors. PostgreSQL runs each Script as one statement
//      (data-modifying CTEs ending in the result SELECT); SQLite as a short BEGIN IMMEDIATE
//      transaction whose first statement reads what blocks the write (its gate). Scripts are
//      the unit a later group commit can batch: several workflows' Scripts in one transaction.
//   5. open.cpp picks the dialect from the URL.
//
// Conventions for implementations:
// - Times are epoch milliseconds. Values (inputs, outputs, errors) arrive already encoded as text.
// - Expected outcomes (a row already there, a missing row) are return values. Every other failure
//   throws dbos::DBOSError with a code and a message that says what to fix; no driver exception
//   leaves this layer.
// - Transient failures (connection lost, server restarting or failing over, serialization
//   failure, disk or memory full, statement timeout, SQLITE_BUSY/FULL/IOERR) are retried inside
//   the implementation with capped exponential backoff and jitter; they never become a
//   workflow's outcome. Every write is idempotent (ON CONFLICT / guarded UPDATE, its own row
//   recognised after an in-doubt commit) or guarded by a claim token (DequeueWorkflows).
// - Methods are thread-safe; many workflow threads call them at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dbos/logging.hpp"

namespace dbos::sysdb {

/// The internal queue used for recovery (and later resume, fork, schedules).
inline constexpr const char* kInternalQueueName = "_dbos_internal_queue";
/// Serialization name written in every `serialization` column by this library.
inline constexpr const char* kPortableJson = "portable_json";
/// The schema version this library creates and understands.
inline constexpr int64_t kSchemaVersion = 123;

/// How to reach the system database.
struct Options {
  std::string url;              ///< Resolved URL: postgres URL / key=value, or "sqlite:PATH".
  std::string schema = "dbos";  ///< PostgreSQL schema; ignored on SQLite.
  std::string app_name;         ///< Written to PostgreSQL application_name.
  int pool_size = 0;            ///< 0 = backend default.
  std::chrono::milliseconds startup_timeout{10000};  ///< Bound on connect + migrate.
  std::shared_ptr<Logger> logger;                    ///< Never null.
  /// A Client's connection: the database and its DBOS schema must exist already; nothing is
  /// created or migrated, and a database without the schema is refused (Initialization).
  bool existing_only = false;
};

/// A workflow_status row (plus its input/output from workflow_input / workflow_output).
struct WorkflowRow {
  std::string workflow_uuid;
  std::string status;
  std::optional<std::string> name;
  std::optional<std::string> authenticated_user;
  std::optional<std::string> assumed_role;
  std::optional<std::string> authenticated_roles;  ///< JSON array text.
  std::optional<std::string> output;               ///< workflow_output.output (or legacy column).
  std::optional<std::string> error;                ///< workflow_output.error (or legacy column).
  std::optional<std::string> executor_id;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<std::string> application_version;
  std::optional<std::string> application_id;
  std::optional<std::string> class_name;
  std::optional<std::string> config_name;
  int64_t recovery_attempts = 0;
  std::optional<std::string> queue_name;
  std::optional<int64_t> workflow_timeout_ms;
  std::optional<int64_t> workflow_deadline_epoch_ms;
  std::optional<std::string> inputs;  ///< workflow_input.inputs (or legacy column).
  std::optional<int64_t> started_at_epoch_ms;
  std::optional<std::string> deduplication_id;
  int priority = 0;
  std::optional<std::string> queue_partition_key;
  std::optional<std::string> forked_from;
  std::optional<std::string> parent_workflow_id;
  /// workflow_status.serialization: the format of `inputs`, `output` and `error` (NULL: written
  /// by an SDK that predates the column; read as this library's JSON).
  std::optional<std::string> serialization;
  bool was_forked_from = false;
  std::optional<int64_t> completed_at;
  std::optional<std::string> application_name;
};

/// What InsertWorkflow writes. Status is "PENDING" (direct run) or "ENQUEUED" (queue).
struct WorkflowInsert {
  std::string workflow_uuid;
  std::string status;
  std::string name;
  std::optional<std::string> class_name;
  std::optional<std::string> config_name;
  std::optional<std::string> authenticated_user;
  std::optional<std::string> assumed_role;
  std::optional<std::string> authenticated_roles;
  std::string executor_id;
  std::optional<std::string> application_version;
  std::optional<std::string> application_id;
  std::optional<std::string> application_name;
  std::optional<std::string> queue_name;
  std::optional<int64_t> workflow_timeout_ms;
  std::optional<int64_t> workflow_deadline_epoch_ms;
  std::optional<std::string> deduplication_id;
  int priority = 0;
  std::optional<std::string> queue_partition_key;
  std::optional<std::string> parent_workflow_id;
  std::string inputs;  ///< Encoded input envelope, stored in workflow_input.
  std::string serialization = kPortableJson;
  std::string creator_xid;  ///< Random UUID identifying this start attempt.
  int64_t now_ms = 0;       ///< created_at / updated_at for a new row.
  /// Status DELAYED: when the row becomes ENQUEUED (PromoteDueDelayed).
  std::optional<int64_t> delay_until_epoch_ms;
  bool is_debounced = false;  ///< A debouncer's row (its deduplication ID is the debounce key).
  /// A debouncer's cap: bounces never delay the row past this time.
  std::optional<int64_t> debounce_deadline_epoch_ms;
};

/// What PromoteDueDelayed did.
struct DelayedPromotion {
  std::vector<std::string> queues;     ///< The queues that received rows (distinct).
  std::optional<int64_t> next_due_ms;  ///< The earliest delay_until of the rows still DELAYED.
};

/// What SetWorkflowDelay found.
enum class DelayUpdate {
  Updated,     ///< The DELAYED row now starts at the new time.
  NotDelayed,  ///< The workflow exists but is no longer (or never was) DELAYED: nothing written.
  Missing,     ///< No such workflow.
};

/// A bounce of a debounced workflow: the DELAYED, debounced row of (name, queue, key) gets a new
/// start time (capped by its debounce deadline) and new input.
struct Bounce {
  std::string name;
  std::string queue_name;
  std::string deduplication_id;
  int64_t delay_until_epoch_ms = 0;
  std::string inputs;
  int64_t now_ms = 0;
};

/// What InsertWorkflow found or made.
struct WorkflowInsertResult {
  bool created = false;             ///< True when this call inserted the row.
  std::string status;               ///< Status after the statement.
  std::optional<std::string> name;  ///< Recorded workflow name.
  std::optional<std::string> queue_name;
  int64_t recovery_attempts = 0;  ///< After the statement.
  std::optional<int64_t> workflow_timeout_ms;
  std::optional<int64_t> workflow_deadline_epoch_ms;
};

/// One row of operation_outputs.
struct StepRow {
  int function_id = 0;
  std::string function_name;
  std::optional<std::string> output;
  std::optional<std::string> error;
  std::optional<std::string> child_workflow_id;
  std::optional<int64_t> started_at_epoch_ms;
  std::optional<int64_t> completed_at_epoch_ms;
  std::optional<std::string> serialization;  ///< Format of output/error (NULL: legacy JSON).
};

/// What RecordStep writes.
struct StepWrite {
  std::string workflow_uuid;
  int function_id = 0;
  std::string function_name;
  std::optional<std::string> output;
  std::optional<std::string> error;
  std::optional<std::string> child_workflow_id;
  int64_t started_at_epoch_ms = 0;
  int64_t completed_at_epoch_ms = 0;
  std::optional<std::string> application_name;
};

/// What RecordStep did.
struct StepWriteResult {
  enum class Kind {
    Inserted,           ///< Written now.
    AlreadyRecorded,    ///< A row was there already; `existing` holds it.
    WorkflowCancelled,  ///< Not written: the workflow row is CANCELLED.
    WorkflowMissing,    ///< Not written: no workflow row.
  };
  Kind kind = Kind::Inserted;
  std::optional<StepRow> existing;
};

/// A workflow claimed from a queue: enough to start executing it.
struct DequeuedWorkflow {
  std::string workflow_uuid;
  std::optional<std::string> name;
  std::optional<std::string> inputs;
  std::optional<std::string> serialization;
  std::optional<std::string> authenticated_user;
  std::optional<std::string> assumed_role;
  std::optional<std::string> authenticated_roles;
  std::optional<int64_t> workflow_deadline_epoch_ms;
  std::optional<std::string> queue_name;
  int64_t recovery_attempts = 0;  ///< After this claim (the claim counts as a start attempt).
  /// An earlier execution recorded steps, read when it starts (without any, none is read).
  bool has_steps = true;
};

/// Topic stored for Send/Recv without a topic (DBOS's sentinel for the empty topic).
inline constexpr const char* kNullTopic = "__null__topic__";
/// LISTEN/NOTIFY channels (PostgreSQL); payloads are "<workflow_id>::<topic or key>".
inline constexpr const char* kNotificationsChannel = "dbos_notifications_channel";
inline constexpr const char* kWorkflowEventsChannel = "dbos_workflow_events_channel";
/// Queue work became available: a workflow was enqueued or promoted from DELAYED, or one of a
/// queue with global concurrency ended (a slot is free). Payload: the queue name. Sent by this
/// library only (other DBOS SDKs' enqueues are found by the queue runner's poll).
inline constexpr const char* kQueueChannel = "dbos_queue_channel";
/// A DELAYED workflow was created or given a new start time: delay promoters re-read the next due
/// time. Payload: the queue name (insert) or the workflow ID (SetWorkflowDelay).
inline constexpr const char* kDelayChannel = "dbos_delay_channel";

/// A message to insert into notifications.
struct MessageWrite {
  std::string destination_uuid;
  std::string topic;         ///< Already mapped: "" becomes kNullTopic.
  std::string message;       ///< Encoded value.
  std::string message_uuid;  ///< Random UUID, or "<idempotency key>::<destination>".
  int64_t now_ms = 0;
  std::optional<StepWrite> checkpoint;  ///< Set when sent from a workflow: recorded in the same tx.
  /// Set when the destination is waiting in Recv in this process: its "DBOS.recv" checkpoint
  /// (output = this message), written in the same transaction with the message marked consumed
  /// by it, provided the receiver's step is not recorded yet, the receiver is not CANCELLED and no
  /// older unconsumed message waits on the topic (otherwise the message is inserted unconsumed,
  /// as without it, and the receiver's own Recv takes the oldest). Saves the receiver a commit;
  /// exactly-once still rests on the step's primary key.
  std::optional<StepWrite> deliver_to;
};

/// What Send did.
enum class SendResult {
  Sent,                ///< Inserted (or already there with the same message_uuid).
  Delivered,           ///< Inserted and recorded as received by `deliver_to` (same transaction).
  DestinationMissing,  ///< No workflow with that ID: nothing written.
  AlreadyRecorded,     ///< The checkpoint already existed: nothing written (replayed send).
  WorkflowCancelled,   ///< The sending workflow is CANCELLED: nothing written.
};

/// What ConsumeMessage did.
struct ConsumeResult {
  StepWriteResult::Kind kind = StepWriteResult::Kind::Inserted;
  std::optional<std::string> message;        ///< The consumed message when kind is Inserted.
  std::optional<std::string> serialization;  ///< Its serialization column (NULL: legacy JSON).
  std::optional<StepRow> existing;           ///< The recorded row when AlreadyRecorded.
  /// Set (kind Inserted, no message, nothing written) when the caller's check refused the oldest
  /// unconsumed message of the topic: why it cannot be decoded.
  std::optional<std::string> unreadable;
};

/// A stored value with the name of the format it was written in (NULL: legacy JSON).
struct StoredValue {
  std::string text;
  std::optional<std::string> serialization;
};

/// Something a parked wait waits for in the database (see FindWaitNews).
struct WaitProbe {
  enum class Kind {
    kMessage,  ///< An unconsumed message to `workflow_uuid` on topic `name` (stored form).
    kEvent,    ///< Event `name` of `workflow_uuid` exists.
    kEnded,    ///< `workflow_uuid` is no longer PENDING, ENQUEUED or DELAYED (`name` unused).
    kStep,     ///< Step `name` (a function ID in decimal) of `workflow_uuid` is recorded.
  };
  Kind kind = Kind::kMessage;
  std::string workflow_uuid;
  std::string name;
  friend bool operator==(const WaitProbe&, const WaitProbe&) = default;
};

/// What DequeueWorkflows claims: ENQUEUED rows of `queue_name` that this process can run.
struct DequeueRequest {
  std::string queue_name;
  std::string executor_id;
  std::string application_version;  ///< Rows of this version (or NULL when accept_unversioned).
  bool accept_unversioned = false;
  int max_tasks = 0;  ///< 0 = no limit.
  int64_t now_ms = 0;
  /// Only rows whose application_name is this one or NULL ("" also matches "").
  std::string application_name;
  /// Only rows whose name is one of these (the workflows registered in this process).
  std::vector<std::string> workflow_names;
};

/// A row of the `queues` table (the limits DBOS languages share; a partitioned queue applies
/// them per partition key).
struct QueueRow {
  std::string name;
  std::optional<int64_t> concurrency;  ///< Global concurrency.
  std::optional<int64_t> worker_concurrency;
  std::optional<int64_t> rate_limit_max;
  std::optional<int64_t> rate_limit_period_ms;  ///< Stored as rate_limit_period_sec.
  bool priority_enabled = false;
  bool partition_queue = false;
  std::optional<std::string> application_name;
};

/// What ClaimFromQueue claims: DequeueWorkflows' rows, within the limits the database counts.
struct QueueClaimRequest {
  DequeueRequest base;                       ///< Queue, executor, version rules, max_tasks.
  std::optional<std::string> partition_key;  ///< Only rows of this partition (nullopt: any).
  std::optional<int> global_concurrency;     ///< PENDING rows of the queue (and partition).
  std::optional<int> rate_limit_max;         ///< Starts within the window…
  int64_t rate_limit_period_ms = 0;          ///< …of this length, ending now.
};

/// What ClaimFromQueue did.
struct QueueClaim {
  std::vector<DequeuedWorkflow> claimed;
  /// True when nothing was claimed because another executor was claiming from the queue at the
  /// same moment (the caller backs off briefly and tries again).
  bool contended = false;
};

/// An event value to publish.
struct EventWrite {
  std::string workflow_uuid;
  std::string key;
  std::string value;                    ///< Encoded value.
  int function_id = 0;                  ///< Step ID for workflow_events_history.
  std::optional<StepWrite> checkpoint;  ///< Recorded in the same transaction when set.
};

// ---- Streams (reference §4.7) ---------------------------------------------------------------

/// Stream writes and workflow ends are announced here (PostgreSQL). Payload: "<workflow>::<key>"
/// for a value written (as every DBOS SDK sends it), "<workflow>" when the writer ended.
inline constexpr const char* kStreamsChannel = "dbos_streams_channel";
/// What CloseStream appends: a stream ends at the first value that is this string.
inline constexpr const char* kStreamClosedSentinel = "__DBOS_STREAM_CLOSED__";
/// The sentinel as stored: portable JSON of the string (older SDKs stored it bare).
inline constexpr const char* kStreamClosedStored = "\"__DBOS_STREAM_CLOSED__\"";

/// A value to append to a stream (CloseStream appends kStreamClosedStored).
struct StreamWrite {
  std::string workflow_uuid;
  std::string key;
  std::string value;                    ///< Encoded value (portable_json).
  int function_id = 0;                  ///< Step ID stored with the row.
  std::optional<StepWrite> checkpoint;  ///< Recorded in the same transaction when set.
};

/// What WriteStream did.
struct StreamWriteResult {
  /// Kind Inserted when the value was written; otherwise why not (as RecordStep reports).
  StepWriteResult step;
  /// Nothing written: the stream already ends with its close marker.
  bool stream_closed = false;
};

/// One stored stream value.
struct StreamEntry {
  int64_t offset = 0;
  StoredValue value;
};

/// What ReadStream found, read in one snapshot.
struct StreamChunk {
  std::optional<std::string> status;  ///< The writer's status; nullopt when it does not exist.
  std::vector<StreamEntry> entries;   ///< Values from the offset asked, in offset order.
};

/// A row of workflow_schedules.
struct ScheduleRow {
  std::string schedule_id;
  std::string schedule_name;
  std::string workflow_name;
  std::optional<std::string> workflow_class_name;
  std::string schedule;                      ///< The cron expression.
  std::string status = "ACTIVE";             ///< ACTIVE or PAUSED.
  std::string context;                       ///< Encoded context value.
  std::optional<std::string> last_fired_at;  ///< RFC 3339 text.
  bool automatic_backfill = false;
  std::optional<std::string> cron_timezone;
  std::optional<std::string> queue_name;
  std::optional<std::string> application_name;
};

/// Decides whether the caller can decode a message before it is consumed: nullopt when it can,
/// else why not (the message then stays unconsumed).
using MessageCheck = std::function<std::optional<std::string>(const StoredValue&)>;

/// Receives PostgreSQL notifications: (channel, payload). Called on the listener thread.
using NotificationCallback = std::function<void(const std::string&, const std::string&)>;

// ---- Management (ListWorkflows, ResumeWorkflow, ForkWorkflow) -------------------------------

/// Which workflow_status rows ListWorkflows returns. Empty lists and nullopt mean "any"; the
/// conditions given are AND-ed, the values of one list OR-ed.
struct WorkflowFilter {
  std::vector<std::string> statuses;         ///< Status strings ("PENDING", …).
  std::optional<int64_t> created_after_ms;   ///< created_at >= this.
  std::optional<int64_t> created_before_ms;  ///< created_at <= this.
  std::vector<std::string> names;
  std::vector<std::string> application_versions;
  std::vector<std::string> authenticated_users;
  std::vector<std::string> workflow_ids;
  std::vector<std::string> workflow_id_prefixes;
  std::vector<std::string> queue_names;
  std::vector<std::string> executor_ids;
  bool queues_only = false;  ///< Only rows with a queue_name.
  /// Only rows whose application_name is this one or NULL; nullopt: every application.
  std::optional<std::string> application_name;
  std::optional<int64_t> limit;  ///< nullopt: no limit.
  int64_t offset = 0;
  bool sort_desc = false;  ///< created_at descending instead of ascending.
  bool load_input = false;
  bool load_output = false;  ///< Also loads the error.
};

/// What ResumeWorkflow found.
enum class ResumeOutcome {
  Resumed,  ///< The workflow is ENQUEUED on the given queue now.
  Ended,    ///< SUCCESS or ERROR: nothing written.
  Missing,  ///< No such workflow: nothing written.
};

/// What ForkWorkflow writes.
struct ForkRequest {
  std::string original_workflow_id;
  std::string forked_workflow_id;
  int start_step = 0;  ///< Steps (and events, streams) recorded below this are copied.
  std::optional<std::string> application_version;  ///< nullopt: the original's.
  std::string queue_name = kInternalQueueName;
  std::optional<std::string> queue_partition_key;
  std::string creator_xid;  ///< Identifies this fork, so its retry recognises its own row.
  int64_t now_ms = 0;
};

/// What ForkWorkflow did.
enum class ForkOutcome {
  Forked,           ///< The new workflow is ENQUEUED (or this request had created it already).
  OriginalMissing,  ///< No such original: nothing written.
  IdTaken,          ///< Another workflow has the forked ID: nothing written.
};

/// The system database. See the file comment for the conventions.
class SystemDatabase {
 public:
  virtual ~SystemDatabase() = default;

  /// From now on a transient failure ends the operation with DBOSError(Initialization) instead
  /// of being retried (operations that succeed are unaffected). Shutdown calls it first, so that
  /// no thread it waits for keeps retrying against a database that stays down; what was not
  /// written stays as it was (a workflow stays PENDING and is recovered).
  void StopRetrying() noexcept { stop_retrying_.store(true); }
  /// True once StopRetrying was called.
  bool RetryingStopped() const noexcept { return stop_retrying_.load(); }

  /// Creates the workflow_status row and its workflow_input row in one round trip:
  /// INSERT … ON CONFLICT (workflow_uuid) DO UPDATE SET updated_at = now [, executor_id = new one
  /// unless the insert is ENQUEUED] RETURNING …; workflow_input ON CONFLICT DO NOTHING.
  /// `created` tells whether the row is new (compare creator_xid). A new row starts with
  /// recovery_attempts 1 when PENDING (a direct run is the first attempt) and 0 when ENQUEUED.
  /// Never changes an existing row's status. A unique violation on (queue_name, deduplication_id)
  /// throws DBOSError(QueueDeduplicated). On PostgreSQL a new ENQUEUED row is announced on
  /// kQueueChannel and a new DELAYED row on kDelayChannel (a NOTIFY soon after the commit).
  virtual WorkflowInsertResult InsertWorkflow(const WorkflowInsert& row) = 0;

  /// Records a workflow's final outcome: UPDATE workflow_status SET status, completed_at,
  /// updated_at, deduplication_id = NULL WHERE workflow_uuid AND status = 'PENDING', and upserts
  /// workflow_output (output or error). The row's serialization becomes portable_json, the format
  /// the outcome is written in (a workflow enqueued by another SDK may have said otherwise for its
  /// input), so that other SDKs decode the outcome. One round trip. Returns false when the row was
  /// no longer PENDING (cancelled, or finished elsewhere), in which case nothing is written. On
  /// PostgreSQL, when the row is on a queue with a global concurrency, the statement itself
  /// NOTIFYs kQueueChannel (a slot is free for every executor).
  virtual bool FinishWorkflow(const std::string& workflow_uuid, const std::string& status,
                              const std::optional<std::string>& output,
                              const std::optional<std::string>& error, int64_t now_ms) = 0;

  /// Sets status MAX_RECOVERY_ATTEMPTS_EXCEEDED (clearing deduplication_id, started_at and
  /// queue_name) on a PENDING row.
  virtual void MarkDeadLetter(const std::string& workflow_uuid, int64_t now_ms) = 0;

  /// The row of one workflow, with inputs/outputs when `load_values`; nullopt when missing.
  virtual std::optional<WorkflowRow> GetWorkflow(const std::string& workflow_uuid,
                                                 bool load_values) = 0;

  /// Records a step outcome: INSERT … ON CONFLICT DO NOTHING, only if the workflow is not
  /// CANCELLED, in one round trip. When the row already exists, returns it.
  virtual StepWriteResult RecordStep(const StepWrite& step) = 0;

  /// All recorded steps of a workflow, ordered by function_id (one query; used on replay).
  virtual std::vector<StepRow> ListSteps(const std::string& workflow_uuid) = 0;

  /// The status string of a workflow, or nullopt when missing (cheap; used for polling).
  virtual std::optional<std::string> GetWorkflowStatusString(const std::string& workflow_uuid) = 0;

  /// Recovery: every PENDING row of one of `executor_ids` at `application_version` whose
  /// application_name is `application_name` or NULL becomes ENQUEUED on
  /// COALESCE(NULLIF(queue_name,''), kInternalQueueName) with started_at NULL. Returns the IDs.
  virtual std::vector<std::string> ReenqueuePendingWorkflows(
      const std::vector<std::string>& executor_ids, const std::string& application_version,
      const std::string& application_name, int64_t now_ms) = 0;

  /// Claims up to `max_tasks` ENQUEUED workflows matching `request`, ordered by priority then
  /// created_at, using FOR UPDATE SKIP LOCKED on PostgreSQL. Each claimed row becomes PENDING with
  /// executor_id, application_version, started_at_epoch_ms = now, updated_at = the later of now
  /// and its own (so a resume's in-doubt retry sees the claim followed it), recovery_attempts + 1,
  /// workflow_deadline_epoch_ms = COALESCE(deadline, now + timeout) and owner_xid = a claim token
  /// drawn for this call. A retry after an in-doubt commit first returns the PENDING rows of this
  /// executor carrying the token, so a claim whose reply was lost is never left behind. Commits
  /// only when it claimed.
  virtual std::vector<DequeuedWorkflow> DequeueWorkflows(const DequeueRequest& request) = 0;

  /// Inserts the version into application_versions if absent. Returns true when `version_name`
  /// is the latest (greatest version_timestamp) for this app (or unclaimed).
  virtual bool RegisterApplicationVersion(const std::string& version_name,
                                          const std::string& application_name, int64_t now_ms) = 0;

  // ---- Messages, events, cancellation -------------------------------------------------------

  /// Inserts a message (ON CONFLICT (message_uuid) DO NOTHING) and, when `checkpoint` is set, the
  /// sender's step row, in one transaction; the checkpoint is written only if the sender is not
  /// CANCELLED and no row exists at its step ID (otherwise nothing is written). On PostgreSQL the
  /// notifications trigger announces the message.
  virtual SendResult Send(const MessageWrite& message) = 0;

  /// Takes the oldest unconsumed message of (checkpoint.workflow_uuid, topic) for the Recv step
  /// `checkpoint`: if a step row exists at its step ID, returns it (AlreadyRecorded); if the
  /// workflow is CANCELLED or missing, says so; when no message waits, returns kind Inserted with
  /// no message. Otherwise `check` sees the message first; when it refuses, nothing is written
  /// and `unreadable` says why. Else, in one transaction, the message is marked consumed
  /// (consumed_by_function_id = the step ID) and the checkpoint recorded with output = the
  /// message (and its serialization). Waiting callers poll this: while there is nothing to take
  /// it takes no write lock.
  virtual ConsumeResult ConsumeMessage(const std::string& topic, const StepWrite& checkpoint,
                                       const MessageCheck& check) = 0;

  /// Upserts workflow_events (latest value wins), upserts workflow_events_history at
  /// (workflow, function_id, key) (a step may set a key twice) and, when set, the checkpoint, in
  /// one transaction, checkpoint first: when the checkpoint already exists or the workflow is
  /// CANCELLED, nothing else is written. On PostgreSQL it also NOTIFYs kWorkflowEventsChannel with
  /// "<workflow>::<key>" in that transaction.
  virtual StepWriteResult SetEvent(const EventWrite& event) = 0;

  /// The latest value of an event with its serialization, or nullopt.
  virtual std::optional<StoredValue> GetEvent(const std::string& workflow_uuid,
                                              const std::string& key) = 0;

  /// Sets CANCELLED (clearing queue_name, deduplication_id, started_at; completed_at = now)
  /// unless the workflow is SUCCESS, ERROR or CANCELLED already. Returns false when the workflow
  /// does not exist.
  virtual bool CancelWorkflow(const std::string& workflow_uuid, int64_t now_ms) = 0;

  /// The IDs among `workflow_uuids` whose status is CANCELLED (one query, for noticing
  /// cancellations made by other processes).
  virtual std::vector<std::string> FilterCancelled(
      const std::vector<std::string>& workflow_uuids) = 0;

  /// The indices of `probes` whose awaited thing is in the database now, in one statement for
  /// all of them (the safety net of parked waits, which notifications wake first). A kEnded
  /// probe of a workflow without a row or a status has news too (its wait ends with an error).
  virtual std::vector<size_t> FindWaitNews(const std::vector<WaitProbe>& probes) = 0;

  // ---- Delays -------------------------------------------------------------------------------

  /// Every DELAYED row whose delay_until_epoch_ms has passed (or is NULL) becomes ENQUEUED on its
  /// queue; a debounced row's deduplication ID is cleared then (a later Debounce with its key
  /// starts a new workflow). Also returns when the next DELAYED row is due. While nothing is due
  /// it takes no write lock. Retried after an in-doubt commit, it still reports the queues of
  /// the rows that commit promoted. On PostgreSQL each queue that received rows is announced on
  /// kQueueChannel after the commit.
  virtual DelayedPromotion PromoteDueDelayed(int64_t now_ms) = 0;

  /// Moves the start of a DELAYED workflow to `delay_until_epoch_ms`. Retried after an in-doubt
  /// commit, it reports Updated when that commit moved the row, even if it was promoted since. On
  /// PostgreSQL a move is announced on kDelayChannel after the commit.
  virtual DelayUpdate SetWorkflowDelay(const std::string& workflow_uuid,
                                       int64_t delay_until_epoch_ms, int64_t now_ms) = 0;

  /// Applies `bounce` to the DELAYED debounced row of its (name, queue, key); returns the row's
  /// workflow ID, or nullopt when there is no such row (it started already, or never existed).
  /// Retried after an in-doubt commit, it returns the row that commit bounced, even if it was
  /// promoted since (its input is this bounce's, so no new workflow may start for it).
  virtual std::optional<std::string> BounceDebounced(const Bounce& bounce) = 0;

  // ---- Queues ------------------------------------------------------------------------------

  /// Inserts or updates (by name) the queue's row; the definition given here wins.
  virtual void UpsertQueue(const QueueRow& queue, int64_t now_ms) = 0;

  /// The row of a queue, or nullopt when no queue has that name.
  virtual std::optional<QueueRow> GetQueue(const std::string& name) = 0;

  /// The partition keys that have ENQUEUED workflows on `queue_name`.
  virtual std::vector<std::string> ListQueuePartitions(const std::string& queue_name) = 0;

  /// DequeueWorkflows on one queue (and partition), claiming no more than its global
  /// concurrency (PENDING rows of the queue across all executors) and its rate limit (rows
  /// started on the queue within the window, by started_at_epoch_ms) allow, counted in the
  /// claiming transaction. With either limit, claimers of one queue serialize on its `queues`
  /// row (PostgreSQL: a claimer that finds it locked, or changed since its snapshot, claims
  /// nothing and reports `contended`); claimed rows get rate_limited when a rate limit is set.
  /// Same claim token and in-doubt-commit handling as DequeueWorkflows.
  virtual QueueClaim ClaimFromQueue(const QueueClaimRequest& request) = 0;

  // ---- Schedules -----------------------------------------------------------------------------

  /// Inserts a schedule unless one with its name exists; returns false then (nothing written).
  /// After an in-doubt commit its own row (same schedule_id) counts as inserted.
  virtual bool InsertSchedule(const ScheduleRow& row) = 0;
  /// Inserts or, by schedule_name, replaces the definition of a schedule (workflow, class,
  /// cron, context, backfill, zone, queue, application); schedule_id, status and last_fired_at
  /// of an existing row are kept.
  virtual void UpsertSchedule(const ScheduleRow& row) = 0;
  /// The schedule of that name, or nullopt.
  virtual std::optional<ScheduleRow> GetSchedule(const std::string& schedule_name) = 0;
  /// Every schedule whose application_name is `application_name` or NULL, by name.
  virtual std::vector<ScheduleRow> ListSchedules(const std::string& application_name) = 0;
  /// Sets the status (ACTIVE/PAUSED) of a schedule; false when there is none of that name.
  virtual bool SetScheduleStatus(const std::string& schedule_name, const std::string& status) = 0;
  /// Deletes a schedule; false when there was none of that name (also when a retry after an
  /// in-doubt commit finds it deleted by that commit).
  virtual bool DeleteSchedule(const std::string& schedule_name) = 0;
  /// A tick of the schedule was enqueued as `workflow_uuid`: sets the schedule's last_fired_at
  /// to `fired_at` (RFC 3339) and the workflow's schedule_name, in one transaction.
  virtual void RecordScheduleFired(const std::string& schedule_name, const std::string& fired_at,
                                   const std::string& workflow_uuid) = 0;
  /// The latest (greatest version_timestamp) application version of `application_name` or
  /// unclaimed; nullopt when there is none.
  virtual std::optional<std::string> LatestApplicationVersion(
      const std::string& application_name) = 0;

  /// Starts delivering notifications to `callback` (PostgreSQL: a dedicated LISTEN connection on
  /// kNotificationsChannel, kWorkflowEventsChannel, kQueueChannel, kDelayChannel and
  /// kStreamsChannel, reconnecting
  /// with backoff; after a reconnect it calls callback("", "") so waiters re-check). SQLite: does
  /// nothing and returns false (the runtime signals in-process and polls).
  virtual bool StartListening(NotificationCallback callback) = 0;
  /// Stops the listener started by StartListening (idempotent; also done by the destructor).
  virtual void StopListening() = 0;

  // ---- Streams --------------------------------------------------------------------------------

  /// Appends a value to stream (workflow_uuid, key) at offset max(offset) + 1, with function_id
  /// and serialization portable_json, and, when set, the checkpoint, in one transaction,
  /// checkpoint first: when the checkpoint exists already (a replay, or this call's own in-doubt
  /// commit, reported as Inserted), the workflow is CANCELLED or missing, or the stream's last
  /// value is the close marker, nothing is written. Without a checkpoint (a write inside a step)
  /// the row is written whenever the workflow exists and the stream is open. On PostgreSQL a
  /// write is announced on kStreamsChannel ("<workflow>::<key>") after the commit.
  virtual StreamWriteResult WriteStream(const StreamWrite& write) = 0;

  /// The writer's status and up to `limit` values of the stream from `from_offset` on, in one
  /// snapshot (one query).
  virtual StreamChunk ReadStream(const std::string& workflow_uuid, const std::string& key,
                                 int64_t from_offset, int limit) = 0;

  /// Tells stream readers in other processes that `workflow_uuid` ended (PostgreSQL: a NOTIFY
  /// of "<workflow>" on kStreamsChannel soon after; SQLite: nothing, they poll). CancelWorkflow
  /// and MarkDeadLetter announce this themselves.
  virtual void AnnounceStreamEnd(const std::string& workflow_uuid) noexcept = 0;
  // ---- Management ---------------------------------------------------------------------------

  /// The rows matching `filter`, ordered by created_at (ascending unless sort_desc), with their
  /// input and output/error when asked. Each distinct set of filters is its own statement, so
  /// that both databases can plan it with the indexes that fit (PostgreSQL plans it for the
  /// values given).
  virtual std::vector<WorkflowRow> ListWorkflows(const WorkflowFilter& filter) = 0;

  /// Unless the workflow is SUCCESS or ERROR: status ENQUEUED on `queue_name` (no partition
  /// key), recovery_attempts 0, and deadline, deduplication ID, delay, started_at and
  /// completed_at cleared (the timeout is kept: a new deadline is set at dequeue). Retried after
  /// an in-doubt commit, a row that a queue runner claimed since (PENDING, started at or after
  /// `now_ms`) is left alone. On PostgreSQL the queue is announced on kQueueChannel.
  virtual ResumeOutcome ResumeWorkflow(const std::string& workflow_uuid,
                                       const std::string& queue_name, int64_t now_ms) = 0;

  /// Creates the forked workflow (ENQUEUED, forked_from the original, with the original's name,
  /// input, identity, application and serialization) together with copies of the original's
  /// operation_outputs, workflow_events_history and streams rows below start_step, the
  /// workflow_events those leave, and was_forked_from on the original: all or nothing, in one
  /// transaction. Retried after an in-doubt commit, it finds its own row by creator_xid. On
  /// PostgreSQL the queue is announced on kQueueChannel.
  virtual ForkOutcome ForkWorkflow(const ForkRequest& request) = 0;

 private:
  std::atomic<bool> stop_retrying_{false};
};

/// Opens the system database named by `options.url`: connects (creating a missing PostgreSQL
/// database), creates or checks the schema at version 123. With `options.existing_only` it
/// creates nothing and writes nothing while opening. Throws DBOSError(Initialization).
std::unique_ptr<SystemDatabase> OpenSystemDatabase(const Options& options);

}  // namespace dbos::sysdb
