// Steps: the units of work a workflow checkpoints. RunAsStep runs a callable once, records its
// outcome, and on a replay returns the recorded outcome instead of running it again.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/serialization.hpp"

namespace dbos {

/// An option of RunAsStep.
struct StepOption {
  std::function<void(detail::StepOptions&)> apply;
};
/// The step's recorded name, checked on replay. Default: the function's qualified name for a
/// function, the class's qualified name for a named function object, and "<lambda>" for a lambda
/// (compilers name lambdas differently, and the names shift with unrelated edits). Give lambda
/// steps a name to have replays check that the same step runs at each position.
inline StepOption WithStepName(std::string name) {
  return {[name = std::move(name)](detail::StepOptions& o) {
    if (o.name.empty()) o.name = name;  // the first name given wins
  }};
}
/// Retries after a failure (default 0: one attempt). Exhausted retries throw
/// MaxStepRetriesExceeded.
inline StepOption WithStepMaxRetries(int max_retries) {
  return {[max_retries](detail::StepOptions& o) { o.max_retries = max_retries; }};
}
/// Delay before the first retry (default 100 ms).
inline StepOption WithBaseInterval(std::chrono::milliseconds interval) {
  return {[interval](detail::StepOptions& o) { o.base_interval = interval; }};
}
/// Multiplier of the delay after each retry (default 2.0).
inline StepOption WithBackoffFactor(double factor) {
  return {[factor](detail::StepOptions& o) { o.backoff_factor = factor; }};
}
/// Upper bound of the delay between retries (default 5 s).
inline StepOption WithMaxInterval(std::chrono::milliseconds interval) {
  return {[interval](detail::StepOptions& o) {
    o.max_interval = interval;
    o.max_interval_set = true;
  }};
}

namespace detail {
template <typename F>
concept StepWithStopToken = std::is_invocable_v<F&, std::stop_token>;
template <typename F>
concept StepWithoutArgs = std::is_invocable_v<F&>;

template <typename F>
auto InvokeStep(F& fn, std::stop_token token) {
  if constexpr (StepWithStopToken<F>) {
    return std::invoke(fn, std::move(token));
  } else {
    (void)token;
    return std::invoke(fn);
  }
}

template <typename F>
std::string StepNameOf(const F& fn) {
  using D = std::decay_t<F>;
  if constexpr (std::is_pointer_v<D> && std::is_function_v<std::remove_pointer_t<D>>) {
    return DefaultStepName(FunctionAddress(fn), typeid(D));
  } else {
    (void)fn;
    return DefaultStepName(nullptr, typeid(D));
  }
}
}  // namespace detail

/// Runs `fn` (callable as R() or R(std::stop_token)) as a checkpointed step of the current
/// workflow and returns its result. On a replay the recorded result is returned (or the recorded
/// error rethrown) without running `fn`. A step interrupted before its checkpoint runs again
/// (at-least-once). Errors: what `fn` threw, if its type is registered (RegisterErrorType), else
/// DBOSError(StepExecution); MaxStepRetriesExceeded when retries are exhausted; StepExecution
/// outside a workflow; UnexpectedStep when another step is recorded at this position.
template <typename F, typename... Opts>
auto RunAsStep(DBOSContext& ctx, F&& fn, Opts&&... opts) {
  using D = std::conditional_t<std::is_function_v<std::remove_reference_t<F>>,
                               std::add_pointer_t<std::remove_reference_t<F>>, std::decay_t<F>>;
  static_assert(detail::StepWithStopToken<D> || detail::StepWithoutArgs<D>,
                "dbos::RunAsStep: a step must be callable as R() or R(std::stop_token)");
  using R = decltype(detail::InvokeStep(std::declval<D&>(), std::stop_token{}));
  static_assert(std::is_void_v<R> || Serializable<R>,
                "dbos::RunAsStep: the step's result type must be void or serializable to JSON "
                "(give it to_json/from_json or NLOHMANN_DEFINE_TYPE_* macros)");
  static_assert((std::is_convertible_v<Opts, StepOption> && ...),
                "dbos::RunAsStep: options must be StepOption values (WithStepName, …)");
  D callable = fn;
  detail::StepOptions options;
  (StepOption(std::forward<Opts>(opts)).apply(options), ...);
  if (options.name.empty()) options.name = detail::StepNameOf(callable);
  nlohmann::json out =
      detail::RunStepErased(ctx, options, [&callable](std::stop_token token) -> nlohmann::json {
        if constexpr (std::is_void_v<R>) {
          detail::InvokeStep(callable, std::move(token));
          return nullptr;
        } else {
          return nlohmann::json(detail::InvokeStep(callable, std::move(token)));
        }
      });
  if constexpr (!std::is_void_v<R>) {
    return detail::DecodeAs<R>(out, GetWorkflowID(ctx));
  }
}

}  // namespace dbos
