// Enqueuing the runs of a schedule: the deterministic workflow ID of a tick, the input a run
// receives, and the ENQUEUED row itself. Shared by the scheduler's ticks, BackfillSchedule and
// TriggerSchedule.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "core/runtime.hpp"
#include "scheduler/cron.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::scheduler {

/// `sched-<name>-<tick in RFC 3339, UTC, whole seconds>`.
std::string TickWorkflowId(const std::string& schedule_name,
                           std::chrono::system_clock::time_point tick);

/// The schedule's cron expression with its zone (throws InvalidOption as CronSchedule::Parse).
CronSchedule ParseScheduleOf(const sysdb::ScheduleRow& row);

/// The context column read back as JSON (text that is not JSON is returned as a string).
nlohmann::json DecodeContext(const std::string& stored);

/// Inserts the run of `row` for `scheduled_time` as ENQUEUED with ID `workflow_id` on the
/// schedule's queue (or the internal one), at the owner's latest application version, unless a
/// workflow with that ID exists. When `record_fired`, also sets the schedule's last_fired_at and
/// the run's schedule_name. Returns true when this call created the run.
bool EnqueueScheduledRun(detail::Runtime& runtime, const sysdb::ScheduleRow& row,
                         std::chrono::system_clock::time_point scheduled_time,
                         const std::string& workflow_id, bool record_fired);

}  // namespace dbos::scheduler
