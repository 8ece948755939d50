// Parkable waits; see park_wait.hpp.
#include "executor/park_wait.hpp"

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
    // Only an interruption ends the hold: a signal (what it waited for came, or the wait
    // watcher found it) is forgotten, else every later wait would return at once and spin.
    state.waiter.Arm();
    state.waiter.ClearParkRequest();
    if (state.waiter.WaitUntil(std::chrono::steady_clock::now() + std::chrono::hours(1)) ==
        messaging::Waiter::Wake::Interrupted) {
      return;
    }
  }
}

ParkableWait::ParkableWait(Runtime& runtime, WorkflowState& state, std::vector<std::string> keys,
                           std::vector<ParkProbe> probes)
    : runtime_(runtime),
      state_(state),
      keys_(std::move(keys)),
      probes_(std::move(probes)),
      resident_(runtime.Parking(), state) {}

messaging::Waiter::Wake ParkableWait::Wait(std::chrono::steady_clock::time_point until,
                                           std::optional<int64_t> park_wake_at_ms,
                                           bool with_probes) {
  const auto wake = state_.waiter.WaitUntil(until);
  if (wake == messaging::Waiter::Wake::Interrupted) ThrowInterruption(state_, state_.Pending());
  if (wake != messaging::Waiter::Wake::Park) return wake;
  if (!ParkingLot::CanPark(state_)) {
    // Another thread waiting on this workflow's waiter (or a wait that cannot park): it waits on.
    state_.waiter.ClearParkRequest();
    return messaging::Waiter::Wake::Signaled;
  }
  runtime_.Parking().BeginPark(state_, keys_, with_probes ? probes_ : std::vector<ParkProbe>{},
                               park_wake_at_ms);
  throw ParkInterrupt{};
}

}  // namespace dbos::detail
