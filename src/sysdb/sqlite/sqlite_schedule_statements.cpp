// SQLite text of the schedule statements; core/statements.hpp says what each receives and
// returns. Each write is one statement (its own BEGIN IMMEDIATE transaction), except
// record_schedule_fired, which updates the workflow and the schedule together.
#include "sysdb/sqlite/sqlite_schedule_statements.hpp"

#include <string>

namespace dbos::sysdb::sqlite {
namespace {

const std::string kColumns =
    "schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context, "
    "last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name";

const std::string kInsertValues =
    "INSERT INTO workflow_schedules (" + kColumns +
    ")\nVALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?9, ?10, ?11, ?12)\n";

}  // namespace

void AddScheduleStatements(core::Statements& s) {
  using Access = core::Script::Access;
  const auto one = [](const char* name, Access access, std::string sql) {
    return core::Script{name, access, {core::Part{std::move(sql), true, false}}};
  };
  s.insert_schedule =
      one("insert_schedule", Access::kWrite,
          kInsertValues + "ON CONFLICT (schedule_name) DO NOTHING\nRETURNING schedule_id");
  s.upsert_schedule = one("upsert_schedule", Access::kWrite, kInsertValues + R"sql(
ON CONFLICT (schedule_name) DO UPDATE SET
    workflow_name = excluded.workflow_name, workflow_class_name = excluded.workflow_class_name,
    schedule = excluded.schedule, context = excluded.context,
    automatic_backfill = excluded.automatic_backfill, cron_timezone = excluded.cron_timezone,
    queue_name = excluded.queue_name, application_name = excluded.application_name)sql");
  s.get_schedule = one("get_schedule", Access::kRead,
                       "SELECT " + kColumns + " FROM workflow_schedules WHERE schedule_name = ?1");
  s.list_schedules = one("list_schedules", Access::kRead,
                         "SELECT " + kColumns +
                             " FROM workflow_schedules\n"
                             "WHERE application_name = ?1 OR application_name IS NULL\n"
                             "ORDER BY schedule_name");
  s.set_schedule_status = one("set_schedule_status", Access::kWrite,
                              "UPDATE workflow_schedules SET status = ?2 WHERE schedule_name = ?1\n"
                              "RETURNING schedule_id");
  s.delete_schedule =
      one("delete_schedule", Access::kWrite,
          "DELETE FROM workflow_schedules WHERE schedule_name = ?1 RETURNING schedule_id");
  s.record_schedule_fired = core::Script{
      "record_schedule_fired",
      Access::kWrite,
      {core::Part{"UPDATE workflow_status SET schedule_name = ?1 WHERE workflow_uuid = ?3", false,
                  false},
       core::Part{"UPDATE workflow_schedules SET last_fired_at = ?2 WHERE schedule_name = ?1\n"
                  "RETURNING 1",
                  true, false}}};
  s.latest_version = one("latest_version", Access::kRead, R"sql(
SELECT version_name FROM application_versions
WHERE application_name = NULLIF(?1, '') OR application_name IS NULL
ORDER BY version_timestamp DESC, created_at DESC LIMIT 1)sql");
}

}  // namespace dbos::sysdb::sqlite
