// A background LISTEN connection for the PostgreSQL system database. It listens on the DBOS
// notification channels and hands every NOTIFY to a callback on its own thread, so workflows
// waiting in Recv / GetEvent wake up as soon as a message or event is committed, and queue runners
// as soon as another process enqueues, instead of polling.
// A broken connection is replaced with capped exponential backoff; after each reconnect the
// callback receives ("", "") so waiters re-check anything they may have missed. The thread sleeps
// in poll() on the connection socket plus an eventfd, so Stop() returns promptly.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dbos/logging.hpp"
#include "sysdb/postgres/pg_connection.hpp"

namespace dbos::sysdb::pg {

/// Owns a file descriptor and closes it in the destructor.
class ScopedFd {
 public:
  /// Takes ownership of `fd` (-1 for none).
  explicit ScopedFd(int fd = -1) noexcept : fd_(fd) {}
  /// Closes the descriptor.
  ~ScopedFd();
  /// Not copyable.
  ScopedFd(const ScopedFd&) = delete;
  /// Not copyable.
  ScopedFd& operator=(const ScopedFd&) = delete;
  /// The descriptor (-1 for none).
  int Get() const noexcept { return fd_; }
  /// Closes the current descriptor and takes ownership of `fd`.
  void Reset(int fd = -1) noexcept;

 private:
  int fd_;
};

/// Runs a LISTEN connection on a background thread and forwards notifications to a callback.
class PgListener {
 public:
  /// Receives (channel, payload); ("", "") after a reconnect. Called on the listener thread.
  using Callback = std::function<void(const std::string&, const std::string&)>;

  /// Prepares a listener on `channels`; nothing connects until Start().
  PgListener(ConnectionSpec spec, std::vector<std::string> channels, Callback callback,
             std::shared_ptr<Logger> logger, std::chrono::milliseconds connect_timeout);
  /// Stops the thread and closes the connection.
  ~PgListener();
  /// Not copyable.
  PgListener(const PgListener&) = delete;
  /// Not copyable.
  PgListener& operator=(const PgListener&) = delete;

  /// Connects and issues LISTEN (synchronously, so notifications committed after Start returns
  /// are not missed when the server is reachable), then starts the thread, which keeps retrying
  /// if this first connection failed. Throws std::system_error if the thread or eventfd cannot be
  /// created.
  void Start();
  /// Stops the thread (idempotent).
  void Stop() noexcept;

 private:
  /// Opens a connection and LISTENs on every channel; nullptr (after a Warn) on failure.
  std::unique_ptr<PgConnection> ConnectAndListen();
  /// Thread body: waits for notifications, reconnects when the connection breaks.
  void Run() noexcept;
  /// Sleeps up to `delay`; returns early (false) when Stop() was called.
  bool SleepUnlessStopped(std::chrono::milliseconds delay) noexcept;
  /// Calls the callback, logging (not propagating) anything it throws.
  void Deliver(const std::string& channel, const std::string& payload) noexcept;

  const ConnectionSpec spec_;
  const std::vector<std::string> channels_;
  const Callback callback_;
  const std::shared_ptr<Logger> logger_;
  const std::chrono::milliseconds connect_timeout_;
  ScopedFd wakeup_;  // eventfd written by Stop()
  std::atomic<bool> stopping_{false};
  std::unique_ptr<PgConnection> conn_;  // used by Start(), then only by the thread
  std::thread thread_;
};

}  // namespace dbos::sysdb::pg
