// The PostgreSQL statement text of every system database operation (core/statements.hpp says
// what each receives and returns).
#pragma once

#include <string>

#include "sysdb/core/statements.hpp"

namespace dbos::sysdb::pg {

/// The statements with `quoted_schema` (already quoted) as their schema.
core::Statements MakeStatements(const std::string& quoted_schema);

/// Fills the management statements and spelling of `s` (pg_management_statements.cpp).
void AddManagementStatements(core::Statements& s, const std::string& quoted_schema);

}  // namespace dbos::sysdb::pg
