// The wait watcher; see wait_watcher.hpp.
#include "core/wait_watcher.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace dbos::detail {

WaitWatcher::WaitWatcher(Runtime& runtime)
    : runtime_(runtime), backoff_(runtime.BackgroundPollInterval()) {}

WaitWatcher::~WaitWatcher() { Stop(); }

void WaitWatcher::Start() {
  loop_.Start([this](bool) {
    Health health;
    const size_t checked = Round(health);
    // While the database fails, rounds come less often (notifications still wake waits). A
    // round where some queries failed and others did not keeps its pace: what failed is tried
    // again, smaller, next round, and the cancellations are not held back by it.
    const auto per_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        kIntervalPerWait * static_cast<int64_t>(checked));
    const bool database_away = health.failed && !health.succeeded;
    return util::BackgroundLoop::Pause{std::max(backoff_.After(database_away), per_wait)};
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

size_t WaitWatcher::Round(Health& health) {
  return std::max(CheckCancellations(health), CheckProbes(health));
}

size_t WaitWatcher::CheckCancellations(Health& health) {
  const auto stopping = [this] { return loop_.Stopping(); };
  try {
    // Workflows cancelled by another process notice it here, even while sleeping or parked.
    const std::vector<std::string> executing = runtime_.ExecutingWorkflowIDs();
    std::vector<std::string> chunk;
    const auto check = [&](const std::vector<size_t>& indices) {
      chunk.clear();
      for (const size_t i : indices) chunk.push_back(executing[i]);
      try {
        for (const auto& id : runtime_.Db().FilterCancelled(chunk)) {
          runtime_.InterruptLocal(id, Interruption::Cancelled);
        }
        health.succeeded = true;
        return true;
      } catch (const std::exception& e) {
        health.failed = true;
        LogFailure("checking for cancellations", e);
        return false;
      }
    };
    cancellation_chunks_.Round(executing.size(), check, stopping);
    return executing.size();
  } catch (const std::exception& e) {  // out of memory: the next round tries again
    health.failed = true;
    LogFailure("checking for cancellations", e);
    return 0;
  }
}

size_t WaitWatcher::CheckProbes(Health& health) {
  const auto stopping = [this] { return loop_.Stopping(); };
  bool full_round = false;
  bool round_failed = false;
  size_t checked = 0;
  try {
    std::vector<ParkProbes> lists;  // keeps what `probes` points into
    const std::vector<const ParkProbe*> probes = ProbesOfThisRound(lists, full_round);
    checked = lists.size();
    std::vector<sysdb::WaitProbe> chunk;
    const auto check = [&](const std::vector<size_t>& indices) {
      chunk.clear();
      for (const size_t i : indices) chunk.push_back(probes[i]->probe);
      try {
        for (const size_t found : runtime_.Db().FindWaitNews(chunk)) {
          runtime_.Notifications().Notify(probes[indices[found]]->key);
        }
        health.succeeded = true;
        return true;
      } catch (const std::exception& e) {
        health.failed = true;
        LogFailure("checking parked waits", e);
        return false;
      }
    };
    round_failed = !probe_chunks_.Round(probes.size(), check, stopping);
  } catch (const std::exception& e) {  // out of memory: the next round tries again
    round_failed = true;
    LogFailure("checking parked waits", e);
  }
  if (round_failed) {
    health.failed = true;
    // A full round that could not check everything: the next round is full again rather than
    // a minute later.
    if (full_round) reconnected_ = true;
  }
  return checked;
}

std::vector<const ParkProbe*> WaitWatcher::ProbesOfThisRound(std::vector<ParkProbes>& lists,
                                                             bool& full_round) {
  using Kind = sysdb::WaitProbe::Kind;
  const bool reconnected = reconnected_.exchange(false);
  const auto now = std::chrono::steady_clock::now();
  full_round = reconnected || now - full_round_at_ >= runtime_.WatcherFullRoundInterval();
  if (full_round) full_round_at_ = now;
  const bool listening = runtime_.Listening();
  // Taken after the reconnect was noted: every wait parked before it is in the snapshot.
  lists = runtime_.Parking().Probes(/*ends_only=*/listening && !full_round);
  std::vector<const ParkProbe*> probes;
  for (const auto& list : lists) {
    for (const ParkProbe& probe : *list) {
      const Kind kind = probe.probe.kind;
      if (full_round || kind == Kind::kEnded || (kind != Kind::kStep && !listening)) {
        probes.push_back(&probe);
      }
    }
  }
  return probes;
}

}  // namespace dbos::detail
