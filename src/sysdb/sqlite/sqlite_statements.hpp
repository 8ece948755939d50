// The SQLite statement text of every system database operation (core/statements.hpp says what
// each receives and returns).
#pragma once

#include "sysdb/core/statements.hpp"

namespace dbos::sysdb::sqlite {

/// The statements (SQLite has no schemas: the tables are the database's own).
core::Statements MakeStatements();

/// Fills the management statements and spelling of `s` (sqlite_management_statements.cpp).
void AddManagementStatements(core::Statements& s);

}  // namespace dbos::sysdb::sqlite
