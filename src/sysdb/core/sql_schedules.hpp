// The schedule operations of the system database (workflow_schedules), written once over the
// dialects' statements: the parameters each receives and how its rows are read. The SystemDatabase
// methods in sql_system_database.cpp run these inside the shared retry loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sysdb/core/session.hpp"
#include "sysdb/core/statements.hpp"

namespace dbos::sysdb::core {

/// Appends the twelve schedule parameters (statements.hpp).
void AddScheduleParams(Params& params, const ScheduleRow& row);
/// Reads the schedule columns of `row` starting at column 0.
ScheduleRow ReadScheduleColumns(const Rows::Row& row);

/// InsertSchedule's attempt: true when inserted now (or, on a retry, by the in-doubt commit).
bool InsertScheduleAttempt(Session& s, const Statements& st, const ScheduleRow& row, bool retry);
/// GetSchedule's attempt.
std::optional<ScheduleRow> GetScheduleAttempt(Session& s, const Statements& st,
                                              const std::string& schedule_name);
/// ListSchedules' attempt.
std::vector<ScheduleRow> ListSchedulesAttempt(Session& s, const Statements& st,
                                              const std::string& application_name);

}  // namespace dbos::sysdb::core
