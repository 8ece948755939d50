// dbos::Go and dbos::Select: durable concurrency inside a workflow (reference §2.4).
//
// Go takes the step's ID on the workflow's thread, so IDs follow the order of the calls. A step
// recorded by an earlier execution is replayed right there (no thread); otherwise its body runs
// on the runtime's step pool under RunAsStep's checkpoint protocol. Outcomes are published under
// the workflow's ConcurrentSteps lock; waits for them (Get, Select) end early only when the
// workflow is cancelled or shut down, through its stop token. A worker holds the future's state,
// which holds the workflow's state: dropping a future never leaves the worker a dangling
// reference.
//
// Select is a checkpointed read ("DBOS.select"): the first execution waits for a finished future
// (the lowest index among those finished when it looks) and records {"index", "value"}; a replay
// returns the recorded index, then waits for that future (whose step replays or runs again).
#include "executor/go_steps.hpp"

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/step_marks.hpp"
#include "dbos/errors.hpp"
#include "dbos/go.hpp"
#include "executor/operation.hpp"
#include "executor/step_execution.hpp"

namespace dbos::detail {

struct StepFutureState {
  std::shared_ptr<WorkflowState> workflow;
  int step_id = -1;
  // Written once under workflow->go_steps's lock (before the future is shared, for a replay);
  // read under it until `done` is seen, freely afterwards.
  bool done = false;
  nlohmann::json value;
  std::exception_ptr error;
};

namespace {

using Body = std::function<nlohmann::json(std::stop_token)>;

// A step worker's task: runs the body under the checkpoint protocol, drops it (its captures may
// refer to what the workflow destroys once the step is done), then publishes the outcome.
void RunOnWorker(Runtime& runtime, StepFutureState& future, const StepOptions& options,
                 Body body) noexcept {
  WorkflowState& workflow = *future.workflow;
  // A system database failure met here is the workflow's (guarded_database.hpp).
  CurrentWorkflowScope current(&workflow);
  nlohmann::json value;
  std::exception_ptr error;
  {
    Body own = std::move(body);
    try {
      ThrowIfInterrupted(workflow);  // interrupted before a worker took it: the body never runs
      value = RunStepBody(runtime, workflow, options, future.step_id, own, /*on_worker=*/true);
    } catch (...) {
      error = std::current_exception();
    }
  }
  workflow.go_steps.Finished([&] {
    future.value = std::move(value);
    future.error = error;
    future.done = true;
  });
}

// Waits until `ready()` holds under the outcomes' lock; throws the workflow's interruption if
// that comes first.
template <typename Ready>
void AwaitInterruptibly(WorkflowState& workflow, Ready&& ready) {
  if (!workflow.go_steps.WaitUntilReady(workflow.stop.get_token(), std::forward<Ready>(ready))) {
    ThrowInterruption(workflow, workflow.Pending());
  }
}

const std::string kSelectStep = "DBOS.select";

}  // namespace

std::shared_ptr<StepFutureState> GoErased(DBOSContext& ctx, const StepOptions& options,
                                          std::function<nlohmann::json(std::stop_token)> body) {
  CallingWorkflow(ctx, "Go", /*required=*/true);  // refused outside a workflow and inside a step
  const std::shared_ptr<WorkflowState>& workflow = WorkflowOf(ctx);
  CurrentWorkflowScope current(workflow.get());
  CheckStepOptions(options);
  ThrowIfInterrupted(*workflow);
  Runtime& runtime = RuntimeOf(ctx);
  auto future = std::make_shared<StepFutureState>();
  future->workflow = workflow;
  future->step_id = workflow->next_step_id++;
  if (const auto row = FindRecorded(*workflow, future->step_id, options.name)) {
    try {
      future->value = ReplayStep(runtime, *workflow, *row, ErrorCode::StepExecution);
    } catch (...) {
      future->error = std::current_exception();
    }
    future->done = true;  // not shared yet
    return future;
  }
  workflow->go_steps.Started();
  try {
    runtime.StepPool().Submit(
        [rt = runtime.shared_from_this(), future, options, body = std::move(body)]() mutable {
          RunOnWorker(*rt, *future, options, std::move(body));
        });
  } catch (const std::exception& e) {
    // The step's ID is taken but it never runs: this execution must not record an outcome.
    workflow->go_steps.Finished([&] { future->done = true; });
    const std::string what = "no thread could start step " + options.name + " (" + e.what() + ")";
    workflow->NoteInfrastructureFailure(what);
    throw DBOSError(ErrorCode::StepExecution, "Go: " + what, workflow->workflow_id);
  }
  return future;
}

const nlohmann::json& AwaitStepFuture(const StepFutureState& future) {
  AwaitInterruptibly(*future.workflow, [&] { return future.done; });
  if (future.error) std::rethrow_exception(future.error);
  return future.value;
}

bool StepFutureReady(const StepFutureState& future) {
  return future.workflow->go_steps.Locked([&] { return future.done; });
}

int StepFutureStepID(const StepFutureState& future) noexcept { return future.step_id; }

const std::string& StepFutureWorkflowID(const StepFutureState& future) noexcept {
  return future.workflow->workflow_id;
}

void JoinStepFuture(const StepFutureState& future) noexcept {
  try {
    future.workflow->go_steps.WaitUntilReadyUninterruptibly([&] { return future.done; });
  } catch (...) {
    // Only a failing mutex could throw here; nothing is left to wait with.
  }
}

std::size_t SelectErased(DBOSContext& ctx, const std::vector<const StepFutureState*>& futures) {
  WorkflowState& workflow = *CallingWorkflow(ctx, "Select", /*required=*/true);
  if (futures.empty()) {
    throw DBOSError(ErrorCode::InvalidOption, "Select needs at least one StepFuture",
                    workflow.workflow_id);
  }
  for (std::size_t i = 0; i < futures.size(); ++i) {
    if (futures[i]->workflow.get() != &workflow) {
      throw DBOSError(ErrorCode::InvalidOption,
                      "Select: future " + std::to_string(i) + " is a step of workflow " +
                          futures[i]->workflow->workflow_id + ", not of the calling workflow " +
                          workflow.workflow_id,
                      workflow.workflow_id);
    }
  }
  Runtime& runtime = RuntimeOf(ctx);
  CurrentWorkflowScope current(&workflow);
  const nlohmann::json recorded = CheckpointedRead(
      runtime, workflow, "Select", kSelectStep, ErrorCode::StepExecution, workflow.workflow_id,
      std::nullopt, [&]() -> ReadOutcome {
        std::size_t winner = 0;
        AwaitInterruptibly(workflow, [&] {
          for (std::size_t i = 0; i < futures.size(); ++i) {
            if (futures[i]->done) {
              winner = i;
              return true;
            }
          }
          return false;
        });
        const StepFutureState& won = *futures[winner];
        return ReadOutcome{
            nlohmann::json{{"index", winner}, {"value", won.error ? nullptr : won.value}},
            std::nullopt};
      });
  const nlohmann::json* index =
      recorded.is_object() && recorded.contains("index") ? &recorded.at("index") : nullptr;
  if (index == nullptr || !index->is_number_integer() || index->get<int64_t>() < 0 ||
      index->get<uint64_t>() >= futures.size()) {
    throw DBOSError(ErrorCode::UnexpectedStep,
                    "workflow " + workflow.workflow_id + ": the recorded DBOS.select outcome " +
                        recorded.dump() + " names no future of the " +
                        std::to_string(futures.size()) +
                        " this Select was given (did the workflow's code change?)",
                    workflow.workflow_id);
  }
  const std::size_t chosen = index->get<std::size_t>();
  // On a replay the chosen step may still be replaying or running again: it finishes first.
  AwaitInterruptibly(workflow, [&] { return futures[chosen]->done; });
  return chosen;
}

}  // namespace dbos::detail

namespace dbos::executor {

detail::ErasedWorkflowFn WaitingForGoSteps(detail::ErasedWorkflowFn fn) {
  return [fn = std::move(fn)](DBOSContext& ctx, const nlohmann::json& input) -> nlohmann::json {
    struct Join {
      detail::WorkflowState* workflow;
      ~Join() {
        if (workflow == nullptr) return;
        try {
          workflow->go_steps.WaitAllFinished();
        } catch (...) {
          // Only a failing mutex could throw here; nothing is left to wait with.
        }
      }
    } join{detail::WorkflowOf(ctx).get()};
    return fn(ctx, input);
  };
}

}  // namespace dbos::executor
