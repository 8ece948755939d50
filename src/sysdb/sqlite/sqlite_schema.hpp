// The DBOS system database schema (migration 123) in SQLite's dialect, and the startup check that
// creates it on a fresh database or verifies the recorded version of an existing one. The layout
// mirrors schema-v123.sql table for table and index for index, so other DBOS SDKs and tools can
// share the file: INTEGER for bigint/int/boolean, REAL for double precision, TEXT for JSONB, no
// schemas, functions or triggers (and no GIN index).
#pragma once

#include <cstdint>
#include <string>

#include "dbos/logging.hpp"
#include "sysdb/sqlite/sqlite_connection.hpp"

namespace dbos::sysdb::sqlite {

/// The DEFAULT expression for "now in epoch milliseconds" that the linked SQLite understands:
/// unixepoch('subsec') on SQLite >= 3.42, a julianday() formula before that.
std::string NowMsDefaultExpression();

/// The whole schema as one SQL script (CREATE TABLE / CREATE INDEX statements, no transaction and
/// no dbos_migrations row).
std::string SchemaScript();

/// Brings `conn`'s database to a usable schema: when dbos_migrations is absent, creates every table
/// and index and records version kSchemaVersion, all in one BEGIN IMMEDIATE transaction. When it is
/// present: the current version is used as is, a newer one is used with a Warn log, an older one
/// throws DBOSError(Initialization). `location` names the database in messages. Other failures
/// throw SqliteError (the caller decides whether they are transient).
void EnsureSchema(Connection& conn, Logger& logger, const std::string& location);

/// The version recorded in dbos_migrations (greatest row), or -1 when the table is absent and 0
/// when it is empty.
int64_t ReadSchemaVersion(Connection& conn);

}  // namespace dbos::sysdb::sqlite
