// PostgreSQL text of the schedule statements; core/statements.hpp says what each receives and
// returns.
#include "sysdb/postgres/pg_schedule_statements.hpp"

#include <string_view>

namespace dbos::sysdb::pg {
namespace {

constexpr std::string_view kColumns =
    "schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context, "
    "last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name";

constexpr std::string_view kInsertScheduleSql = R"SQL(
INSERT INTO {s}.workflow_schedules ({c})
VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
        $9::boolean, $10::text, $11::text, $12::text)
ON CONFLICT (schedule_name) DO NOTHING
RETURNING schedule_id
)SQL";

constexpr std::string_view kUpsertScheduleSql = R"SQL(
INSERT INTO {s}.workflow_schedules ({c})
VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
        $9::boolean, $10::text, $11::text, $12::text)
ON CONFLICT (schedule_name) DO UPDATE SET
    workflow_name = EXCLUDED.workflow_name, workflow_class_name = EXCLUDED.workflow_class_name,
    schedule = EXCLUDED.schedule, context = EXCLUDED.context,
    automatic_backfill = EXCLUDED.automatic_backfill, cron_timezone = EXCLUDED.cron_timezone,
    queue_name = EXCLUDED.queue_name, application_name = EXCLUDED.application_name
)SQL";

constexpr std::string_view kGetScheduleSql = R"SQL(
SELECT {c} FROM {s}.workflow_schedules WHERE schedule_name = $1::text
)SQL";

constexpr std::string_view kListSchedulesSql = R"SQL(
SELECT {c} FROM {s}.workflow_schedules
WHERE application_name = $1::text OR application_name IS NULL
ORDER BY schedule_name
)SQL";

constexpr std::string_view kSetScheduleStatusSql = R"SQL(
UPDATE {s}.workflow_schedules SET status = $2::text WHERE schedule_name = $1::text
RETURNING schedule_id
)SQL";

constexpr std::string_view kDeleteScheduleSql = R"SQL(
DELETE FROM {s}.workflow_schedules WHERE schedule_name = $1::text RETURNING schedule_id
)SQL";

constexpr std::string_view kRecordScheduleFiredSql = R"SQL(
WITH wf AS (
  UPDATE {s}.workflow_status SET schedule_name = $1::text WHERE workflow_uuid = $3::text
  RETURNING 1
)
UPDATE {s}.workflow_schedules SET last_fired_at = $2::text WHERE schedule_name = $1::text
)SQL";

constexpr std::string_view kLatestVersionSql = R"SQL(
SELECT version_name FROM {s}.application_versions
WHERE application_name = NULLIF($1::text, '') OR application_name IS NULL
ORDER BY version_timestamp DESC, created_at DESC LIMIT 1
)SQL";

std::string Expand(std::string_view sql, const std::string& quoted_schema) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql.compare(i, 3, "{s}") == 0) {
      out += quoted_schema;
      i += 2;
    } else if (sql.compare(i, 3, "{c}") == 0) {
      out += kColumns;
      i += 2;
    } else {
      out += sql[i];
    }
  }
  return out;
}

}  // namespace

void AddScheduleStatements(core::Statements& s, const std::string& quoted_schema) {
  using Access = core::Script::Access;
  const auto one = [&](const char* name, Access access, std::string_view sql) {
    core::Script script;
    script.name = name;
    script.access = access;
    script.parts.push_back(core::Part{Expand(sql, quoted_schema), true, false});
    return script;
  };
  s.insert_schedule = one("insert_schedule", Access::kWrite, kInsertScheduleSql);
  s.upsert_schedule = one("upsert_schedule", Access::kWrite, kUpsertScheduleSql);
  s.get_schedule = one("get_schedule", Access::kRead, kGetScheduleSql);
  s.list_schedules = one("list_schedules", Access::kRead, kListSchedulesSql);
  s.set_schedule_status = one("set_schedule_status", Access::kWrite, kSetScheduleStatusSql);
  s.delete_schedule = one("delete_schedule", Access::kWrite, kDeleteScheduleSql);
  s.record_schedule_fired = one("record_schedule_fired", Access::kWrite, kRecordScheduleFiredSql);
  s.latest_version = one("latest_version", Access::kRead, kLatestVersionSql);
}

}  // namespace dbos::sysdb::pg
