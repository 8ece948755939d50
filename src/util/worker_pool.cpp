// Growing, self-retiring worker pool; see worker_pool.hpp.
#include "util/worker_pool.hpp"

#include <thread>

namespace dbos::util {

WorkerPool::WorkerPool(std::chrono::milliseconds idle_retire) : state_(std::make_shared<State>()) {
  state_->idle_retire = idle_retire;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work.notify_all();
}

void WorkerPool::Submit(std::function<void()> task) {
  bool spawn = false;
  uint64_t number = 0;
  {
    std::lock_guard lock(state_->mutex);
    number = ++state_->submitted;
    state_->tasks.emplace_back(number, std::move(task));
    ++state_->busy;
    // Each queued task needs a thread of its own: spawn unless enough threads are idle.
    if (state_->idle_threads < static_cast<int>(state_->tasks.size())) {
      ++state_->threads;
      spawn = true;
    }
  }
  if (!spawn) {
    state_->work.notify_one();
    return;
  }
  try {
    std::thread(&WorkerPool::Loop, state_).detach();
  } catch (...) {
    // No thread (e.g. a process thread limit): take the task back, so that the caller, told by
    // the exception, can release what the task would have, or start it again later.
    std::lock_guard lock(state_->mutex);
    --state_->threads;
    for (auto it = state_->tasks.begin(); it != state_->tasks.end(); ++it) {
      if (it->first != number) continue;
      state_->tasks.erase(it);
      if (--state_->busy == 0) state_->idle_cv.notify_all();
      throw;
    }
    // A running thread took it meanwhile: it runs.
  }
}

bool WorkerPool::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->idle_cv.wait_for(lock, timeout, [&] { return state_->busy == 0; });
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
    lock.unlock();
    task();
    task = nullptr;  // release captures before reporting idle
    lock.lock();
    if (--state->busy == 0) state->idle_cv.notify_all();
  }
  --state->threads;
}

}  // namespace dbos::util
