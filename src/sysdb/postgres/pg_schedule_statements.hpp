// The PostgreSQL statement text of the schedule operations (workflow_schedules).
#pragma once

#include <string>

#include "sysdb/core/statements.hpp"

namespace dbos::sysdb::pg {

/// Fills the schedule Scripts of `s` with `quoted_schema` (already quoted) as their schema.
void AddScheduleStatements(core::Statements& s, const std::string& quoted_schema);

}  // namespace dbos::sysdb::pg
