// The PostgreSQL implementation of the DBOS system database (libpq, connection pool, prepared
// statements, one round trip per hot-path call). Only the factory is public; the implementation
// lives in postgres_system_database.cpp.
#pragma once

#include <memory>

#include "sysdb/system_database.hpp"

namespace dbos::sysdb {

/// Opens the PostgreSQL system database named by `options.url` (a postgres:// or postgresql://
/// URL, or a libpq key=value string): connects within options.startup_timeout (creating the
/// database when it does not exist), then creates the version-123 schema in options.schema or
/// checks the version found there. Throws DBOSError(Initialization) with a password-free message.
std::unique_ptr<SystemDatabase> OpenPostgres(const Options& options);

}  // namespace dbos::sysdb
