// The SQLite implementation of the system database: an embedded file (or an in-memory database for
// tests) holding the same DBOS schema (version 123) as PostgreSQL, so a single process can run
// durable workflows without a server. See sqlite_system_database.cpp for how writes are serialized.
#pragma once

#include <memory>

#include "sysdb/system_database.hpp"

namespace dbos::sysdb {

/// Opens the SQLite system database named by `options.url` ("sqlite:" or "sqlite3:" followed by a
/// relative or absolute path, "///abs/path", ":memory:", or a "file:" URI), creating the file and
/// the schema when missing. Uses `options.pool_size` connections (default 4; exactly one shared
/// connection for an in-memory database). Throws DBOSError(Initialization) when the URL is not a
/// SQLite URL, the file cannot be opened or created (the message names the path and what to fix),
/// or the recorded schema version is older than kSchemaVersion.
std::unique_ptr<SystemDatabase> OpenSqlite(const Options& options);

}  // namespace dbos::sysdb
