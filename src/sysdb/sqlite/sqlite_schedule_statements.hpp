// The SQLite statement text of the schedule operations (workflow_schedules).
#pragma once

#include "sysdb/core/statements.hpp"

namespace dbos::sysdb::sqlite {

/// Fills the schedule Scripts of `s`.
void AddScheduleStatements(core::Statements& s);

}  // namespace dbos::sysdb::sqlite
