// Scheduled workflows: cron schedules stored as rows of workflow_schedules, shared by every
// executor (and every DBOS language) on the system database. Each tick enqueues the schedule's
// workflow once across the cluster, with the deterministic ID `sched-<name>-<RFC 3339 tick>`.
//
// A scheduled workflow takes either `std::chrono::system_clock::time_point` (the tick's time) or
// `dbos::ScheduledWorkflowInput` (the time and the schedule's context). Its stored input is
// `{"scheduled_time": "<RFC 3339>", "context": <context>}`, the form DBOS Transact Go delivers,
// so schedules created by other DBOS SDKs run C++ workflows and the reverse.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dbos/context.hpp"
#include "dbos/serialization.hpp"

namespace dbos {

/// What a scheduled workflow receives: the tick's time and the schedule's context.
struct ScheduledWorkflowInput {
  std::chrono::system_clock::time_point scheduled_time;
  nlohmann::json context;  ///< The schedule's context (null when none).
};
/// JSON form {"scheduled_time": "<RFC 3339>", "context": …}; a plain time string reads as a
/// time with no context.
void to_json(nlohmann::json& j, const ScheduledWorkflowInput& input);
void from_json(const nlohmann::json& j, ScheduledWorkflowInput& input);

/// A schedule to create or apply.
struct ScheduleSpec {
  std::string schedule_name{};  ///< Required, unique in the system database.
  /// Required: six fields with seconds ("0 */15 * * * *"), or a descriptor ("@daily",
  /// "@every 30s"), optionally after "CRON_TZ=<IANA zone> ".
  std::string schedule{};
  std::string workflow_name{};        ///< Required: the registered name of the workflow to run.
  std::string workflow_class_name{};  ///< Stored for other DBOS SDKs; "" = none.
  nlohmann::json context{};           ///< Delivered to every run (ScheduledWorkflowInput::context).
  /// After a time without any executor running, enqueue the ticks missed since the last one
  /// fired (otherwise missed ticks are not replayed).
  bool automatic_backfill = false;
  std::string cron_timezone{};     ///< IANA zone the cron fields are read in; "" = UTC.
  std::string queue_name{};        ///< Queue of the runs; "" = DBOS's internal queue.
  std::string application_name{};  ///< Owner; "" = this context's application.
};

/// A stored schedule.
struct WorkflowSchedule {
  std::string schedule_id;
  std::string schedule_name;
  std::string workflow_name;
  std::optional<std::string> workflow_class_name;
  std::string schedule;
  std::string status;  ///< "ACTIVE" or "PAUSED".
  nlohmann::json context;
  std::optional<std::chrono::system_clock::time_point> last_fired_at;
  bool automatic_backfill = false;
  std::optional<std::string> cron_timezone;
  std::optional<std::string> queue_name;
  std::optional<std::string> application_name;
};

/// Creates a schedule. Throws InvalidOption for an invalid cron expression (naming the field), an
/// unknown time zone, a missing name or workflow, or a workflow registered here whose input is
/// not a time point or ScheduledWorkflowInput; ConflictingRegistration when a schedule of that
/// name exists.
void CreateSchedule(DBOSContext& ctx, const ScheduleSpec& spec);
/// Creates or updates schedules by name (definitions replaced; ID, status and last fire time
/// kept). Schedules not listed are left alone. Every spec is checked before anything is written.
/// Not callable inside a workflow.
void ApplySchedules(DBOSContext& ctx, const std::vector<ScheduleSpec>& specs);
/// Stops the ticks of a schedule until ResumeSchedule. Throws ScheduleNotFound.
void PauseSchedule(DBOSContext& ctx, const std::string& schedule_name);
/// Restarts the ticks of a paused schedule (missed ticks are not replayed unless it has
/// automatic_backfill). Throws ScheduleNotFound.
void ResumeSchedule(DBOSContext& ctx, const std::string& schedule_name);
/// Deletes a schedule; deleting one that does not exist does nothing. Runs already enqueued stay.
void DeleteSchedule(DBOSContext& ctx, const std::string& schedule_name);
/// The schedule of that name. Throws ScheduleNotFound.
WorkflowSchedule GetSchedule(DBOSContext& ctx, const std::string& schedule_name);

/// Filters of ListSchedules (each given list: a schedule must match one of its entries).
struct ListSchedulesOptions {
  std::vector<std::string> statuses;
  std::vector<std::string> workflow_names;
  std::vector<std::string> names;
  std::vector<std::string> name_prefixes;
};
/// An option of ListSchedules.
struct ListSchedulesOption {
  std::function<void(ListSchedulesOptions&)> apply;
};
/// Only schedules in these statuses ("ACTIVE", "PAUSED").
inline ListSchedulesOption WithScheduleStatuses(std::vector<std::string> statuses) {
  return {[v = std::move(statuses)](ListSchedulesOptions& o) { o.statuses = v; }};
}
/// Only schedules of these workflows.
inline ListSchedulesOption WithScheduleWorkflowNames(std::vector<std::string> names) {
  return {[v = std::move(names)](ListSchedulesOptions& o) { o.workflow_names = v; }};
}
/// Only schedules with these names.
inline ListSchedulesOption WithScheduleNames(std::vector<std::string> names) {
  return {[v = std::move(names)](ListSchedulesOptions& o) { o.names = v; }};
}
/// Only schedules whose name starts with one of these.
inline ListSchedulesOption WithScheduleNamePrefixes(std::vector<std::string> prefixes) {
  return {[v = std::move(prefixes)](ListSchedulesOptions& o) { o.name_prefixes = v; }};
}
namespace detail {
std::vector<WorkflowSchedule> ListSchedulesErased(DBOSContext& ctx,
                                                  const ListSchedulesOptions& options);
}
/// The schedules of this application (and unclaimed ones), by name.
template <typename... Opts>
std::vector<WorkflowSchedule> ListSchedules(DBOSContext& ctx, Opts&&... opts) {
  ListSchedulesOptions options;
  (ListSchedulesOption(std::forward<Opts>(opts)).apply(options), ...);
  return detail::ListSchedulesErased(ctx, options);
}

/// Enqueues every tick t of the schedule with start < t < end, with the tick's deterministic ID
/// (ticks already enqueued are skipped, so backfilling twice runs each tick once), and returns
/// all their workflow IDs. Throws ScheduleNotFound. Not callable inside a workflow.
std::vector<std::string> BackfillSchedule(DBOSContext& ctx, const std::string& schedule_name,
                                          std::chrono::system_clock::time_point start,
                                          std::chrono::system_clock::time_point end);
/// Enqueues one run of the schedule's workflow now (scheduled time: now), with the ID
/// `sched-<name>-trigger-<RFC 3339 now, nanoseconds>`, and returns that ID. Throws
/// ScheduleNotFound. Not callable inside a workflow.
std::string TriggerSchedule(DBOSContext& ctx, const std::string& schedule_name);

}  // namespace dbos
