// ListWorkflows and GetWorkflowSteps for contexts and clients (management.hpp).
#include <string>

#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "executor/handles.hpp"
#include "management/management.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"

namespace dbos::management {
namespace {

void ValidateAll(const char* what, const std::vector<std::string>& values) {
  for (const std::string& value : values) detail::ValidateName(what, value, true);
}

std::optional<std::chrono::system_clock::time_point> OptionalTime(
    const std::optional<int64_t>& ms) {
  if (!ms) return std::nullopt;
  return util::FromEpochMs(*ms);
}

std::optional<int64_t> OptionalMs(const std::optional<std::chrono::system_clock::time_point>& t) {
  if (!t) return std::nullopt;
  return util::ToEpochMs(*t);
}

}  // namespace

void ValidateListOptions(const detail::ListWorkflowsOptions& options) {
  if (options.limit && *options.limit < 0) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "ListWorkflows: WithLimit must not be negative (leave it out for no limit)");
  }
  if (options.offset < 0) {
    throw DBOSError(ErrorCode::InvalidOption, "ListWorkflows: WithOffset must not be negative");
  }
  ValidateAll("ListWorkflows' WithName", options.names);
  ValidateAll("ListWorkflows' WithAppVersion", options.application_versions);
  ValidateAll("ListWorkflows' WithUser", options.users);
  ValidateAll("ListWorkflows' WithWorkflowIDs", options.workflow_ids);
  ValidateAll("ListWorkflows' WithWorkflowIDPrefix", options.workflow_id_prefixes);
  ValidateAll("ListWorkflows' WithQueueName", options.queue_names);
  ValidateAll("ListWorkflows' WithExecutorIDs", options.executor_ids);
}

std::vector<WorkflowStatus> ListWorkflows(const Target& target,
                                          const detail::ListWorkflowsOptions& options,
                                          bool default_load_values) {
  ValidateListOptions(options);
  sysdb::WorkflowFilter filter;
  for (WorkflowStatusType status : options.statuses) {
    filter.statuses.emplace_back(ToString(status));
  }
  if (options.queues_only && filter.statuses.empty()) {
    filter.statuses = {"ENQUEUED", "PENDING", "DELAYED"};
  }
  filter.created_after_ms = OptionalMs(options.start_time);
  filter.created_before_ms = OptionalMs(options.end_time);
  filter.names = options.names;
  filter.application_versions = options.application_versions;
  filter.authenticated_users = options.users;
  filter.workflow_ids = options.workflow_ids;
  filter.workflow_id_prefixes = options.workflow_id_prefixes;
  filter.queue_names = options.queue_names;
  filter.executor_ids = options.executor_ids;
  filter.queues_only = options.queues_only;
  // Scoped to this application and unclaimed rows, unless the caller names the workflows.
  if (options.workflow_ids.empty() && !target.application_name.empty()) {
    filter.application_name = target.application_name;
  }
  filter.limit = options.limit;
  filter.offset = options.offset;
  filter.sort_desc = options.sort_desc;
  filter.load_input = options.load_input.value_or(default_load_values);
  filter.load_output = options.load_output.value_or(default_load_values);

  std::vector<WorkflowStatus> out;
  const std::vector<sysdb::WorkflowRow> rows = target.db.ListWorkflows(filter);
  out.reserve(rows.size());
  for (const sysdb::WorkflowRow& row : rows) out.push_back(executor::ToWorkflowStatus(row));
  return out;
}

std::vector<StepInfo> GetWorkflowSteps(const Target& target, const std::string& workflow_id) {
  detail::ValidateName("GetWorkflowSteps' workflow ID", workflow_id, false);
  // The steps of a workflow that is not there would be an empty list: say what is wrong.
  if (!target.db.GetWorkflowStatusString(workflow_id)) {
    throw DBOSError(ErrorCode::NonExistentWorkflow, "workflow " + workflow_id + " does not exist",
                    workflow_id);
  }
  std::vector<StepInfo> out;
  for (const sysdb::StepRow& row : target.db.ListSteps(workflow_id)) {
    StepInfo step;
    step.step_id = row.function_id;
    step.step_name = row.function_name;
    if (row.error) {
      step.error = serialization::DecodeError(*row.error, row.serialization).message;
    } else {
      step.output = serialization::DecodeValueOrText(row.output, row.serialization);
    }
    step.child_workflow_id = row.child_workflow_id;
    step.started_at = OptionalTime(row.started_at_epoch_ms);
    step.completed_at = OptionalTime(row.completed_at_epoch_ms);
    out.push_back(std::move(step));
  }
  return out;
}

nlohmann::json StepToJson(const StepInfo& step) {
  nlohmann::json j;
  j["step_id"] = step.step_id;
  j["step_name"] = step.step_name;
  j["output"] = step.output;
  j["error"] = step.error ? nlohmann::json(*step.error) : nlohmann::json(nullptr);
  j["child_workflow_id"] =
      step.child_workflow_id ? nlohmann::json(*step.child_workflow_id) : nlohmann::json(nullptr);
  const auto ms = [](const auto& t) {
    return t ? nlohmann::json(util::ToEpochMs(*t)) : nlohmann::json(nullptr);
  };
  j["started_at"] = ms(step.started_at);
  j["completed_at"] = ms(step.completed_at);
  return j;
}

StepInfo StepFromJson(const nlohmann::json& j) {
  StepInfo step;
  step.step_id = j.value("step_id", 0);
  step.step_name = j.value("step_name", "");
  step.output = j.value("output", nlohmann::json());
  const auto text = [&](const char* key) -> std::optional<std::string> {
    if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
    return j[key].get<std::string>();
  };
  const auto time = [&](const char* key) -> std::optional<std::chrono::system_clock::time_point> {
    if (!j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
    return util::FromEpochMs(j[key].get<int64_t>());
  };
  step.error = text("error");
  step.child_workflow_id = text("child_workflow_id");
  step.started_at = time("started_at");
  step.completed_at = time("completed_at");
  return step;
}

}  // namespace dbos::management
