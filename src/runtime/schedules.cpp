// The schedule API of reference §2.9 on a DBOSContext: specs are checked (cron, zone, names, the
// workflow's input type) before anything is written; changes made here wake this process's
// scheduler, other processes see them at their next reconciliation. Inside a workflow, create,
// pause, resume, delete, get and list are checkpointed steps ("DBOS.createSchedule", ...), so a
// replay returns the recorded answer and writes nothing again; inside a step they are refused.
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <typeinfo>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "dbos/schedule.hpp"
#include "executor/operation.hpp"
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

nlohmann::json Opt(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json RowToJson(const sysdb::ScheduleRow& row) {
  return nlohmann::json{{"schedule_id", row.schedule_id},
                        {"schedule_name", row.schedule_name},
                        {"workflow_name", row.workflow_name},
                        {"workflow_class_name", Opt(row.workflow_class_name)},
                        {"schedule", row.schedule},
                        {"status", row.status},
                        {"context", row.context},
                        {"last_fired_at", Opt(row.last_fired_at)},
                        {"automatic_backfill", row.automatic_backfill},
                        {"cron_timezone", Opt(row.cron_timezone)},
                        {"queue_name", Opt(row.queue_name)},
                        {"application_name", Opt(row.application_name)}};
}

std::optional<std::string> OptText(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<std::string>();
}

sysdb::ScheduleRow RowFromJson(const nlohmann::json& j) {
  sysdb::ScheduleRow row;
  row.schedule_id = j.at("schedule_id").get<std::string>();
  row.schedule_name = j.at("schedule_name").get<std::string>();
  row.workflow_name = j.at("workflow_name").get<std::string>();
  row.workflow_class_name = OptText(j, "workflow_class_name");
  row.schedule = j.at("schedule").get<std::string>();
  row.status = j.at("status").get<std::string>();
  row.context = j.at("context").get<std::string>();
  row.last_fired_at = OptText(j, "last_fired_at");
  row.automatic_backfill = j.at("automatic_backfill").get<bool>();
  row.cron_timezone = OptText(j, "cron_timezone");
  row.queue_name = OptText(j, "queue_name");
  row.application_name = OptText(j, "application_name");
  return row;
}

/// Runs `body`: outside workflows directly; inside a workflow as the checkpointed step
/// `step_name`, where the refusals of bad input (a taken name, an unknown schedule, an invalid
/// spec) are recorded as the step's error like a value. Failures of the database are never
/// recorded. Throws StepExecution inside a step.
nlohmann::json RunScheduleOperation(
    DBOSContext& ctx, const char* operation, const std::string& step_name,
    const std::function<nlohmann::json(detail::WorkflowState*)>& body) {
  detail::WorkflowState* state = detail::CallingWorkflow(ctx, operation, /*required=*/false);
  if (state == nullptr) return body(nullptr);
  return detail::CheckpointedRead(
      LaunchedOrNot(ctx), *state, operation, step_name, ErrorCode::InvalidOption, "", std::nullopt,
      [&]() -> detail::ReadOutcome {
        try {
          return {body(state), std::nullopt};
        } catch (const DBOSError& e) {
          switch (e.Code()) {
            case ErrorCode::ConflictingRegistration:
            case ErrorCode::ScheduleNotFound:
            case ErrorCode::InvalidOption:
              return {nullptr, serialization::ErrorRecord{std::string(ErrorCodeName(e.Code())),
                                                          e.what(), static_cast<int>(e.Code())}};
            default:
              throw;
          }
        }
      });
}

void SetStatus(DBOSContext& ctx, const std::string& schedule_name, const char* operation,
               const char* step_name, const char* status) {
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  RunScheduleOperation(ctx, operation, step_name, [&](detail::WorkflowState*) {
    if (!runtime.Db().SetScheduleStatus(schedule_name, status)) {
      throw DBOSError(ErrorCode::ScheduleNotFound,
                      "no schedule named '" + schedule_name + "' exists");
    }
    runtime.WakeScheduler();
    return nlohmann::json(nullptr);
  });
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
  RunScheduleOperation(
      ctx, "CreateSchedule", "DBOS.createSchedule", [&](detail::WorkflowState* state) {
        sysdb::ScheduleRow row = ToRow(runtime, spec);
        // Inside a workflow the schedule's ID derives from the step, so a replay after a crash
        // between the insert and its checkpoint recognises the row it inserted.
        if (state != nullptr) {
          row.schedule_id =
              state->workflow_id + "-schedule-" + std::to_string(state->next_step_id.load() - 1);
        }
        if (!runtime.Db().InsertSchedule(row)) {
          const auto existing = runtime.Db().GetSchedule(row.schedule_name);
          if (!existing || existing->schedule_id != row.schedule_id) {
            throw DBOSError(
                ErrorCode::ConflictingRegistration,
                "a schedule named '" + spec.schedule_name +
                    "' already exists: use ApplySchedules to change it, or another name");
          }
        }
        runtime.WakeScheduler();
        return nlohmann::json(nullptr);
      });
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
  SetStatus(ctx, schedule_name, "PauseSchedule", "DBOS.pauseSchedule", "PAUSED");
}

void ResumeSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  SetStatus(ctx, schedule_name, "ResumeSchedule", "DBOS.resumeSchedule", "ACTIVE");
}

void DeleteSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  RunScheduleOperation(ctx, "DeleteSchedule", "DBOS.deleteSchedule", [&](detail::WorkflowState*) {
    runtime.Db().DeleteSchedule(schedule_name);
    runtime.WakeScheduler();
    return nlohmann::json(nullptr);
  });
}

WorkflowSchedule GetSchedule(DBOSContext& ctx, const std::string& schedule_name) {
  detail::Runtime& runtime = LaunchedOrNot(ctx);
  return FromRow(RowFromJson(RunScheduleOperation(
      ctx, "GetSchedule", "DBOS.getSchedule",
      [&](detail::WorkflowState*) { return RowToJson(FindRow(runtime, schedule_name)); })));
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
  const nlohmann::json listed =
      RunScheduleOperation(ctx, "ListSchedules", "DBOS.listSchedules", [&](WorkflowState*) {
        nlohmann::json rows = nlohmann::json::array();
        for (const sysdb::ScheduleRow& row :
             runtime.Db().ListSchedules(runtime.Config().app_name)) {
          if (!options.statuses.empty() && !In(row.status, options.statuses)) continue;
          if (!options.workflow_names.empty() && !In(row.workflow_name, options.workflow_names)) {
            continue;
          }
          if (!options.names.empty() && !In(row.schedule_name, options.names)) continue;
          if (!options.name_prefixes.empty() &&
              !StartsWithAny(row.schedule_name, options.name_prefixes))
            continue;
          rows.push_back(RowToJson(row));
        }
        return rows;
      });
  std::vector<WorkflowSchedule> out;
  out.reserve(listed.size());
  for (const nlohmann::json& row : listed) out.push_back(FromRow(RowFromJson(row)));
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
