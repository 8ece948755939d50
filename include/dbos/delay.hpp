// Delayed starts and debouncing. A workflow started WithDelay (workflow.hpp) is recorded DELAYED
// and becomes ENQUEUED on its queue at its time; SetWorkflowDelay moves that time while it waits.
// A Debouncer runs a workflow once per burst of calls: each Debounce with the same key pushes the
// start back by its delay (never past the debouncer's timeout, counted from the burst's first
// call) and replaces the input, so the workflow runs once, with the last input.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/handle.hpp"
#include "dbos/workflow.hpp"

namespace dbos {

namespace detail {
/// When SetWorkflowDelay starts the workflow: exactly one of the two.
struct DelaySpec {
  std::optional<std::chrono::milliseconds> duration;
  std::optional<std::chrono::system_clock::time_point> until;
  int given = 0;
};
void SetWorkflowDelayErased(DBOSContext& ctx, const std::string& workflow_id,
                            const DelaySpec& spec);

/// A debouncer's settings.
struct DebouncerSettings {
  std::chrono::milliseconds timeout{0};  ///< 0: no cap.
  std::string queue_name;                ///< "" = DBOS's internal queue.
};
/// Checks that the workflow is registered (and the queue, when named); returns its name.
std::string CheckDebouncerErased(DBOSContext& ctx, const std::string& callable_key,
                                 const DebouncerSettings& settings);
std::shared_ptr<HandleCore> DebounceErased(DBOSContext& ctx, const std::string& callable_key,
                                           const DebouncerSettings& settings,
                                           const std::string& key, std::chrono::milliseconds delay,
                                           nlohmann::json input, const RunOptions& options);
}  // namespace detail

/// An option of SetWorkflowDelay.
struct DelayOption {
  std::function<void(detail::DelaySpec&)> apply;
};
/// The workflow starts `delay` from now.
inline DelayOption WithDelayDuration(std::chrono::milliseconds delay) {
  return {[delay](detail::DelaySpec& s) {
    s.duration = delay;
    ++s.given;
  }};
}
/// The workflow starts at `time`.
inline DelayOption WithDelayUntil(std::chrono::system_clock::time_point time) {
  return {[time](detail::DelaySpec& s) {
    s.until = time;
    ++s.given;
  }};
}

/// Moves the start of a DELAYED workflow; give exactly one of WithDelayDuration and
/// WithDelayUntil (InvalidOption otherwise). Throws NonExistentWorkflow for an unknown ID and
/// InvalidOption when the workflow is no longer DELAYED. Inside a workflow it is a step
/// ("DBOS.setWorkflowDelay"): a replay does not move the time again.
template <typename... Opts>
void SetWorkflowDelay(DBOSContext& ctx, const std::string& workflow_id, Opts&&... opts) {
  static_assert((std::is_convertible_v<Opts, DelayOption> && ...),
                "dbos::SetWorkflowDelay: options must be WithDelayDuration or WithDelayUntil");
  detail::DelaySpec spec;
  (DelayOption(std::forward<Opts>(opts)).apply(spec), ...);
  detail::SetWorkflowDelayErased(ctx, workflow_id, spec);
}

/// An option of NewDebouncer.
struct DebouncerOption {
  std::function<void(detail::DebouncerSettings&)> apply;
};
/// The longest a burst can hold the workflow back, from its first Debounce (0: no cap).
inline DebouncerOption WithDebouncerTimeout(std::chrono::milliseconds timeout) {
  return {[timeout](detail::DebouncerSettings& s) { s.timeout = timeout; }};
}
/// The queue the workflow runs on (default: DBOS's internal queue).
inline DebouncerOption WithDebouncerQueue(std::string queue_name) {
  return {[q = std::move(queue_name)](detail::DebouncerSettings& s) { s.queue_name = q; }};
}

/// Debounces one registered workflow; see NewDebouncer.
template <typename D>
class Debouncer {
 public:
  using Input = typename detail::WorkflowSignature<D>::Input;
  using Result = typename detail::WorkflowSignature<D>::Result;

  Debouncer(std::string callable_key, std::string workflow_name, detail::DebouncerSettings settings)
      : callable_key_(std::move(callable_key)),
        workflow_name_(std::move(workflow_name)),
        settings_(std::move(settings)) {}

  /// Starts the workflow `delay` from now with `input`, unless a call with the same `key` is
  /// still waiting: then that workflow starts `delay` from now instead (capped by the timeout)
  /// and gets this input. Returns the handle of the one workflow that runs. Options may not set
  /// a queue, deduplication ID, delay, priority or partition key (InvalidOption).
  template <typename In, typename... Opts>
  WorkflowHandle<Result> Debounce(DBOSContext& ctx, const std::string& key,
                                  std::chrono::milliseconds delay, In&& input,
                                  Opts&&... opts) const {
    static_assert(std::is_convertible_v<In, Input>,
                  "dbos::Debouncer::Debounce: the input is not the workflow's input type");
    static_assert((std::is_convertible_v<Opts, WorkflowOption> && ...),
                  "dbos::Debouncer::Debounce: options must be WorkflowOption values");
    detail::RunOptions options;
    (WorkflowOption(std::forward<Opts>(opts)).apply(options), ...);
    nlohmann::json encoded = detail::EncodeAs(Input(std::forward<In>(input)), "Debounce's input");
    return detail::HandleAccess::Make<Result>(detail::DebounceErased(
        ctx, callable_key_, settings_, key, delay, std::move(encoded), options));
  }

  /// The debounced workflow's registered name.
  const std::string& WorkflowName() const noexcept { return workflow_name_; }
  /// The cap on how long a burst holds the workflow back (0: none).
  std::chrono::milliseconds Timeout() const noexcept { return settings_.timeout; }

 private:
  std::string callable_key_;
  std::string workflow_name_;
  detail::DebouncerSettings settings_;
};

/// A debouncer of `fn`, which must be registered (InvalidOption otherwise; QueueNotFound for an
/// unknown WithDebouncerQueue).
template <typename F, typename... Opts>
Debouncer<detail::DecayedWorkflow<F>> NewDebouncer(DBOSContext& ctx, F&& fn, Opts&&... opts) {
  using D = detail::DecayedWorkflow<F>;
  static_assert(detail::WorkflowCallable<D>,
                "dbos::NewDebouncer: the workflow must be callable as R(dbos::DBOSContext&, P)");
  static_assert((std::is_convertible_v<Opts, DebouncerOption> && ...),
                "dbos::NewDebouncer: options must be WithDebouncerTimeout or WithDebouncerQueue");
  detail::DebouncerSettings settings;
  (DebouncerOption(std::forward<Opts>(opts)).apply(settings), ...);
  D callable = fn;
  std::string key = detail::CallableKey(callable);
  std::string name = detail::CheckDebouncerErased(ctx, key, settings);
  return Debouncer<D>(std::move(key), std::move(name), std::move(settings));
}

}  // namespace dbos
