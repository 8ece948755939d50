// CancelWorkflow, WithTimeout and WithoutCancel (reference §4.8).
#include "core/cancel_scope.hpp"
#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "dbos/management.hpp"
#include "executor/operation.hpp"
#include "util/time_util.hpp"

namespace dbos {
namespace detail {

void CancelWorkflowById(Runtime& runtime, const std::string& workflow_id) {
  if (!runtime.Db().CancelWorkflow(workflow_id, util::NowEpochMs())) {
    throw DBOSError(ErrorCode::NonExistentWorkflow,
                    "cannot cancel workflow " + workflow_id + ": it does not exist", workflow_id);
  }
  runtime.InterruptLocal(workflow_id, Interruption::Cancelled);
  runtime.Notifications().Notify(messaging::StreamEndKey(workflow_id));  // its stream readers
}

bool CancelScope::Add(const std::string& workflow_id) {
  std::lock_guard lock(mutex);
  workflow_ids.push_back(workflow_id);
  return cancelled;
}

void CancelScope::Remove(const std::string& workflow_id) {
  std::lock_guard lock(mutex);
  std::erase(workflow_ids, workflow_id);
}

size_t CancelScope::Size() {
  std::lock_guard lock(mutex);
  return workflow_ids.size();
}

void CancelScope::CancelAll() noexcept {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex);
    cancelled = true;
    ids = workflow_ids;
  }
  auto rt = runtime.lock();
  if (!rt) return;
  for (const auto& id : ids) {
    try {
      CancelWorkflowById(*rt, id);
    } catch (const std::exception& e) {
      rt->Log().Log(LogLevel::Warn, "cancelling workflow " + id + ": " + e.what());
    }
  }
}

}  // namespace detail

std::pair<DBOSContext, std::function<void()>> WithTimeout(const DBOSContext& ctx,
                                                          std::chrono::milliseconds timeout) {
  auto scope = std::make_shared<detail::CancelScope>();
  scope->runtime = detail::RuntimeOf(ctx).shared_from_this();
  DBOSContext timed =
      detail::WithDeadline(ctx, util::NowEpochMs() + detail::ClampWait(timeout).count(), scope);
  return {timed, [scope] { scope->CancelAll(); }};
}

DBOSContext WithoutCancel(const DBOSContext& ctx) { return detail::Detach(ctx); }

void CancelWorkflow(DBOSContext& ctx, const std::string& workflow_id) {
  detail::CallingWorkflow(ctx, "CancelWorkflow", /*required=*/false);
  detail::ValidateName("CancelWorkflow's workflow ID", workflow_id, false);
  detail::CancelWorkflowById(detail::RuntimeOf(ctx), workflow_id);
}

}  // namespace dbos
