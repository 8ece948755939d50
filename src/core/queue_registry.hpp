// The queues declared in this process (NewWorkflowQueue, before Launch) and the checks on them:
// a queue's limits when it is declared, and RunWorkflow's queue options when a workflow is
// enqueued (against the declaration here or, for a queue declared by another process, its row
// in the `queues` table).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dbos/detail/erased.hpp"
#include "dbos/queue.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {

class QueueRegistry {
 public:
  /// Checks `queue` and declares it; returns it. Throws InvalidOption for bad limits or a name
  /// declared with other limits (nothing is declared then).
  WorkflowQueue Add(WorkflowQueue queue);
  /// The queue declared under `name`, or nullopt.
  std::optional<WorkflowQueue> Find(const std::string& name) const;
  /// Whether a queue is declared under `name`.
  bool Contains(const std::string& name) const;
  /// Every declared queue, by name.
  std::vector<WorkflowQueue> All() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, WorkflowQueue> queues_;
};

/// The `queues` row of a declared queue.
sysdb::QueueRow ToQueueRow(const WorkflowQueue& queue, const std::string& application_name);
/// A queue as another process declared it in the `queues` table.
WorkflowQueue FromQueueRow(const sysdb::QueueRow& row);

/// Checks RunWorkflow's WithQueue, WithPriority and WithQueuePartitionKey against the queue:
/// QueueNotFound when no queue has the name (here or in the database), InvalidOption for a
/// priority outside 1..2147483647 or on a queue without priorities, and for a partition key on
/// a queue that is not partitioned or none on one that is. Does nothing without WithQueue.
void CheckEnqueueOptions(const QueueRegistry& queues, sysdb::SystemDatabase& db,
                         const RunOptions& options);
/// The checks of CheckEnqueueOptions on a queue already found (priority, partition key).
void CheckQueueOptions(const WorkflowQueue& queue, const RunOptions& options);

}  // namespace dbos::detail
