// PostgreSQL system database: startup (connect within a deadline, create a missing database,
// create or check the schema) and the PostgreSQL Backend of the dialect-neutral system database
// (core/sql_system_database.cpp): each Script is one prepared statement (pg_statements.cpp) run
// on a pooled connection in the shared retry loop. Transient failures (lost connection, server
// restart or failover, serialization failure, passing resource shortages) are retried with capped
// exponential backoff and jitter; every statement is safe to repeat.
#include "sysdb/postgres/postgres_system_database.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "dbos/errors.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "sysdb/core/run.hpp"
#include "sysdb/core/session.hpp"
#include "sysdb/core/sql_system_database.hpp"
#include "sysdb/core/statements.hpp"
#include "sysdb/postgres/pg_announcer.hpp"
#include "sysdb/postgres/pg_commit_group.hpp"
#include "sysdb/postgres/pg_connection.hpp"
#include "sysdb/postgres/pg_listener.hpp"
#include "sysdb/postgres/pg_pool.hpp"
#include "sysdb/postgres/pg_schema.hpp"
#include "sysdb/postgres/pg_statements.hpp"

namespace dbos::sysdb {
namespace {

using pg::ConnectFailure;
using pg::ConnectionSpec;
using pg::PgConnectError;
using pg::PgConnection;
using pg::PgError;
using pg::PgParams;
using pg::PgPool;
using pg::PgResult;
using Clock = std::chrono::steady_clock;

constexpr size_t kDefaultPoolSize = 16;
// The statement of workflow starts and enqueues (pg_statements.cpp).
constexpr std::string_view kInsertWorkflowName = "insert_workflow";
// Shared transactions in flight at once (group commit): enough to keep a small server's cores
// busy, few enough that what arrives meanwhile queues up and shares the next commit. Measured on
// two cores: 4 lanes drained a queue about 30 % faster than separate commits, with about 30 %
// less server CPU per workflow; 2 lanes then gave larger groups (6 statements against 3.7) and,
// interleaved runs, medians: 100,000 workflows in Recv released about 25 % faster, 2,000
// concurrent workflows about 10 % more steps/s, a queue drained as fast and enqueued 3 % slower.
// One lane did worse than two.
constexpr int kCommitLanes = 2;
constexpr std::chrono::milliseconds kDefaultStartupTimeout{10000};
constexpr std::chrono::milliseconds kInitialBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr int kMinServerVersion = 130000;  // gen_random_uuid() is built in from 13 on
constexpr const char* kMaintenanceDatabase = "postgres";

using core::Jitter;

/// Used only if a caller breaks the "logger is never null" rule.
class SilentLogger final : public Logger {
 public:
  void Log(LogLevel, std::string_view) noexcept override {}
};

/// Throws DBOSError(Initialization) with `message`.
[[noreturn]] void ThrowInit(const std::string& message) {
  throw DBOSError(ErrorCode::Initialization, message);
}

/// `text` followed by `more`, with a period between them unless `text` already ends a sentence.
std::string Sentences(const std::string& text, const std::string& more) {
  const bool ended =
      !text.empty() && (text.back() == '.' || text.back() == '?' || text.back() == '!');
  return text + (ended ? " " : ". ") + more;
}

/// The text parameters libpq receives for `params`.
PgParams ToPgParams(const core::Params& params) {
  using Kind = core::Params::Value::Kind;
  PgParams out;
  for (const core::Params::Value& value : params.Values()) {
    switch (value.kind) {
      case Kind::kNull:
        out.Null();
        break;
      case Kind::kInt:
        out.Int(value.number);
        break;
      case Kind::kBool:
        out.Bool(value.number != 0);
        break;
      case Kind::kText:
        out.Text(*value.text);
        break;
    }
  }
  return out;
}

/// Copies a result's cells (the rows a Script hands back).
core::Rows ToRows(const PgResult& result) {
  const int columns = result.Get() != nullptr ? PQnfields(result.Get()) : 0;
  core::Rows rows(columns);
  for (int r = 0; r < result.Rows(); ++r) {
    for (int c = 0; c < columns; ++c) rows.Add(result.OptString(r, c));
  }
  return rows;
}

/// One attempt's connection, leased from the pool at its first use: runs each Script as its one
/// prepared statement. A Script that shares commits goes through the commit group instead, whose
/// transaction may also carry other threads' statements.
class PgSession final : public core::Session {
 public:
  PgSession(PgPool& pool, const char* operation, pg::PgCommitGroup& group)
      : pool_(pool), operation_(operation), group_(group) {}

  core::Rows Run(const core::Script& script, const core::Params& params) override {
    if (script.parts.size() != 1) {
      throw std::logic_error("PostgreSQL script " + script.name + " must be one statement");
    }
    const PgParams pg_params = ToPgParams(params);
    try {
      return ToRows(Exec(script, pg_params));
    } catch (const PgError& e) {
      if (e.SqlState() == "23505") {
        throw core::ConstraintViolation(core::ConstraintViolation::Kind::kUnique, e.Constraint(),
                                        e.what());
      }
      if (e.SqlState() == "23503") {
        throw core::ConstraintViolation(core::ConstraintViolation::Kind::kForeignKey,
                                        e.Constraint(), e.what());
      }
      throw;
    }
  }

 private:
  PgResult Exec(const core::Script& script, const PgParams& params) {
    const std::string& sql = script.parts.front().sql;
    if (!testing::FaultInjectionOn()) return Committed(script, params);
    using Kind = testing::Fault::Kind;
    const testing::Fault fault =
        testing::NextFault({"postgres", operation_, script.name.c_str(), {}});
    switch (fault.kind) {
      case Kind::kNone:
        break;
      case Kind::kBeforeExecute:
        if (fault.sqlstate.empty()) {
          ::shutdown(Conn().Socket(), SHUT_RDWR);
          throw PgError("injected fault: connection lost before the statement ran", "", "", true);
        }
        throw PgError("injected fault: SQLSTATE " + fault.sqlstate, fault.sqlstate, "", false);
      case Kind::kAfterCommit: {
        // Once it returns, it is committed (alone, or with its group).
        PgResult committed = Committed(script, params);
        ::shutdown(Conn().Socket(), SHUT_RDWR);
        throw PgError("injected fault: connection lost after the statement committed", "", "",
                      true);
      }
      case Kind::kDropConnection:
        // On this connection, never through a group another connection may carry: libpq
        // finds the connection gone mid-statement.
        ::shutdown(Conn().Socket(), SHUT_RDWR);
        if (script.custom_plan) return Conn().ExecParams(sql, params);
        return Conn().ExecPrepared(script.name, sql, params);
    }
    return Committed(script, params);
  }

  /// Runs `script`'s statement to its commit: alone, or with a group when the Script may share.
  PgResult Committed(const core::Script& script, const PgParams& params) {
    const std::string& sql = script.parts.front().sql;
    if (script.shares_commit) {
      lease_.reset();  // a waiter in a group holds no connection: its leader needs one
      // A workflow start goes first (pg_commit_group.hpp).
      return group_.Run(pool_, script.name, sql, params, script.name == kInsertWorkflowName);
    }
    if (script.custom_plan) return Conn().ExecParams(sql, params);
    return Conn().ExecPrepared(script.name, sql, params);
  }

  /// This attempt's connection, leased at the first use.
  PgConnection& Conn() {
    if (!lease_) lease_.emplace(pool_.Acquire());
    return **lease_;
  }

  PgPool& pool_;
  std::optional<PgPool::Lease> lease_;
  const char* operation_;
  pg::PgCommitGroup& group_;
};

/// The PostgreSQL Backend: a pool of libpq connections and the LISTEN connection.
class PgBackend final : public core::Backend {
 public:
  PgBackend(std::shared_ptr<Logger> logger, const std::string& schema, ConnectionSpec spec,
            size_t pool_size, std::chrono::milliseconds connect_timeout,
            std::unique_ptr<PgConnection> first_connection)
      : logger_(std::move(logger)),
        spec_(spec),
        connect_timeout_(connect_timeout),
        pool_(std::move(spec), pool_size, connect_timeout),
        statements_(pg::MakeStatements(pg::QuoteIdent(schema))),
        announcer_([this](const pg::PgAnnouncer::Batch& batch) { SendNotifications(batch); },
                   [this](const std::string& why) {
                     logger_->Log(LogLevel::Debug,
                                  "could not announce queue work (other processes find it at "
                                  "their next poll): " +
                                      why);
                   }) {
    pool_.Adopt(std::move(first_connection));
  }

  ~PgBackend() override {
    announcer_.Stop();
    StopListening();
  }

  void Announce(const char* channel, const std::string& payload) noexcept override {
    announcer_.Announce(channel, payload);
  }

  const core::Statements& GetStatements() const override { return statements_; }

  void Execute(const core::Operation& operation, const std::string& workflow_id,
               const SystemDatabase& owner,
               const std::function<void(core::Session&, bool)>& attempt) override {
    Dialect dialect{this, &owner};
    core::RunOperation(dialect, operation, workflow_id, [&](bool retry) {
      PgSession session(pool_, operation.name, commit_group_);
      attempt(session, retry);
    });
  }

  bool StartListening(NotificationCallback callback) override {
    std::lock_guard lock(listener_mutex_);
    if (listener_) return true;
    ConnectionSpec spec = spec_;  // carries the keepalives (see WithKeepalives)
    auto listener = std::make_unique<pg::PgListener>(
        std::move(spec),
        std::vector<std::string>{kNotificationsChannel, kWorkflowEventsChannel, kQueueChannel,
                                 kDelayChannel, kStreamsChannel},
        std::move(callback), logger_, connect_timeout_);
    listener->Start();
    listener_ = std::move(listener);
    return true;
  }

  /// One NOTIFY per (channel, payload), in one statement that writes nothing.
  void SendNotifications(const pg::PgAnnouncer::Batch& batch) {
    std::vector<std::string> channels;
    std::vector<std::string> payloads;
    for (const auto& [channel, payload] : batch) {
      channels.push_back(channel);
      payloads.push_back(payload);
    }
    const std::string channel_array = pg::TextArrayLiteral(channels);
    const std::string payload_array = pg::TextArrayLiteral(payloads);
    PgParams params;
    params.Text(channel_array).Text(payload_array);
    PgPool::Lease lease = pool_.Acquire();
    lease->ExecPrepared("announce",
                        "SELECT pg_catalog.pg_notify(c, p) "
                        "FROM unnest($1::text[], $2::text[]) AS t(c, p)",
                        params);
  }

  void StopListening() override {
    std::unique_ptr<pg::PgListener> listener;
    {
      std::lock_guard lock(listener_mutex_);
      listener = std::move(listener_);
    }
    // Destroying it joins the thread, outside the lock.
  }

 private:
  /// The PostgreSQL dialect of the shared retry loop (see core/run.hpp).
  struct Dialect {
    using Error = PgError;
    PgBackend* backend;
    const SystemDatabase* owner;
    static bool IsTransient(const PgError& e) { return e.IsTransient(); }
    static std::string Code(const PgError& e) {
      return e.SqlState().empty() ? std::string("connection") : "SQLSTATE " + e.SqlState();
    }
    void AfterTransient(const PgError& e) const {
      // The server probably restarted or failed over: the idle connections are stale too.
      if (e.ConnectionLost() || e.SqlState().compare(0, 2, "08") == 0 ||
          e.SqlState().compare(0, 3, "57P") == 0 || e.SqlState() == "25006") {
        backend->pool_.DiscardIdle();
      }
    }
    Logger& Log() const { return *backend->logger_; }
    static const char* Name() { return "PostgreSQL"; }
    static core::Backoff NewBackoff() { return core::Backoff(kInitialBackoff, kMaxBackoff); }
    bool Stopped() const { return owner->RetryingStopped(); }
  };

  std::shared_ptr<Logger> logger_;
  const ConnectionSpec spec_;  // for the listener connection
  const std::chrono::milliseconds connect_timeout_;
  PgPool pool_;
  pg::PgCommitGroup commit_group_{kCommitLanes};
  const core::Statements statements_;
  std::mutex listener_mutex_;
  std::unique_ptr<pg::PgListener> listener_;  // guarded by listener_mutex_
  pg::PgAnnouncer announcer_;                 // after pool_: stopped before the pool goes
};

// ---- Startup ----

/// Remaining time until `deadline`, in whole milliseconds (0 when past).
int64_t RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max<int64_t>(left.count(), 0);
}

/// What to check, by failure kind, appended to connection error messages.
const char* ConnectHint(ConnectFailure reason) {
  switch (reason) {
    case ConnectFailure::kRejected:
      return "Check the user name, password and database name in the system database URL, and "
             "that pg_hba.conf allows this client.";
    case ConnectFailure::kBadParameters:
      return "Fix the connection parameter in the system database URL.";
    case ConnectFailure::kNetwork:
    case ConnectFailure::kServerUnavailable:
    case ConnectFailure::kTimeout:
      break;
  }
  return "Check that PostgreSQL is running and reachable at this host and port, or raise the "
         "startup timeout.";
}

/// When `database` does not exist, creates it through the maintenance database. Returns true when
/// the database was created (by us or by a concurrent process), false when it already existed or
/// the maintenance database could not be reached (the original error then stands).
bool CreateDatabaseIfMissing(const ConnectionSpec& spec, const std::string& database,
                             Clock::time_point deadline, Logger& logger) {
  if (database.empty() || database == kMaintenanceDatabase) return false;
  ConnectionSpec maintenance_spec = spec;
  maintenance_spec.Set("dbname", kMaintenanceDatabase);
  std::unique_ptr<PgConnection> admin;
  try {
    admin = PgConnection::Connect(maintenance_spec, deadline);
  } catch (const PgConnectError&) {
    return false;
  }
  try {
    const PgResult exists = admin->ExecParams(
        "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1::text", PgParams().Text(database));
    if (exists.Rows() > 0) return false;
    logger.Log(LogLevel::Info,
               "DBOS system database \"" + database + "\" does not exist; creating it");
    std::chrono::milliseconds backoff = kInitialBackoff;
    while (true) {
      try {
        admin->Exec("CREATE DATABASE " + pg::QuoteIdent(database));
        return true;
      } catch (const PgError& e) {
        // 42P04: created concurrently. 23505: concurrent creation raced on pg_database.
        if (e.SqlState() == "42P04" || e.SqlState() == "23505") return true;
        // 55006: the template database is briefly in use by another session.
        if (e.SqlState() != "55006" || RemainingMs(deadline) <= backoff.count()) throw;
        std::this_thread::sleep_for(Jitter(backoff));
        backoff = std::min(backoff * 2, kMaxBackoff);
      }
    }
  } catch (const PgError& e) {
    ThrowInit(
        "the system database \"" + database + "\" does not exist and could not be created (" +
        (e.SqlState().empty() ? std::string("connection error") : "SQLSTATE " + e.SqlState()) +
        "): " +
        Sentences(spec.Redact(e.what()),
                  "Create it yourself (CREATE DATABASE) or grant the user the "
                  "CREATEDB privilege."));
  }
}

/// Connects for startup: retries unreachable or starting servers until `deadline`, creates a
/// missing database (unless `existing_only`), and turns every failure into
/// DBOSError(Initialization).
std::unique_ptr<PgConnection> ConnectForStartup(const ConnectionSpec& spec,
                                                Clock::time_point deadline,
                                                std::chrono::milliseconds timeout, Logger& logger,
                                                bool existing_only) {
  std::chrono::milliseconds backoff = kInitialBackoff;
  bool created = existing_only;  // a client never creates the database
  std::string last_error;        // the last failure other than running out of time
  while (true) {
    try {
      return PgConnection::Connect(spec, deadline);
    } catch (const PgConnectError& e) {
      if (e.Reason() == ConnectFailure::kRejected && !created &&
          CreateDatabaseIfMissing(spec, e.Database(), deadline, logger)) {
        created = true;
        continue;
      }
      const std::string where =
          "could not connect to the DBOS system database (" + spec.Describe() + "): ";
      if (!e.IsTransient()) ThrowInit(Sentences(where + e.what(), ConnectHint(e.Reason())));
      if (e.Reason() != ConnectFailure::kTimeout || last_error.empty()) last_error = e.what();
      const int64_t remaining = RemainingMs(deadline);
      if (e.Reason() == ConnectFailure::kTimeout || remaining <= 0) {
        ThrowInit(Sentences(where + "gave up after the startup timeout of " +
                                std::to_string(timeout.count()) + " ms; last error: " + last_error,
                            ConnectHint(e.Reason())));
      }
      // Sleep at most until the deadline, so the last attempt happens right before it.
      std::this_thread::sleep_for(std::min(Jitter(backoff), std::chrono::milliseconds(remaining)));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }
}

}  // namespace

std::unique_ptr<SystemDatabase> OpenPostgres(const Options& options) {
  std::shared_ptr<Logger> logger =
      options.logger ? options.logger : std::make_shared<SilentLogger>();
  const std::chrono::milliseconds timeout =
      options.startup_timeout.count() > 0 ? options.startup_timeout : kDefaultStartupTimeout;
  const Clock::time_point deadline = Clock::now() + timeout;

  const std::string& schema = options.schema;
  if (schema.empty() || schema.size() > 63 || schema.find('\0') != std::string::npos) {
    ThrowInit("invalid PostgreSQL schema name \"" + schema +
              "\" for the DBOS system database: use a non-empty name of at most 63 bytes");
  }

  ConnectionSpec spec;
  try {
    spec = ConnectionSpec::Parse(options.url);
  } catch (const std::invalid_argument& e) {
    ThrowInit(std::string("the system database URL is malformed: ") + e.what() +
              ". Use postgres://user:password@host:port/database or a libpq key=value string.");
  }
  if (!options.app_name.empty()) spec.Set("application_name", options.app_name);
  pg::WithKeepalives(spec);
  spec.Set("client_encoding", "UTF8");
  // GSS encryption needs a Kerberos setup; trying it by default costs every connection a krb5
  // initialization (whose library state also races at process exit). A URL that asks for it
  // (gssencmode=prefer or require) still gets it.
  spec.SetDefault("gssencmode", "disable");
  // libpq's own bound on each connection attempt (whole seconds, at least 2); the loop below also
  // enforces the overall deadline to the millisecond.
  spec.SetDefault("connect_timeout",
                  std::to_string(std::max<int64_t>(2, (timeout.count() + 999) / 1000)));

  std::unique_ptr<PgConnection> conn =
      ConnectForStartup(spec, deadline, timeout, *logger, options.existing_only);
  if (conn->ServerVersion() < kMinServerVersion) {
    ThrowInit("the DBOS system database needs PostgreSQL 13 or later; the server reports version " +
              std::to_string(conn->ServerVersion()));
  }

  std::chrono::milliseconds backoff = kInitialBackoff;
  while (true) {
    try {
      const pg::SchemaState state =
          pg::EnsureSchema(*conn, schema, *logger, deadline, !options.existing_only);
      if (state.version < 0) {
        ThrowInit("the PostgreSQL database (" + spec.Describe() +
                  ") is not a DBOS system database: it has no " + pg::QuoteIdent(schema) +
                  ".dbos_migrations table. A client only connects to a system database that a DBOS "
                  "application created: check database_url and database_schema, or launch the "
                  "application on this database first.");
      }
      break;
    } catch (const PgError& e) {
      const std::string what = "could not create or check the DBOS system database schema " +
                               pg::QuoteIdent(schema) + " (" + spec.Describe() + ")";
      if (e.IsTransient() && RemainingMs(deadline) > backoff.count()) {
        std::this_thread::sleep_for(Jitter(backoff));
        backoff = std::min(backoff * 2, kMaxBackoff);
        conn = ConnectForStartup(spec, deadline, timeout, *logger, options.existing_only);
        continue;
      }
      if (e.SqlState() == "57014") {
        ThrowInit(what + ": timed out after the startup timeout of " +
                  std::to_string(timeout.count()) +
                  " ms (another process may be holding the schema lock)");
      }
      ThrowInit(what + (e.SqlState().empty() ? "" : " (SQLSTATE " + e.SqlState() + ")") + ": " +
                Sentences(spec.Redact(e.what()),
                          "Check that the user may create schemas and tables in this database."));
    }
  }

  const size_t pool_size =
      options.pool_size > 0 ? static_cast<size_t>(options.pool_size) : kDefaultPoolSize;
  return core::MakeSystemDatabase(std::make_unique<PgBackend>(logger, schema, std::move(spec),
                                                              pool_size, timeout, std::move(conn)));
}

}  // namespace dbos::sysdb
