// Chooses the system database backend from the URL scheme.
#include "sysdb/postgres/postgres_system_database.hpp"
#include "sysdb/sqlite/sqlite_system_database.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::sysdb {

std::unique_ptr<SystemDatabase> OpenSystemDatabase(const Options& options) {
  if (options.url.rfind("sqlite:", 0) == 0 || options.url.rfind("sqlite3:", 0) == 0) {
    return OpenSqlite(options);
  }
  return OpenPostgres(options);
}

}  // namespace dbos::sysdb
