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
    const bool database_away = health.failed && !health.succeeded;
    if (database_away) {
      // Nothing succeeded: the database is away, and its failures say nothing about chunk sizes.
      if (health.cancellations_ran) cancellation_chunks_.Forget();
      if (health.probes_ran) probe_chunks_.Forget();
    }
    // While the database is away, rounds come less often (notifications still wake waits). A
    // round where some queries failed and others did not keeps its pace: cancellations made
    // elsewhere are never announced, and only these rounds find them.
    const auto per_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        kIntervalPerWait * static_cast<int64_t>(checked));
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
  // At most one line a minute: a query that keeps failing while the rest succeed runs every round.
  const auto now = std::chrono::steady_clock::now();
  if (logged_failure_at_ != std::chrono::steady_clock::time_point{} &&
      now - logged_failure_at_ < kLogInterval) {
    ++unlogged_failures_;
    return;
  }
  std::string line = std::string("wait watcher: ") + part + ": " + e.what();
  if (unlogged_failures_ > 0) {
    line += " (and " + std::to_string(unlogged_failures_) + " failures not logged since the last)";
  }
  runtime_.Log().Log(LogLevel::Warn, line);
  logged_failure_at_ = now;
  unlogged_failures_ = 0;
}

bool WaitWatcher::Query(const char* part, Health& health, const std::function<void()>& query) {
  try {
    query();
    health.succeeded = true;
    return true;
  } catch (const std::exception& e) {
    health.failed = true;
    LogFailure(part, e);
    return false;
  }
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
      return Query("checking for cancellations", health, [&] {
        for (const auto& id : runtime_.Db().FilterCancelled(chunk)) {
          runtime_.InterruptLocal(id, Interruption::Cancelled);
        }
      });
    };
    health.cancellations_ran = true;
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
      return Query("checking parked waits", health, [&] {
        for (const size_t found : runtime_.Db().FindWaitNews(chunk)) {
          const ProbeOf& news = probes[indices[found]];
          runtime_.Parking().WakeIfParkedFor(parked[news.owner].state, *news.probe);
        }
      });
    };
    health.probes_ran = true;
    outcome = probe_chunks_.Round(probes.size(), check, stopping);
  } catch (const std::exception& e) {  // out of memory: the next round tries again
    outcome = util::AdaptiveChunks::Outcome::kCutShort;
    health.failed = true;
    LogFailure("checking parked waits", e);
  }
  // A full round that did not check every probe: the next round is full again rather than a
  // minute later (messages, events and steps are only checked in full rounds with a listener).
  if (full_round && outcome != util::AdaptiveChunks::Outcome::kClean) reconnected_ = true;
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
