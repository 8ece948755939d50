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
  // Measured from the call: the checkpoint write is part of the pause the caller sees.
  const int64_t start = util::NowEpochMs();
  const int64_t deadline =
      RecordDurableDeadline(detail::RuntimeOf(ctx), state, step_id, ClampWait(duration));
  WaitUntilEpochMs(state, deadline);
  return std::chrono::milliseconds(std::max<int64_t>(0, util::NowEpochMs() - start));
}

}  // namespace dbos::detail
