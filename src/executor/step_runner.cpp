// RunAsStep: the step checkpoint protocol (reference §4.2). RunStepBody, its first execution, is
// shared with dbos::Go (go_steps.cpp), whose steps run it on a step worker.
//
// First execution: run the body (with retries), then one database write records the outcome and
// reports a cancellation in the same round trip. Replay: the outcome recorded at this step ID is
// returned without running the body. Interrupted steps (cancel, timeout, shutdown) are not
// recorded, so they run again on resume: at-least-once for the body, exactly-once for the
// recorded outcome.
#include <algorithm>
#include <random>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "core/step_marks.hpp"
#include "core/validation.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/errors.hpp"
#include "executor/operation.hpp"
#include "executor/step_execution.hpp"
#include "serialization/codec.hpp"
#include "serialization/utf8.hpp"
#include "util/time_util.hpp"

namespace dbos::detail {
namespace {

std::chrono::milliseconds RetryDelay(const StepOptions& options, int attempt) {
  double delay = static_cast<double>(options.base_interval.count());
  for (int i = 0; i < attempt; ++i) delay *= options.backoff_factor;
  auto max_interval = options.max_interval;
  if (!options.max_interval_set) max_interval = std::max(max_interval, options.base_interval);
  delay = std::min(delay, static_cast<double>(max_interval.count()));
  thread_local std::mt19937 engine{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.95, 1.05);
  return std::chrono::milliseconds(static_cast<int64_t>(delay * jitter(engine)));
}

serialization::ErrorRecord RetriesExhausted(const StepOptions& options,
                                            const std::vector<std::string>& messages) {
  std::string joined;
  for (const auto& m : messages) joined += (joined.empty() ? "" : "; ") + m;
  return {std::string(ErrorCodeName(ErrorCode::MaxStepRetriesExceeded)),
          "Step " + options.name + " has exceeded its maximum of " +
              std::to_string(options.max_retries) + " retries: " + joined,
          static_cast<int>(ErrorCode::MaxStepRetriesExceeded)};
}

}  // namespace

void CheckStepOptions(const StepOptions& options) {
  if (options.max_retries < 0) {
    throw DBOSError(ErrorCode::InvalidOption, "WithStepMaxRetries must be >= 0");
  }
  // Recorded and compared on replay: PostgreSQL would cut it at a NUL, SQLite would not.
  ValidateName("WithStepName", options.name, false);
}

nlohmann::json RunStepErased(DBOSContext& ctx, const StepOptions& options,
                             const std::function<nlohmann::json(std::stop_token)>& body) {
  const auto& state_ptr = detail::WorkflowOf(ctx);
  if (!state_ptr) {
    throw DBOSError(
        ErrorCode::StepExecution,
        "RunAsStep must be called from inside a workflow (step '" + options.name + "')");
  }
  WorkflowState& state = *state_ptr;
  if (CallerStep(state)) return body(state.stop.get_token());  // nested: part of the outer step
  // Also when called from a thread of the workflow's own (its execution thread sets it already).
  CurrentWorkflowScope current(&state);
  CheckStepOptions(options);
  ThrowIfInterrupted(state);
  Runtime& runtime = detail::RuntimeOf(ctx);
  const int step_id = state.next_step_id++;
  if (const auto row = FindRecorded(state, step_id, options.name)) {
    return ReplayStep(runtime, state, *row, ErrorCode::StepExecution);
  }
  return RunStepBody(runtime, state, options, step_id, body, /*on_worker=*/false);
}

nlohmann::json RunStepBody(Runtime& runtime, WorkflowState& state, const StepOptions& options,
                           int step_id, const std::function<nlohmann::json(std::stop_token)>& body,
                           bool on_worker) {
  sysdb::StepWrite write = NewCheckpoint(runtime, state, step_id, options.name);

  nlohmann::json output;
  std::optional<serialization::ErrorRecord> last_error;
  std::vector<std::string> attempt_messages;
  for (int attempt = 0;; ++attempt) {
    try {
      StepMarkScope mark(state, step_id, /*inline_step=*/!on_worker);
      output = body(state.stop.get_token());
      serialization::CheckRepresentable(output);  // fails the attempt, as a throw would
      ThrowIfInterrupted(state);                  // an interrupted step's outcome is not recorded
      last_error.reset();
      break;
    } catch (const ShutdownInterrupt&) {
      throw;
    } catch (...) {
      if (state.Pending() != Interruption::None) ThrowInterruption(state, state.Pending());
      last_error = serialization::CaptureCurrentException();
      attempt_messages.push_back(last_error->message);
    }
    if (attempt >= options.max_retries) break;
    const auto delay = RetryDelay(options, attempt);
    runtime.Log().Log(LogLevel::Debug, "workflow " + state.workflow_id + " step " + options.name +
                                           " failed (" + last_error->message + "); retrying in " +
                                           std::to_string(delay.count()) + " ms");
    const bool waited = on_worker
                            ? state.go_steps.SleepUntil(state.stop.get_token(),
                                                        std::chrono::steady_clock::now() + delay)
                            : state.WaitFor(delay);
    if (!waited) ThrowInterruption(state, state.Pending());
  }
  bool unstorable = false;
  if (!last_error) {
    // A result JSON cannot carry is the step's error, recorded so that replays see it too.
    if (const auto bad = serialization::DescribeInvalidUtf8(output)) {
      unstorable = true;
      last_error = serialization::ErrorRecord{
          std::string(ErrorCodeName(ErrorCode::StepExecution)),
          "the result of step " + options.name + " could not be stored: it is not valid UTF-8 (" +
              *bad + "); return text as UTF-8, or binary data encoded (e.g. base64)",
          static_cast<int>(ErrorCode::StepExecution)};
    }
  }
  if (last_error) {
    if (options.max_retries > 0 && !unstorable) {
      last_error = RetriesExhausted(options, attempt_messages);
    }
    last_error = serialization::StorableError(*last_error, "the error of step " + options.name);
    write.error = serialization::EncodeError(*last_error);
  } else {
    write.output = serialization::EncodeValue(output);
  }
  write.completed_at_epoch_ms = util::NowEpochMs();

  nlohmann::json replayed;
  if (HandleCheckpointResult(runtime, state, write, runtime.Db().RecordStep(write),
                             ErrorCode::StepExecution, &replayed)) {
    return replayed;
  }
  if (last_error)
    runtime.ErrorTypes().Throw(*last_error, ErrorCode::StepExecution, state.workflow_id);
  return output;
}

}  // namespace dbos::detail
