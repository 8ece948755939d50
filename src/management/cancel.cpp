// CancelWorkflow, WithTimeout and WithoutCancel (reference §4.8).
#include "dbos/errors.hpp"
#include "dbos/management.hpp"
#include "executor/operation.hpp"
#include "management/cancel_scope.hpp"
#include "runtime/runtime.hpp"
#include "util/time_util.hpp"

namespace dbos {
namespace detail {

void CancelWorkflowById(Runtime& runtime, const std::string& workflow_id) {
  if (!runtime.Db().CancelWorkflow(workflow_id, util::NowEpochMs())) {
    throw DBOSError(ErrorCode::NonExistentWorkflow,
                    "cannot cancel workflow " + workflow_id + ": it does not exist", workflow_id);
  }
  runtime.InterruptLocal(workflow_id, Interruption::Cancelled);
}

void CancelScope::Add(const std::string& workflow_id) {
  bool cancel_now = false;
  {
    std::lock_guard lock(mutex);
    workflow_ids.push_back(workflow_id);
    cancel_now = cancelled;
  }
  if (cancel_now) {
    if (auto rt = runtime.lock()) CancelWorkflowById(*rt, workflow_id);
  }
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

DBOSContext DBOSContext::WithDeadline(int64_t deadline_epoch_ms,
                                      std::shared_ptr<detail::CancelScope> scope) const {
  DBOSContext copy = *this;
  copy.deadline_epoch_ms_ =
      deadline_epoch_ms_ ? std::min(*deadline_epoch_ms_, deadline_epoch_ms) : deadline_epoch_ms;
  copy.scope_ = std::move(scope);
  return copy;
}

DBOSContext DBOSContext::Detach() const {
  DBOSContext copy = *this;
  copy.deadline_epoch_ms_.reset();
  copy.scope_.reset();
  copy.detached_ = true;
  return copy;
}

std::pair<DBOSContext, std::function<void()>> WithTimeout(const DBOSContext& ctx,
                                                          std::chrono::milliseconds timeout) {
  auto scope = std::make_shared<detail::CancelScope>();
  scope->runtime = ctx.Runtime().shared_from_this();
  DBOSContext timed = ctx.WithDeadline(util::NowEpochMs() + timeout.count(), scope);
  return {timed, [scope] { scope->CancelAll(); }};
}

DBOSContext WithoutCancel(const DBOSContext& ctx) { return ctx.Detach(); }

void CancelWorkflow(DBOSContext& ctx, const std::string& workflow_id) {
  detail::CallingWorkflow(ctx, "CancelWorkflow", /*required=*/false);
  detail::CancelWorkflowById(ctx.Runtime(), workflow_id);
}

}  // namespace dbos
