// Deadline watcher; see deadline_watcher.hpp.
#include "core/deadline_watcher.hpp"

#include <chrono>

#include "util/time_util.hpp"

namespace dbos::executor {

DeadlineWatcher::DeadlineWatcher(Callback on_deadline)
    : on_deadline_(std::move(on_deadline)), thread_([this] { Run(); }) {}

DeadlineWatcher::~DeadlineWatcher() { Stop(); }

void DeadlineWatcher::Add(const std::string& workflow_id, int64_t deadline_ms) {
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = deadlines_.try_emplace(workflow_id, deadline_ms);
    if (!inserted) {
      queue_.erase({it->second, workflow_id});
      it->second = deadline_ms;
    }
    queue_.emplace(deadline_ms, workflow_id);
  }
  cv_.notify_all();
}

void DeadlineWatcher::Remove(const std::string& workflow_id) {
  std::lock_guard lock(mutex_);
  auto it = deadlines_.find(workflow_id);
  if (it == deadlines_.end()) return;
  queue_.erase({it->second, workflow_id});
  deadlines_.erase(it);
}

size_t DeadlineWatcher::Size() {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void DeadlineWatcher::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeadlineWatcher::Run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const int64_t wait_ms = queue_.begin()->first - util::NowEpochMs();
    if (wait_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      continue;
    }
    const std::string id = queue_.begin()->second;
    queue_.erase(queue_.begin());
    deadlines_.erase(id);
    lock.unlock();
    on_deadline_(id);
    lock.lock();
  }
}

}  // namespace dbos::executor
