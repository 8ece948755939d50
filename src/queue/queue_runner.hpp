// The queue runner: one background thread that claims ENQUEUED workflows from the system
// database and starts them. It serves the internal queue (recovery re-enqueues there), polling
// every second.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace dbos::detail {
class Runtime;
}

namespace dbos::queue {

class QueueRunner {
 public:
  explicit QueueRunner(detail::Runtime& runtime);
  ~QueueRunner();
  QueueRunner(const QueueRunner&) = delete;
  QueueRunner& operator=(const QueueRunner&) = delete;

  /// Starts the background thread.
  void Start();
  /// Stops and joins the background thread.
  void Stop();

 private:
  void Run();
  void DequeueRound();

  detail::Runtime& runtime_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::chrono::milliseconds poll_interval_{1000};
};

}  // namespace dbos::queue
