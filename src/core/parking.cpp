// Parking lot of waiting workflows; see parking.hpp.
//
// Lock order: the notifier's lock, then a waiter's, then this lot's (a notification calls a parked
// waiter's wake callback under the first two). So this lot never creates or drops notifier
// registrations under its own lock: its thread drops them.
#include "core/parking.hpp"

#include <algorithm>
#include <chrono>

#include "core/step_marks.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

ParkingLot::ParkingLot(messaging::Notifier& notifier, size_t resident_limit)
    : notifier_(notifier), resident_limit_(resident_limit), thread_([this] { Run(); }) {}

ParkingLot::~ParkingLot() { Stop(); }

namespace {
std::mutex g_default_mutex;
std::optional<size_t> g_default_limit;  // guarded by g_default_mutex
}  // namespace

size_t ParkingLot::DefaultResidentLimit(size_t fallback) {
  std::lock_guard lock(g_default_mutex);
  return g_default_limit.value_or(fallback);
}

void ParkingLot::SetDefaultResidentLimitForTesting(std::optional<size_t> limit) {
  std::lock_guard lock(g_default_mutex);
  g_default_limit = limit;
}

bool ParkingLot::CanPark(WorkflowState& state) {
  // Not inside a step (inline or concurrent), and no dbos::Go step still running: a replay
  // would start it again.
  return current_workflow == &state && current_step_mark.state == nullptr && !state.in_step &&
         !state.never_park && state.Pending() == Interruption::None &&
         state.go_steps.Running() == 0;
}

ParkingLot::ResidentWait::ResidentWait(ParkingLot& lot, WorkflowState& state)
    : lot_(lot), state_(state) {
  if (!CanPark(state)) return;
  std::lock_guard lock(lot_.mutex_);
  if (lot_.stopped_) return;
  position_ = lot_.residents_.insert(lot_.residents_.end(), Resident{&state, false});
  entered_ = true;
  ++lot_.unevicted_;
  // The oldest waits park first; an evicted one stays listed until its wait ends.
  for (auto it = lot_.residents_.begin();
       lot_.unevicted_ > lot_.resident_limit_ && it != lot_.residents_.end(); ++it) {
    if (it->evicted) continue;
    it->evicted = true;
    --lot_.unevicted_;
    it->state->waiter.RequestPark();
  }
}

ParkingLot::ResidentWait::~ResidentWait() {
  if (entered_) {
    std::lock_guard lock(lot_.mutex_);
    if (!position_->evicted) --lot_.unevicted_;
    lot_.residents_.erase(position_);
  }
  // A request that came too late for this wait must not reach the next one (a wait that is not
  // parkable would see it).
  if (!state_.parking) state_.waiter.ClearParkRequest();
}

void ParkingLot::BeginPark(WorkflowState& state, const std::vector<std::string>& keys,
                           std::vector<ParkProbe> probes, std::optional<int64_t> wake_at_epoch_ms) {
  state.parking = true;
  Parked parked;
  for (const auto& key : keys) {
    parked.registrations.push_back(
        std::make_unique<messaging::Notifier::Registration>(notifier_, key, state.waiter));
  }
  parked.awaits_end = std::any_of(probes.begin(), probes.end(), [](const ParkProbe& p) {
    return p.kind == sysdb::WaitProbe::Kind::kEnded;
  });
  parked.probes = std::make_shared<const std::vector<ParkProbe>>(std::move(probes));
  parked.wake_at = wake_at_epoch_ms;
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    if (wake_at_epoch_ms) {
      const auto timer = timers_.emplace(*wake_at_epoch_ms, &state).first;
      earliest = timer == timers_.begin();
    }
    parked_.insert_or_assign(&state, std::move(parked));
  }
  if (earliest) cv_.notify_all();  // the lot's thread sleeps until the earliest wake-up time
  // From here a signal or an interruption wakes the parked workflow; one that came since the
  // wait last looked at the database wakes it at once.
  if (state.waiter.SetWakeCallback([this, s = &state] { Wake(s); })) Wake(&state);
}

void ParkingLot::CancelPark(WorkflowState& state) {
  std::unique_ptr<Parked> dropped;
  {
    std::lock_guard lock(mutex_);
    auto it = parked_.find(&state);
    if (it != parked_.end()) {
      if (it->second.wake_at) timers_.erase({*it->second.wake_at, &state});
      dropped = std::make_unique<Parked>(std::move(it->second));
      parked_.erase(it);
    }
  }
  state.waiter.Unpark();  // before the registrations go: no callback may outlive this call
  state.parking = false;
  dropped.reset();
}

void ParkingLot::CompletePark(WorkflowState& state, std::function<void()> resume) {
  std::unique_ptr<Parked> dropped;
  {
    std::lock_guard lock(mutex_);
    auto it = parked_.find(&state);
    if (!stopped_ && it != parked_.end()) {
      it->second.resume = std::move(resume);
      if (it->second.woken) MakeReadyLocked(&state, it->second);
      return;
    }
    if (it != parked_.end()) {
      if (it->second.wake_at) timers_.erase({*it->second.wake_at, &state});
      dropped = std::make_unique<Parked>(std::move(it->second));
      parked_.erase(it);
    }
  }
  // Stopped (shutdown): the workflow was interrupted, so its resume ends it without running code.
  // Its registrations go first (this thread holds no notifier lock), so no notification can
  // reach its waiter once it is gone.
  state.waiter.Unpark();
  dropped.reset();
  resume();
}

void ParkingLot::Wake(WorkflowState* state, const ParkProbe* only_for) {
  std::lock_guard lock(mutex_);
  auto it = parked_.find(state);
  if (it == parked_.end() || it->second.woken) return;
  if (only_for && std::find(it->second.probes->begin(), it->second.probes->end(), *only_for) ==
                      it->second.probes->end()) {
    return;  // parked again since, in a wait for something else
  }
  it->second.woken = true;
  if (it->second.resume) MakeReadyLocked(state, it->second);
}

void ParkingLot::MakeReadyLocked(WorkflowState* state, Parked& parked) {
  if (parked.wake_at) timers_.erase({*parked.wake_at, state});
  auto taken = std::make_shared<Parked>(std::move(parked));
  parked_.erase(state);
  ready_.emplace_back([taken, state] {
    state->waiter.Unpark();  // no wake callback from here on
    taken->registrations.clear();
    taken->resume();
  });
  cv_.notify_all();
}

void ParkingLot::SetResidentLimit(size_t limit) {
  std::lock_guard lock(mutex_);
  resident_limit_ = limit;
}

size_t ParkingLot::ParkedCount() {
  std::lock_guard lock(mutex_);
  return parked_.size();
}

size_t ParkingLot::ResidentCount() {
  std::lock_guard lock(mutex_);
  return residents_.size();
}

std::vector<ParkedProbes> ParkingLot::Probes(bool ends_only) {
  std::lock_guard lock(mutex_);
  std::vector<ParkedProbes> probes;
  probes.reserve(parked_.size());
  for (const auto& [state, parked] : parked_) {
    if (parked.woken || (ends_only && !parked.awaits_end)) continue;
    probes.push_back({state, parked.probes});
  }
  return probes;
}

void ParkingLot::WakeIfParkedFor(WorkflowState* state, const ParkProbe& probe) {
  Wake(state, &probe);
}

void ParkingLot::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      if (!thread_.joinable()) return;
    } else {
      stopped_ = true;
      for (auto it = parked_.begin(); it != parked_.end();) {
        if (!it->second.resume) {
          ++it;  // still unwinding: CompletePark resumes it
          continue;
        }
        WorkflowState* state = it->first;
        auto taken = std::make_shared<Parked>(std::move(it->second));
        it = parked_.erase(it);
        ready_.emplace_back([taken, state] {
          state->waiter.Unpark();
          taken->registrations.clear();
          taken->resume();
        });
      }
      timers_.clear();
    }
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // the last owner let go on this thread: it ends by itself
  } else {
    thread_.join();
  }
}

void ParkingLot::Run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!ready_.empty()) {
      auto task = std::move(ready_.front());
      ready_.pop_front();
      lock.unlock();
      task();
      task = nullptr;
      lock.lock();
      continue;
    }
    if (stopped_) return;
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto [when, state] = *timers_.begin();
    const int64_t wait_ms = when - util::NowEpochMs();
    if (wait_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      continue;
    }
    timers_.erase(timers_.begin());
    auto it = parked_.find(state);
    if (it == parked_.end() || it->second.woken) continue;
    it->second.wake_at.reset();
    it->second.woken = true;
    if (it->second.resume) MakeReadyLocked(state, it->second);
  }
}

}  // namespace dbos::detail
