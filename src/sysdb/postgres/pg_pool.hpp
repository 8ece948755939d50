// A thread-safe pool of PostgreSQL connections for the system database. Connections are opened
// lazily, up to a fixed limit; a caller that finds none idle and the limit reached waits for one to
// come back. A connection handed back broken (PQstatus not OK) or stuck in a transaction is closed
// and its slot freed, so the next Acquire opens a replacement. Idle connections are reused
// most-recently-returned first, which keeps their prepared statements warm.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "sysdb/postgres/pg_connection.hpp"

namespace dbos::sysdb::pg {

/// A bounded pool of PgConnection objects, shared by every thread using the system database.
class PgPool {
 public:
  /// A borrowed connection; gives it back to the pool (or discards it if broken) when destroyed.
  class Lease {
   public:
    /// Wraps a connection borrowed from `pool`.
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) noexcept
        : pool_(pool), conn_(std::move(conn)) {}
    /// Returns the connection to the pool.
    ~Lease();
    /// Moves the borrowed connection.
    Lease(Lease&& other) noexcept = default;
    /// Not copyable: a connection has one borrower.
    Lease(const Lease&) = delete;
    /// Not assignable.
    Lease& operator=(const Lease&) = delete;
    /// Not assignable.
    Lease& operator=(Lease&&) = delete;

    /// The borrowed connection.
    PgConnection& operator*() const noexcept { return *conn_; }
    /// The borrowed connection.
    PgConnection* operator->() const noexcept { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  /// A pool of at most `max_size` connections to `spec`; each connect gives up after
  /// `connect_timeout`.
  PgPool(ConnectionSpec spec, size_t max_size, std::chrono::milliseconds connect_timeout);
  /// Closes the idle connections. Every Lease must be gone by then.
  ~PgPool();
  /// Not copyable.
  PgPool(const PgPool&) = delete;
  /// Not copyable.
  PgPool& operator=(const PgPool&) = delete;

  /// Borrows an idle connection, opens a new one if under the limit, or waits. Throws PgError
  /// (transient, connection_lost) when a new connection cannot be opened.
  Lease Acquire();
  /// Closes every idle connection (after a connection loss they are most likely all stale, e.g. the
  /// server restarted); later Acquire calls open fresh ones.
  void DiscardIdle() noexcept;
  /// Puts an already open connection (e.g. the one used at startup) into the idle set.
  void Adopt(std::unique_ptr<PgConnection> conn);
  /// Maximum number of connections.
  size_t MaxSize() const noexcept { return max_size_; }

 private:
  /// Takes a connection back; closes it (and frees its slot) when it is not healthy.
  void Release(std::unique_ptr<PgConnection> conn) noexcept;

  const ConnectionSpec spec_;
  const size_t max_size_;
  const std::chrono::milliseconds connect_timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mutex_
  size_t open_ = 0;  // connections idle, leased, or being opened; guarded by mutex_
};

}  // namespace dbos::sysdb::pg
