// What the library reports about a workflow and its steps (GetStatus, ListWorkflows,
// GetWorkflowSteps). Fields follow DBOS Transact Go's WorkflowStatus / StepInfo in snake_case.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbos {

/// Lifecycle state of a workflow; the database stores the seed's strings ("PENDING", …).
enum class WorkflowStatusType {
  Pending,                      ///< "PENDING": running, or waiting to be recovered.
  Enqueued,                     ///< "ENQUEUED": waiting in a queue.
  Success,                      ///< "SUCCESS": returned a value.
  Error,                        ///< "ERROR": threw an exception.
  Cancelled,                    ///< "CANCELLED": cancelled or timed out.
  MaxRecoveryAttemptsExceeded,  ///< "MAX_RECOVERY_ATTEMPTS_EXCEEDED": dead-lettered.
  Delayed,                      ///< "DELAYED": enqueued with a start delay.
};

/// The database string of a status, e.g. "MAX_RECOVERY_ATTEMPTS_EXCEEDED".
std::string_view ToString(WorkflowStatusType status);
/// Parses a database status string; throws DBOSError(InvalidOption) for an unknown one.
WorkflowStatusType ParseWorkflowStatusType(std::string_view text);

/// A snapshot of one workflow's row in the system database.
struct WorkflowStatus {
  std::string id;  ///< Workflow ID.
  WorkflowStatusType status = WorkflowStatusType::Pending;
  std::string name;  ///< Registered workflow name.
  std::optional<std::string> authenticated_user;
  std::optional<std::string> assumed_role;
  std::vector<std::string> authenticated_roles;
  nlohmann::json output;                       ///< Decoded result (null when none/not loaded).
  std::optional<std::string> error;            ///< Error message when status is Error.
  std::optional<std::string> error_type_name;  ///< Recorded exception type name, with `error`.
  std::string executor_id;
  std::chrono::system_clock::time_point created_at;
  std::chrono::system_clock::time_point updated_at;
  std::string application_version;
  std::string application_id;
  int64_t attempts = 0;  ///< Start attempts (recovery_attempts).
  std::optional<std::string> queue_name;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::system_clock::time_point> deadline;
  std::optional<std::chrono::system_clock::time_point> started_at;  ///< Dequeue time.
  std::optional<std::string> deduplication_id;
  nlohmann::json input;  ///< Decoded input (null when not loaded).
  int priority = 0;
  std::optional<std::string> queue_partition_key;
  std::optional<std::string> forked_from;
  bool was_forked_from = false;
  std::optional<std::string> parent_workflow_id;
  std::optional<std::chrono::system_clock::time_point> completed_at;
  std::optional<std::string> serialization;
  std::optional<std::string> application_name;
};

/// One recorded step of a workflow.
struct StepInfo {
  int step_id = 0;                   ///< function_id: 0, 1, 2 … in program order.
  std::string step_name;             ///< function_name.
  nlohmann::json output;             ///< Decoded output (null when none).
  std::optional<std::string> error;  ///< Error message when the step failed.
  std::optional<std::string> child_workflow_id;
  std::optional<std::chrono::system_clock::time_point> started_at;
  std::optional<std::chrono::system_clock::time_point> completed_at;
};

}  // namespace dbos
