// Reading and writing workflow_schedules rows for both dialects; see sql_schedules.hpp.
#include "sysdb/core/sql_schedules.hpp"

namespace dbos::sysdb::core {

void AddScheduleParams(Params& params, const ScheduleRow& row) {
  params.Text(row.schedule_id)
      .Text(row.schedule_name)
      .Text(row.workflow_name)
      .Text(row.workflow_class_name)
      .Text(row.schedule)
      .Text(row.status)
      .Text(row.context)
      .Text(row.last_fired_at)
      .Bool(row.automatic_backfill)
      .Text(row.cron_timezone)
      .Text(row.queue_name)
      .Text(row.application_name);
}

ScheduleRow ReadScheduleColumns(const Rows::Row& row) {
  ScheduleRow out;
  out.schedule_id = row.Text(0);
  out.schedule_name = row.Text(1);
  out.workflow_name = row.Text(2);
  out.workflow_class_name = row.OptText(3);
  out.schedule = row.Text(4);
  out.status = row.Text(5);
  out.context = row.Text(6);
  out.last_fired_at = row.OptText(7);
  out.automatic_backfill = row.Bool(8);
  out.cron_timezone = row.OptText(9);
  out.queue_name = row.OptText(10);
  out.application_name = row.OptText(11);
  return out;
}

bool InsertScheduleAttempt(Session& s, const Statements& st, const ScheduleRow& row, bool retry) {
  Params params;
  AddScheduleParams(params, row);
  if (!s.Run(st.insert_schedule, params).Empty()) return true;
  if (!retry) return false;
  // After an in-doubt commit, the row that commit inserted carries our schedule_id.
  const auto existing = GetScheduleAttempt(s, st, row.schedule_name);
  return existing && existing->schedule_id == row.schedule_id;
}

std::optional<ScheduleRow> GetScheduleAttempt(Session& s, const Statements& st,
                                              const std::string& schedule_name) {
  Params params;
  params.Text(schedule_name);
  const Rows rows = s.Run(st.get_schedule, params);
  if (rows.Empty()) return std::nullopt;
  return ReadScheduleColumns(rows[0]);
}

std::vector<ScheduleRow> ListSchedulesAttempt(Session& s, const Statements& st,
                                              const std::string& application_name) {
  Params params;
  params.Text(application_name);
  const Rows rows = s.Run(st.list_schedules, params);
  std::vector<ScheduleRow> out;
  out.reserve(rows.Size());
  for (size_t i = 0; i < rows.Size(); ++i) out.push_back(ReadScheduleColumns(rows[i]));
  return out;
}

}  // namespace dbos::sysdb::core
