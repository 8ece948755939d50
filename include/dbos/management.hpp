// Managing workflows from the application: listing them, reading their steps, cancelling,
// resuming and forking them. The same calls exist on a Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/handle.hpp"
#include "dbos/workflow_status.hpp"

namespace dbos {

/// Cancels a workflow: its status becomes CANCELLED (unless it already ended), it stops at the
/// start of its next step or at once when sleeping or waiting, a running step sees its
/// std::stop_token requested and its outcome is not recorded, and GetResult throws
/// AwaitedWorkflowCancelled. Throws NonExistentWorkflow for an unknown ID.
void CancelWorkflow(DBOSContext& ctx, const std::string& workflow_id);

namespace detail {
/// The filters of ListWorkflows (see the With… options below).
struct ListWorkflowsOptions {
  std::vector<WorkflowStatusType> statuses;
  std::optional<std::chrono::system_clock::time_point> start_time;
  std::optional<std::chrono::system_clock::time_point> end_time;
  std::vector<std::string> names;
  std::vector<std::string> application_versions;
  std::vector<std::string> users;
  std::vector<std::string> workflow_ids;
  std::vector<std::string> workflow_id_prefixes;
  std::vector<std::string> queue_names;
  std::vector<std::string> executor_ids;
  std::optional<int64_t> limit;
  int64_t offset = 0;
  bool sort_desc = false;
  std::optional<bool> load_input;   ///< nullopt: the caller's default.
  std::optional<bool> load_output;  ///< nullopt: the caller's default.
  bool queues_only = false;
};
std::vector<WorkflowStatus> ListWorkflowsErased(DBOSContext& ctx,
                                                const ListWorkflowsOptions& options);
std::shared_ptr<HandleCore> ResumeWorkflowErased(DBOSContext& ctx, const std::string& workflow_id,
                                                 const std::type_info& result_type);
}  // namespace detail

/// An option of ListWorkflows. Options of different kinds are AND-ed; values given to one kind
/// (several statuses, names, IDs…) are OR-ed.
struct ListWorkflowsOption {
  std::function<void(detail::ListWorkflowsOptions&)> apply;
};
/// Only workflows in one of these statuses.
inline ListWorkflowsOption WithStatus(std::vector<WorkflowStatusType> statuses) {
  return {[s = std::move(statuses)](detail::ListWorkflowsOptions& o) {
    o.statuses.insert(o.statuses.end(), s.begin(), s.end());
  }};
}
/// Only workflows created at or after `time`.
inline ListWorkflowsOption WithStartTime(std::chrono::system_clock::time_point time) {
  return {[time](detail::ListWorkflowsOptions& o) { o.start_time = time; }};
}
/// Only workflows created at or before `time`.
inline ListWorkflowsOption WithEndTime(std::chrono::system_clock::time_point time) {
  return {[time](detail::ListWorkflowsOptions& o) { o.end_time = time; }};
}
/// Only workflows registered under this name (repeat the option for several names).
inline ListWorkflowsOption WithName(std::string name) {
  return {[n = std::move(name)](detail::ListWorkflowsOptions& o) { o.names.push_back(n); }};
}
/// Only workflows of this application version (repeatable).
inline ListWorkflowsOption WithAppVersion(std::string version) {
  return {[v = std::move(version)](detail::ListWorkflowsOptions& o) {
    o.application_versions.push_back(v);
  }};
}
/// Only workflows started by this authenticated user (repeatable).
inline ListWorkflowsOption WithUser(std::string user) {
  return {[u = std::move(user)](detail::ListWorkflowsOptions& o) { o.users.push_back(u); }};
}
/// Only these workflows. Listing by ID also finds workflows of other applications.
inline ListWorkflowsOption WithWorkflowIDs(std::vector<std::string> ids) {
  return {[ids = std::move(ids)](detail::ListWorkflowsOptions& o) {
    o.workflow_ids.insert(o.workflow_ids.end(), ids.begin(), ids.end());
  }};
}
/// Only workflows whose ID starts with `prefix` (repeatable; the prefixes are OR-ed).
inline ListWorkflowsOption WithWorkflowIDPrefix(std::string prefix) {
  return {[p = std::move(prefix)](detail::ListWorkflowsOptions& o) {
    o.workflow_id_prefixes.push_back(p);
  }};
}
/// Only workflows on this queue (repeatable).
inline ListWorkflowsOption WithQueueName(std::string queue_name) {
  return {
      [q = std::move(queue_name)](detail::ListWorkflowsOptions& o) { o.queue_names.push_back(q); }};
}
/// Only workflows last run by one of these executors.
inline ListWorkflowsOption WithExecutorIDs(std::vector<std::string> executor_ids) {
  return {[ids = std::move(executor_ids)](detail::ListWorkflowsOptions& o) {
    o.executor_ids.insert(o.executor_ids.end(), ids.begin(), ids.end());
  }};
}
/// At most `limit` workflows (default: all). Negative: InvalidOption.
inline ListWorkflowsOption WithLimit(int64_t limit) {
  return {[limit](detail::ListWorkflowsOptions& o) { o.limit = limit; }};
}
/// Skips the first `offset` workflows of the order. Negative: InvalidOption.
inline ListWorkflowsOption WithOffset(int64_t offset) {
  return {[offset](detail::ListWorkflowsOptions& o) { o.offset = offset; }};
}
/// Newest first (default: oldest first, by creation time).
inline ListWorkflowsOption WithSortDesc(bool desc = true) {
  return {[desc](detail::ListWorkflowsOptions& o) { o.sort_desc = desc; }};
}
/// Whether `input` is read and decoded (default on a DBOSContext: true).
inline ListWorkflowsOption WithLoadInput(bool load) {
  return {[load](detail::ListWorkflowsOptions& o) { o.load_input = load; }};
}
/// Whether `output` and `error` are read and decoded (default on a DBOSContext: true).
inline ListWorkflowsOption WithLoadOutput(bool load) {
  return {[load](detail::ListWorkflowsOptions& o) { o.load_output = load; }};
}
/// Only workflows on a queue; unless WithStatus says otherwise, only those still ENQUEUED,
/// PENDING or DELAYED.
inline ListWorkflowsOption WithQueuesOnly() {
  return {[](detail::ListWorkflowsOptions& o) { o.queues_only = true; }};
}

/// The workflows matching the options, oldest first (by creation time). Without
/// WithWorkflowIDs, only this application's workflows and those no application claimed.
/// Inside a workflow it is a step ("DBOS.listWorkflows"): a replay sees the same list.
template <typename... Opts>
std::vector<WorkflowStatus> ListWorkflows(DBOSContext& ctx, Opts&&... opts) {
  static_assert((std::is_convertible_v<Opts, ListWorkflowsOption> && ...),
                "dbos::ListWorkflows: options must be ListWorkflowsOption values (WithStatus, …)");
  detail::ListWorkflowsOptions options;
  (ListWorkflowsOption(std::forward<Opts>(opts)).apply(options), ...);
  return detail::ListWorkflowsErased(ctx, options);
}

/// The recorded steps of a workflow, by step ID. Throws NonExistentWorkflow for an unknown ID.
/// Inside a workflow it is a step ("DBOS.getWorkflowSteps").
std::vector<StepInfo> GetWorkflowSteps(DBOSContext& ctx, const std::string& workflow_id);

/// Starts a CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED, PENDING, ENQUEUED or DELAYED workflow
/// again from its last recorded step, at once: it is enqueued on DBOS's internal queue (no
/// limits), its recovery attempts reset. A workflow that already ended (SUCCESS or ERROR) is left
/// as it is; the handle then returns its recorded outcome. Throws NonExistentWorkflow for an
/// unknown ID, InvalidOption for a workflow of another application. Inside a workflow it is a
/// step ("DBOS.resumeWorkflow").
template <typename R>
WorkflowHandle<R> ResumeWorkflow(DBOSContext& ctx, const std::string& workflow_id) {
  return detail::HandleAccess::Make<R>(detail::ResumeWorkflowErased(ctx, workflow_id, typeid(R)));
}

/// What ForkWorkflow starts.
struct ForkWorkflowInput {
  std::string original_workflow_id{};  ///< Required.
  std::string forked_workflow_id{};    ///< "" = a random UUID (in a workflow: derived, stable).
  /// The first step that runs again: the steps recorded below it (and the events and stream
  /// values they wrote) are reused, not run. 0 runs everything again; at most one past the last
  /// recorded step.
  int start_step = 0;
  std::string application_version{};  ///< "" = the original's.
  std::string queue_name{};           ///< "" = DBOS's internal queue (no limits).
  std::string queue_partition_key{};  ///< "" = none.
};

namespace detail {
std::shared_ptr<HandleCore> ForkWorkflowErased(DBOSContext& ctx, const ForkWorkflowInput& input,
                                               const std::type_info& result_type);
}  // namespace detail

/// Starts a new workflow with the original's name and input that reuses the original's
/// recorded steps below `start_step` and runs the rest, under the chosen application version.
/// Throws NonExistentWorkflow (unknown original), InvalidOption (a workflow of another
/// application, a start_step beyond the recorded steps), ConflictingID (the forked ID is
/// taken); nothing is written then. Inside a workflow it is a step ("DBOS.forkWorkflow").
template <typename R>
WorkflowHandle<R> ForkWorkflow(DBOSContext& ctx, const ForkWorkflowInput& input) {
  return detail::HandleAccess::Make<R>(detail::ForkWorkflowErased(ctx, input, typeid(R)));
}

}  // namespace dbos
