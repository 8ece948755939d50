// The wait watcher; see wait_watcher.hpp.
#include "core/wait_watcher.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "util/chunks.hpp"

namespace dbos::detail {

WaitWatcher::WaitWatcher(Runtime& runtime)
    : runtime_(runtime), backoff_(runtime.BackgroundPollInterval()) {}

WaitWatcher::~WaitWatcher() { Stop(); }

void WaitWatcher::Start() {
  loop_.Start([this](bool) {
    bool failed = false;
    const size_t checked = Round(failed);
    // While the database fails, rounds come less often (notifications still wake waits).
    const auto per_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        kIntervalPerWait * static_cast<int64_t>(checked));
    return util::BackgroundLoop::Pause{std::max(backoff_.After(failed), per_wait)};
  });
}

void WaitWatcher::Stop() { loop_.Stop(); }

void WaitWatcher::Wake() {
  reconnected_ = true;
  loop_.Wake();
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
  bool every_probe = false;
  const std::vector<ParkProbe> probes = ProbesOfThisRound(every_probe);
  bool chunk_failed = false;
  std::vector<sysdb::WaitProbe> chunk;
  for (const auto& [begin, end] : util::Chunks(probes.size(), kChunk)) {
    if (loop_.Stopping()) break;
    chunk.clear();
    for (size_t i = begin; i < end; ++i) chunk.push_back(probes[i].probe);
    try {
      for (const size_t found : runtime_.Db().FindWaitNews(chunk)) {
        runtime_.Notifications().Notify(probes[begin + found].key);
      }
    } catch (const std::exception& e) {
      failed = chunk_failed = true;
      LogFailure("checking parked waits", e);
    }
  }
  // A round owed to a reconnect (or to the minute) that could not check everything: the next
  // round checks every probe again rather than a minute later.
  if (chunk_failed && every_probe) reconnected_ = true;
  return std::max(executing, probes.size());
}

std::vector<ParkProbe> WaitWatcher::ProbesOfThisRound(bool& every_probe) {
  const bool reconnected = reconnected_.exchange(false);
  const auto now = std::chrono::steady_clock::now();
  every_probe =
      !runtime_.Listening() || reconnected || now - announced_checked_ >= kAnnouncedInterval;
  if (every_probe) announced_checked_ = now;
  // Taken after the reconnect was noted: every wait parked before it is in the snapshot.
  return runtime_.Parking().Probes(/*ends_only=*/!every_probe);
}

}  // namespace dbos::detail
