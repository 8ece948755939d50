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
  {
    std::lock_guard lock(state_->mutex);
    state_->tasks.push_back(std::move(task));
    ++state_->busy;
    // Each queued task needs a thread of its own: spawn unless enough threads are idle.
    if (state_->idle_threads < static_cast<int>(state_->tasks.size())) {
      ++state_->threads;
      spawn = true;
    }
  }
  if (spawn) {
    std::thread(&WorkerPool::Loop, state_).detach();
  } else {
    state_->work.notify_one();
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
    std::function<void()> task = std::move(state->tasks.front());
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
