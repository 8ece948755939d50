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
    if (health.failed && !health.succeeded) {
      // Nothing succeeded: the database is away, and its failures say nothing about chunk sizes.
      cancellation_chunks_.Forget();
      probe_chunks_.Forget();
    }
    // While queries fail, rounds come less often (notifications still wake waits).
    const auto per_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        kIntervalPerWait * static_cast<int64_t>(checked));
    return util::BackgroundLoop::Pause{std::max(backoff_.After(health.failed), per_wait)};
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
  const size_t executing = CheckCancellations(health);  // first: a probe round may take long
  const size_t parked = CheckProbes(health);
  return std::max(executing, parked);
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
  auto outcome = util::AdaptiveChunks::Outcome::kClean;
  size_t checked = 0;
  try {
    std::vector<ParkedProbes> parked;  // keeps what `probes` points into
    const std::vector<ProbeOf> probes = ProbesOfThisRound(parked, full_round, checked);
    std::vector<sysdb::WaitProbe> chunk;
    const auto check = [&](const std::vector<size_t>& indices) {
      chunk.clear();
      for (const size_t i : indices) chunk.push_back(*probes[i].probe);
      try {
        for (const size_t found : runtime_.Db().FindWaitNews(chunk)) {
          const ParkedProbes& owner = parked[probes[indices[found]].owner];
          runtime_.Parking().WakeIfParkedWith(owner.state, owner.probes);
        }
        health.succeeded = true;
        return true;
      } catch (const std::exception& e) {
        health.failed = true;
        LogFailure("checking parked waits", e);
        return false;
      }
    };
    outcome = probe_chunks_.Round(probes.size(), check, stopping);
  } catch (const std::exception& e) {  // out of memory: the next round tries again
    outcome = util::AdaptiveChunks::Outcome::kCutShort;
    health.failed = true;
    LogFailure("checking parked waits", e);
  }
  // A full round that did not offer every probe: the next round is full again rather than a
  // minute later.
  if (full_round && outcome == util::AdaptiveChunks::Outcome::kCutShort) reconnected_ = true;
  return checked;
}

std::vector<WaitWatcher::ProbeOf> WaitWatcher::ProbesOfThisRound(std::vector<ParkedProbes>& parked,
                                                                 bool& full_round, size_t& waits) {
  using Kind = sysdb::WaitProbe::Kind;
  const bool reconnected = reconnected_.exchange(false);
  const auto now = std::chrono::steady_clock::now();
  full_round = reconnected || now - full_round_at_ >= runtime_.WatcherFullRoundInterval();
  if (full_round) full_round_at_ = now;
  const bool listening = runtime_.Listening();
  // Taken after the reconnect was noted: every wait parked before it is in the snapshot.
  parked = runtime_.Parking().Probes(/*ends_only=*/listening && !full_round);
  std::vector<ProbeOf> probes;
  waits = 0;
  for (size_t owner = 0; owner < parked.size(); ++owner) {
    const size_t before = probes.size();
    for (const ParkProbe& probe : *parked[owner].probes) {
      const Kind kind = probe.kind;
      if (full_round || kind == Kind::kEnded || (kind != Kind::kStep && !listening)) {
        probes.push_back({&probe, owner});
      }
    }
    if (probes.size() > before) ++waits;
  }
  return probes;
}

}  // namespace dbos::detail
