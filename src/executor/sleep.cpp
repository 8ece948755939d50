// Durable sleep (step "DBOS.sleep"): the wake-up time is checkpointed before sleeping, so a
// workflow recovered after a crash sleeps only what remains.
#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/validation.hpp"
#include "dbos/messaging.hpp"
#include "executor/operation.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

std::chrono::milliseconds SleepErased(DBOSContext& ctx, std::chrono::milliseconds duration) {
  WorkflowState& state = *CallingWorkflow(ctx, "Sleep", /*required=*/true);
  ThrowIfInterrupted(state);
  const int step_id = state.next_step_id++;
  // Measured from the call: the checkpoint write is part of the pause the caller sees. A sleep
  // that parked counts from its first call in this process.
  int64_t start = util::NowEpochMs();
  if (state.parked_sleep && state.parked_sleep->first == step_id) {
    start = state.parked_sleep->second;
    state.parked_sleep.reset();
  }
  const int64_t deadline =
      RecordDurableDeadline(detail::RuntimeOf(ctx), state, step_id, ClampWait(duration));
  try {
    WaitUntilEpochMs(detail::RuntimeOf(ctx), state, deadline);
  } catch (const ParkInterrupt&) {
    state.parked_sleep.emplace(step_id, start);
    throw;
  }
  return std::chrono::milliseconds(std::max<int64_t>(0, util::NowEpochMs() - start));
}

}  // namespace dbos::detail
