// Fresh databases and the shared configuration; see bench_database.hpp.
#include "bench_database.hpp"

#include <postgresql/libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <vector>

namespace bench {
namespace {

// The PostgreSQL schemas FreshDatabase handed out and DropSchemas has not dropped yet.
std::vector<std::string>& CreatedSchemas() {
  static std::vector<std::string> schemas;
  return schemas;
}

std::string& TempDir() {
  static std::string dir;
  return dir;
}

std::string MakeTempDir(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  }
  std::filesystem::create_directories(base);
  std::string pattern = base + "/dbos-bench.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("cannot create a temp folder under " + base);
  }
  return std::filesystem::absolute(buffer.data()).string();
}

}  // namespace

std::string DatabaseTarget::Describe() const {
  if (url.rfind("sqlite:", 0) == 0) return url;
  return url + " (schema " + schema + ")";
}

DatabaseTarget FreshDatabase(const Options& options, const std::string& label) {
  DatabaseTarget target;
  if (options.backend == "sqlite") {
    std::string parent = options.url;
    if (parent.rfind("sqlite:", 0) == 0) parent = parent.substr(7);
    if (TempDir().empty()) TempDir() = MakeTempDir(parent);
    target.url = "sqlite:" + TempDir() + "/" + label + ".sqlite";
  } else {
    target.url = options.url;
    target.schema = "bench_" + std::to_string(getpid()) + "_" + label;
    CreatedSchemas().push_back(target.schema);
  }
  return target;
}

void RunPostgres(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("connect: ") + PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(PQexec(conn.get(), sql.c_str()), PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(std::string("PostgreSQL: ") + PQerrorMessage(conn.get()));
  }
}

void DropSchemas(const Options& options) {
  if (options.backend != "postgres") return;
  std::vector<std::string>& schemas = CreatedSchemas();
  // Its own transaction, so that a failed CHECKPOINT (a user without the right) keeps the drops;
  // a lock held elsewhere fails it after 10 s rather than hanging the benchmark.
  std::string drop = "SET lock_timeout = '10s'; SET client_min_messages = warning;";
  for (const std::string& schema : schemas)
    drop += " DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE;";
  try {
    if (!schemas.empty()) RunPostgres(options.url, drop);
    schemas.clear();
  } catch (const std::exception& e) {
    std::cerr << "dbos_bench: could not drop this run's schemas: " << e.what() << std::endl;
  }
  try {
    RunPostgres(options.url, "CHECKPOINT");
  } catch (const std::exception& e) {
    std::cerr << "dbos_bench: could not checkpoint: " << e.what() << std::endl;
  }
}

void RemoveTempFiles() {
  if (TempDir().empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(TempDir(), ignored);
  TempDir().clear();
}

dbos::Config MakeConfig(const DatabaseTarget& target) {
  return dbos::Config{
      .app_name = "dbos-bench",
      .database_url = target.url,
      .database_schema = target.schema,
      .logger = dbos::NewConsoleLogger(dbos::LogLevel::Warn),
      .application_version = "bench-v1",
      .executor_id = "local",
  };
}

DatabaseTarget ChildDatabase(const Options& options) {
  DatabaseTarget target;
  target.url = options.db_url;
  if (!options.db_schema.empty()) target.schema = options.db_schema;
  return target;
}

}  // namespace bench
