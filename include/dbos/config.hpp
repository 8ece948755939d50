// Configuration of a DBOS context: which system database, how this executor identifies itself.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dbos/logging.hpp"

namespace dbos {

/// Configuration passed to NewDBOSContext. Only `app_name` is required. New fields are appended.
struct Config {
  /// Required. The application's name: stored on every row, part of the default version hash.
  std::string app_name{};
  /// System database: `postgres://…`, `postgresql://…`, a libpq `key=value` string, or
  /// `sqlite:PATH` (`sqlite::memory:` for tests). Empty: env `DBOS_SYSTEM_DATABASE_URL`, then
  /// the embedded default `sqlite:<app_name>.sqlite` in the working directory.
  std::string database_url{};
  /// PostgreSQL schema holding the system tables. Ignored on SQLite.
  std::string database_schema = "dbos";
  /// Where log lines go. Default: INFO and above to stdout.
  std::shared_ptr<Logger> logger{};
  /// Serve the admin HTTP API (not available yet; must stay false).
  bool admin_server = false;
  /// Port of the admin HTTP API.
  int admin_server_port = 3001;
  /// DBOS Conductor address (not available yet).
  std::string conductor_url{};
  /// DBOS Conductor API key (not available yet; must stay empty).
  std::string conductor_api_key{};
  /// Application version. Default: SHA-256 of (SHA-256 of the executable + app_name).
  /// The environment variable DBOS__APPVERSION overrides it.
  std::string application_version{};
  /// This executor's ID. Default "local". The environment variable DBOS__VMID overrides it.
  std::string executor_id{};
  /// Size of the system database connection pool. 0 means the default (16 on PostgreSQL,
  /// 4 on SQLite files, 1 on `sqlite::memory:`).
  int system_db_pool_size = 0;
  /// Upper bound on connecting to the system database and migrating it in NewDBOSContext;
  /// an unreachable server fails with Initialization within this time (plus one second).
  std::chrono::milliseconds system_db_startup_timeout = std::chrono::seconds(10);
};

/// Returns the environment variable `name`, or "" when it is not set.
std::string GetEnv(const std::string& name);

}  // namespace dbos
