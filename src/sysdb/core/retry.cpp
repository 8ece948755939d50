// Backoff, jitter and the permanent-error message shared by both system database backends.
#include "sysdb/core/retry.hpp"

#include <algorithm>
#include <random>

namespace dbos::sysdb::core {

std::chrono::milliseconds Jitter(std::chrono::milliseconds base) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.75, 1.25);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(base.count()) * factor(rng)));
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap)
    : current_(initial), cap_(cap) {}

std::chrono::milliseconds Backoff::Next() {
  const std::chrono::milliseconds delay = Jitter(current_);
  current_ = std::min(current_ * 2, cap_);
  ++attempts_;
  return delay;
}

DBOSError PermanentError(const std::string& backend, const char* operation,
                         const std::string& workflow_id, const std::string& code,
                         const std::string& message) {
  std::string text = backend + " system database error in " + operation;
  if (!workflow_id.empty()) text += " for workflow " + workflow_id;
  if (!code.empty()) text += " (" + code + ")";
  text += ": " + message;
  return DBOSError(ErrorCode::WorkflowExecution, text, workflow_id);
}

}  // namespace dbos::sysdb::core
