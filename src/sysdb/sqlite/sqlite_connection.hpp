// RAII over the sqlite3 C API for the SQLite system database: a Connection owns one sqlite3 handle
// and a cache of prepared statements (prepared once with SQLITE_PREPARE_PERSISTENT, then reset and
// reused), a Statement borrows a cached statement for one execution, a Transaction rolls back
// unless committed, and a ConnectionPool hands out one writer connection (serialized by a mutex, so
// this process never contends with itself inside SQLite's busy handler) plus a few reader
// connections. Errors surface as SqliteError carrying the extended result code, so callers can tell
// transient lock contention (retried by the caller with backoff) from real failures.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dbos::sysdb::sqlite {

/// A failed sqlite3 call: the extended result code plus SQLite's message.
class SqliteError : public std::runtime_error {
 public:
  /// Builds an error for result code `code` (extended codes keep their detail).
  SqliteError(int code, const std::string& message);

  /// The extended result code, e.g. SQLITE_CONSTRAINT_UNIQUE.
  int Code() const noexcept { return code_; }
  /// The primary result code (low byte), e.g. SQLITE_BUSY.
  int PrimaryCode() const noexcept { return code_ & 0xff; }
  /// True when a retry can clear it: lock contention (SQLITE_BUSY, SQLITE_LOCKED) and passing
  /// conditions of the machine (SQLITE_FULL: disk full; SQLITE_IOERR: an I/O error;
  /// SQLITE_NOMEM: out of memory). SQLITE_READONLY and SQLITE_CORRUPT are permanent.
  bool IsTransient() const noexcept;
  /// The message as given, without the result code description that what() appends.
  const std::string& Message() const noexcept { return message_; }

 private:
  int code_;
  std::string message_;
};

/// Where and how to open a database, derived from a "sqlite:" / "sqlite3:" URL.
struct SqliteTarget {
  std::string filename;    ///< Path, ":memory:", or a "file:" URI.
  bool is_uri = false;     ///< Open with SQLITE_OPEN_URI.
  bool in_memory = false;  ///< Each connection would be its own database: use exactly one.
  /// Open only a file that exists, and leave its journal mode as it is (a client's connections:
  /// opening writes nothing).
  bool existing_only = false;
};

/// Parses `sqlite:relative/path`, `sqlite:/abs`, `sqlite:///abs`, `sqlite::memory:` and
/// `sqlite:file:...` (also with the `sqlite3:` prefix). Returns nullopt when `url` has neither
/// prefix or names no database.
std::optional<SqliteTarget> ParseSqliteUrl(std::string_view url);

/// How long SQLite itself waits on a database locked by another connection before reporting
/// SQLITE_BUSY (the caller then retries with backoff).
inline constexpr std::chrono::milliseconds kBusyTimeout{5000};

/// One execution of a cached prepared statement. Binds parameters, steps rows, reads columns; the
/// destructor resets the statement and clears its bindings so the connection can reuse it.
/// Text is bound without copying (SQLITE_STATIC): bound strings must outlive the Statement, which
/// is why binding temporaries is deleted.
class Statement {
 public:
  /// Wraps `stmt`, which `in_use` marks as borrowed until destruction.
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) noexcept;
  /// Resets the statement and clears its bindings; never throws.
  ~Statement();
  /// Not copyable: exactly one owner resets the statement.
  Statement(const Statement&) = delete;
  /// Not copyable.
  Statement& operator=(const Statement&) = delete;

  /// Binds text at 1-based `index` without copying.
  Statement& Bind(int index, const std::string& value);
  /// Binds a string literal (or other text with static lifetime) at `index`.
  Statement& BindStatic(int index, const char* value);
  /// Binds text, or NULL when empty.
  Statement& Bind(int index, const std::optional<std::string>& value);
  /// Binds an integer.
  Statement& Bind(int index, int64_t value);
  /// Binds an int as an integer.
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  /// Binds an integer, or NULL when empty.
  Statement& Bind(int index, const std::optional<int64_t>& value);
  /// Binds SQL NULL.
  Statement& BindNull(int index);
  /// Deleted: a temporary would be gone before the statement runs (text is bound without copying).
  Statement& Bind(int index, std::string&& value) = delete;
  /// Deleted for the same reason as the std::string&& overload.
  Statement& Bind(int index, std::optional<std::string>&& value) = delete;

  /// Advances to the next row: true on a row, false when done. Throws SqliteError.
  bool Step();
  /// Steps until done (for statements whose rows are not needed). Throws SqliteError.
  void Run();

  /// True when column `col` (0-based) of the current row is NULL.
  bool IsNull(int col) const noexcept;
  /// Column `col` as text ("" when NULL).
  std::string Text(int col) const;
  /// Column `col` as text, or nullopt when NULL.
  std::optional<std::string> OptText(int col) const;
  /// Column `col` as a 64-bit integer (0 when NULL).
  int64_t Int64(int col) const noexcept;
  /// Column `col` as an integer, or nullopt when NULL.
  std::optional<int64_t> OptInt64(int col) const noexcept;
  /// Column `col` as an int (narrowed; the schema's INT4 columns fit).
  int Int(int col) const noexcept;

  /// Rows changed by the last completed INSERT/UPDATE/DELETE on this connection.
  int64_t Changes() const noexcept;
  /// Number of result columns (0 for a statement that returns no rows).
  int ColumnCount() const noexcept { return sqlite3_column_count(stmt_); }
  /// The largest parameter index the statement uses (?N).
  int ParameterCount() const noexcept { return sqlite3_bind_parameter_count(stmt_); }

 private:
  void CheckBind(int rc) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

/// One open sqlite3 handle plus its prepared statement cache. Not thread-safe: a connection is
/// used by one thread at a time (the pool guarantees it). The destructor finalizes every cached
/// statement and closes the handle.
class Connection {
 public:
  /// Opens `target` (creating a missing file unless `target.existing_only`) and applies the
  /// per-connection settings: busy timeout (`busy_timeout`, normally kBusyTimeout), extended
  /// result codes, WAL (files, unless `target.existing_only`), synchronous=NORMAL,
  /// foreign_keys=ON.
  /// Throws SqliteError (SQLITE_CANTOPEN for a missing directory or a permission problem).
  explicit Connection(const SqliteTarget& target,
                      std::chrono::milliseconds busy_timeout = kBusyTimeout);
  /// Finalizes cached statements and closes the handle; never throws.
  ~Connection();
  /// Not copyable: the connection owns its handle.
  Connection(const Connection&) = delete;
  /// Not copyable.
  Connection& operator=(const Connection&) = delete;

  /// The prepared statement for `sql` (one statement), prepared on first use and cached.
  /// Throws SqliteError when `sql` does not compile, std::logic_error when it is already in use.
  Statement Prepare(std::string_view sql);
  /// Runs one or more statements that return nothing of interest (DDL, PRAGMA), uncached.
  void Exec(const char* sql);
  /// The journal mode reported by SQLite after setup ("wal", "memory", "delete", ...).
  const std::string& JournalMode() const noexcept { return journal_mode_; }
  /// Changes how long SQLite waits on a lock held elsewhere before reporting SQLITE_BUSY.
  void SetBusyTimeout(std::chrono::milliseconds timeout) noexcept;
  /// True when SQLite opened the file read-only (e.g. write-protected file).
  bool IsReadOnly() const noexcept;
  /// True inside an explicit transaction.
  bool InTransaction() const noexcept;
  /// The raw handle (for error messages and sqlite3_* calls not wrapped here).
  sqlite3* Handle() const noexcept { return db_; }

 private:
  struct StatementDeleter {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
  };
  struct CachedStatement {
    std::unique_ptr<sqlite3_stmt, StatementDeleter> stmt;
    std::unique_ptr<bool> in_use;  ///< Stable address shared with the borrowing Statement.
  };
  struct SqlHash {
    using is_transparent = void;  // NOLINT(readability-identifier-naming): std name
    size_t operator()(std::string_view sql) const noexcept {
      return std::hash<std::string_view>{}(sql);
    }
  };
  struct HandleDeleter {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };

  // Declared before the cache so the cache (statements) is destroyed first.
  std::unique_ptr<sqlite3, HandleDeleter> handle_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, CachedStatement, SqlHash, std::equal_to<>> cache_;
  std::string journal_mode_;
};

/// A transaction on one connection: BEGIN (IMMEDIATE for writes, taking the write lock up front so
/// the transaction can never fail half-way on a lock upgrade), COMMIT on Commit(), ROLLBACK from
/// the destructor when not committed.
class Transaction {
 public:
  /// How BEGIN takes locks: Deferred on first use, Immediate (the write lock) at once.
  enum class Mode { Deferred, Immediate };
  /// Begins a transaction on `conn`. Throws SqliteError (SQLITE_BUSY after the busy timeout).
  Transaction(Connection& conn, Mode mode);
  /// Rolls back when still open; never throws.
  ~Transaction();
  /// Not copyable: one owner ends the transaction.
  Transaction(const Transaction&) = delete;
  /// Not copyable.
  Transaction& operator=(const Transaction&) = delete;

  /// Commits. Throws SqliteError; the destructor then rolls back whatever is left.
  void Commit();
  /// Rolls back now (a no-op when already finished). Never throws.
  void Rollback() noexcept;

 private:
  Connection& conn_;
  bool open_ = true;
};

/// The connections of one database: one writer, serialized by a mutex, and zero or more readers.
/// With no readers (an in-memory database, or a pool of one) reads share the writer and its mutex.
class ConnectionPool {
 public:
  /// A connection borrowed from the pool; returns it (or unlocks the writer) on destruction.
  class Lease {
   public:
    /// Takes over `other`'s connection (returned from functions by value).
    Lease(Lease&& other) noexcept;
    /// Not assignable: a lease is bound to one borrowing scope.
    Lease& operator=(Lease&&) = delete;
    /// Not copyable.
    Lease(const Lease&) = delete;
    /// Not copyable.
    Lease& operator=(const Lease&) = delete;
    /// Gives the connection back; never throws.
    ~Lease();
    /// The borrowed connection.
    Connection& operator*() const noexcept { return *conn_; }
    /// The borrowed connection.
    Connection* operator->() const noexcept { return conn_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, Connection* conn,
          std::unique_lock<std::mutex> writer_lock) noexcept;

    ConnectionPool* pool_;  ///< Set for reader leases only.
    Connection* conn_;
    std::unique_lock<std::mutex> writer_lock_;
  };

  /// Takes ownership of the writer and the readers.
  ConnectionPool(std::unique_ptr<Connection> writer,
                 std::vector<std::unique_ptr<Connection>> readers);
  /// Not copyable: owns the connections.
  ConnectionPool(const ConnectionPool&) = delete;
  /// Not copyable.
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// The writer connection, exclusively, for a write transaction. Blocks while another thread
  /// holds it.
  Lease Writer();
  /// A reader connection (or the writer when there are no readers). Blocks until one is free.
  Lease Reader();

 private:
  void Release(Connection* conn) noexcept;

  std::unique_ptr<Connection> writer_;
  std::mutex writer_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::mutex readers_mutex_;
  std::condition_variable readers_cv_;
  std::vector<Connection*> idle_readers_;
};

}  // namespace dbos::sysdb::sqlite
