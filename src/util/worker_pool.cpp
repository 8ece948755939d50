// Worker pool with a soft maximum and a stall watchdog; see worker_pool.hpp.
#include "util/worker_pool.hpp"

#include <system_error>
#include <thread>

namespace dbos::util {

WorkerPool::WorkerPool(std::chrono::milliseconds idle_retire, size_t soft_max_threads)
    : state_(std::make_shared<State>()) {
  state_->idle_retire = idle_retire;
  state_->soft_max = soft_max_threads;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work.notify_all();
  state_->watchdog_cv.notify_all();
}

bool WorkerPool::SpawnLocked(const std::shared_ptr<State>& state) {
  try {
    std::thread(&WorkerPool::Loop, state).detach();
  } catch (...) {
    return false;
  }
  ++state->threads;
  return true;
}

void WorkerPool::Submit(std::function<void()> task) {
  std::lock_guard lock(state_->mutex);
  const uint64_t number = ++state_->submitted;
  state_->tasks.emplace_back(number, std::move(task));
  ++state_->busy;
  // Each queued task needs a thread of its own: start one unless enough are idle, up to the
  // soft maximum; past it the task waits for a free thread (the watchdog handles stalls).
  if (state_->idle_threads >= state_->tasks.size()) {
    state_->work.notify_one();
    return;
  }
  if (state_->threads < state_->soft_max) {
    if (SpawnLocked(state_)) return;
    if (state_->threads == 0) {
      // No thread at all (e.g. a process thread limit): take the task back, so that the caller,
      // told by the exception, can release what the task would have, or start it again later.
      state_->tasks.pop_back();
      if (--state_->busy == 0) state_->idle_cv.notify_all();
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "no thread could be started for a workflow");
    }
    // The running threads take it when they are free.
  }
  state_->work.notify_one();
  if (!state_->watchdog) {
    state_->watchdog = true;
    try {
      std::thread(&WorkerPool::Watchdog, state_).detach();
    } catch (...) {
      state_->watchdog = false;  // tried again at the next queued task
    }
  }
}

bool WorkerPool::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->idle_cv.wait_for(lock, timeout, [&] { return state_->busy == 0; });
}

size_t WorkerPool::ThreadCount() {
  std::lock_guard lock(state_->mutex);
  return state_->threads;
}

void WorkerPool::Loop(std::shared_ptr<State> state) {
  std::unique_lock lock(state->mutex);
  for (;;) {
    if (state->tasks.empty()) {
      if (state->stopping) break;
      ++state->idle_threads;
      const bool got_work = state->work.wait_for(
          lock, state->idle_retire, [&] { return !state->tasks.empty() || state->stopping; });
      --state->idle_threads;
      if (!got_work) break;  // idle too long: retire
      continue;
    }
    std::function<void()> task = std::move(state->tasks.front().second);
    state->tasks.pop_front();
    ++state->started;
    lock.unlock();
    task();
    task = nullptr;  // release captures before reporting idle
    lock.lock();
    if (--state->busy == 0) state->idle_cv.notify_all();
  }
  --state->threads;
}

// Past the soft maximum, queued tasks wait for a thread. If none starts for kStallGrowth, every
// thread is stuck (steps that block, waits that cannot park): one more thread keeps work moving.
void WorkerPool::Watchdog(std::shared_ptr<State> state) {
  std::unique_lock lock(state->mutex);
  uint64_t last_started = state->started;
  while (!state->stopping) {
    state->watchdog_cv.wait_for(lock, kStallGrowth);
    if (state->stopping) break;
    const bool stalled =
        !state->tasks.empty() && state->started == last_started && state->idle_threads == 0;
    last_started = state->started;
    // Bounded all the same: past four times the soft maximum, tasks wait for a thread.
    const size_t hard_max = state->soft_max > SIZE_MAX / 4 ? SIZE_MAX : state->soft_max * 4;
    if (stalled && state->threads < hard_max) SpawnLocked(state);
  }
  state->watchdog = false;
}

}  // namespace dbos::util
