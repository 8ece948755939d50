// Which step, if any, a DBOS call belongs to. A step body runs on some thread: the workflow's own
// (RunAsStep) or a step worker (dbos::Go). Each such thread carries a mark naming its workflow
// and step, so that the workflow's thread and several concurrent steps never mistake each other's
// state: a call on a step's thread is part of that step (Recv, Sleep, Go… are refused there;
// SetEvent and WriteStream are recorded under its ID), and a call on the workflow's thread while
// only dbos::Go steps run is a workflow operation.
//
// Threads that user code starts carry no mark. For them the workflow-wide flag
// WorkflowState::in_step (set while a RunAsStep body runs) decides, as before concurrent steps
// existed: a thread a RunAsStep body starts to parallelise its work stays part of that step.
// Threads started by a dbos::Go step body are not part of it; make DBOS calls on the step's own
// thread.
#pragma once

#include <optional>

#include "core/workflow_state.hpp"

namespace dbos::detail {

/// The step whose body runs on this thread, if any.
struct StepMark {
  const WorkflowState* state = nullptr;
  int step_id = -1;
  bool on_worker = false;  ///< A dbos::Go step worker, not the workflow's own thread.
};
inline thread_local StepMark current_step_mark{};

/// Marks this thread as running the body of step `step_id` of `state` for the scope's lifetime.
/// `inline_step` also sets the workflow-wide flag (a RunAsStep body, which threads the body
/// starts inherit); a dbos::Go step leaves it alone.
class StepMarkScope {
 public:
  StepMarkScope(WorkflowState& state, int step_id, bool inline_step)
      : state_(state), previous_(current_step_mark), inline_step_(inline_step) {
    current_step_mark = StepMark{&state, step_id, !inline_step};
    if (inline_step_) {
      state_.current_step_id = step_id;
      state_.in_step = true;
    }
  }
  ~StepMarkScope() {
    current_step_mark = previous_;
    if (inline_step_) {
      state_.in_step = false;
      state_.current_step_id = -1;
    }
  }
  StepMarkScope(const StepMarkScope&) = delete;
  StepMarkScope& operator=(const StepMarkScope&) = delete;

 private:
  WorkflowState& state_;
  StepMark previous_;
  bool inline_step_;
};

/// The ID of the step of `state` that a DBOS call made on this thread belongs to, or nullopt when
/// the call is a workflow operation (see the file comment).
inline std::optional<int> CallerStep(const WorkflowState& state) {
  if (current_step_mark.state == &state) return current_step_mark.step_id;
  if (current_step_mark.state == nullptr && state.in_step) return state.current_step_id.load();
  return std::nullopt;
}

/// True on a dbos::Go step worker of `state`: a wait there must not use the workflow's waiter,
/// which belongs to the workflow's own thread.
inline bool OnStepWorker(const WorkflowState& state) {
  return current_step_mark.state == &state && current_step_mark.on_worker;
}

}  // namespace dbos::detail
