// A small RAII layer over libpq, used by the PostgreSQL system database. PgConnection owns a PGconn
// (closed in its destructor) and remembers which statements it has prepared, so each hot-path query
// is parsed once per connection and then run with PQexecPrepared. PgResult owns a PGresult (cleared
// in its destructor). Every parameter travels as a NUL-terminated text value (never interpolated
// into SQL). Failures surface as PgError, which carries the SQLSTATE and tells transient failures
// (connection lost, server restarting, serialization failure, deadlock) from permanent ones.
// ConnectionSpec parses a postgres:// URL or key=value string once, lets the caller override
// parameters (application_name, dbname, connect_timeout) and never prints the password.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dbos::sysdb::pg {

/// A failed statement or connection: SQLSTATE ("" for client-side failures), message, constraint.
class PgError : public std::runtime_error {
 public:
  /// Builds an error; `connection_lost` is true when the connection is no longer usable.
  PgError(const std::string& message, std::string sqlstate, std::string constraint,
          bool connection_lost);

  /// The five-character SQLSTATE, or "" when the failure happened on the client side.
  const std::string& SqlState() const noexcept { return sqlstate_; }
  /// The violated constraint or index name reported by the server, or "".
  const std::string& Constraint() const noexcept { return constraint_; }
  /// True when the connection broke (the statement may or may not have committed).
  bool ConnectionLost() const noexcept { return connection_lost_; }
  /// True when retrying on a fresh connection may succeed: connection loss, SQLSTATE class 08,
  /// 57P01/57P02/57P03 (server shutting down or starting), 40001, 40P01, and the passing
  /// infrastructure conditions 53100, 53200, 53300, 53400, 25006, 57014, 55P03 and 58030.
  /// Corruption (XX001, XX002) is permanent.
  bool IsTransient() const noexcept;

 private:
  std::string sqlstate_;
  std::string constraint_;
  bool connection_lost_;
};

/// Why a connection attempt failed; decides whether startup retries it.
enum class ConnectFailure {
  kNetwork,            ///< Unreachable, refused, name not resolved: may come up later.
  kServerUnavailable,  ///< Server reached but starting up / shutting down / out of slots.
  kTimeout,            ///< The deadline passed before the connection completed.
  kRejected,           ///< The server refused us (authentication, missing role or database).
  kBadParameters,      ///< libpq rejected a parameter value before connecting.
};

/// A failed connection attempt. The message comes from libpq and never holds the password.
class PgConnectError : public std::runtime_error {
 public:
  /// Builds the error; `database` is the database name libpq resolved for the attempt.
  PgConnectError(const std::string& message, ConnectFailure reason, std::string database);

  /// Why the attempt failed.
  ConnectFailure Reason() const noexcept { return reason_; }
  /// True for failures that may go away by themselves (network, server unavailable, timeout).
  bool IsTransient() const noexcept {
    return reason_ != ConnectFailure::kRejected && reason_ != ConnectFailure::kBadParameters;
  }
  /// The database name libpq resolved (explicit dbname, PGDATABASE, or the user name).
  const std::string& Database() const noexcept { return database_; }

 private:
  ConnectFailure reason_;
  std::string database_;
};

/// Owns a PGresult; PQclear runs in the destructor. Accessors take (row, column) indexes.
class PgResult {
 public:
  /// Takes ownership of `result` (may be null).
  explicit PgResult(PGresult* result) noexcept : result_(result) {}

  /// The raw result, still owned by this object.
  PGresult* Get() const noexcept { return result_.get(); }
  /// Number of rows returned.
  int Rows() const noexcept { return result_ ? PQntuples(result_.get()) : 0; }
  /// True when the value at (row, col) is SQL NULL.
  bool IsNull(int row, int col) const noexcept { return PQgetisnull(result_.get(), row, col) != 0; }
  /// The text of the value at (row, col); "" when NULL.
  std::string_view Text(int row, int col) const noexcept;
  /// The value as a string; "" when NULL.
  std::string String(int row, int col) const { return std::string(Text(row, col)); }
  /// The value as a string, or nullopt when NULL.
  std::optional<std::string> OptString(int row, int col) const;
  /// The value as a 64-bit integer; `fallback` when NULL. Throws PgError on malformed text.
  int64_t Int64(int row, int col, int64_t fallback = 0) const;
  /// The value as a 64-bit integer, or nullopt when NULL.
  std::optional<int64_t> OptInt64(int row, int col) const;
  /// The value of a boolean column ("t"/"f"); false when NULL.
  bool Bool(int row, int col) const noexcept { return Text(row, col) == "t"; }

 private:
  struct Deleter {
    /// Frees the result.
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  std::unique_ptr<PGresult, Deleter> result_;
};

/// Text-format statement parameters. Text() keeps a pointer to the caller's string, which must
/// outlive the statement; numbers and copies are owned by this object.
class PgParams {
 public:
  /// Appends a text value (referenced, not copied).
  PgParams& Text(const std::string& value) {
    values_.push_back(value.c_str());
    return *this;
  }
  /// Rvalues would dangle: use Copy() for temporaries.
  PgParams& Text(std::string&&) = delete;
  /// Appends a text value or NULL (referenced, not copied).
  PgParams& Text(const std::optional<std::string>& value) {
    values_.push_back(value ? value->c_str() : nullptr);
    return *this;
  }
  /// Rvalues would dangle: use Copy() for temporaries.
  PgParams& Text(std::optional<std::string>&&) = delete;
  /// Appends a copy of `value`.
  PgParams& Copy(std::string value) {
    owned_.push_back(std::move(value));
    values_.push_back(owned_.back().c_str());
    return *this;
  }
  /// Appends an integer.
  PgParams& Int(std::integral auto value) { return Copy(std::to_string(value)); }
  /// Appends an integer or NULL.
  PgParams& Int(const std::optional<int64_t>& value) { return value ? Int(*value) : Null(); }
  /// Appends a boolean.
  PgParams& Bool(bool value) {
    values_.push_back(value ? "true" : "false");
    return *this;
  }
  /// Appends SQL NULL.
  PgParams& Null() {
    values_.push_back(nullptr);
    return *this;
  }
  /// Number of parameters.
  int Count() const noexcept { return static_cast<int>(values_.size()); }
  /// The parameter values, as libpq expects them.
  const char* const* Values() const noexcept { return values_.data(); }

 private:
  std::vector<const char*> values_;
  std::deque<std::string> owned_;  // deque: push_back never moves existing strings
};

/// Parsed connection parameters (keyword/value pairs) from a URL or a key=value string.
class ConnectionSpec {
 public:
  /// Parses `conninfo`. Throws std::invalid_argument with a password-free message when malformed.
  static ConnectionSpec Parse(const std::string& conninfo);

  /// Sets (or replaces) one parameter.
  void Set(const std::string& key, const std::string& value);
  /// Sets a parameter only when it is not already present.
  void SetDefault(const std::string& key, const std::string& value);
  /// The value of a parameter, if present.
  std::optional<std::string> Get(const std::string& key) const;
  /// "host=… port=… dbname=… user=…" for error messages; never includes the password.
  std::string Describe() const;
  /// `text` with every occurrence of the password replaced by "****".
  std::string Redact(std::string text) const;

  /// Keyword array for PQconnectStartParams (NULL-terminated; valid while this object lives).
  std::vector<const char*> Keywords() const;
  /// Value array matching Keywords().
  std::vector<const char*> Values() const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

/// Removes anything that looks like a password from a connection string or a message about one.
std::string RedactConninfo(const std::string& conninfo, std::string text);

/// One asynchronous notification received on a LISTEN connection.
struct PgNotification {
  std::string channel;  ///< The NOTIFY channel.
  std::string payload;  ///< The NOTIFY payload ("" when none).
};

/// One prepared statement of a pipelined transaction (see PgConnection::ExecInOneTransaction).
struct PgPipelined {
  const std::string* name;  ///< The prepared statement's name.
  const std::string* sql;   ///< Its text, prepared the first time this connection sees it.
  const PgParams* params;   ///< Its parameters.
};

/// One open connection; not thread-safe (the pool hands it to one thread at a time).
class PgConnection {
  // Only Connect() can make a Passkey, so only Connect() can call the public constructor.
  struct Passkey {
    /// Explicit, so only code that names Passkey (Connect) can make one.
    explicit Passkey() = default;
  };

 public:
  /// Connects, giving up at `deadline`. Throws PgConnectError.
  static std::unique_ptr<PgConnection> Connect(const ConnectionSpec& spec,
                                               std::chrono::steady_clock::time_point deadline);

  /// Takes ownership of an open connection (use Connect()).
  PgConnection(Passkey, PGconn* conn) noexcept : conn_(conn) {}
  /// Closes the connection.
  ~PgConnection();
  /// Not copyable: one owner per PGconn.
  PgConnection(const PgConnection&) = delete;
  /// Not copyable: one owner per PGconn.
  PgConnection& operator=(const PgConnection&) = delete;

  /// Runs one or more statements with the simple query protocol. Throws PgError on failure.
  PgResult Exec(const std::string& sql);
  /// Runs one statement with text parameters (unnamed statement). Throws PgError on failure.
  PgResult ExecParams(const std::string& sql, const PgParams& params);
  /// Runs the statement `name`, preparing it from `sql` the first time this connection sees it.
  /// Throws PgError on failure.
  PgResult ExecPrepared(const std::string& name, const std::string& sql, const PgParams& params);
  /// Runs `statements` in pipeline mode as one implicit transaction: one round trip, committed at
  /// the sync that ends it. Returns their results in order. When one fails, nothing of the
  /// transaction is kept and its PgError is thrown (the connection stays usable); when the
  /// connection breaks, the PgError says so, and the commit is in doubt.
  std::vector<PgResult> ExecInOneTransaction(const std::vector<PgPipelined>& statements);

  /// True when the connection is open and idle (not inside a transaction, not in pipeline mode).
  bool Healthy() const noexcept;
  /// Rolls back an open transaction, if any; never throws.
  void RollbackQuietly() noexcept;
  /// The connection's socket, for poll() (-1 when closed).
  int Socket() const noexcept { return PQsocket(conn_.get()); }
  /// Reads whatever the server sent (for LISTEN); false when the connection broke.
  bool ConsumeInput() noexcept;
  /// The next notification already read by ConsumeInput() or a statement, or nullopt.
  std::optional<PgNotification> NextNotification();
  /// The server version number, e.g. 150018.
  int ServerVersion() const noexcept { return PQserverVersion(conn_.get()); }

 private:
  struct Deleter {
    /// Closes the connection.
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  /// Turns a result into a PgResult, throwing PgError when it is not a success.
  PgResult Check(PGresult* raw);
  /// The PgError a failed result (or a null one) stands for.
  PgError ErrorOf(const PGresult* raw) const;
  /// Prepares `name` from `sql` unless this connection already has.
  void Prepare(const std::string& name, const std::string& sql, int param_count);

  std::unique_ptr<PGconn, Deleter> conn_;
  std::unordered_set<std::string> prepared_;
};

/// Quotes an SQL identifier: wraps it in double quotes and doubles any embedded quote.
std::string QuoteIdent(std::string_view name);
/// Encodes strings as a PostgreSQL text[] literal, e.g. {"a","b"}.
std::string TextArrayLiteral(const std::vector<std::string>& values);

/// Sets TCP keepalives and tcp_user_timeout on `spec` unless the URL chose its own, so every
/// connection (pooled or listening) notices a silently dead peer within about a minute instead
/// of the operating system's default of hours.
void WithKeepalives(ConnectionSpec& spec);

}  // namespace dbos::sysdb::pg
