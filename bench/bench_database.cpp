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
  const std::string pattern = "bench\\_" + std::to_string(getpid()) + "\\_%";
  try {
    RunPostgres(options.url,
                "SET client_min_messages = warning; "
                "DO $$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace WHERE "
                "nspname LIKE '" +
                    pattern +
                    "' LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $$; "
                    "CHECKPOINT");
  } catch (const std::exception& e) {
    std::cerr << "dbos_bench: could not drop this run's schemas or checkpoint: " << e.what()
              << std::endl;
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
