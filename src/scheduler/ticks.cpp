// Enqueuing schedule runs; see ticks.hpp. Executors race on a tick's deterministic ID: the insert
// that finds the row already there creates nothing, so each tick runs once across a cluster.
#include "scheduler/ticks.hpp"

#include "dbos/serialization.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"
#include "util/uuid.hpp"

namespace dbos::scheduler {

std::string TickWorkflowId(const std::string& schedule_name,
                           std::chrono::system_clock::time_point tick) {
  return "sched-" + schedule_name + "-" + FormatRfc3339Seconds(tick);
}

CronSchedule ParseScheduleOf(const sysdb::ScheduleRow& row) {
  return CronSchedule::Parse(row.schedule, row.cron_timezone.value_or(""));
}

nlohmann::json DecodeContext(const std::string& stored) {
  if (stored.empty()) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(stored, nullptr, false);
  if (parsed.is_discarded()) return stored;
  return parsed;
}

bool EnqueueScheduledRun(detail::Runtime& runtime, const sysdb::ScheduleRow& row,
                         std::chrono::system_clock::time_point scheduled_time,
                         const std::string& workflow_id, bool record_fired) {
  const auto& config = runtime.Config();
  const std::string owner = row.application_name.value_or(config.app_name);
  sysdb::WorkflowInsert insert;
  insert.workflow_uuid = workflow_id;
  insert.status = "ENQUEUED";
  insert.name = row.workflow_name;
  insert.class_name = row.workflow_class_name;
  insert.executor_id = config.executor_id;
  // The owner's latest version runs schedules (other versions may be draining).
  insert.application_version =
      runtime.Db().LatestApplicationVersion(owner).value_or(config.application_version);
  insert.application_name = owner;
  insert.queue_name =
      row.queue_name && !row.queue_name->empty() ? *row.queue_name : sysdb::kInternalQueueName;
  const nlohmann::json input = {{"scheduled_time", FormatTimestamp(scheduled_time)},
                                {"context", DecodeContext(row.context)}};
  insert.inputs = serialization::EncodeWorkflowInput(input);
  insert.creator_xid = util::NewUuid();
  insert.now_ms = util::NowEpochMs();
  const sysdb::WorkflowInsertResult result = runtime.Db().InsertWorkflow(insert);
  if (!result.created) return false;
  if (record_fired) {
    runtime.Db().RecordScheduleFired(row.schedule_name, FormatTimestamp(scheduled_time),
                                     workflow_id);
  }
  runtime.WakeQueueRunner();
  return true;
}

}  // namespace dbos::scheduler
