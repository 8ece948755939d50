// Workflow management written once for every caller that has a system database: a DBOSContext
// (management_api.cpp) and a Client (another process that executes nothing). The functions take
// only what both have — the system database, the application name, a logger — and throw
// dbos::DBOSError for bad input before anything is written. Waking a local queue runner, step
// checkpoints inside workflows and typed handles are the caller's business.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dbos/logging.hpp"
#include "dbos/management.hpp"
#include "dbos/workflow_status.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::management {

/// Where and for whom management calls act.
struct Target {
  sysdb::SystemDatabase& db;
  /// Listings without IDs see only this application's workflows and unclaimed ones; resume and
  /// fork refuse another application's workflows. "" = no application (sees everything).
  std::string application_name;
  Logger& log;
};

/// Throws InvalidOption for a negative limit or offset or a malformed name.
void ValidateListOptions(const detail::ListWorkflowsOptions& options);

/// ListWorkflows (reference §2.6). `default_load_values` applies when WithLoadInput /
/// WithLoadOutput were not given (true on a DBOSContext, false on a Client). Inputs and outputs
/// are decoded by each row's serialization column.
std::vector<WorkflowStatus> ListWorkflows(const Target& target,
                                          const detail::ListWorkflowsOptions& options,
                                          bool default_load_values);

/// The recorded steps of `workflow_id` by step ID; NonExistentWorkflow for an unknown ID.
std::vector<StepInfo> GetWorkflowSteps(const Target& target, const std::string& workflow_id);

/// What ResumeWorkflow did.
enum class Resumed {
  Enqueued,     ///< Now ENQUEUED on the internal queue: a queue runner will start it.
  AlreadyEnded  ///< SUCCESS or ERROR: left as it was.
};
/// ResumeWorkflow (reference §4.9). Throws NonExistentWorkflow, or InvalidOption for a
/// workflow of another application.
Resumed ResumeWorkflow(const Target& target, const std::string& workflow_id, int64_t now_ms);

/// ForkWorkflow (reference §4.9); returns the forked workflow's ID. `creator_xid` identifies
/// this fork (a retry with the same one, e.g. a workflow's replay, finds its own row instead of
/// failing with ConflictingID); `default_forked_id` is used when the input names none. Throws
/// NonExistentWorkflow, InvalidOption (another application's workflow, a start_step beyond the
/// recorded steps, bad names) or ConflictingID (the forked ID is taken).
std::string ForkWorkflow(const Target& target, const ForkWorkflowInput& input,
                         const std::string& default_forked_id, const std::string& creator_xid,
                         int64_t now_ms);

/// StepInfo as JSON (a workflow's "DBOS.getWorkflowSteps" checkpoint), and back.
nlohmann::json StepToJson(const StepInfo& step);
StepInfo StepFromJson(const nlohmann::json& json);

}  // namespace dbos::management
