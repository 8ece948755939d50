// Queue declarations and their checks; see queue_registry.hpp.
#include "core/queue_registry.hpp"

#include <utility>

#include "core/validation.hpp"
#include "dbos/errors.hpp"

namespace dbos::detail {
namespace {

[[noreturn]] void Invalid(const std::string& queue, const std::string& what) {
  throw DBOSError(ErrorCode::InvalidOption, "queue '" + queue + "': " + what);
}

void RequirePositive(const std::string& queue, const char* option, const std::optional<int>& n) {
  if (n && *n <= 0) {
    Invalid(queue, std::string(option) + " must be positive (got " + std::to_string(*n) + ")");
  }
}

std::string Describe(const WorkflowQueue& q) {
  const auto opt = [](const std::optional<int>& n) {
    return n ? std::to_string(*n) : std::string("none");
  };
  std::string text = "worker concurrency " + opt(q.worker_concurrency) + ", global concurrency " +
                     opt(q.global_concurrency) + ", rate limit ";
  text += q.rate_limiter ? std::to_string(q.rate_limiter->limit) + " per " +
                               std::to_string(q.rate_limiter->period.count()) + " ms"
                         : "none";
  text += ", max tasks per iteration " + opt(q.max_tasks_per_iteration);
  text += q.priority_enabled ? ", priority enabled" : "";
  text += q.partition_queue ? ", partitioned" : "";
  return text;
}

void Check(const WorkflowQueue& q) {
  ValidateName("NewWorkflowQueue's name", q.name, false);
  if (q.name == sysdb::kInternalQueueName) {
    Invalid(q.name, "this name is reserved for DBOS; choose another name");
  }
  RequirePositive(q.name, "WithWorkerConcurrency", q.worker_concurrency);
  RequirePositive(q.name, "WithGlobalConcurrency", q.global_concurrency);
  RequirePositive(q.name, "WithMaxTasksPerIteration", q.max_tasks_per_iteration);
  if (q.worker_concurrency && q.global_concurrency &&
      *q.global_concurrency < *q.worker_concurrency) {
    Invalid(q.name, "WithGlobalConcurrency (" + std::to_string(*q.global_concurrency) +
                        ") is below WithWorkerConcurrency (" +
                        std::to_string(*q.worker_concurrency) +
                        "); one process could never use its share: raise the global limit or "
                        "lower the worker limit");
  }
  if (q.rate_limiter) {
    if (q.rate_limiter->limit <= 0) {
      Invalid(q.name, "WithRateLimiter's limit must be positive (got " +
                          std::to_string(q.rate_limiter->limit) + ")");
    }
    if (q.rate_limiter->period.count() <= 0) {
      Invalid(q.name, "WithRateLimiter's period must be positive (got " +
                          std::to_string(q.rate_limiter->period.count()) + " ms)");
    }
  }
}

}  // namespace

WorkflowQueue QueueRegistry::Add(WorkflowQueue queue) {
  Check(queue);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = queues_.try_emplace(queue.name, queue);
  if (!inserted && !(it->second == queue)) {
    Invalid(queue.name, "already declared with other limits (" + Describe(it->second) + "; now " +
                            Describe(queue) +
                            "): declare each queue once, or with the same options");
  }
  return it->second;
}

std::optional<WorkflowQueue> QueueRegistry::Find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = queues_.find(name);
  if (it == queues_.end()) return std::nullopt;
  return it->second;
}

bool QueueRegistry::Contains(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return queues_.count(name) > 0;
}

std::vector<WorkflowQueue> QueueRegistry::All() const {
  std::lock_guard lock(mutex_);
  std::vector<WorkflowQueue> out;
  out.reserve(queues_.size());
  for (const auto& [name, queue] : queues_) out.push_back(queue);
  return out;
}

sysdb::QueueRow ToQueueRow(const WorkflowQueue& queue, const std::string& application_name) {
  sysdb::QueueRow row;
  row.name = queue.name;
  if (queue.global_concurrency) row.concurrency = *queue.global_concurrency;
  if (queue.worker_concurrency) row.worker_concurrency = *queue.worker_concurrency;
  if (queue.rate_limiter) {
    row.rate_limit_max = queue.rate_limiter->limit;
    row.rate_limit_period_ms = queue.rate_limiter->period.count();
  }
  row.priority_enabled = queue.priority_enabled;
  row.partition_queue = queue.partition_queue;
  if (!application_name.empty()) row.application_name = application_name;
  return row;
}

WorkflowQueue FromQueueRow(const sysdb::QueueRow& row) {
  const auto narrow = [](const std::optional<int64_t>& n) -> std::optional<int> {
    if (!n) return std::nullopt;
    return static_cast<int>(*n);
  };
  WorkflowQueue queue;
  queue.name = row.name;
  queue.global_concurrency = narrow(row.concurrency);
  queue.worker_concurrency = narrow(row.worker_concurrency);
  if (row.rate_limit_max && row.rate_limit_period_ms) {
    queue.rate_limiter = RateLimiter{static_cast<int>(*row.rate_limit_max),
                                     std::chrono::milliseconds(*row.rate_limit_period_ms)};
  }
  queue.priority_enabled = row.priority_enabled;
  queue.partition_queue = row.partition_queue;
  return queue;
}

void CheckEnqueueOptions(const QueueRegistry& queues, sysdb::SystemDatabase& db,
                         const RunOptions& options) {
  if (options.queue_name.empty() || options.queue_name == sysdb::kInternalQueueName) return;
  std::optional<WorkflowQueue> queue = queues.Find(options.queue_name);
  if (!queue) {
    if (auto row = db.GetQueue(options.queue_name)) queue = FromQueueRow(*row);
  }
  if (!queue) {
    throw DBOSError(ErrorCode::QueueNotFound,
                    "queue '" + options.queue_name +
                        "' does not exist: declare it with dbos::NewWorkflowQueue before Launch "
                        "(in this process or in another one sharing the system database)");
  }
  CheckQueueOptions(*queue, options);
}

void CheckQueueOptions(const WorkflowQueue& queue, const RunOptions& options) {
  if (options.priority) {
    if (*options.priority < 1) {
      Invalid(queue.name, "WithPriority must be between 1 and 2147483647 (got " +
                              std::to_string(*options.priority) + "); lower runs first");
    }
    if (!queue.priority_enabled) {
      Invalid(queue.name, "WithPriority needs a queue declared with dbos::WithPriorityEnabled()");
    }
  }
  if (queue.partition_queue && options.queue_partition_key.empty()) {
    Invalid(queue.name, "the queue is partitioned: enqueue with dbos::WithQueuePartitionKey");
  }
  if (!queue.partition_queue && !options.queue_partition_key.empty()) {
    Invalid(queue.name,
            "WithQueuePartitionKey needs a queue declared with dbos::WithPartitionQueue()");
  }
}

}  // namespace dbos::detail
