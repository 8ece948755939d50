// The SQLite Backend of the dialect-neutral system database (core/sql_system_database.cpp), and
// opening the database. Every write Script is one BEGIN IMMEDIATE transaction on the pool's single
// writer connection: SQLite serializes writers anyway, and queueing them on an in-process mutex is
// far cheaper than letting several connections poll SQLite's busy handler. Checkpoints that
// several workflows are ready to write at once share one such transaction (group commit,
// sqlite_commit_group.hpp). Reads go to separate reader connections, which WAL lets proceed while
// a write is in progress. SQLITE_BUSY that outlasts the 5 s busy timeout (another process holding
// the lock) and passing I/O failures are retried with capped backoff; every write is idempotent,
// so retrying is safe.
#include "sysdb/sqlite/sqlite_system_database.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "dbos/errors.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "sysdb/core/run.hpp"
#include "sysdb/core/session.hpp"
#include "sysdb/core/sql_system_database.hpp"
#include "sysdb/core/statements.hpp"
#include "sysdb/sqlite/sqlite_commit_group.hpp"
#include "sysdb/sqlite/sqlite_connection.hpp"
#include "sysdb/sqlite/sqlite_schema.hpp"
#include "sysdb/sqlite/sqlite_statements.hpp"

namespace dbos::sysdb {
namespace sqlite {
namespace {

// RETURNING arrived in SQLite 3.35.0.
constexpr int kMinimumSqliteVersion = 3035000;
constexpr int kDefaultPoolSize = 4;

/// SQLite's backoff: lock waits are short, so it starts at 10 ms and caps at 1 s.
core::Backoff SqliteBackoff() {
  return core::Backoff(std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

// How to name the database in messages: the path as given plus where it resolves to.
std::string DescribeLocation(const SqliteTarget& target) {
  if (target.in_memory || target.is_uri) return "'" + target.filename + "'";
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(target.filename, ec);
  if (ec || absolute.string() == target.filename) return "'" + target.filename + "'";
  return "'" + target.filename + "' (" + absolute.string() + ")";
}

std::string DirectoryOf(const SqliteTarget& target) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(target.filename, ec);
  if (ec) absolute = target.filename;
  const std::filesystem::path parent = absolute.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Turns a startup failure into the Initialization error a user can act on.
DBOSError StartupError(const SqliteTarget& target, const std::string& location,
                       const SqliteError& error, std::chrono::milliseconds startup_timeout) {
  std::string advice;
  std::error_code ec;
  switch (error.PrimaryCode()) {
    case SQLITE_CANTOPEN:
      if (!target.is_uri && std::filesystem::is_directory(target.filename, ec)) {
        advice = "the path is a directory; name a database file (e.g. " +
                 (std::filesystem::path(target.filename) / "dbos.sqlite").string() + ")";
        break;
      }
      advice = target.is_uri ? "check the file: URI and that its directory exists and is writable"
                             : "check that the directory '" + DirectoryOf(target) +
                                   "' exists and that this process may create and write files in "
                                   "it, or change the database URL";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      advice =
          "the database file or its directory is not writable by this process (SQLite also "
          "creates -wal and -shm files beside it); fix the permissions or change the "
          "database URL";
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      advice = "the file is not a valid SQLite database; point the database URL at a new file";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      advice = "another process kept the database locked for longer than the startup timeout (" +
               std::to_string(startup_timeout.count()) + " ms)";
      break;
    default:
      advice = "check the database URL and the file";
      break;
  }
  return DBOSError(ErrorCode::Initialization, "cannot open the SQLite system database " + location +
                                                  ": " + error.Message() + "; " + advice);
}

// ---------------------------------------------------------------------------------------------
// The Backend

/// Binds `params` to the parameters `stmt` uses (?1..?N; the rest are not in this statement).
void BindParams(Statement& stmt, const core::Params& params) {
  using Kind = core::Params::Value::Kind;
  const auto& values = params.Values();
  const int count = std::min(stmt.ParameterCount(), static_cast<int>(values.size()));
  for (int i = 0; i < count; ++i) {
    const core::Params::Value& value = values[static_cast<size_t>(i)];
    switch (value.kind) {
      case Kind::kNull:
        stmt.BindNull(i + 1);
        break;
      case Kind::kInt:
      case Kind::kBool:
        stmt.Bind(i + 1, value.number);
        break;
      case Kind::kText:
        stmt.Bind(i + 1, *value.text);
        break;
    }
  }
}

/// Runs one statement and copies its rows.
core::Rows RunPart(Connection& conn, const core::Part& part, const core::Params& params) {
  Statement stmt = conn.Prepare(part.sql);
  BindParams(stmt, params);
  const int columns = stmt.ColumnCount();
  core::Rows rows(columns);
  while (stmt.Step()) {
    for (int c = 0; c < columns; ++c) rows.Add(stmt.OptText(c));
  }
  return rows;
}

/// A gate is open when it returned a row whose first column is neither NULL nor false/0 (an ID
/// returned by an UPDATE … RETURNING opens it).
bool GateOpen(const core::Rows& rows) {
  if (rows.Empty() || rows[0].IsNull(0)) return false;
  const std::string first = rows[0].Text(0);
  return first != "0" && first != "f" && first != "false";
}

/// Runs a write Script's parts inside the caller's transaction. Not kept when a gate closed.
WriteOutcome RunWriteParts(Connection& conn, const core::Script& script,
                           const core::Params& params) {
  WriteOutcome outcome;
  bool closed = false;
  for (const core::Part& part : script.parts) {
    if (part.when_closed != closed) continue;
    core::Rows rows = RunPart(conn, part, params);
    if (part.gate && !GateOpen(rows)) closed = true;
    if (part.result) outcome.rows = std::move(rows);
  }
  outcome.keep = !closed;
  return outcome;
}

/// Turns SQLite's constraint errors into core::ConstraintViolation (message names the columns).
[[noreturn]] void Rethrow(const SqliteError& e) {
  if (e.Code() == SQLITE_CONSTRAINT_UNIQUE || e.Code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
    throw core::ConstraintViolation(core::ConstraintViolation::Kind::kUnique, e.Message(),
                                    e.what());
  }
  if (e.Code() == SQLITE_CONSTRAINT_FOREIGNKEY) {
    throw core::ConstraintViolation(core::ConstraintViolation::Kind::kForeignKey, e.Message(),
                                    e.what());
  }
  throw e;
}

/// Raises the injected failure when `fault` is of kind `at`.
void ThrowIfFault(const testing::Fault& fault, testing::Fault::Kind at) {
  if (fault.kind != at) return;
  switch (at) {
    case testing::Fault::Kind::kBeforeExecute:
      throw SqliteError(fault.sqlite_code != 0 ? fault.sqlite_code : SQLITE_IOERR,
                        "injected fault before the transaction");
    case testing::Fault::Kind::kDropConnection:
      throw SqliteError(SQLITE_IOERR, "injected fault: connection lost in the transaction");
    case testing::Fault::Kind::kAfterCommit:
      throw SqliteError(SQLITE_IOERR, "injected fault: reply lost after the commit");
    case testing::Fault::Kind::kNone:
      break;
  }
}

/// One attempt of an operation: each write Script is a transaction on the writer, each read
/// Script runs on a reader.
class SqliteSession final : public core::Session {
 public:
  SqliteSession(ConnectionPool& pool, const char* operation, SqliteCommitGroup& group)
      : pool_(pool), operation_(operation), group_(group) {}

  core::Rows Run(const core::Script& script, const core::Params& params) override {
    const testing::Fault fault =
        testing::FaultInjectionOn()
            ? testing::NextFault({"sqlite", operation_, script.name.c_str(), {}})
            : testing::Fault{};
    ThrowIfFault(fault, testing::Fault::Kind::kBeforeExecute);
    try {
      core::Rows result = script.access == core::Script::Access::kRead
                              ? RunRead(script, params, fault)
                          : Shares(script, fault) ? RunShared(script, params)
                                                  : RunWrite(script, params, fault);
      ThrowIfFault(fault, testing::Fault::Kind::kAfterCommit);
      return result;
    } catch (const SqliteError& e) {
      Rethrow(e);
    }
  }

 private:
  core::Rows RunWrite(const core::Script& script, const core::Params& params,
                      const testing::Fault& fault) {
    ConnectionPool::Lease lease = pool_.Writer();
    Transaction txn(*lease, Transaction::Mode::Immediate);
    // A connection lost inside the transaction: SQLite rolls it back.
    ThrowIfFault(fault, testing::Fault::Kind::kDropConnection);
    WriteOutcome outcome = RunWriteParts(*lease, script, params);
    // A closed gate wrote nothing: the destructor rolls back.
    if (outcome.keep) txn.Commit();
    return std::move(outcome.rows);
  }

  /// True when `script` goes through the commit group. A dropped connection is injected inside
  /// a transaction of the script's own (RunWrite), never in one other writes share.
  static bool Shares(const core::Script& script, const testing::Fault& fault) {
    return script.shares_commit && fault.kind != testing::Fault::Kind::kDropConnection;
  }

  /// Runs a write Script through the commit group: alone, or in one transaction with other
  /// threads' writes.
  core::Rows RunShared(const core::Script& script, const core::Params& params) {
    const SqliteCommitGroup::Write write = [&script, &params](Connection& conn) {
      return RunWriteParts(conn, script, params);
    };
    return group_.Run(pool_, write);
  }

  core::Rows RunRead(const core::Script& script, const core::Params& params,
                     const testing::Fault& fault) {
    ThrowIfFault(fault, testing::Fault::Kind::kDropConnection);
    ConnectionPool::Lease lease = pool_.Reader();
    core::Rows result;
    for (const core::Part& part : script.parts) {
      core::Rows rows = RunPart(*lease, part, params);
      if (part.result) result = std::move(rows);
    }
    return result;
  }

  ConnectionPool& pool_;
  const char* operation_;
  SqliteCommitGroup& group_;
};

class SqliteBackend final : public core::Backend {
 public:
  SqliteBackend(std::unique_ptr<ConnectionPool> pool, std::shared_ptr<Logger> logger,
                const std::string& location)
      : pool_(std::move(pool)),
        logger_(std::move(logger)),
        name_("SQLite " + location),
        statements_(MakeStatements()) {}

  const core::Statements& GetStatements() const override { return statements_; }

  void Execute(const core::Operation& operation, const std::string& workflow_id,
               const SystemDatabase& owner,
               const std::function<void(core::Session&, bool)>& attempt) override {
    Dialect dialect{this, &owner};
    core::RunOperation(dialect, operation, workflow_id, [&](bool retry) {
      SqliteSession session(*pool_, operation.name, commit_group_);
      attempt(session, retry);
    });
  }

  // SQLite has no LISTEN/NOTIFY: the runtime signals waiters in-process and polls.
  bool StartListening(NotificationCallback /*callback*/) override { return false; }
  void StopListening() override {}

 private:
  /// The SQLite dialect of the shared retry loop (see core/run.hpp).
  struct Dialect {
    using Error = SqliteError;
    SqliteBackend* backend;
    const SystemDatabase* owner;
    static bool IsTransient(const SqliteError& e) { return e.IsTransient(); }
    static std::string Code(const SqliteError& e) { return sqlite3_errstr(e.Code()); }
    static void AfterTransient(const SqliteError&) {}
    Logger& Log() const { return *backend->logger_; }
    const char* Name() const { return backend->name_.c_str(); }
    static core::Backoff NewBackoff() { return SqliteBackoff(); }
    bool Stopped() const { return owner->RetryingStopped(); }
  };

  std::unique_ptr<ConnectionPool> pool_;
  SqliteCommitGroup commit_group_;
  std::shared_ptr<Logger> logger_;
  const std::string name_;  // for messages: "SQLite '<path>'"
  const core::Statements statements_;
};

}  // namespace
}  // namespace sqlite

std::unique_ptr<SystemDatabase> OpenSqlite(const Options& options) {
  using sqlite::Connection;
  using sqlite::SqliteError;

  std::optional<sqlite::SqliteTarget> target = sqlite::ParseSqliteUrl(options.url);
  if (!target) {
    throw DBOSError(ErrorCode::Initialization,
                    "'" + options.url +
                        "' is not a SQLite database URL; use sqlite:PATH, sqlite:///ABSOLUTE/PATH, "
                        "sqlite::memory: or sqlite:file:URI");
  }
  if (sqlite3_libversion_number() < sqlite::kMinimumSqliteVersion) {
    throw DBOSError(ErrorCode::Initialization,
                    std::string("the linked SQLite library is version ") + sqlite3_libversion() +
                        "; DBOS needs SQLite 3.35.0 or newer (for RETURNING)");
  }
  if (sqlite3_threadsafe() == 0) {
    throw DBOSError(ErrorCode::Initialization,
                    "the linked SQLite library was built without thread support "
                    "(SQLITE_THREADSAFE=0); DBOS needs a thread-safe build");
  }
  const std::string location = sqlite::DescribeLocation(*target);
  Logger& logger = *options.logger;
  if (options.existing_only) {
    if (target->in_memory) {
      throw DBOSError(ErrorCode::Initialization,
                      "'" + options.url +
                          "' is a new, empty database: a client connects only to an existing "
                          "DBOS system database; name the SQLite file the application uses");
    }
    target->existing_only = true;
  }

  // Open the writer and bring the schema up, retrying lock contention until the startup deadline.
  const auto deadline = std::chrono::steady_clock::now() + options.startup_timeout;
  // SQLite's own busy wait is bounded by the startup timeout too.
  const std::chrono::milliseconds startup_busy_timeout = std::min(
      sqlite::kBusyTimeout, std::max(options.startup_timeout, std::chrono::milliseconds(1)));
  std::unique_ptr<Connection> writer;
  core::Backoff backoff = sqlite::SqliteBackoff();
  for (;;) {
    try {
      writer = std::make_unique<Connection>(*target, startup_busy_timeout);
      if (writer->IsReadOnly()) throw SqliteError(SQLITE_READONLY, "the file opened read-only");
      if (target->existing_only && sqlite::ReadSchemaVersion(*writer) < 0) {
        throw DBOSError(ErrorCode::Initialization,
                        "the SQLite database " + location +
                            " is not a DBOS system database (it has no dbos_migrations table): "
                            "a client connects only to a system database that a DBOS application "
                            "created; check the database URL, or launch the application first");
      }
      sqlite::EnsureSchema(*writer, logger, location);  // creates nothing when it exists
      writer->SetBusyTimeout(sqlite::kBusyTimeout);
      break;
    } catch (const SqliteError& error) {
      writer.reset();
      if (target->existing_only && error.PrimaryCode() == SQLITE_CANTOPEN) {
        throw DBOSError(ErrorCode::Initialization,
                        "the SQLite system database " + location + " cannot be opened (" +
                            error.Message() +
                            "): a client connects only to an existing system database that a "
                            "DBOS application created; check the database URL");
      }
      const auto delay = backoff.Next();
      if (!error.IsTransient() || std::chrono::steady_clock::now() + delay > deadline) {
        throw sqlite::StartupError(*target, location, error, options.startup_timeout);
      }
      std::this_thread::sleep_for(delay);
    }
  }
  if (!target->in_memory && writer->JournalMode() != "wal") {
    logger.Log(LogLevel::Warn, "SQLite system database " + location + " uses journal mode '" +
                                   writer->JournalMode() +
                                   "' instead of WAL; readers will wait for writers");
  }

  // Readers: none for an in-memory database (every connection would be a separate database).
  std::vector<std::unique_ptr<Connection>> readers;
  if (!target->in_memory) {
    const int pool_size = options.pool_size > 0 ? options.pool_size : sqlite::kDefaultPoolSize;
    for (int i = 1; i < pool_size; ++i) {
      try {
        readers.push_back(std::make_unique<Connection>(*target));
      } catch (const SqliteError& error) {
        throw sqlite::StartupError(*target, location, error, options.startup_timeout);
      }
    }
  }
  auto pool = std::make_unique<sqlite::ConnectionPool>(std::move(writer), std::move(readers));
  return core::MakeSystemDatabase(
      std::make_unique<sqlite::SqliteBackend>(std::move(pool), options.logger, location));
}

}  // namespace dbos::sysdb
