// How every system database operation treats failures, written once for both backends.
//
// Retry classes (each SystemDatabase method belongs to one):
// - kReadOnly: writes nothing; any transient failure is simply retried.
// - kIdempotent: ON CONFLICT / guarded UPDATE, so running it again after an in-doubt commit finds
//   its own effect (the probe row classifies it) instead of doing it twice.
// - kClaimToken: not idempotent by itself (a claim takes whatever is there); each call draws a
//   token that the claimed rows carry, and a retry first returns the rows carrying it.
//
// Transient failures are connection losses and server-side conditions that pass (restart,
// failover to a read-only standby, disk or memory full, statement timeout, lock contention, an
// I/O error): they are retried with capped exponential backoff and jitter, never reported as the
// outcome of a workflow. Everything else becomes a dbos::DBOSError naming the operation, and so
// does the last failure of an operation with an attempt limit (the wait watcher's reads, whose
// loop tries again next round; see operations.hpp).
#pragma once

#include <chrono>
#include <string>

#include "dbos/errors.hpp"

namespace dbos::sysdb::core {

enum class RetryClass { kReadOnly, kIdempotent, kClaimToken };

/// `base` scaled by a random factor in [0.75, 1.25].
std::chrono::milliseconds Jitter(std::chrono::milliseconds base);

/// Capped exponential backoff with jitter.
class Backoff {
 public:
  /// Starts at `initial`, doubling per call up to `cap`.
  explicit Backoff(std::chrono::milliseconds initial = std::chrono::milliseconds(50),
                   std::chrono::milliseconds cap = std::chrono::milliseconds(5000));
  /// The next delay to sleep (jittered), then doubles the base.
  std::chrono::milliseconds Next();
  /// How many delays were handed out.
  int Attempts() const noexcept { return attempts_; }

 private:
  std::chrono::milliseconds current_;
  std::chrono::milliseconds cap_;
  int attempts_ = 0;
};

/// The DBOSError for a failure that retrying cannot fix: names the operation, the workflow (when
/// known), the backend's error code and message.
DBOSError PermanentError(const std::string& backend, const char* operation,
                         const std::string& workflow_id, const std::string& code,
                         const std::string& message);

}  // namespace dbos::sysdb::core
