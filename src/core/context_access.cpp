// Reading and building DBOSContext values (see context_access.hpp).
#include "core/context_access.hpp"

#include <algorithm>

#include "core/runtime.hpp"
#include "dbos/errors.hpp"

namespace dbos::detail {
namespace {
// Returned by reference for contexts without the member (empty handles, non-workflow contexts).
const std::shared_ptr<WorkflowState> kNoWorkflow;
const std::shared_ptr<CancelScope> kNoScope;
}  // namespace

Runtime& RuntimeOf(const DBOSContext& ctx) {
  const ContextImpl* impl = ContextAccess::Impl(ctx);
  if (impl == nullptr || !impl->runtime) {
    throw DBOSError(ErrorCode::Initialization,
                    "this DBOSContext is empty: create one with dbos::NewDBOSContext");
  }
  return *impl->runtime;
}

const std::shared_ptr<WorkflowState>& WorkflowOf(const DBOSContext& ctx) noexcept {
  const ContextImpl* impl = ContextAccess::Impl(ctx);
  return impl == nullptr ? kNoWorkflow : impl->workflow;
}

std::optional<int64_t> DeadlineOf(const DBOSContext& ctx) noexcept {
  const ContextImpl* impl = ContextAccess::Impl(ctx);
  return impl == nullptr ? std::nullopt : impl->deadline_epoch_ms;
}

bool IsDetached(const DBOSContext& ctx) noexcept {
  const ContextImpl* impl = ContextAccess::Impl(ctx);
  return impl != nullptr && impl->detached;
}

const std::shared_ptr<CancelScope>& ScopeOf(const DBOSContext& ctx) noexcept {
  const ContextImpl* impl = ContextAccess::Impl(ctx);
  return impl == nullptr ? kNoScope : impl->scope;
}

DBOSContext MakeWorkflowContext(std::shared_ptr<Runtime> runtime,
                                std::shared_ptr<WorkflowState> state) {
  auto impl = std::make_shared<ContextImpl>();
  impl->runtime = std::move(runtime);
  impl->workflow = std::move(state);
  return ContextAccess::Make(std::move(impl));
}

DBOSContext MakeOwningContext(std::shared_ptr<Runtime> runtime) {
  auto impl = std::make_shared<ContextImpl>();
  impl->guard = std::make_shared<LifetimeGuard>();
  impl->guard->runtime = runtime;
  impl->runtime = std::move(runtime);
  return ContextAccess::Make(std::move(impl));
}

DBOSContext WithDeadline(const DBOSContext& ctx, int64_t deadline_epoch_ms,
                         std::shared_ptr<CancelScope> scope) {
  auto impl = std::make_shared<ContextImpl>(*ContextAccess::Impl(ctx));
  impl->deadline_epoch_ms = impl->deadline_epoch_ms
                                ? std::min(*impl->deadline_epoch_ms, deadline_epoch_ms)
                                : deadline_epoch_ms;
  impl->scope = std::move(scope);
  return ContextAccess::Make(std::move(impl));
}

DBOSContext Detach(const DBOSContext& ctx) {
  RuntimeOf(ctx);  // an empty handle throws here, as every other call on it does
  auto impl = std::make_shared<ContextImpl>(*ContextAccess::Impl(ctx));
  impl->deadline_epoch_ms.reset();
  impl->scope.reset();
  impl->detached = true;
  return ContextAccess::Make(std::move(impl));
}

}  // namespace dbos::detail
