// The first execution of a step, shared by RunAsStep (the body runs on the calling thread) and
// dbos::Go (it runs on a step worker): run the body with retries, then record its outcome in one
// database write, which also reports a cancellation.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <stop_token>

#include "core/workflow_state.hpp"
#include "dbos/detail/erased.hpp"

namespace dbos::detail {

class Runtime;

/// Refuses options no step can run with (InvalidOption), before a step ID is taken.
void CheckStepOptions(const StepOptions& options);

/// Runs `body` as step `step_id` of `state` (not recorded yet) and records its outcome: returns
/// its value or throws its error as RunAsStep does. An interrupted step (cancellation, shutdown)
/// is not recorded: the interruption is thrown. `on_worker`: the body runs on a dbos::Go step
/// worker beside the workflow (the step is marked on this thread only, and retry delays wait on
/// the workflow's stop token rather than on its waiter, which is the workflow thread's).
nlohmann::json RunStepBody(Runtime& runtime, WorkflowState& state, const StepOptions& options,
                           int step_id, const std::function<nlohmann::json(std::stop_token)>& body,
                           bool on_worker);

}  // namespace dbos::detail
