// Turning a user's Config into what the runtime uses: the system database URL (with the embedded
// SQLite default), the executor ID and the application version, each with its environment
// override. Validation here is what makes a bad Config fail with a message saying what to fix.
#pragma once

#include <string>

#include "dbos/config.hpp"

namespace dbos::detail {

struct ResolvedConfig {
  std::string app_name;
  std::string database_url;
  std::string database_schema;
  std::string executor_id;
  std::string application_version;
};

/// Validates and resolves `config`; throws DBOSError(Initialization).
ResolvedConfig ResolveConfig(const Config& config);

/// True when `url` names a SQLite database ("sqlite:" / "sqlite3:").
bool IsSqliteUrl(const std::string& url);

/// `url` with any password replaced by "***", for messages and logs.
std::string RedactUrl(const std::string& url);

/// The default application version: hex SHA-256 of (hex SHA-256 of the executable + app_name).
std::string ComputeApplicationVersion(const std::string& app_name);

}  // namespace dbos::detail
