// Measurement 7: ListWorkflows with LIST_ROWS workflows in the table (default 100,000, inserted by
// one SQL statement per table rather than by running workflows). Timed, LIST_REPS times each
// (p50/p99): the first page of 100 (oldest first, inputs and outputs loaded, as a dashboard asks),
// the newest 100, a filtered page of 100 by status (ERROR, 1% of the rows) and one by workflow
// name (10% of the rows), and one workflow by ID. PostgreSQL is ANALYZEd after the insert (its
// autovacuum would do so); SQLite is not (nothing runs ANALYZE for an application).
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"

namespace bench {
namespace {

// The rows: bench-0000001 … created 1 ms apart; every 100th ERROR, else SUCCESS; names wf0 … wf9.
std::string InsertSql(const std::string& t, int rows, bool postgres) {
  const std::string series =
      postgres ? "FROM generate_series(1, " + std::to_string(rows) + ") AS g(i)"
               : "FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                     std::to_string(rows) + ") SELECT i FROM n) AS g";
  const std::string id =
      postgres ? "'bench-' || lpad(i::text, 7, '0')" : "'bench-' || substr('0000000' || i, -7, 7)";
  const std::string name = "'wf' || (i % 10)";
  return "INSERT INTO " + t +
         "workflow_status (workflow_uuid, status, name, executor_id, application_version, "
         "application_name, created_at, updated_at, completed_at, recovery_attempts, "
         "serialization) SELECT " +
         id + ", CASE WHEN i % 100 = 0 THEN 'ERROR' ELSE 'SUCCESS' END, " + name +
         ", 'local', 'bench-v1', 'dbos-bench', 1700000000000 + i, 1700000000000 + i, "
         "1700000000000 + i, 1, 'portable_json' " +
         series + ";\nINSERT INTO " + t + "workflow_input (workflow_uuid, inputs) SELECT " + id +
         ", '{\"positionalArgs\":[' || i || '],\"namedArgs\":{}}' " + series + ";\nINSERT INTO " +
         t + "workflow_output (workflow_uuid, output, error) SELECT " + id +
         ", CASE WHEN i % 100 = 0 THEN NULL ELSE '\"done\"' END, CASE WHEN i % 100 = 0 THEN "
         "'{\"name\":\"Error\",\"message\":\"failed\"}' ELSE NULL END " +
         series + ";";
}

void RunSqlite(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open(path.c_str(), &raw);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) throw std::runtime_error("open " + path);
  sqlite3_busy_timeout(db.get(), 10000);
  char* error = nullptr;
  if (sqlite3_exec(db.get(), ("BEGIN;" + sql + "COMMIT;").c_str(), nullptr, nullptr, &error) !=
      SQLITE_OK) {
    const std::string message = error != nullptr ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error("insert: " + message);
  }
}

int EnvOr(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stoi(value) : fallback;
}

}  // namespace

nlohmann::json MeasureList(const Options& options) {
  const int rows = EnvOr("LIST_ROWS", 100000);
  const int reps = EnvOr("LIST_REPS", 50);
  const DatabaseTarget target = FreshDatabase(options, "list");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));  // creates the schema

  const bool postgres = options.backend == "postgres";
  const double insert_start = NowMs();
  if (postgres) {
    const std::string t = target.schema + ".";
    RunPostgres(target.url, InsertSql(t, rows, true) + "\nANALYZE " + t + "workflow_status, " + t +
                                "workflow_input, " + t + "workflow_output;");
  } else {
    RunSqlite(target.url.substr(target.url.find(':') + 1), InsertSql("", rows, false));
  }
  const double insert_ms = NowMs() - insert_start;

  nlohmann::json out = {{"rows", rows},
                        {"reps", reps},
                        {"insert_ms", Round3(insert_ms)},
                        {"database", target.Describe()}};
  const auto time = [&](const char* key, size_t expected, auto&& list) {
    std::vector<double> samples;
    for (int i = 0; i < reps; ++i) {
      const double t0 = NowMs();
      const auto listed = list();
      samples.push_back(NowMs() - t0);
      if (listed.size() != expected) {
        throw std::runtime_error(std::string(key) + ": listed " + std::to_string(listed.size()) +
                                 " workflows, expected " + std::to_string(expected));
      }
    }
    out[key] = Summarize(std::move(samples)).ToJson();
  };
  using dbos::ListWorkflows;
  time("first_page", 100, [&] { return ListWorkflows(ctx, dbos::WithLimit(100)); });
  time("newest_page", 100,
       [&] { return ListWorkflows(ctx, dbos::WithLimit(100), dbos::WithSortDesc()); });
  time("error_page", 100, [&] {
    return ListWorkflows(ctx, dbos::WithStatus({dbos::WorkflowStatusType::Error}),
                         dbos::WithLimit(100));
  });
  time("name_page", 100,
       [&] { return ListWorkflows(ctx, dbos::WithName("wf3"), dbos::WithLimit(100)); });
  std::string middle = std::to_string(rows / 2 + 1);
  middle = "bench-" + std::string(7 - std::min<size_t>(7, middle.size()), '0') + middle;
  time("by_id", 1, [&] { return ListWorkflows(ctx, dbos::WithWorkflowIDs({middle})); });
  dbos::Shutdown(ctx);
  return out;
}

}  // namespace bench
