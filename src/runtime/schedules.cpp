// The schedule API of reference §2.9 on a DBOSContext: specs are checked (cron, zone, names, the
// workflow's input type) before anything is written; changes made here wake this process's
// scheduler, other processes see them at their next reconciliation.
#include <algorithm>
#include <chrono>
#include <typeinfo>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "dbos/schedule.hpp"
#include "runtime/schedule_checks.hpp"
#include "scheduler/cron.hpp"
#include "scheduler/ticks.hpp"
#include "util/uuid.hpp"

namespace dbos {

void to_json(nlohmann::json& j, const ScheduledWorkflowInput& input) {
  j = nlohmann::json{{"scheduled_time", FormatTimestamp(input.scheduled_time)},
                     {"context", input.context}};
}

void from_json(const nlohmann::json& j, ScheduledWorkflowInput& input) {
  if (j.is_string()) {
    input.scheduled_time = ParseTimestamp(j.get<std::string>());
    input.context = nullptr;
    return;
  }
  input.scheduled_time = ParseTimestamp(j.at("scheduled_time").get<std::string>());
  input.context = j.contains("context") ? j.at("context") : nlohmann::json();
}

namespace {

bool TakesScheduledInput(const std::type_info& input) {
  return input == typeid(std::chrono::system_clock::time_point) ||
         input == typeid(ScheduledWorkflowInput) || input == typeid(nlohmann::json);
}

detail::Runtime& LaunchedOrNot(DBOSContext& ctx) { return detail::RuntimeOf(ctx); }

void RejectInWorkflow(DBOSContext& ctx, const char* what) {
  if (detail::WorkflowOf(ctx)) {
    throw DBOSError(ErrorCode::InvalidOption,
                    std::string(what) +
                        " cannot be called inside a workflow: call it from "
                        "outside workflows (it is not recorded as a step)");
  }
}

/// Checks a spec and turns it into the row to write.
sysdb::ScheduleRow ToRow(detail::Runtime& runtime, const ScheduleSpec& spec) {
  if (spec.schedule_name.empty()) {
    throw DBOSError(ErrorCode::InvalidOption, "a schedule needs a schedule_name");
  }
  detail::ValidateName("schedule_name", spec.schedule_name, false);
  if (spec.workflow_name.empty()) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "schedule '" + spec.schedule_name + "' needs a workflow_name");
  }
  sysdb::ScheduleRow row;
  row.schedule_id = util::NewUuid();
  row.schedule_name = spec.schedule_name;
  row.workflow_name = spec.workflow_name;
  if (!spec.workflow_class_name.empty()) row.workflow_class_name = spec.workflow_class_name;
  row.schedule = spec.schedule;
  row.context = spec.context.dump();
  row.automatic_backfill = spec.automatic_backfill;
  if (!spec.cron_timezone.empty()) row.cron_timezone = spec.cron_timezone;
  if (!spec.queue_name.empty()) row.queue_name = spec.queue_name;
  row.application_name =
      spec.application_name.empty() ? runtime.Config().app_name : spec.application_name;
  try {
    scheduler::ParseScheduleOf(row);
  } catch (const DBOSError& e) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "schedule '" + spec.schedule_name + "': " + std::string(e.what()));
  }
  // A workflow registered here must be able to read the scheduled run's input.
  if (*row.application_name == runtime.Config().app_name) {
    const detail::RegisteredWorkflow* workflow = runtime.Registry().FindByName(spec.workflow_name);
    if (workflow == nullptr) {
      throw DBOSError(ErrorCode::InvalidOption,
                      "schedule '" + spec.schedule_name + "': workflow '" + spec.workflow_name +
                          "' is not registered in this process: register it before creating "
                          "its schedule");
    }
    if (!TakesScheduledInput(*workflow->input_type)) {
      throw DBOSError(ErrorCode::InvalidOption,
                      "schedule '" + spec.schedule_name + "': workflow '" + spec.workflow_name +
                          "' must take std::chrono::system_clock::time_point or "
                          "dbos::ScheduledWorkflowInput as its input");
    }
  }
  return row;
}

WorkflowSchedule FromRow(const sysdb::ScheduleRow& row) {
  WorkflowSchedule out;
  out.schedule_id = row.schedule_id;
  out.schedule_name = row.schedule_name;
  out.workflow_name = row.workflow_name;
  out.workflow_class_name = row.workflow_class_name;
  out.schedule = row.schedule;
  out.status = row.status;
  out.context = scheduler::DecodeContext(row.context);
  if (row.last_fired_at) {
    try {
      out.last_fired_at = ParseTimestamp(*row.last_fired_at);
    } catch (const DBOSError&) {
      // Another SDK's text this library cannot read: left unset.
    }
  }
  out.automatic_backfill = row.automatic_backfill;
  out.cron_timezone = row.cron_timezone;
  out.queue_name = row.queue_name;
  out.application_name = row.application_name;
  return out;
}

sysdb::ScheduleRow FindRow(detail::Runtime& runtime, const std::string& schedule_name) {
  auto row = runtime.Db().GetSchedule(schedule_name);
  if (!row) {
    throw DBOSError(ErrorCode::ScheduleNotFound,
                    "no schedule named '" + schedule_name + "' exists");
  }
  return std::move(*row);
}

void SetStatus(DBOSContext& ctx, const std::string& schedule_name, const char* status) {
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  if (!runtime.Db().SetScheduleStatus(schedule_name, status)) {
    throw DBOSError(ErrorCode::ScheduleNotFound,
                    "no schedule named '" + schedule_name + "' exists");
  }
  runtime.WakeScheduler();
}

bool StartsWithAny(const std::string& text, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return text.rfind(p, 0) == 0; });
}

bool In(const std::string& text, const std::vector<std::string>& list) {
  return std::find(list.begin(), list.end(), text) != list.end();
}

}  // namespace

void CreateSchedule(DBOSContext& ctx, const ScheduleSpec& spec) {
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  const sysdb::ScheduleRow row = ToRow(runtime, spec);
  if (!runtime.Db().InsertSchedule(row)) {
    throw DBOSError(ErrorCode::ConflictingRegistration,
                    "a schedule named '" + spec.schedule_name +
                        "' already exists: use ApplySchedules to change it, or another name");
  }
  runtime.WakeScheduler();
}

void ApplySchedules(DBOSContext& ctx, const std::vector<ScheduleSpec>& specs) {
  RejectInWorkflow(ctx, "ApplySchedules");
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  std::vector<sysdb::ScheduleRow> rows;
  rows.reserve(specs.size());
  for (const ScheduleSpec& spec : specs) rows.push_back(ToRow(runtime, spec));
  for (const sysdb::ScheduleRow& row : rows) runtime.Db().UpsertSchedule(row);
  runtime.WakeScheduler();
}

void PauseSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  SetStatus(ctx, schedule_name, "PAUSED");
}

void ResumeSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  SetStatus(ctx, schedule_name, "ACTIVE");
}

void DeleteSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  runtime.Db().DeleteSchedule(schedule_name);
  runtime.WakeScheduler();
}

WorkflowSchedule GetSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  return FromRow(FindRow(LaunchedOrNot(ctx), schedule_name));
}

namespace detail {
void ValidateScheduledWorkflow(const RegistrationSpec& spec) {
  const std::string& name = spec.explicit_name.empty() ? spec.derived_name : spec.explicit_name;
  try {
    scheduler::CronSchedule::Parse(spec.schedule);
  } catch (const DBOSError& e) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "WithSchedule of workflow '" + name + "': " + std::string(e.what()));
  }
  if (spec.input_type == nullptr || !TakesScheduledInput(*spec.input_type)) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "WithSchedule of workflow '" + name +
                        "': a scheduled workflow must take std::chrono::system_clock::time_point "
                        "or dbos::ScheduledWorkflowInput as its input");
  }
}

std::vector<WorkflowSchedule> ListSchedulesErased(DBOSContext& ctx,
                                                  const ListSchedulesOptions& options) {
  Runtime& runtime = RuntimeOf(ctx);
  std::vector<WorkflowSchedule> out;
  for (const sysdb::ScheduleRow& row : runtime.Db().ListSchedules(runtime.Config().app_name)) {
    if (!options.statuses.empty() && !In(row.status, options.statuses)) continue;
    if (!options.workflow_names.empty() && !In(row.workflow_name, options.workflow_names)) {
      continue;
    }
    if (!options.names.empty() && !In(row.schedule_name, options.names)) continue;
    if (!options.name_prefixes.empty() && !StartsWithAny(row.schedule_name, options.name_prefixes))
      continue;
    out.push_back(FromRow(row));
  }
  return out;
}
}  // namespace detail

std::vector<std::string> BackfillSchedule(DBOSContext& ctx, const std::string& schedule_name,
                                          std::chrono::system_clock::time_point start,
                                          std::chrono::system_clock::time_point end) {
  RejectInWorkflow(ctx, "BackfillSchedule");
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  const sysdb::ScheduleRow row = FindRow(runtime, schedule_name);
  const scheduler::CronSchedule cron = scheduler::ParseScheduleOf(row);
  std::vector<std::string> ids;
  for (auto tick = cron.Next(start); tick && *tick < end; tick = cron.Next(*tick)) {
    std::string id = scheduler::TickWorkflowId(schedule_name, *tick);
    // An ID that exists already is skipped, and still returned.
    scheduler::EnqueueScheduledRun(runtime, row, *tick, id, false);
    ids.push_back(std::move(id));
  }
  return ids;
}

std::string TriggerSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  RejectInWorkflow(ctx, "TriggerSchedule");
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  const sysdb::ScheduleRow row = FindRow(runtime, schedule_name);
  const auto now = std::chrono::system_clock::now();
  std::string id = "sched-" + schedule_name + "-trigger-" + FormatTimestamp(now);
  scheduler::EnqueueScheduledRun(runtime, row, now, id, false);
  return id;
}

}  // namespace dbos
