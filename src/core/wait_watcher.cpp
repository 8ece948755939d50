// The wait watcher; see wait_watcher.hpp.
#include "core/wait_watcher.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace dbos::detail {

WaitWatcher::WaitWatcher(Runtime& runtime) : runtime_(runtime) {}

WaitWatcher::~WaitWatcher() { Stop(); }

void WaitWatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void WaitWatcher::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WaitWatcher::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
    reconnected_ = true;
  }
  wake_.notify_all();
}

void WaitWatcher::Run() {
  const auto base = runtime_.BackgroundPollInterval();
  auto backoff = base;
  for (;;) {
    bool failed = false;
    const size_t checked = Round(failed);
    // While the database fails, rounds come less often (notifications still wake waits).
    backoff = failed ? std::min(backoff * 2, std::chrono::milliseconds(60000)) : base;
    const auto wait = std::max(backoff, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            kIntervalPerWait * static_cast<int64_t>(checked)));
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [&] { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
  }
}

bool WaitWatcher::Stopping() {
  std::lock_guard lock(mutex_);
  return stop_;
}

void WaitWatcher::LogFailure(const char* part, const std::exception& e) {
  if (runtime_.ShuttingDown()) return;
  runtime_.Log().Log(LogLevel::Warn, std::string("wait watcher: ") + part + ": " + e.what());
}

size_t WaitWatcher::Round(bool& failed) {
  size_t executing = 0;
  try {
    // Workflows cancelled by another process notice it here, even while sleeping or parked.
    executing = runtime_.PollCancellations(kChunk);
  } catch (const std::exception& e) {
    failed = true;
    LogFailure("checking for cancellations", e);
  }
  const std::vector<ParkProbe> probes = ProbesOfThisRound();
  std::vector<sysdb::WaitProbe> chunk;
  for (size_t begin = 0; begin < probes.size() && !Stopping(); begin += kChunk) {
    const size_t end = std::min(probes.size(), begin + kChunk);
    chunk.clear();
    for (size_t i = begin; i < end; ++i) chunk.push_back(probes[i].probe);
    try {
      for (const size_t found : runtime_.Db().FindWaitNews(chunk)) {
        runtime_.Notifications().Notify(probes[begin + found].key);
      }
    } catch (const std::exception& e) {
      failed = true;
      LogFailure("checking parked waits", e);
    }
  }
  return std::max(executing, probes.size());
}

std::vector<ParkProbe> WaitWatcher::ProbesOfThisRound() {
  bool reconnected = false;
  {
    std::lock_guard lock(mutex_);
    reconnected = std::exchange(reconnected_, false);
  }
  // Taken after the reconnect was noted: every wait parked before it is in the snapshot.
  std::vector<ParkProbe> probes = runtime_.Parking().Probes();
  const auto now = std::chrono::steady_clock::now();
  if (!runtime_.Listening() || reconnected || now - announced_checked_ >= kAnnouncedInterval) {
    announced_checked_ = now;
    return probes;
  }
  std::erase_if(probes, [](const ParkProbe& parked) {
    return parked.probe.kind != sysdb::WaitProbe::Kind::kEnded;
  });
  return probes;
}

}  // namespace dbos::detail
