// What a DBOSContext holds, and the one way src/ reaches it. The public header keeps DBOSContext
// opaque (a pointer to ContextImpl, defined only here), so internal types never appear in
// include/dbos/ and can change without touching the public API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "dbos/context.hpp"

namespace dbos::detail {

class Runtime;
struct WorkflowState;
struct LifetimeGuard;
struct CancelScope;

/// The state behind one DBOSContext value. Immutable once built: a derived context (WithTimeout,
/// WithoutCancel) gets a new ContextImpl, so copies never observe each other's changes.
struct ContextImpl {
  std::shared_ptr<Runtime> runtime;
  std::shared_ptr<LifetimeGuard> guard;  ///< Set on handles that keep the instance alive.
  std::shared_ptr<WorkflowState> workflow;
  std::optional<int64_t> deadline_epoch_ms;
  bool detached = false;
  std::shared_ptr<CancelScope> scope;
};

/// The friend of DBOSContext through which src/ reads and builds contexts.
struct ContextAccess {
  static const ContextImpl* Impl(const DBOSContext& ctx) noexcept { return ctx.impl_.get(); }
  static DBOSContext Make(std::shared_ptr<const ContextImpl> impl) {
    DBOSContext ctx;
    ctx.impl_ = std::move(impl);
    return ctx;
  }
};

/// The runtime behind `ctx`; throws Initialization on an empty handle.
Runtime& RuntimeOf(const DBOSContext& ctx);
/// The workflow `ctx` runs in, or a null pointer outside workflows.
const std::shared_ptr<WorkflowState>& WorkflowOf(const DBOSContext& ctx) noexcept;
/// The deadline (epoch ms) workflows started from `ctx` get (WithTimeout), if any.
std::optional<int64_t> DeadlineOf(const DBOSContext& ctx) noexcept;
/// True when workflows started from `ctx` ignore the caller's deadline (WithoutCancel).
bool IsDetached(const DBOSContext& ctx) noexcept;
/// The cancellation scope of WithTimeout, or a null pointer.
const std::shared_ptr<CancelScope>& ScopeOf(const DBOSContext& ctx) noexcept;

/// The context a workflow runs with (does not keep the instance alive).
DBOSContext MakeWorkflowContext(std::shared_ptr<Runtime> runtime,
                                std::shared_ptr<WorkflowState> state);
/// The owning handle NewDBOSContext returns: the last copy shuts the instance down.
DBOSContext MakeOwningContext(std::shared_ptr<Runtime> runtime);
/// A copy of `ctx` with a deadline (the earlier of its own and `deadline_epoch_ms`) and a scope.
DBOSContext WithDeadline(const DBOSContext& ctx, int64_t deadline_epoch_ms,
                         std::shared_ptr<CancelScope> scope);
/// A copy of `ctx` detached from its deadline and cancellation scope.
DBOSContext Detach(const DBOSContext& ctx);

}  // namespace dbos::detail
