// Durable sleep (step "DBOS.sleep"): the wake-up time is checkpointed before sleeping, so a
// workflow recovered after a crash sleeps only what remains.
#include "dbos/messaging.hpp"
#include "executor/operation.hpp"
#include "runtime/runtime.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {

std::chrono::milliseconds SleepErased(DBOSContext& ctx, std::chrono::milliseconds duration) {
  WorkflowState& state = *CallingWorkflow(ctx, "Sleep", /*required=*/true);
  ThrowIfInterrupted(state);
  const int step_id = state.next_step_id++;
  // Timed from the call: recording the deadline is part of the sleep (the deadline counts from
  // before that write).
  const int64_t start = util::NowEpochMs();
  const int64_t deadline = RecordDurableDeadline(ctx.Runtime(), state, step_id, duration);
  WaitUntilEpochMs(state, deadline);
  return std::chrono::milliseconds(std::max<int64_t>(0, util::NowEpochMs() - start));
}

}  // namespace dbos::detail
