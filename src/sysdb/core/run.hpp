// The one retry loop every system database operation runs in, on both backends. A backend
// supplies a dialect (its error type, which of its errors are transient, what to do after one)
// and the attempt itself; this loop supplies the policy: transient failures are retried with
// capped exponential backoff and jitter (the attempt learns it is a retry, so an idempotent write
// can recognise its own in-doubt commit and a claim can look for its token); every other failure
// leaves as a dbos::DBOSError naming the backend and the operation (so does the last transient
// failure of an operation with an attempt limit). No driver exception, JSON exception or logic
// error escapes.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <utility>

#include "dbos/errors.hpp"
#include "dbos/logging.hpp"
#include "sysdb/core/operations.hpp"
#include "sysdb/core/retry.hpp"

namespace dbos::sysdb::core {

/// Runs `attempt(is_retry)` until it returns or fails permanently. `Dialect` provides:
///   using Error = <the driver's exception type>;
///   static bool IsTransient(const Error&);
///   static std::string Code(const Error&);      // e.g. "SQLSTATE 53100", "SQLITE_FULL"
///   void AfterTransient(const Error&);          // e.g. drop stale pooled connections
///   Logger& Log();  const char* Name();  Backoff NewBackoff();
///   bool Stopped();                             // SystemDatabase::RetryingStopped()
/// The error an operation ends with when a transient failure meets a stopped retry loop.
inline DBOSError StoppedError(const char* backend, const char* operation,
                              const std::string& workflow_id, const std::string& cause) {
  return DBOSError(ErrorCode::Initialization,
                   std::string(operation) + " was not completed: the " + backend +
                       " system database failed (" + cause +
                       ") while DBOS was shutting down; nothing was written, and workflows stay "
                       "PENDING until the next launch recovers them",
                   workflow_id);
}

/// The error an operation with an attempt limit ends with when every attempt failed transiently.
inline DBOSError GaveUpError(const char* backend, const Operation& operation,
                             const std::string& workflow_id, const std::string& cause) {
  return DBOSError(ErrorCode::Initialization,
                   std::string(operation.name) + " failed " +
                       std::to_string(operation.max_attempts) + " times: the " + backend +
                       " system database failed (" + cause + "); its caller tries again later",
                   workflow_id);
}

template <typename Dialect, typename Attempt>
auto RunOperation(Dialect& dialect, const Operation& operation, const std::string& workflow_id,
                  Attempt&& attempt) -> decltype(attempt(false)) {
  Backoff backoff = dialect.NewBackoff();
  for (bool retry = false;; retry = true) {
    try {
      return attempt(retry);
    } catch (const DBOSError&) {
      throw;
    } catch (const typename Dialect::Error& e) {
      if (!Dialect::IsTransient(e)) {
        throw PermanentError(dialect.Name(), operation.name, workflow_id, Dialect::Code(e),
                             e.what());
      }
      dialect.AfterTransient(e);
      if (dialect.Stopped())
        throw StoppedError(dialect.Name(), operation.name, workflow_id, e.what());
      if (operation.max_attempts > 0 && backoff.Attempts() + 1 >= operation.max_attempts)
        throw GaveUpError(dialect.Name(), operation, workflow_id, e.what());
      const auto delay = backoff.Next();
      // An operation with an attempt limit is reported by its caller, once, if it gives up.
      if (operation.max_attempts == 0) {
        dialect.Log().Log(LogLevel::Warn, std::string("transient ") + dialect.Name() +
                                              " system database error in " + operation.name + " (" +
                                              Dialect::Code(e) + ", attempt " +
                                              std::to_string(backoff.Attempts()) +
                                              ", retrying in " + std::to_string(delay.count()) +
                                              " ms): " + e.what());
      }
      // In slices, so that a shutdown during a long backoff ends the wait promptly.
      const auto until = std::chrono::steady_clock::now() + delay;
      while (!dialect.Stopped() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
      }
    } catch (const std::exception& e) {
      throw PermanentError(dialect.Name(), operation.name, workflow_id, "", e.what());
    }
  }
}

}  // namespace dbos::sysdb::core
