// RAII over sqlite3: connections with a prepared statement cache, borrowed statements that reset
// themselves, transactions that roll back unless committed, a writer/readers pool and the backoff
// used when SQLite reports lock contention past its busy timeout. See sqlite_connection.hpp.
#include "sysdb/sqlite/sqlite_connection.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <utility>

namespace dbos::sysdb::sqlite {
namespace {

// SQLite gives each b-tree's page cache its first 20 pages in one allocation (about 90 KB), the
// temporary b-trees of a statement included: one per `x IN (a, b, c)` it evaluates (the partial
// indexes of workflow_status test such lists for the old and the new row of every write) and one
// for RETURNING. Freed at the end of the statement, a block that size is one the C library
// (glibc's malloc trimming) hands back to the kernel, and it faults in again at the next one: on
// every start, step and end of a workflow. Measured, that halved the queue drain and the
// concurrent throughput on SQLite. Without the bulk, pages are allocated one by one and stay in
// the allocator's free lists. This is SQLite's process-wide configuration, which it accepts only
// before it initializes (at the first connection of the process): when the application used
// SQLite first, SQLite refuses (SQLITE_MISUSE, also reported to an installed SQLITE_CONFIG_LOG
// callback) and its configuration stays as it is. Like any sqlite3_config call, it must not race
// with the application's first use of SQLite on another thread.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // SQLITE_MISUSE when SQLite is already initialized: nothing to undo, nothing lost.
    [[maybe_unused]] const int rc = sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
  });
}

std::string DescribeError(int code, const std::string& message) {
  std::string text = message;
  const char* generic = sqlite3_errstr(code);
  if (generic != nullptr && message != generic) {
    text += " (";
    text += generic;
    text += ")";
  }
  text += " [SQLite result code " + std::to_string(code) + "]";
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SqliteError

SqliteError::SqliteError(int code, const std::string& message)
    : std::runtime_error(DescribeError(code, message)), code_(code), message_(message) {}

bool SqliteError::IsTransient() const noexcept {
  const int primary = PrimaryCode();
  // SQLITE_NOMEM: memory runs short for a while; it is the machine's state, not the data's.
  //
  // SQLITE_READONLY stays permanent: a file or directory without write permission, a database
  // opened read-only, or one moved or deleted underneath (SQLITE_READONLY_DBMOVED) does not
  // become writable by itself, and retrying would stall every workflow without an error. The
  // executor never records such a failure as a workflow's outcome: the workflow stays PENDING
  // and is recovered once the file is writable again.
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL ||
         primary == SQLITE_IOERR || primary == SQLITE_NOMEM;
}

// ---------------------------------------------------------------------------------------------
// URL parsing

std::optional<SqliteTarget> ParseSqliteUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("sqlite3:")) {
    rest = url.substr(8);
  } else if (url.starts_with("sqlite:")) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  SqliteTarget target;
  if (rest.starts_with("file:")) {
    // A SQLite URI: SQLite parses it (mode=, cache=, vfs=, ...) when opened with SQLITE_OPEN_URI.
    target.is_uri = true;
    target.filename = std::string(rest);
    target.in_memory =
        rest.starts_with("file::memory:") || rest.find("mode=memory") != std::string_view::npos;
    return target;
  }
  // "sqlite:///abs/path" is the URL spelling of "/abs/path".
  if (rest.starts_with("//")) rest.remove_prefix(2);
  if (rest.empty()) return std::nullopt;
  target.filename = std::string(rest);
  target.in_memory = rest == ":memory:";
  return target;
}

// ---------------------------------------------------------------------------------------------
// Statement

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) noexcept
    : db_(db), stmt_(stmt), in_use_(in_use) {}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

void Statement::CheckBind(int rc) const {
  if (rc != SQLITE_OK) throw SqliteError(rc, sqlite3_errmsg(db_));
}

Statement& Statement::Bind(int index, const std::string& value) {
  CheckBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindStatic(int index, const char* value) {
  CheckBind(sqlite3_bind_text(stmt_, index, value, -1, SQLITE_STATIC));
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<std::string>& value) {
  if (!value) return BindNull(index);
  return Bind(index, *value);
}

Statement& Statement::Bind(int index, int64_t value) {
  CheckBind(sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value)));
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  if (!value) return BindNull(index);
  return Bind(index, *value);
}

Statement& Statement::BindNull(int index) {
  CheckBind(sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
}

void Statement::Run() {
  while (Step()) {
  }
}

bool Statement::IsNull(int col) const noexcept {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::string Statement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  const int size = sqlite3_column_bytes(stmt_, col);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

int64_t Statement::Int64(int col) const noexcept {
  return static_cast<int64_t>(sqlite3_column_int64(stmt_, col));
}

std::optional<int64_t> Statement::OptInt64(int col) const noexcept {
  if (IsNull(col)) return std::nullopt;
  return Int64(col);
}

int Statement::Int(int col) const noexcept { return sqlite3_column_int(stmt_, col); }

int64_t Statement::Changes() const noexcept { return sqlite3_changes(db_); }

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(const SqliteTarget& target, std::chrono::milliseconds busy_timeout) {
  ConfigureSqliteOnce();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (!target.existing_only) flags |= SQLITE_OPEN_CREATE;
  if (target.is_uri) flags |= SQLITE_OPEN_URI;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(target.filename.c_str(), &raw, flags, nullptr);
  handle_.reset(raw);  // Closed by the destructor even when opening failed.
  db_ = raw;
  if (rc != SQLITE_OK) {
    throw SqliteError(rc, raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  }
  sqlite3_extended_result_codes(db_, 1);
  SetBusyTimeout(busy_timeout);

  // journal_mode answers with the mode in effect, which is how a failed switch shows up.
  const char* journal_sql =
      target.in_memory || target.existing_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL";
  {
    Statement journal = Prepare(journal_sql);
    if (journal.Step()) journal_mode_ = journal.Text(0);
  }
  Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

Connection::~Connection() {
  cache_.clear();  // Finalize every statement before the handle closes.
}

Statement Connection::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    std::unique_ptr<sqlite3_stmt, StatementDeleter> stmt(raw);
    if (rc != SQLITE_OK) throw SqliteError(rc, sqlite3_errmsg(db_));
    if (stmt == nullptr) throw std::logic_error("SQLite statement is empty: " + std::string(sql));
    if (tail != nullptr && std::any_of(tail, sql.data() + sql.size(), [](char c) {
          return c != ' ' && c != '\n' && c != '\t' && c != ';' && c != '\r';
        })) {
      throw std::logic_error("more than one SQL statement passed to Prepare: " + std::string(sql));
    }
    it = cache_
             .emplace(std::string(sql),
                      CachedStatement{std::move(stmt), std::make_unique<bool>(false)})
             .first;
  }
  CachedStatement& cached = it->second;
  if (*cached.in_use) {
    throw std::logic_error("SQLite statement used twice at once on one connection: " +
                           std::string(sql));
  }
  *cached.in_use = true;
  return Statement(db_, cached.stmt.get(), cached.in_use.get());
}

void Connection::Exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw SqliteError(sqlite3_extended_errcode(db_), text);
  }
}

void Connection::SetBusyTimeout(std::chrono::milliseconds timeout) noexcept {
  const auto ms = std::clamp<int64_t>(timeout.count(), 0, std::numeric_limits<int>::max());
  sqlite3_busy_timeout(db_, static_cast<int>(ms));
}

bool Connection::IsReadOnly() const noexcept { return sqlite3_db_readonly(db_, "main") == 1; }

bool Connection::InTransaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

// ---------------------------------------------------------------------------------------------
// Transaction

Transaction::Transaction(Connection& conn, Mode mode) : conn_(conn) {
  conn_.Prepare(mode == Mode::Immediate ? "BEGIN IMMEDIATE" : "BEGIN").Run();
}

Transaction::~Transaction() { Rollback(); }

void Transaction::Commit() {
  conn_.Prepare("COMMIT").Run();
  open_ = false;
}

void Transaction::Rollback() noexcept {
  if (!open_) return;
  open_ = false;
  // Some errors (I/O, SQLITE_FULL, ...) already rolled the transaction back.
  if (!conn_.InTransaction()) return;
  sqlite3_exec(conn_.Handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

// ---------------------------------------------------------------------------------------------
// ConnectionPool

ConnectionPool::Lease::Lease(ConnectionPool* pool, Connection* conn,
                             std::unique_lock<std::mutex> writer_lock) noexcept
    : pool_(pool), conn_(conn), writer_lock_(std::move(writer_lock)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      conn_(std::exchange(other.conn_, nullptr)),
      writer_lock_(std::move(other.writer_lock_)) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(conn_);
}

ConnectionPool::ConnectionPool(std::unique_ptr<Connection> writer,
                               std::vector<std::unique_ptr<Connection>> readers)
    : writer_(std::move(writer)), readers_(std::move(readers)) {
  idle_readers_.reserve(readers_.size());
  for (auto& reader : readers_) idle_readers_.push_back(reader.get());
}

ConnectionPool::Lease ConnectionPool::Writer() {
  std::unique_lock<std::mutex> lock(writer_mutex_);
  return Lease(nullptr, writer_.get(), std::move(lock));
}

ConnectionPool::Lease ConnectionPool::Reader() {
  if (readers_.empty()) return Writer();
  std::unique_lock<std::mutex> lock(readers_mutex_);
  readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
  Connection* conn = idle_readers_.back();
  idle_readers_.pop_back();
  return Lease(this, conn, std::unique_lock<std::mutex>());
}

void ConnectionPool::Release(Connection* conn) noexcept {
  {
    std::lock_guard<std::mutex> lock(readers_mutex_);
    idle_readers_.push_back(conn);
  }
  readers_cv_.notify_one();
}

}  // namespace dbos::sysdb::sqlite
