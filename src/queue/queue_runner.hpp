// The queue runner: one background thread that claims ENQUEUED workflows from the system
// database and starts them. It serves the internal queue (recovery re-enqueues there), polling
// every second. A claimed workflow that fails to start is tried again at the next rounds until it
// starts or ends; the rest of its batch starts regardless.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/runtime.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::queue {

class QueueRunner final : public detail::BackgroundService {
 public:
  explicit QueueRunner(detail::Runtime& runtime);
  ~QueueRunner() override;
  QueueRunner(const QueueRunner&) = delete;
  QueueRunner& operator=(const QueueRunner&) = delete;

  /// Starts the background thread.
  void Start();
  /// Stops and joins the background thread.
  void Stop() override;
  /// Runs a round now (work was enqueued or promoted in this process).
  void Wake() override;

 private:
  void Run();
  void DequeueRound();
  /// Starts one claimed workflow; when it cannot start, keeps it for the next round (never
  /// throws).
  void StartClaimed(sysdb::DequeuedWorkflow workflow, int failed_attempts);
  /// True unless the row is known to be no longer PENDING under this executor.
  bool StillClaimed(const std::string& id);

  detail::Runtime& runtime_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool woken_ = false;  ///< Wake() was called since the last round started.
  std::chrono::milliseconds poll_interval_{1000};
  std::chrono::steady_clock::time_point version_checked_ = std::chrono::steady_clock::now();
  /// Claimed (PENDING here) but not started yet, with their failed start attempts.
  std::vector<std::pair<sysdb::DequeuedWorkflow, int>> retry_;
};

}  // namespace dbos::queue
