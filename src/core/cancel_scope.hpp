// The cancellation scope behind WithTimeout's cancel function: it remembers the workflows started
// from the context and still running here, so that cancelling the context cancels them.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dbos::detail {

class Runtime;

/// Cancels a workflow durably and interrupts it if it executes here. Throws NonExistentWorkflow.
void CancelWorkflowById(Runtime& runtime, const std::string& workflow_id);

struct CancelScope {
  std::weak_ptr<Runtime> runtime;
  std::mutex mutex;
  std::vector<std::string> workflow_ids;
  bool cancelled = false;

  /// Remembers a workflow started from the scope's context. Returns true when the scope was
  /// cancelled already: the caller then cancels the workflow before it runs (a later CancelAll
  /// cancels it as it cancels the others).
  [[nodiscard]] bool Add(const std::string& workflow_id);
  /// Forgets a workflow that ended.
  void Remove(const std::string& workflow_id);
  /// Number of workflows remembered.
  size_t Size();
  /// Cancels every workflow started from the scope's context (never throws).
  void CancelAll() noexcept;
};

}  // namespace dbos::detail
