// Fresh system databases for each measurement (a new SQLite file or a new PostgreSQL schema) and
// the one dbos::Config every process of the benchmark uses, so recovery finds its workflows.
#pragma once

#include <dbos/dbos.hpp>
#include <string>

#include "bench_options.hpp"

namespace bench {

/// Where one measurement keeps its system tables.
struct DatabaseTarget {
  std::string url;             ///< Config.database_url.
  std::string schema{"dbos"};  ///< Config.database_schema (PostgreSQL only).
  std::string Describe() const;
};

/// A database no earlier run used: `<dir>/<label>.sqlite` in this process's temp folder, or the
/// PostgreSQL URL with schema `bench_<pid>_<label>`.
DatabaseTarget FreshDatabase(const Options& options, const std::string& label);

/// Deletes this process's SQLite temp folder (no-op on PostgreSQL).
void RemoveTempFiles();

/// PostgreSQL: drops the schemas FreshDatabase handed out since the last call, then checkpoints,
/// so that the next measurement starts on a server that is not vacuuming the last one's rows or
/// flushing its WAL (the waiting measurement leaves 200,000 workflows). No-op on SQLite. Reports
/// a failure on stderr only.
void DropSchemas(const Options& options);

/// Runs `sql` (one or more statements) on PostgreSQL at `url`; throws on failure.
void RunPostgres(const std::string& url, const std::string& sql);

/// The configuration of every benchmark process: app "dbos-bench", version "bench-v1",
/// executor "local", warnings and errors only.
dbos::Config MakeConfig(const DatabaseTarget& target);

/// The database a recovery child was told to open (--db-url / --db-schema).
DatabaseTarget ChildDatabase(const Options& options);

}  // namespace bench
