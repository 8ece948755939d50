// DBOSContext: the handle every API call takes. Outside a workflow it stands for the running
// library instance; inside a workflow the library passes the workflow a context that also carries
// that workflow's state (ID, step counter, cancellation).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "dbos/config.hpp"
#include "dbos/errors.hpp"

namespace dbos {

namespace detail {
struct ContextImpl;    // defined in the library's sources only
struct ContextAccess;  // how the library reads a context
}  // namespace detail

/// A cheap, copyable handle to a DBOS instance (shared state inside). The last copy made from
/// NewDBOSContext (and its copies) shuts the instance down when destroyed. Its contents are
/// private to the library.
class DBOSContext {
 public:
  /// An empty handle; every call on it throws Initialization.
  DBOSContext() = default;

 private:
  friend struct detail::ContextAccess;
  std::shared_ptr<const detail::ContextImpl> impl_;
};

/// A context whose workflows have a durable timeout: workflows started from it (and their
/// children) get the deadline now + `timeout`, stored in the database and re-applied after
/// recovery; when it passes they are CANCELLED. Calling the returned function cancels the
/// workflows started from the context at once. `timeout` is limited to [0, 10 years]
/// (milliseconds::max() means no practical limit).
std::pair<DBOSContext, std::function<void()>> WithTimeout(const DBOSContext& ctx,
                                                          std::chrono::milliseconds timeout);

/// A context detached from the caller's deadline and cancellation: a child workflow started from
/// it does not inherit its parent's deadline.
DBOSContext WithoutCancel(const DBOSContext& ctx);

/// Validates `config`, connects to the system database and migrates it. Throws
/// DBOSError(Initialization) with a message saying what to fix.
DBOSContext NewDBOSContext(const Config& config);

/// Starts the instance: registers the application version, recovers this executor's pending
/// workflows and starts the queue runner. Throws Initialization when called twice.
void Launch(DBOSContext& ctx);

/// Stops the instance: no new work starts; running workflows are interrupted at their next DBOS
/// call and stay PENDING, to be recovered by the next launch. Waits up to `timeout` for them.
void Shutdown(DBOSContext& ctx, std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// The ID of the workflow `ctx` runs in. Throws InvalidOption outside a workflow.
std::string GetWorkflowID(const DBOSContext& ctx);
/// The step ID of the step currently running. Throws InvalidOption outside a step.
int GetStepID(const DBOSContext& ctx);
/// The application version this instance runs.
std::string GetApplicationVersion(const DBOSContext& ctx);
/// This executor's ID.
std::string GetExecutorID(const DBOSContext& ctx);

namespace detail {
using ErrorThrower = void (*)(const std::string& message);
void RegisterErrorTypeErased(DBOSContext& ctx, const std::type_info& type, ErrorThrower thrower);
template <typename E>
[[noreturn]] void ThrowAs(const std::string& message) {
  throw E(message);
}
}  // namespace detail

/// Makes exceptions of type E replay as E: when a step or workflow throws E, the error is recorded
/// as {name, message}, and both the first run and every replay rethrow E(message).
/// E must be constructible from a std::string. Call before Launch.
template <typename E>
void RegisterErrorType(DBOSContext& ctx) {
  static_assert(std::is_constructible_v<E, std::string>,
                "dbos::RegisterErrorType<E>: E must be constructible from a std::string message");
  detail::RegisterErrorTypeErased(ctx, typeid(E), &detail::ThrowAs<E>);
}

}  // namespace dbos
