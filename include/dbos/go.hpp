// Durable concurrency inside a workflow. Go runs a step on a step worker thread while the
// workflow carries on and returns a StepFuture for its outcome; Select records durably which of
// several futures finished first, so that a replay takes the same branch.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/errors.hpp"
#include "dbos/serialization.hpp"
#include "dbos/step.hpp"

namespace dbos {

class StepFutureBase;
template <typename R>
class StepFuture;

namespace detail {
struct StepFutureState;  // defined in the library's sources only

/// Starts `body` as the next step of the calling workflow (its ID is taken now) on a step
/// worker, or replays the outcome recorded at that ID. Throws what RunAsStep throws up front.
std::shared_ptr<StepFutureState> GoErased(DBOSContext& ctx, const StepOptions& options,
                                          std::function<nlohmann::json(std::stop_token)> body);
/// Waits for the step's outcome: returns its value or rethrows its error; throws the workflow's
/// interruption (cancellation, shutdown) if that comes first.
const nlohmann::json& AwaitStepFuture(const StepFutureState& state);
/// True once the step's outcome is known.
bool StepFutureReady(const StepFutureState& state);
/// The step's ID in its workflow.
int StepFutureStepID(const StepFutureState& state) noexcept;
/// The ID of the step's workflow.
const std::string& StepFutureWorkflowID(const StepFutureState& state) noexcept;
/// Waits until the step's body no longer runs, whatever happens meanwhile. Never throws.
void JoinStepFuture(const StepFutureState& state) noexcept;
/// Select's core: `futures` are non-null and of the calling workflow (checked there).
std::size_t SelectErased(DBOSContext& ctx, const std::vector<const StepFutureState*>& futures);

/// Builds futures and reads their state.
struct StepFutureAccess {
  template <typename R>
  static StepFuture<R> Make(std::shared_ptr<StepFutureState> state) {
    return StepFuture<R>(std::move(state));
  }
  static const StepFutureState* Of(const StepFutureBase& future) noexcept;
};
}  // namespace detail

/// The outcome of a step started with Go, whatever its result type (what Select takes). Move-only.
/// Destroying a future whose step still runs waits for the step's body to return: the body may
/// use what the workflow is about to destroy (lambda captures by reference).
class StepFutureBase {
 public:
  /// True when the future refers to a step (false when default-constructed or moved from).
  bool Valid() const noexcept { return state_ != nullptr; }
  /// True once the step's outcome is known (Get then returns at once). Throws InvalidOption on
  /// an empty future.
  bool Ready() const { return detail::StepFutureReady(State()); }
  /// The step's ID in its workflow. Throws InvalidOption on an empty future.
  int StepID() const { return detail::StepFutureStepID(State()); }

 protected:
  StepFutureBase() = default;
  explicit StepFutureBase(std::shared_ptr<detail::StepFutureState> state) noexcept
      : state_(std::move(state)) {}
  StepFutureBase(StepFutureBase&&) noexcept = default;
  StepFutureBase& operator=(StepFutureBase&& other) noexcept {
    if (this != &other) {
      Join();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~StepFutureBase() { Join(); }

  const detail::StepFutureState& State() const {
    if (!state_) throw DBOSError(ErrorCode::InvalidOption, "empty StepFuture (moved from?)");
    return *state_;
  }
  /// The step's value as JSON, or its error rethrown.
  const nlohmann::json& Await() const { return detail::AwaitStepFuture(State()); }

 private:
  friend struct detail::StepFutureAccess;
  void Join() noexcept {
    if (state_) detail::JoinStepFuture(*state_);
  }
  std::shared_ptr<detail::StepFutureState> state_;
};

/// The outcome of a step started with Go, whose result has type R.
template <typename R>
class StepFuture : public StepFutureBase {
 public:
  /// An empty future; Get on it throws InvalidOption.
  StepFuture() = default;
  /// Waits for the step and returns its result, or throws its error, as RunAsStep would (a type
  /// registered with RegisterErrorType, else DBOSError(StepExecution); MaxStepRetriesExceeded).
  /// Calling it again returns the same result (or throws the same error). A cancellation or
  /// shutdown of the workflow ends the wait with DBOSError(WorkflowCancelled) or the shutdown.
  /// Throws WorkflowUnexpectedType when a replayed result is not an R.
  R Get() const {
    const nlohmann::json& value = Await();
    if constexpr (std::is_void_v<R>) {
      (void)value;
    } else {
      return detail::DecodeAs<R>(value, detail::StepFutureWorkflowID(State()));
    }
  }

 private:
  friend struct detail::StepFutureAccess;
  explicit StepFuture(std::shared_ptr<detail::StepFutureState> state) noexcept
      : StepFutureBase(std::move(state)) {}
};

namespace detail {
inline const StepFutureState* StepFutureAccess::Of(const StepFutureBase& future) noexcept {
  return future.state_.get();
}
}  // namespace detail

/// Runs `fn` (callable as R() or R(std::stop_token)) as the next checkpointed step of the
/// current workflow on a step worker thread, and returns at once with a StepFuture<R> for its
/// outcome. The step ID is taken at this call, so IDs follow the order of the calls, whatever
/// order the steps finish in. Options and the checkpoint protocol are RunAsStep's: the outcome is
/// recorded once, a replay returns it without running `fn`, and a step interrupted by
/// cancellation or shutdown is not recorded. `fn` is moved into the worker. The workflow does not
/// end (nor record its outcome) while a step it started with Go still runs. Throws
/// StepExecution outside a workflow or inside a step ("cannot call Go within a step"),
/// InvalidOption for bad options, UnexpectedStep when another step is recorded at this position.
template <typename F, typename... Opts>
auto Go(DBOSContext& ctx, F&& fn, Opts&&... opts) {
  using D = std::conditional_t<std::is_function_v<std::remove_reference_t<F>>,
                               std::add_pointer_t<std::remove_reference_t<F>>, std::decay_t<F>>;
  static_assert(detail::StepWithStopToken<D> || detail::StepWithoutArgs<D>,
                "dbos::Go: a step must be callable as R() or R(std::stop_token)");
  using Invoked = decltype(detail::InvokeStep(std::declval<D&>(), std::stop_token{}));
  using R = std::conditional_t<std::is_void_v<Invoked>, void, std::remove_cvref_t<Invoked>>;
  static_assert(std::is_void_v<R> || Serializable<R>,
                "dbos::Go: the step's result type must be void or serializable to JSON "
                "(give it to_json/from_json or NLOHMANN_DEFINE_TYPE_* macros)");
  static_assert((std::is_convertible_v<Opts, StepOption> && ...),
                "dbos::Go: options must be StepOption values (WithStepName, …)");
  auto callable = std::make_shared<D>(std::forward<F>(fn));
  detail::StepOptions options;
  (StepOption(std::forward<Opts>(opts)).apply(options), ...);
  if (options.name.empty()) options.name = detail::StepNameOf(*callable);
  auto state = detail::GoErased(ctx, options, [callable](std::stop_token token) -> nlohmann::json {
    if constexpr (std::is_void_v<R>) {
      detail::InvokeStep(*callable, std::move(token));
      return nullptr;
    } else {
      return nlohmann::json(detail::InvokeStep(*callable, std::move(token)));
    }
  });
  return detail::StepFutureAccess::Make<R>(std::move(state));
}

/// Waits until one of `futures` (steps of the current workflow started with Go) has finished,
/// successfully or not, and returns its index. The choice is recorded as the step "DBOS.select"
/// (with the winner's value), and a replay returns the recorded index whatever finishes first
/// then, so the workflow takes the same branch. When several have finished by the time Select
/// looks, the lowest index wins: list the futures in order of preference. Select does not throw
/// the winner's error (its Get does). Throws InvalidOption for an empty list, an empty future or
/// one of another workflow; StepExecution outside a workflow or inside a step; the workflow's
/// cancellation or shutdown while it waits (nothing is recorded then).
inline std::size_t Select(DBOSContext& ctx, const std::vector<const StepFutureBase*>& futures) {
  std::vector<const detail::StepFutureState*> states;
  states.reserve(futures.size());
  for (std::size_t i = 0; i < futures.size(); ++i) {
    const detail::StepFutureState* state =
        futures[i] == nullptr ? nullptr : detail::StepFutureAccess::Of(*futures[i]);
    if (state == nullptr) {
      throw DBOSError(ErrorCode::InvalidOption,
                      "Select: future " + std::to_string(i) + " is null or empty (moved from?)");
    }
    states.push_back(state);
  }
  return detail::SelectErased(ctx, states);
}

}  // namespace dbos
