// Running a benchmark's calls from many threads at once (a service calls DBOS from many request
// threads).
#pragma once

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace bench {

/// Runs body(i) for every i in [0, n) on `threads` threads (on the calling thread when 1), each
/// taking the next index not yet taken; the first exception a thread meets stops that thread and
/// is rethrown here once all have ended.
template <typename Body>
void OnThreads(int n, int threads, const Body& body) {
  if (threads <= 1) {
    for (int i = 0; i < n; ++i) body(i);
    return;
  }
  std::atomic<int> next{0};
  std::mutex mutex;
  std::exception_ptr first_error;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      try {
        for (int i = next++; i < n; i = next++) body(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace bench
