// libpq RAII wrapper: connection setup with a deadline (non-blocking PQconnectPoll loop), statement
// execution with per-connection prepared statements, error classification, and password-safe
// descriptions of connection parameters.
#include "sysdb/postgres/pg_connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

namespace dbos::sysdb::pg {
namespace {

/// A libpq message on one line: line breaks (and the indentation after them) become one space,
/// trailing whitespace is dropped.
std::string TrimMessage(const char* message) {
  std::string text;
  bool pending_space = false;
  for (const char* p = message != nullptr ? message : ""; *p != '\0'; ++p) {
    if (*p == '\n' || (pending_space && (*p == '\t' || *p == ' '))) {
      pending_space = true;
      continue;
    }
    if (pending_space && !text.empty()) text += ' ';
    pending_space = false;
    text += *p;
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.pop_back();
  }
  return text;
}

/// True when `haystack` contains `needle`.
bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// Replaces every occurrence of `secret` in `text` with "****" (secrets shorter than 3 characters
/// would mangle ordinary words and are left alone).
void ReplaceAll(std::string& text, const std::string& secret) {
  if (secret.size() < 3) return;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 4)) {
    text.replace(pos, secret.size(), "****");
  }
}

/// Decodes %XX escapes (as in a URL's userinfo); leaves malformed escapes as they are.
std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int value = 0;
      auto [ptr, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16);
      if (ec == std::errc() && ptr == in.data() + i + 3) {
        out.push_back(static_cast<char>(value));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

/// Swallows server notices and asynchronous errors: libpq's default prints them to stderr, which a
/// library must not do. Everything that matters reaches the caller as a failed result instead
/// (a terminated idle connection shows up as a lost connection on its next use).
void IgnoreNotice(void* /*arg*/, const char* /*message*/) noexcept {}

/// Classifies a failed connection from its libpq message.
ConnectFailure ClassifyConnectFailure(PGconn* conn, const std::string& message) {
  if (PQconnectionNeedsPassword(conn) != 0) return ConnectFailure::kRejected;
  if (Contains(message, "FATAL")) {
    for (const char* phrase : {"starting up", "shutting down", "in recovery", "too many clients",
                               "remaining connection slots", "not yet accepting"}) {
      if (Contains(message, phrase)) return ConnectFailure::kServerUnavailable;
    }
    return ConnectFailure::kRejected;
  }
  if (Contains(message, "timeout expired")) return ConnectFailure::kTimeout;
  return ConnectFailure::kNetwork;
}

}  // namespace

PgError::PgError(const std::string& message, std::string sqlstate, std::string constraint,
                 bool connection_lost)
    : std::runtime_error(message),
      sqlstate_(std::move(sqlstate)),
      constraint_(std::move(constraint)),
      connection_lost_(connection_lost) {}

bool PgError::IsTransient() const noexcept {
  if (connection_lost_) return true;
  if (sqlstate_.size() != 5) return false;
  if (sqlstate_.compare(0, 2, "08") == 0) return true;
  // Server shutting down or starting, serialization failure, deadlock; and conditions of the
  // infrastructure that pass and must never become a workflow's outcome: disk full (53100), out
  // of memory (53200), too many connections (53300), a configuration limit such as too many
  // locks or prepared transactions (53400), a read-only standby after a failover (25006), a
  // statement timeout (57014), a lock timeout (55P03) and an I/O error on the server (58030).
  //
  // Data corruption (XX001 data_corrupted, XX002 index_corrupted) stays permanent on purpose:
  // it does not heal by itself, and retrying it would stall every workflow forever without an
  // error. It is not the workflow's outcome either: the executor leaves such a workflow PENDING
  // (recovered once an operator repaired the database) and tells its local waiters.
  return sqlstate_ == "57P01" || sqlstate_ == "57P02" || sqlstate_ == "57P03" ||
         sqlstate_ == "40001" || sqlstate_ == "40P01" || sqlstate_ == "53100" ||
         sqlstate_ == "53200" || sqlstate_ == "53300" || sqlstate_ == "53400" ||
         sqlstate_ == "25006" || sqlstate_ == "57014" || sqlstate_ == "55P03" ||
         sqlstate_ == "58030";
}

PgConnectError::PgConnectError(const std::string& message, ConnectFailure reason,
                               std::string database)
    : std::runtime_error(message), reason_(reason), database_(std::move(database)) {}

std::string_view PgResult::Text(int row, int col) const noexcept {
  if (!result_ || PQgetisnull(result_.get(), row, col) != 0) return {};
  const char* value = PQgetvalue(result_.get(), row, col);
  const int length = PQgetlength(result_.get(), row, col);
  return std::string_view(value, static_cast<size_t>(length));
}

std::optional<std::string> PgResult::OptString(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return String(row, col);
}

int64_t PgResult::Int64(int row, int col, int64_t fallback) const {
  if (IsNull(row, col)) return fallback;
  const std::string_view text = Text(row, col);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw PgError(
        "unexpected non-integer value '" + std::string(text) + "' in column " + std::to_string(col),
        "", "", false);
  }
  return value;
}

std::optional<int64_t> PgResult::OptInt64(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int64(row, col);
}

ConnectionSpec ConnectionSpec::Parse(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? TrimMessage(error) : "out of memory";
    if (error != nullptr) PQfreemem(error);
    throw std::invalid_argument(RedactConninfo(conninfo, message));
  }
  ConnectionSpec spec;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) spec.entries_.emplace_back(option->keyword, option->val);
  }
  PQconninfoFree(options);
  return spec;
}

void ConnectionSpec::Set(const std::string& key, const std::string& value) {
  for (auto& entry : entries_) {
    if (entry.first == key) {
      entry.second = value;
      return;
    }
  }
  entries_.emplace_back(key, value);
}

void ConnectionSpec::SetDefault(const std::string& key, const std::string& value) {
  if (!Get(key)) entries_.emplace_back(key, value);
}

std::optional<std::string> ConnectionSpec::Get(const std::string& key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return entry.second;
  }
  return std::nullopt;
}

std::string ConnectionSpec::Describe() const {
  std::string out;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    if (auto value = Get(key)) {
      if (!out.empty()) out += ' ';
      out += key;
      out += '=';
      out += *value;
    }
  }
  if (!Get("host") && !Get("hostaddr")) out += out.empty() ? "host=(default)" : " host=(default)";
  return Redact(out);
}

std::string ConnectionSpec::Redact(std::string text) const {
  if (auto password = Get("password")) ReplaceAll(text, *password);
  return text;
}

std::vector<const char*> ConnectionSpec::Keywords() const {
  std::vector<const char*> out;
  out.reserve(entries_.size() + 1);
  for (const auto& entry : entries_) out.push_back(entry.first.c_str());
  out.push_back(nullptr);
  return out;
}

std::vector<const char*> ConnectionSpec::Values() const {
  std::vector<const char*> out;
  out.reserve(entries_.size() + 1);
  for (const auto& entry : entries_) out.push_back(entry.second.c_str());
  out.push_back(nullptr);
  return out;
}

std::string RedactConninfo(const std::string& conninfo, std::string text) {
  std::vector<std::string> secrets;
  // URL form: scheme://user:password@host...
  if (const size_t scheme_end = conninfo.find("://"); scheme_end != std::string::npos) {
    const size_t start = scheme_end + 3;
    const size_t auth_end = conninfo.find_first_of("/?", start);
    const std::string authority = conninfo.substr(
        start, auth_end == std::string::npos ? std::string::npos : auth_end - start);
    if (const size_t at = authority.rfind('@'); at != std::string::npos) {
      const std::string userinfo = authority.substr(0, at);
      if (const size_t colon = userinfo.find(':'); colon != std::string::npos) {
        secrets.push_back(userinfo.substr(colon + 1));
        secrets.push_back(PercentDecode(userinfo.substr(colon + 1)));
      }
    }
  }
  // key=value form or URL query parameter: password = value.
  std::string lower = conninfo;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (size_t pos = lower.find("password"); pos != std::string::npos;
       pos = lower.find("password", pos + 8)) {
    size_t i = pos + 8;
    while (i < conninfo.size() && conninfo[i] == ' ') ++i;
    if (i >= conninfo.size() || conninfo[i] != '=') continue;
    ++i;
    while (i < conninfo.size() && conninfo[i] == ' ') ++i;
    std::string value;
    if (i < conninfo.size() && conninfo[i] == '\'') {
      for (++i; i < conninfo.size() && conninfo[i] != '\''; ++i) {
        if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
        value.push_back(conninfo[i]);
      }
    } else {
      while (i < conninfo.size() && conninfo[i] != ' ' && conninfo[i] != '&') {
        value.push_back(conninfo[i++]);
      }
    }
    secrets.push_back(value);
    secrets.push_back(PercentDecode(value));
  }
  for (const auto& secret : secrets) ReplaceAll(text, secret);
  return text;
}

std::unique_ptr<PgConnection> PgConnection::Connect(
    const ConnectionSpec& spec, std::chrono::steady_clock::time_point deadline) {
  const std::vector<const char*> keywords = spec.Keywords();
  const std::vector<const char*> values = spec.Values();
  std::unique_ptr<PGconn, Deleter> conn(
      PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/0));
  if (!conn)
    throw PgConnectError("libpq could not allocate a connection", ConnectFailure::kNetwork, "");
  const auto database = [&] {
    const char* name = PQdb(conn.get());
    return std::string(name != nullptr ? name : "");
  };
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    // Failed before any network traffic: a bad parameter value, or a host name that does not
    // resolve (which may be a DNS hiccup while a container starts, so it is retried).
    const std::string message = spec.Redact(TrimMessage(PQerrorMessage(conn.get())));
    const ConnectFailure reason = Contains(message, "could not translate host name")
                                      ? ConnectFailure::kNetwork
                                      : ConnectFailure::kBadParameters;
    throw PgConnectError(message, reason, database());
  }
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      const std::string message = spec.Redact(TrimMessage(PQerrorMessage(conn.get())));
      throw PgConnectError(message, ClassifyConnectFailure(conn.get(), message), database());
    }
    const auto remaining =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      throw PgConnectError("timed out before the connection was established",
                           ConnectFailure::kTimeout, database());
    }
    pollfd fd{};
    fd.fd = PQsocket(conn.get());
    fd.events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (fd.fd < 0) {
      throw PgConnectError("libpq lost the connection socket", ConnectFailure::kNetwork,
                           database());
    }
    const int ready = poll(&fd, 1, static_cast<int>(std::min<int64_t>(remaining.count(), 60000)));
    if (ready < 0 && errno != EINTR) {
      throw PgConnectError("poll() failed while connecting", ConnectFailure::kNetwork, database());
    }
    if (ready > 0) state = PQconnectPoll(conn.get());
  }
  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  return std::make_unique<PgConnection>(Passkey{}, conn.release());
}

PgConnection::~PgConnection() = default;

PgResult PgConnection::Check(PGresult* raw) {
  PgResult result(raw);
  if (raw != nullptr) {
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  }
  throw ErrorOf(raw);
}

PgError PgConnection::ErrorOf(const PGresult* raw) const {
  const bool lost = PQstatus(conn_.get()) != CONNECTION_OK;
  if (raw == nullptr) return PgError(TrimMessage(PQerrorMessage(conn_.get())), "", "", true);
  const ExecStatusType status = PQresultStatus(raw);
  const char* sqlstate = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  const char* constraint = PQresultErrorField(raw, PG_DIAG_CONSTRAINT_NAME);
  // Primary message plus detail and hint, on one line (the verbose text adds severity and
  // context lines that read badly inside an exception message).
  std::string message = TrimMessage(PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY));
  if (message.empty()) message = TrimMessage(PQresultErrorMessage(raw));
  if (message.empty()) message = TrimMessage(PQerrorMessage(conn_.get()));
  if (message.empty()) message = PQresStatus(status);
  for (const auto& [field, label] : {std::pair{PG_DIAG_MESSAGE_DETAIL, " (detail: "},
                                     std::pair{PG_DIAG_MESSAGE_HINT, " (hint: "}}) {
    if (const char* extra = PQresultErrorField(raw, field); extra != nullptr) {
      message += label;
      message += TrimMessage(extra);
      message += ')';
    }
  }
  return PgError(message, sqlstate != nullptr ? sqlstate : "",
                 constraint != nullptr ? constraint : "", lost);
}

PgResult PgConnection::Exec(const std::string& sql) {
  return Check(PQexec(conn_.get(), sql.c_str()));
}

PgResult PgConnection::ExecParams(const std::string& sql, const PgParams& params) {
  return Check(PQexecParams(conn_.get(), sql.c_str(), params.Count(), nullptr, params.Values(),
                            nullptr, nullptr, 0));
}

void PgConnection::Prepare(const std::string& name, const std::string& sql, int param_count) {
  if (prepared_.contains(name)) return;
  Check(PQprepare(conn_.get(), name.c_str(), sql.c_str(), param_count, nullptr));
  prepared_.insert(name);
}

PgResult PgConnection::ExecPrepared(const std::string& name, const std::string& sql,
                                    const PgParams& params) {
  Prepare(name, sql, params.Count());
  return Check(PQexecPrepared(conn_.get(), name.c_str(), params.Count(), params.Values(), nullptr,
                              nullptr, 0));
}

std::vector<PgResult> PgConnection::ExecInOneTransaction(
    const std::vector<PgPipelined>& statements) {
  PGconn* conn = conn_.get();
  for (const PgPipelined& statement : statements) {
    Prepare(*statement.name, *statement.sql, statement.params->Count());
  }
  const auto lost = [&](const char* what) {
    return PgError(std::string(what) + ": " + TrimMessage(PQerrorMessage(conn)), "", "", true);
  };
  if (PQenterPipelineMode(conn) != 1) throw lost("could not enter pipeline mode");
  // Statements queued before a sync run as one implicit transaction, committed at the sync;
  // after a failure the server skips the rest and rolls the transaction back at the sync.
  for (const PgPipelined& statement : statements) {
    if (PQsendQueryPrepared(conn, statement.name->c_str(), statement.params->Count(),
                            statement.params->Values(), nullptr, nullptr, 0) != 1) {
      throw lost("could not send a pipelined statement");
    }
  }
  if (PQpipelineSync(conn) != 1) throw lost("could not send the pipeline's sync");
  std::vector<PgResult> results;
  results.reserve(statements.size());
  std::optional<PgError> failure;
  for (size_t i = 0; i < statements.size(); ++i) {
    PgResult result(PQgetResult(conn));
    const ExecStatusType status =
        result.Get() != nullptr ? PQresultStatus(result.Get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK &&
        status != PGRES_PIPELINE_ABORTED && !failure) {
      failure = ErrorOf(result.Get());
    }
    if (result.Get() == nullptr || PQstatus(conn) != CONNECTION_OK) {
      throw failure && failure->ConnectionLost() ? *failure : lost("the connection broke");
    }
    PgResult end(PQgetResult(conn));  // each statement's results end with a null result
    results.push_back(std::move(result));
  }
  PgResult sync(PQgetResult(conn));
  if (sync.Get() == nullptr || PQresultStatus(sync.Get()) != PGRES_PIPELINE_SYNC ||
      PQstatus(conn) != CONNECTION_OK) {
    throw lost("the connection broke before the pipelined transaction's commit was confirmed");
  }
  if (PQexitPipelineMode(conn) != 1) throw lost("could not leave pipeline mode");
  if (failure) throw *failure;
  return results;
}

bool PgConnection::Healthy() const noexcept {
  // A pipelined transaction left early (a statement libpq would not send, out of memory) can
  // leave the connection in pipeline mode, where every ordinary statement fails.
  return PQstatus(conn_.get()) == CONNECTION_OK &&
         PQtransactionStatus(conn_.get()) == PQTRANS_IDLE &&
         PQpipelineStatus(conn_.get()) == PQ_PIPELINE_OFF;
}

void PgConnection::RollbackQuietly() noexcept {
  if (PQstatus(conn_.get()) != CONNECTION_OK) return;
  const PGTransactionStatusType state = PQtransactionStatus(conn_.get());
  if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) {
    PgResult ignored(PQexec(conn_.get(), "ROLLBACK"));
  }
}

bool PgConnection::ConsumeInput() noexcept {
  return PQconsumeInput(conn_.get()) == 1 && PQstatus(conn_.get()) == CONNECTION_OK;
}

std::optional<PgNotification> PgConnection::NextNotification() {
  struct Freer {
    void operator()(PGnotify* n) const noexcept { PQfreemem(n); }
  };
  const std::unique_ptr<PGnotify, Freer> notify(PQnotifies(conn_.get()));
  if (!notify) return std::nullopt;
  return PgNotification{notify->relname != nullptr ? notify->relname : "",
                        notify->extra != nullptr ? notify->extra : ""};
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void WithKeepalives(ConnectionSpec& spec) {
  spec.SetDefault("keepalives", "1");
  spec.SetDefault("keepalives_idle", "30");
  spec.SetDefault("keepalives_interval", "10");
  spec.SetDefault("keepalives_count", "3");
  // Unacknowledged data for this long (ms) also ends the connection, e.g. a peer gone mid-reply.
  spec.SetDefault("tcp_user_timeout", "60000");
}

std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace dbos::sysdb::pg
