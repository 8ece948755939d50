// A test-only seam beneath both system database backends: before each script runs (one statement on
// PostgreSQL, one transaction on SQLite), an installed injector may decide that it fails, the way a
// real database or network fails: before it executes, after it committed with the reply lost (an
// in-doubt commit), or by a dropped connection. Off by default; when off the check is one relaxed
// atomic load. Tests install an injector with SetFaultInjector and remove it with an empty one.
#pragma once

#include <functional>
#include <string>

namespace dbos::sysdb::testing {

/// Where a fault may strike.
struct FaultSite {
  const char* backend = "";    ///< "postgres" or "sqlite".
  const char* operation = "";  ///< The SystemDatabase method, e.g. "RecordStep".
  const char* statement = "";  ///< The script (core/statements.hpp), e.g. "dequeue_claim".
  /// A shared transaction (statement "group_commit", PostgreSQL): the scripts it carries,
  /// comma-separated, e.g. "insert_workflow,queue_claim,record_step".
  std::string grouped;
};

/// What happens at a site.
struct Fault {
  enum class Kind {
    kNone,            ///< Runs normally.
    kBeforeExecute,   ///< Fails without running: the error below, nothing written.
    kAfterCommit,     ///< Runs and commits, then the reply is lost (reported as a lost connection).
    kDropConnection,  ///< The connection breaks while the statement runs: nothing committed.
  };
  Kind kind = Kind::kNone;
  /// kBeforeExecute on PostgreSQL: the SQLSTATE the server reports ("" = the connection is lost).
  std::string sqlstate;
  /// kBeforeExecute on SQLite: the result code (0 = SQLITE_IOERR).
  int sqlite_code = 0;
};

/// Decides the fault at each site; called on the thread running the statement.
using FaultInjector = std::function<Fault(const FaultSite&)>;

/// Installs `injector` process-wide (an empty function turns injection off).
void SetFaultInjector(FaultInjector injector);

/// Internal: the fault for `site` (kNone when no injector is installed).
Fault NextFault(const FaultSite& site);
/// Internal: true while an injector is installed.
bool FaultInjectionOn() noexcept;

/// Installs an injector for the scope's lifetime.
class ScopedFaultInjector {
 public:
  explicit ScopedFaultInjector(FaultInjector injector) { SetFaultInjector(std::move(injector)); }
  ~ScopedFaultInjector() { SetFaultInjector(nullptr); }
  ScopedFaultInjector(const ScopedFaultInjector&) = delete;
  ScopedFaultInjector& operator=(const ScopedFaultInjector&) = delete;
};

}  // namespace dbos::sysdb::testing
