// The DBOS system database schema (version 123) for PostgreSQL: the DDL that creates it in a given
// schema (tables, constraints, indexes, the notifications trigger and the three stored functions,
// laid out exactly as DBOS Transact TypeScript 5.3.0 leaves them), and the startup step that
// creates it under an advisory lock or checks the version an existing database records.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "dbos/logging.hpp"
#include "sysdb/postgres/pg_connection.hpp"

namespace dbos::sysdb::pg {

/// What EnsureSchema found.
struct SchemaState {
  bool created = false;  ///< True when this call created the schema.
  int64_t version = 0;   ///< The version recorded in dbos_migrations after the call.
};

/// The statements that create the whole version-123 schema inside `quoted_schema` (an already
/// quoted identifier), including the stored functions and the dbos_migrations row.
std::string SchemaDdl(std::string_view quoted_schema);

/// In one transaction holding a pg_advisory_xact_lock keyed on the schema name: creates the schema
/// when `<schema>.dbos_migrations` is missing, otherwise reads the recorded version. A version
/// above 123 is accepted with a Warn on `logger`; below 123 throws DBOSError(Initialization).
/// Without `create`, a missing schema is not created and the result's version is -1.
/// Statements are bounded by `deadline` (statement_timeout). Database failures throw PgError.
SchemaState EnsureSchema(PgConnection& conn, const std::string& schema, Logger& logger,
                         std::chrono::steady_clock::time_point deadline, bool create = true);

}  // namespace dbos::sysdb::pg
