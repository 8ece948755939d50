// WorkflowHandle<R>: a typed view of one workflow, returned by RunWorkflow and RetrieveWorkflow.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "dbos/detail/erased.hpp"
#include "dbos/errors.hpp"
#include "dbos/workflow_status.hpp"

namespace dbos {

template <typename R>
class WorkflowHandle;

namespace detail {
/// Builds handles around the library's type-erased core (RunWorkflow, RetrieveWorkflow).
struct HandleAccess {
  template <typename R>
  static WorkflowHandle<R> Make(std::shared_ptr<HandleCore> core) {
    WorkflowHandle<R> handle;
    handle.core_ = std::move(core);
    return handle;
  }
};
}  // namespace detail

/// A handle to a workflow whose result has type R. Cheap to copy; every copy refers to the same
/// workflow.
template <typename R>
class WorkflowHandle {
 public:
  /// An empty handle; every call on it throws InvalidOption.
  WorkflowHandle() = default;
  /// Blocks until the workflow ends and returns its result. Throws what the workflow threw
  /// (a type registered with RegisterErrorType, else DBOSError(WorkflowExecution)),
  /// DBOSError(AwaitedWorkflowCancelled) if it was cancelled, DBOSError(DeadLetterQueue) if it
  /// exceeded its recovery attempts, DBOSError(WorkflowUnexpectedType) if the result is not an R.
  R GetResult() const {
    nlohmann::json value = Core().Result();
    if constexpr (std::is_void_v<R>) {
      (void)value;
    } else {
      return detail::DecodeAs<R>(value, Core().WorkflowID());
    }
  }

  /// The workflow's current status as recorded in the system database.
  WorkflowStatus GetStatus() const { return Core().Status(); }

  /// The workflow's ID.
  std::string GetWorkflowID() const { return Core().WorkflowID(); }

 private:
  friend struct detail::HandleAccess;
  detail::HandleCore& Core() const {
    if (!core_) throw DBOSError(ErrorCode::InvalidOption, "empty WorkflowHandle");
    return *core_;
  }
  std::shared_ptr<detail::HandleCore> core_;
};

}  // namespace dbos
