// Parkable waits; see park_wait.hpp.
#include "executor/park_wait.hpp"

#include <algorithm>
#include <random>

#include "core/runtime.hpp"
#include "executor/operation.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

void HoldSwallowedPark(WorkflowState& state) {
  if (!state.swallowed_park.exchange(true) && state.logger != nullptr) {
    state.logger->Log(LogLevel::Error,
                      "workflow " + state.workflow_id +
                          " caught the unwinding of a DBOS wait and did not rethrow it (a catch "
                          "(...) around a DBOS call must rethrow what it does not know); it is "
                          "held until cancelled or shut down, and nothing more of it is recorded");
  }
  for (;;) {
    state.waiter.ClearParkRequest();
    if (state.waiter.WaitUntil(std::chrono::steady_clock::now() + std::chrono::hours(1)) ==
        messaging::Waiter::Wake::Interrupted) {
      return;
    }
  }
}

ParkableWait::ParkableWait(Runtime& runtime, WorkflowState& state, std::vector<std::string> keys)
    : runtime_(runtime),
      state_(state),
      keys_(std::move(keys)),
      resident_(runtime.Parking(), state) {}

ParkableWait::~ParkableWait() {
  // A wait that ended with news (not by parking) resets the parked re-check backoff.
  if (!state_.parking) state_.quiet_parks = 0;
}

messaging::Waiter::Wake ParkableWait::Wait(std::chrono::steady_clock::time_point until,
                                           std::optional<int64_t> park_wake_at_ms) {
  const auto wake = state_.waiter.WaitUntil(until);
  if (wake == messaging::Waiter::Wake::Interrupted) ThrowInterruption(state_, state_.Pending());
  if (wake != messaging::Waiter::Wake::Park) return wake;
  if (!ParkingLot::CanPark(state_)) {
    // Another thread waiting on this workflow's waiter (or a wait that cannot park): it waits on.
    state_.waiter.ClearParkRequest();
    return messaging::Waiter::Wake::Signaled;
  }
  ++state_.quiet_parks;
  runtime_.Parking().BeginPark(state_, keys_, park_wake_at_ms);
  throw ParkInterrupt{};
}

int64_t ParkableWait::RecheckAt(std::chrono::milliseconds base,
                                std::chrono::milliseconds cap) const {
  const int64_t kMaxMs = std::max<int64_t>(1, cap.count());
  int64_t ms = std::max<int64_t>(1, base.count());
  for (int i = 1; i < state_.quiet_parks && ms < kMaxMs; ++i) ms *= 2;
  ms = std::min(ms, kMaxMs);
  thread_local std::mt19937 engine{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(0, ms / 10);
  return util::NowEpochMs() + ms - jitter(engine);
}

}  // namespace dbos::detail
