// Registering and starting workflows. A workflow is any callable R(dbos::DBOSContext&, P) where
// P and R are Serializable; the library records its input, its steps and its result, and resumes
// it from the last completed step after a crash.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/handle.hpp"
#include "dbos/serialization.hpp"

namespace dbos {

// ---- Registration options ----------------------------------------------------------------------

/// An option of RegisterWorkflow.
struct RegistrationOption {
  std::function<void(detail::RegistrationSpec&)> apply;
};
/// The workflow's registered name (stored in workflow_status.name). Required for lambdas.
inline RegistrationOption WithWorkflowName(std::string name) {
  return {[name = std::move(name)](detail::RegistrationSpec& s) { s.explicit_name = name; }};
}
/// Maximum recovery attempts before the workflow is dead-lettered
/// (MAX_RECOVERY_ATTEMPTS_EXCEEDED). Default 100; <= 0 means unlimited.
inline RegistrationOption WithMaxRetries(int max_retries) {
  return {[max_retries](detail::RegistrationSpec& s) { s.max_retries = max_retries; }};
}
/// Runs the workflow on a cron schedule: six fields with seconds ("0 */15 * * * *"), a descriptor
/// ("@hourly", "@every 30s"), optionally after "CRON_TZ=<IANA zone> ". At Launch it becomes the
/// schedule named after the workflow (ApplySchedules: a paused one stays paused). The workflow
/// takes std::chrono::system_clock::time_point (the tick's time) or dbos::ScheduledWorkflowInput.
/// An invalid expression throws InvalidOption naming the bad field.
inline RegistrationOption WithSchedule(std::string cron) {
  return {[cron = std::move(cron)](detail::RegistrationSpec& s) { s.schedule = cron; }};
}

// ---- Run options -------------------------------------------------------------------------------

/// An option of RunWorkflow.
struct WorkflowOption {
  std::function<void(detail::RunOptions&)> apply;
};
/// The workflow's ID, its idempotency key: the same ID runs the workflow once. Non-empty UTF-8
/// text of at most 1,000 bytes without NUL bytes (InvalidOption otherwise).
inline WorkflowOption WithWorkflowID(std::string id) {
  return {[id = std::move(id)](detail::RunOptions& o) {
    o.workflow_id = id;
    o.workflow_id_given = true;
  }};
}
/// Enqueues the workflow on the named queue instead of running it at once.
inline WorkflowOption WithQueue(std::string queue_name) {
  return {[q = std::move(queue_name)](detail::RunOptions& o) { o.queue_name = q; }};
}
/// Deduplication ID on the queue: a second enqueue with the same ID throws QueueDeduplicated.
inline WorkflowOption WithDeduplicationID(std::string id) {
  return {[id = std::move(id)](detail::RunOptions& o) { o.deduplication_id = id; }};
}
/// Queue priority: lower runs earlier; 0 (default) first.
inline WorkflowOption WithPriority(int priority) {
  return {[priority](detail::RunOptions& o) { o.priority = priority; }};
}
/// Runs the workflow under this application version (only executors of it recover it).
inline WorkflowOption WithApplicationVersion(std::string version) {
  return {[v = std::move(version)](detail::RunOptions& o) { o.application_version = v; }};
}
/// Records the authenticated user on the workflow.
inline WorkflowOption WithAuthenticatedUser(std::string user) {
  return {[u = std::move(user)](detail::RunOptions& o) { o.authenticated_user = u; }};
}
/// Starts the workflow `delay` from now: it is recorded DELAYED and becomes ENQUEUED on its queue
/// (WithQueue, or DBOS's internal queue) at that time. SetWorkflowDelay moves the time. A delay
/// is at most 10 years; a negative one means none.
inline WorkflowOption WithDelay(std::chrono::milliseconds delay) {
  return {[delay](detail::RunOptions& o) { o.delay = delay; }};
}
/// Partition key on a partitioned queue.
inline WorkflowOption WithQueuePartitionKey(std::string key) {
  return {[k = std::move(key)](detail::RunOptions& o) { o.queue_partition_key = k; }};
}

// ---- Signature checks --------------------------------------------------------------------------

namespace detail {
template <typename F>
struct WorkflowSignature : WorkflowSignature<decltype(&std::decay_t<F>::operator())> {};
template <typename R, typename P>
struct WorkflowSignature<R (*)(DBOSContext&, P)> {
  using Result = R;
  using Input = std::decay_t<P>;
};
template <typename R, typename P>
struct WorkflowSignature<R(DBOSContext&, P)> : WorkflowSignature<R (*)(DBOSContext&, P)> {};
template <typename C, typename R, typename P>
struct WorkflowSignature<R (C::*)(DBOSContext&, P) const>
    : WorkflowSignature<R (*)(DBOSContext&, P)> {};
template <typename C, typename R, typename P>
struct WorkflowSignature<R (C::*)(DBOSContext&, P)> : WorkflowSignature<R (*)(DBOSContext&, P)> {};

template <typename F>
concept WorkflowCallable = requires {
  typename WorkflowSignature<std::decay_t<F>>::Result;
};

template <typename T>
constexpr bool kStorable = std::is_void_v<T> || Serializable<T>;

template <typename F>
using DecayedWorkflow =
    std::conditional_t<std::is_function_v<std::remove_reference_t<F>>,
                       std::add_pointer_t<std::remove_reference_t<F>>, std::decay_t<F>>;
}  // namespace detail

// ---- API ---------------------------------------------------------------------------------------

/// Registers a workflow. Call before Launch. A free function gets a name derived from its symbol
/// unless WithWorkflowName is given; a lambda or function object needs WithWorkflowName. The
/// callable is copied at registration, and every execution invokes a fresh copy of that object:
/// state a function object changes during one execution is neither seen by other executions nor
/// kept afterwards (share state through a pointer you synchronise yourself). Throws
/// ConflictingRegistration for a duplicate name or function, InvalidOption when no name can be
/// derived, Initialization after Launch.
template <typename F, typename... Opts>
void RegisterWorkflow(DBOSContext& ctx, F&& fn, Opts&&... opts) {
  using D = detail::DecayedWorkflow<F>;
  static_assert(detail::WorkflowCallable<D>,
                "dbos::RegisterWorkflow: a workflow must be callable as R(dbos::DBOSContext&, P)");
  using Sig = detail::WorkflowSignature<D>;
  using R = typename Sig::Result;
  using P = typename Sig::Input;
  static_assert(Serializable<P>,
                "dbos::RegisterWorkflow: the workflow's input type must be serializable to JSON "
                "(give it to_json/from_json or NLOHMANN_DEFINE_TYPE_* macros)");
  static_assert(detail::kStorable<R>,
                "dbos::RegisterWorkflow: the workflow's result type must be void or serializable "
                "to JSON (give it to_json/from_json or NLOHMANN_DEFINE_TYPE_* macros)");
  static_assert((std::is_convertible_v<Opts, RegistrationOption> && ...),
                "dbos::RegisterWorkflow: options must be WithWorkflowName, WithMaxRetries or "
                "WithSchedule");
  static_assert(std::is_copy_constructible_v<D>,
                "dbos::RegisterWorkflow: a workflow callable must be copyable (each execution "
                "runs its own copy)");
  D callable = fn;
  detail::RegistrationSpec spec;
  spec.key = detail::CallableKey(callable);
  if constexpr (std::is_pointer_v<D>) {
    spec.derived_name = detail::SymbolNameAt(detail::FunctionAddress(callable));
  }
  spec.input_type = &typeid(P);
  spec.output_type = &typeid(R);
  // Executions run concurrently, so none may share the registered object: each one invokes its
  // own copy, made from the callable as it was at registration.
  spec.fn = [callable](DBOSContext& wctx, const nlohmann::json& input) -> nlohmann::json {
    // A scheduled run's input is {"scheduled_time", "context"}: a time-point workflow takes the
    // time.
    const bool scheduled = std::is_same_v<P, std::chrono::system_clock::time_point> &&
                           input.is_object() && input.contains("scheduled_time");
    P decoded =
        detail::DecodeAs<P>(scheduled ? input.at("scheduled_time") : input, GetWorkflowID(wctx));
    D own = callable;
    if constexpr (std::is_void_v<R>) {
      std::invoke(own, wctx, std::move(decoded));
      return nullptr;
    } else {
      return nlohmann::json(std::invoke(own, wctx, std::move(decoded)));
    }
  };
  (RegistrationOption(std::forward<Opts>(opts)).apply(spec), ...);
  detail::RegisterWorkflowErased(ctx, std::move(spec));
}

/// Starts a registered workflow in the background and returns its handle at once (or enqueues it
/// with WithQueue). Inside a workflow it starts a child workflow. Throws Initialization before
/// Launch, InvalidOption for an unregistered workflow, UnexpectedWorkflow when the ID belongs to
/// another workflow, QueueDeduplicated on a deduplication conflict.
template <typename F, typename In, typename... Opts>
auto RunWorkflow(DBOSContext& ctx, F&& fn, In&& input, Opts&&... opts)
    -> WorkflowHandle<typename detail::WorkflowSignature<detail::DecayedWorkflow<F>>::Result> {
  using D = detail::DecayedWorkflow<F>;
  using Sig = detail::WorkflowSignature<D>;
  using R = typename Sig::Result;
  using P = typename Sig::Input;
  static_assert(std::is_convertible_v<In, P>,
                "dbos::RunWorkflow: the input is not convertible to the workflow's input type");
  static_assert((std::is_convertible_v<Opts, WorkflowOption> && ...),
                "dbos::RunWorkflow: options must be WorkflowOption values (WithWorkflowID, …)");
  detail::RunOptions options;
  (WorkflowOption(std::forward<Opts>(opts)).apply(options), ...);
  D callable = fn;
  nlohmann::json encoded = detail::EncodeAs(P(std::forward<In>(input)), "RunWorkflow's input");
  return detail::HandleAccess::Make<R>(
      detail::RunWorkflowErased(ctx, detail::CallableKey(callable), std::move(encoded), options));
}

/// A handle to any workflow by ID. Throws NonExistentWorkflow for an unknown ID, and
/// WorkflowUnexpectedType when the workflow is registered here with a result type other than R.
template <typename R>
WorkflowHandle<R> RetrieveWorkflow(DBOSContext& ctx, const std::string& workflow_id) {
  return detail::HandleAccess::Make<R>(detail::RetrieveWorkflowErased(ctx, workflow_id, typeid(R)));
}

}  // namespace dbos
