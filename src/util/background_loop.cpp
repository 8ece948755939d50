// Background loop; see background_loop.hpp.
#include "util/background_loop.hpp"

#include <algorithm>
#include <utility>

namespace dbos::util {

BackgroundLoop::~BackgroundLoop() { Stop(); }

void BackgroundLoop::Start(Round round) {
  thread_ = std::thread([this, round = std::move(round)] { Run(round); });
}

void BackgroundLoop::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool BackgroundLoop::Stopping() {
  std::lock_guard lock(mutex_);
  return stop_;
}

void BackgroundLoop::Run(const Round& round) {
  bool woken = false;
  for (;;) {
    const Pause pause = round(woken);
    const Duration length = std::min<Duration>(pause.length, kLongestPause);
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, length, [&] { return stop_ || (woken_ && pause.wakeable); });
    if (stop_) return;
    woken = std::exchange(woken_, false);
  }
}

}  // namespace dbos::util
