// Enforces durable workflow deadlines in this process: one thread sleeps until the earliest
// deadline of the workflows executing here and then fires a callback (which cancels the workflow
// in the database and interrupts it). Deadlines survive crashes because they are stored on the
// workflow row and re-registered when a recovered workflow starts again.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

namespace dbos::executor {

class DeadlineWatcher {
 public:
  using Callback = std::function<void(const std::string& workflow_id)>;
  explicit DeadlineWatcher(Callback on_deadline);
  ~DeadlineWatcher();
  DeadlineWatcher(const DeadlineWatcher&) = delete;
  DeadlineWatcher& operator=(const DeadlineWatcher&) = delete;

  /// Fires the callback for `workflow_id` at `deadline_ms` (epoch ms); replaces an earlier
  /// deadline of the same workflow.
  void Add(const std::string& workflow_id, int64_t deadline_ms);
  /// Forgets the deadline of `workflow_id` (it finished, or stopped executing here).
  void Remove(const std::string& workflow_id);
  /// Number of deadlines watched.
  size_t Size();
  /// Stops the thread; pending deadlines are dropped (they are durable in the database).
  void Stop();

 private:
  void Run();

  Callback on_deadline_;
  std::mutex mutex_;
  std::condition_variable cv_;
  using Entry = std::pair<int64_t, std::string>;
  std::set<Entry> queue_;                               // earliest deadline first
  std::unordered_map<std::string, int64_t> deadlines_;  // workflow ID -> its entry's deadline
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dbos::executor
