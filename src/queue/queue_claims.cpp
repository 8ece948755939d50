// The queue runner's work on the queues declared in this process. Each round claims from every
// queue, once per partition of a partitioned queue, as many workflows as its limits allow:
// worker concurrency is counted here, per (queue, partition), from the workflows this process
// claimed and has not seen end; global concurrency and the rate limit are counted by the
// database inside the claim (ClaimFromQueue), so every executor sharing the database sees the
// same counts. WithMaxTasksPerIteration caps each claim of a round: once per partition of a
// partitioned queue, as every other limit.
#include <algorithm>
#include <string>
#include <utility>

#include "core/queue_registry.hpp"
#include "core/runtime.hpp"
#include "queue/queue_runner.hpp"
#include "util/time_util.hpp"

namespace dbos::queue {

bool QueueRunner::ClaimDeclaredQueues(const sysdb::DequeueRequest& base) {
  bool contended = false;
  for (const WorkflowQueue& queue : runtime_.Queues().All()) {
    std::vector<std::optional<std::string>> partitions;
    if (queue.partition_queue) {
      for (auto& key : runtime_.Db().ListQueuePartitions(queue.name)) {
        partitions.emplace_back(std::move(key));
      }
    } else {
      partitions.emplace_back(std::nullopt);
    }
    for (const auto& partition : partitions) {
      int budget = queue.max_tasks_per_iteration.value_or(0);  // 0: no limit
      if (queue.worker_concurrency) {
        const int free = *queue.worker_concurrency - Running(queue.name, partition.value_or(""));
        if (free <= 0) continue;
        budget = budget == 0 ? free : std::min(budget, free);
      }
      sysdb::QueueClaimRequest request;
      request.base = base;
      request.base.queue_name = queue.name;
      request.base.max_tasks = budget;
      request.partition_key = partition;
      request.global_concurrency = queue.global_concurrency;
      if (queue.rate_limiter) {
        request.rate_limit_max = queue.rate_limiter->limit;
        request.rate_limit_period_ms = queue.rate_limiter->period.count();
      }
      sysdb::QueueClaim claim = runtime_.Db().ClaimFromQueue(request);
      contended = contended || claim.contended;
      if (claim.contended) RestoreQueueRow(queue);
      for (auto& workflow : claim.claimed) {
        // Counted before it starts: a workflow may end before StartClaimed returns.
        {
          std::lock_guard lock(slots_mutex_);
          if (slot_of_.try_emplace(workflow.workflow_uuid, queue.name, partition.value_or(""))
                  .second) {
            ++running_[{queue.name, partition.value_or("")}];
          }
        }
        if (runtime_.ShuttingDown()) return contended;  // stays PENDING: recovered next launch
        StartClaimed(std::move(workflow), 0);
      }
    }
  }
  return contended;
}

void QueueRunner::RestoreQueueRow(const WorkflowQueue& queue) {
  if (runtime_.Db().GetQueue(queue.name)) return;  // a real contention
  runtime_.Db().UpsertQueue(detail::ToQueueRow(queue, runtime_.Config().app_name),
                            util::NowEpochMs());
  runtime_.Log().Log(LogLevel::Warn, "queue runner: the row of queue '" + queue.name +
                                         "' was deleted from the queues table while this process "
                                         "serves the queue; it was written again");
}

void QueueRunner::Released(const std::string& workflow_id) {
  {
    std::lock_guard lock(slots_mutex_);
    auto it = slot_of_.find(workflow_id);
    if (it == slot_of_.end()) return;  // not from a declared queue: no slot to free
    // An earlier execution of a claim still waiting to start (it could not start while that
    // one ran): the slot passes to the claim, which frees it when it ends.
    if (awaiting_start_.count(workflow_id) == 0) {
      if (--running_[it->second] <= 0) running_.erase(it->second);
      slot_of_.erase(it);
    }
  }
  WakeForDeclaredQueues();
}

int QueueRunner::Running(const std::string& queue, const std::string& partition) {
  std::lock_guard lock(slots_mutex_);
  auto it = running_.find({queue, partition});
  return it == running_.end() ? 0 : it->second;
}

void QueueRunner::ReconcileSlots() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(slots_mutex_);
    for (const auto& [id, slot] : slot_of_) ids.push_back(id);
  }
  for (const auto& id : ids) {
    if (runtime_.FindExecution(id) != nullptr) continue;
    const bool waiting = std::any_of(retry_.begin(), retry_.end(), [&](const auto& entry) {
      return entry.first.workflow_uuid == id;
    });
    if (!waiting) Released(id);
  }
}

std::chrono::milliseconds QueueRunner::ContentionDelay() {
  // 5 ms doubling per consecutive contended round, capped at the poll interval, each wait drawn
  // from [half, full] so that claimers that collided do not collide again in step.
  contention_streak_ = std::min(contention_streak_ + 1, 10);
  const int64_t ceiling =
      std::min<int64_t>(int64_t{5} << contention_streak_, poll_interval_.count());
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  return std::chrono::milliseconds(pick(jitter_));
}

}  // namespace dbos::queue
