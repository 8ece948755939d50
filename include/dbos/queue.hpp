// Workflow queues: named, database-backed queues with flow control. A workflow started with
// WithQueue(name) is stored ENQUEUED and started by a queue runner, in this process or in any
// other process sharing the system database, within the queue's limits. Queues are declared
// before Launch and written to the `queues` table at Launch, so other processes and other DBOS
// languages see them.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "dbos/context.hpp"

namespace dbos {

/// At most `limit` workflows of the queue start within any window of length `period`.
struct RateLimiter {
  int limit = 0;
  std::chrono::milliseconds period{0};
  bool operator==(const RateLimiter&) const = default;
};

/// A queue and its limits. On a partitioned queue every limit applies per partition key.
struct WorkflowQueue {
  std::string name;
  /// Workflows of the queue running at once in one process (nullopt: no limit).
  std::optional<int> worker_concurrency;
  /// Workflows of the queue running at once across all processes (nullopt: no limit).
  std::optional<int> global_concurrency;
  std::optional<RateLimiter> rate_limiter;
  /// Whether WithPriority may be used when enqueuing.
  bool priority_enabled = false;
  /// Most workflows one process starts from the queue per dequeue round (nullopt: no limit).
  std::optional<int> max_tasks_per_iteration;
  /// Whether each enqueue names a partition (WithQueuePartitionKey).
  bool partition_queue = false;
  bool operator==(const WorkflowQueue&) const = default;
};

/// An option of NewWorkflowQueue.
struct QueueOption {
  std::function<void(WorkflowQueue&)> apply;
};
/// Per-process concurrency: positive.
inline QueueOption WithWorkerConcurrency(int n) {
  return {[n](WorkflowQueue& q) { q.worker_concurrency = n; }};
}
/// Concurrency across all processes: positive and at least the worker concurrency.
inline QueueOption WithGlobalConcurrency(int n) {
  return {[n](WorkflowQueue& q) { q.global_concurrency = n; }};
}
/// A sliding-window rate limit: limit and period both positive.
inline QueueOption WithRateLimiter(RateLimiter limiter) {
  return {[limiter](WorkflowQueue& q) { q.rate_limiter = limiter; }};
}
/// Allows WithPriority on enqueues to this queue.
inline QueueOption WithPriorityEnabled() {
  return {[](WorkflowQueue& q) { q.priority_enabled = true; }};
}
/// At most `n` (positive) workflows started per dequeue round in one process.
inline QueueOption WithMaxTasksPerIteration(int n) {
  return {[n](WorkflowQueue& q) { q.max_tasks_per_iteration = n; }};
}
/// Makes the queue partitioned: every enqueue names a key, limits apply per key.
inline QueueOption WithPartitionQueue() {
  return {[](WorkflowQueue& q) { q.partition_queue = true; }};
}

namespace detail {
WorkflowQueue RegisterQueueErased(DBOSContext& ctx, WorkflowQueue queue);
}  // namespace detail

/// Declares a queue; call before Launch. Throws InvalidOption after Launch, for an empty, invalid
/// or reserved name, a limit that is not positive, a global concurrency below the worker
/// concurrency, or a name already declared with other limits (nothing is declared then).
/// Declaring the same queue again with the same limits returns it.
template <typename... Opts>
WorkflowQueue NewWorkflowQueue(DBOSContext& ctx, std::string name, Opts&&... opts) {
  static_assert((std::is_convertible_v<Opts, QueueOption> && ...),
                "dbos::NewWorkflowQueue: options must be QueueOption values "
                "(WithWorkerConcurrency, WithGlobalConcurrency, WithRateLimiter, …)");
  WorkflowQueue queue;
  queue.name = std::move(name);
  (QueueOption(std::forward<Opts>(opts)).apply(queue), ...);
  return detail::RegisterQueueErased(ctx, std::move(queue));
}

}  // namespace dbos
