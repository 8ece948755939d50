// The statement catalog a dialect fills: one Script per step of each operation, with the
// parameters every dialect receives (numbered as listed: $N on PostgreSQL, ?N on SQLite) and the
// columns of the rows it must return. The operations themselves (sql_system_database.cpp) are
// written once against this contract.
//
// "Step columns" are the seven columns ReadStepColumns reads: function_name, output, error,
// child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms, serialization (all NULL when no
// step row was found). "Probe" columns describe what a checkpointed write found in the state the
// database had before it wrote: wf_found (count or boolean), wf_status, then the step columns of
// the row already recorded at the step ID. A "checkpoint" parameter group is the nine values
// workflow_uuid, function_id, function_name, output, error, child_workflow_id,
// started_at_epoch_ms, completed_at_epoch_ms, application_name (serialization: portable_json).
// Lists of text travel as one JSON array text parameter.
#pragma once

#include <optional>

#include "sysdb/core/session.hpp"

namespace dbos::sysdb::core {

/// Appends the nine checkpoint parameters (see the file comment), in their order.
inline void AddCheckpoint(Params& params, const StepWrite& step) {
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

struct Statements {
  /// Write. $1 uuid, $2 status, $3 name, $4 class_name, $5 config_name, $6 authenticated_user,
  /// $7 assumed_role, $8 authenticated_roles, $9 executor_id, $10 application_version,
  /// $11 application_id, $12 application_name, $13 queue_name, $14 workflow_timeout_ms,
  /// $15 workflow_deadline_epoch_ms, $16 deduplication_id, $17 priority, $18 queue_partition_key,
  /// $19 parent_workflow_id, $20 inputs, $21 serialization, $22 creator_xid, $23 now,
  /// $24 delay_until_epoch_ms, $25 is_debounced, $26 debounce_deadline_epoch_ms.
  /// Upserts as SystemDatabase::InsertWorkflow says. Row: created (creator_xid = $22), status,
  /// name, queue_name, recovery_attempts, workflow_timeout_ms, workflow_deadline_epoch_ms.
  /// A deduplication conflict is a ConstraintViolation mentioning "dedup".
  Script insert_workflow;
  /// Write. $1 uuid, $2 status, $3 output, $4 error, $5 now, $6 is_retry. Row (or none): true
  /// when the PENDING row was finished now (or, on a retry, already finished as $2 at $5).
  Script finish_workflow;
  /// Read. $1 uuid, $2 status, $3 completed_at: a row when the workflow finished so.
  Script finished_as;
  /// Write. $1 uuid, $2 now. No rows.
  Script mark_dead_letter;
  /// Read. $1 uuid. Row: the columns of ReadWorkflowColumns (with and without values).
  Script get_workflow;
  Script get_workflow_meta;
  /// Write. $1..$9 checkpoint. Row: inserted, probe columns (wf_found, wf_status, 7 step
  /// columns). Inserts only when the workflow exists and is not CANCELLED.
  Script record_step;
  /// Read. $1 uuid. Rows: function_id, 7 step columns, ordered by function_id.
  Script list_steps;
  /// Read. $1 workflow IDs (JSON array). Rows: workflow_uuid, then list_steps's columns,
  /// ordered by workflow_uuid, function_id.
  Script list_steps_of_many;
  /// Read. $1 uuid. Row: status.
  Script get_status;
  /// Write. $1 executor IDs (JSON array), $2 application_version, $3 internal queue name, $4 now,
  /// $5 application_name. Rows: workflow_uuid of each row re-enqueued.
  Script reenqueue;
  /// Dequeue parameters: $1 queue, $2 executor_id, $3 application_version,
  /// $4 accept_unversioned, $5 limit (NULL: none), $6 now, $7 application_name, $8 workflow
  /// names (JSON array), $9 claim token.
  /// Read, optional (a dialect whose claim takes a write lock even when nothing is there sets
  /// it): the dequeue parameters. Row: true when some row could be claimed.
  std::optional<Script> dequeue_precheck;
  /// Write. The dequeue parameters. Rows: the ReadDequeuedColumns columns (recovery_attempts at
  /// 9), priority, created_at, whether it has recorded steps, for each row claimed (any order).
  Script dequeue_claim;
  /// Read. $1 executor_id, $2 claim token. Rows as dequeue_claim: the rows that token claimed.
  Script dequeue_claimed_by_token;
  /// Write. $1 version_name, $2 application_name ("" = none), $3 now, $4 a new version_id.
  /// Row: the version's timestamp, the greatest timestamp of this application's (or unclaimed)
  /// versions before this statement (NULL when none).
  Script register_version;
  /// Write, Send from outside a workflow. $1 message_uuid, $2 destination, $3 stored topic,
  /// $4 message, $5 now, then the waiting receiver (all NULL when none): $6 function_id,
  /// $7 started_at, $8 completed_at, $9 application_name, $10 function_name.
  /// Row: destination found, message inserted, delivered (receiver checkpoint inserted).
  Script send;
  /// Write, Send from a workflow. $1..$5 as `send`, $6..$14 the sender's checkpoint, $15..$19
  /// the receiver as $6..$10 of `send`. The message is written only with the checkpoint.
  /// Row: checkpoint inserted, message inserted, then the sender's probe columns (wf_found,
  /// wf_status), destination found, delivered, then the 7 step columns of the sender's step.
  Script send_checkpointed;
  /// Read. $1 uuid, $2 function_id, $3 stored topic. Row: probe columns (wf_found, wf_status,
  /// 7 step columns), then the oldest unconsumed message of the topic: message_uuid, message,
  /// serialization (NULL when none).
  Script consume_peek;
  /// Write. $1 uuid, $2 function_id, $3 function_name, $4 message_uuid, $5 started_at,
  /// $6 completed_at, $7 application_name. Marks message $4 consumed by the step and records the
  /// checkpoint with the message as output (and its serialization), only when the message is
  /// still unconsumed, the step is free and the workflow is not CANCELLED. Row: taken, probe
  /// columns.
  Script consume_take;
  /// Write. $1 uuid, $2 key, $3 value, $4 has_checkpoint, $5..$13 checkpoint (NULL when none),
  /// $14 function_id for the history. Upserts the event and its history, with the checkpoint
  /// first when there is one (nothing when it cannot be written), else when the workflow exists.
  /// Row: written, probe columns (of the checkpoint's step when there is one).
  Script set_event;
  /// Read. $1 uuid, $2 key. Row: value, serialization.
  Script get_event;
  /// Write. $1 uuid, $2 now. Row: true when the workflow exists.
  Script cancel_workflow;
  /// Read. $1 workflow IDs (JSON array). Rows: the IDs whose status is CANCELLED.
  Script filter_cancelled;
  /// Read. $1: JSON array of [workflow, stored topic] pairs whose messages are awaited; $2: of
  /// [workflow, key] pairs whose events are awaited; $3: array of workflow IDs whose end is
  /// awaited. Rows: kind ('m' an unconsumed message is there, 'e' the event is set, 'd' the
  /// workflow is not PENDING, ENQUEUED or DELAYED, or has no row or no status), workflow ID,
  /// topic or key ('' for 'd').
  Script wait_news;

  // ---- Delays
  /// Read. No parameters. Row: the earliest COALESCE(delay_until_epoch_ms, 0) of DELAYED rows
  /// (NULL when none).
  Script next_delayed;
  /// Write. $1 now. Turns due DELAYED rows ENQUEUED (clearing a debounced row's deduplication
  /// ID). Rows: queue_name of each row promoted.
  Script promote_delayed;
  /// Read. $1 now. Rows: the queue_name (or '') of ENQUEUED rows last written at $1: what a
  /// promotion at $1 whose reply was lost may have promoted.
  Script promoted_at;
  /// Write. $1 uuid, $2 delay_until_epoch_ms, $3 now. Row: the status before (NULL when the
  /// workflow is missing) and delay_until_epoch_ms before; the time is set only on a DELAYED row.
  Script set_workflow_delay;
  /// Write. $1 name, $2 queue_name, $3 deduplication_id, $4 delay_until_epoch_ms, $5 inputs,
  /// $6 now. Rows: the workflow_uuid of the DELAYED debounced row bounced (none when absent); its
  /// start becomes min($4, debounce_deadline_epoch_ms) and its input $5.
  Script bounce_debounced;
  /// Read. $1 name, $2 queue_name, $3 delay_until_epoch_ms, $4 inputs. Rows: the workflow_uuid
  /// of a debounced row no longer DELAYED that such a bounce left (start min($3, its deadline),
  /// input $4): a bounce whose reply was lost, promoted since.
  Script bounced_earlier;

  // ---- Queues
  /// Write. $1 name, $2 concurrency, $3 worker_concurrency, $4 rate_limit_max,
  /// $5 rate limit period in ms (stored as rate_limit_period_sec), $6 priority_enabled,
  /// $7 partition_queue, $8 application_name, $9 now, $10 a new queue_id. Upserts by name.
  /// No rows.
  Script upsert_queue;
  /// Read. $1 name. Row: name, concurrency, worker_concurrency, rate_limit_max, rate limit
  /// period in ms, priority_enabled, partition_queue, application_name.
  Script get_queue;
  /// Read. $1 queue name. Rows: each distinct non-NULL queue_partition_key of its ENQUEUED rows.
  Script list_queue_partitions;
  /// Queue claim parameters: the dequeue parameters $1..$9, then $10 partition key (NULL: any),
  /// $11 global concurrency (NULL: none), $12 rate limit (NULL: none), $13 start of the rate
  /// window (rows started after it count).
  /// Read, optional (as dequeue_precheck): the queue claim parameters. Row: true when some row
  /// could be claimed.
  std::optional<Script> queue_claim_precheck;
  /// Write. The queue claim parameters. Claims at most min($5, $11 - PENDING rows, $12 - rows
  /// started in the window), counted on the queue and partition. Rows: the dequeue_claim columns
  /// then `contended` (false), one per row claimed; when none was claimed, no row or one row
  /// whose workflow_uuid is NULL and whose `contended` says another claimer held or had just
  /// changed the queue's row. It may share a commit with other writes (PostgreSQL).
  Script queue_claim;
  /// queue_claim, committed alone: for a queue with a global concurrency or a rate limit, whose
  /// claim locks the queue's row (other executors' claims of it back off meanwhile) and stamps
  /// the starts the rate limit counts; neither should wait for other writes' commit.
  Script queue_claim_alone;

  // ---- Streams
  /// Write. $1 uuid, $2 key, $3 value, $4 has_checkpoint, $5..$13 checkpoint (NULL when none),
  /// $14 function_id of the row. Appends the value at max(offset) + 1 (serialization
  /// portable_json), with the checkpoint first when there is one (nothing when it cannot be
  /// written), else when the workflow exists; never after the close marker (the last value is
  /// '"__DBOS_STREAM_CLOSED__"' or '__DBOS_STREAM_CLOSED__'). Row: written, closed (the stream
  /// ended before this statement), probe columns (of the checkpoint's step when there is one).
  /// A concurrent writer that took the same offset is a unique ConstraintViolation.
  Script write_stream;
  /// Read. $1 uuid, $2 key, $3 first offset, $4 limit. Rows (none when the workflow is missing):
  /// status, then offset, value, serialization of each stream row from $3 on in offset order
  /// (one row with NULL offset when there is none).
  Script read_stream;
  // ---- Management
  /// How the dialect spells what core/list_workflows.cpp assembles (the list statement is built
  /// per call from the filters given).
  struct Spelling {
    std::string table_prefix;  ///< "" (SQLite) or the quoted schema and a dot (PostgreSQL).
    bool postgres = false;     ///< $N::type parameters, json_array_elements_text, starts_with.
  };
  Spelling spelling;
  /// Write. $1 uuid, $2 queue_name, $3 now, $4 is_retry. Row: the status before (NULL when the
  /// workflow is missing). Resumes as SystemDatabase::ResumeWorkflow says.
  Script resume_workflow;
  /// Write. $1 original, $2 forked ID, $3 start_step, $4 application_version (NULL: the
  /// original's), $5 queue_name, $6 queue_partition_key, $7 creator_xid, $8 now. Forks as
  /// SystemDatabase::ForkWorkflow says, only when the original exists and the forked ID is free.
  /// Row: original found, forked now, creator_xid of the row already at the forked ID (NULL when
  /// none).
  Script fork_workflow;
  // ---- Schedules
  /// "Schedule columns": schedule_id, schedule_name, workflow_name, workflow_class_name,
  /// schedule, status, context, last_fired_at, automatic_backfill, cron_timezone, queue_name,
  /// application_name. "Schedule parameters": those twelve as $1..$12 (last_fired_at ignored).
  /// Write. The schedule parameters. Rows: the schedule_id when inserted (none when the name
  /// exists).
  Script insert_schedule;
  /// Write. The schedule parameters. Upserts by schedule_name keeping schedule_id, status and
  /// last_fired_at. No rows.
  Script upsert_schedule;
  /// Read. $1 schedule_name. Row: the schedule columns.
  Script get_schedule;
  /// Read. $1 application_name. Rows: the schedule columns of its and unclaimed schedules, by
  /// name.
  Script list_schedules;
  /// Write. $1 schedule_name, $2 status. Rows: the schedule_id when the schedule exists.
  Script set_schedule_status;
  /// Write. $1 schedule_name. Rows: the schedule_id of the row deleted.
  Script delete_schedule;
  /// Write. $1 schedule_name, $2 last_fired_at, $3 workflow_uuid. No rows.
  Script record_schedule_fired;
  /// Read. $1 application_name. Row: the latest version_name (none when there is no version).
  Script latest_version;
};

}  // namespace dbos::sysdb::core
