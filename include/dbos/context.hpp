// DBOSContext: the handle every API call takes. Outside a workflow it stands for the running
// library instance; inside a workflow the library passes the workflow a context that also carries
// that workflow's state (ID, step counter, cancellation).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>

#include "dbos/config.hpp"
#include "dbos/errors.hpp"

namespace dbos {

namespace detail {
class Runtime;
struct WorkflowState;
struct LifetimeGuard;
struct CancelScope;
}  // namespace detail

/// A cheap, copyable handle to a DBOS instance (shared state inside). The last copy made from
/// NewDBOSContext (and its copies) shuts the instance down when destroyed.
class DBOSContext {
 public:
  /// An empty handle; every call on it throws Initialization.
  DBOSContext() = default;

  /// Internal: the runtime behind this handle; throws Initialization on an empty handle.
  detail::Runtime& Runtime() const;
  /// Internal: the workflow this context runs in, or nullptr outside workflows.
  const std::shared_ptr<detail::WorkflowState>& Workflow() const noexcept { return workflow_; }
  /// Internal: the context a workflow runs with (does not keep the instance alive).
  static DBOSContext MakeForWorkflow(std::shared_ptr<detail::Runtime> runtime,
                                     std::shared_ptr<detail::WorkflowState> state);
  /// Internal: builds the owning handle returned by NewDBOSContext.
  static DBOSContext MakeOwning(std::shared_ptr<detail::Runtime> runtime);
  /// Internal: the deadline (epoch ms) workflows started from this context get, if any.
  std::optional<int64_t> DeadlineEpochMs() const noexcept { return deadline_epoch_ms_; }
  /// Internal: true when workflows started from this context ignore the caller's deadline.
  bool Detached() const noexcept { return detached_; }
  /// Internal: the cancellation scope of WithTimeout, if any.
  const std::shared_ptr<detail::CancelScope>& Scope() const noexcept { return scope_; }
  /// Internal: a copy with a deadline and cancellation scope (WithTimeout).
  DBOSContext WithDeadline(int64_t deadline_epoch_ms,
                           std::shared_ptr<detail::CancelScope> scope) const;
  /// Internal: a copy detached from the caller's deadline and cancellation (WithoutCancel).
  DBOSContext Detach() const;

 private:
  std::shared_ptr<detail::Runtime> runtime_;
  std::shared_ptr<detail::LifetimeGuard> guard_;  // set on handles that keep the instance alive
  std::shared_ptr<detail::WorkflowState> workflow_;
  std::optional<int64_t> deadline_epoch_ms_;
  bool detached_ = false;
  std::shared_ptr<detail::CancelScope> scope_;
};

/// A context whose workflows have a durable timeout: workflows started from it (and their
/// children) get the deadline now + `timeout`, stored in the database and re-applied after
/// recovery; when it passes they are CANCELLED. Calling the returned function cancels the
/// workflows started from the context at once.
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
