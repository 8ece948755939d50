// DBOSError and the Go names of error codes.
#include "dbos/errors.hpp"

#include <array>

namespace dbos {
namespace {
constexpr std::array<std::string_view, 20> kCodeNames = {"ConflictingID",
                                                         "Initialization",
                                                         "NonExistentWorkflow",
                                                         "UnexpectedWorkflow",
                                                         "WorkflowCancelled",
                                                         "UnexpectedStep",
                                                         "AwaitedWorkflowCancelled",
                                                         "ConflictingRegistration",
                                                         "WorkflowUnexpectedType",
                                                         "WorkflowExecution",
                                                         "StepExecution",
                                                         "DeadLetterQueue",
                                                         "MaxStepRetriesExceeded",
                                                         "QueueDeduplicated",
                                                         "PatchingNotEnabled",
                                                         "Timeout",
                                                         "NoApplicationVersions",
                                                         "QueueNotFound",
                                                         "ScheduleNotFound",
                                                         "InvalidOption"};
}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  const auto index = static_cast<int>(code) - 1;
  if (index < 0 || index >= static_cast<int>(kCodeNames.size())) return "Unknown";
  return kCodeNames[static_cast<size_t>(index)];
}

bool ParseErrorCode(std::string_view name, ErrorCode& out) {
  for (size_t i = 0; i < kCodeNames.size(); ++i) {
    if (kCodeNames[i] == name) {
      out = static_cast<ErrorCode>(i + 1);
      return true;
    }
  }
  return false;
}

DBOSError::DBOSError(ErrorCode code, const std::string& message, std::string workflow_id,
                     std::string error_type_name)
    : std::runtime_error("DBOS Error " + std::string(ErrorCodeName(code)) + ": " + message),
      code_(code),
      message_(message),
      workflow_id_(std::move(workflow_id)),
      error_type_name_(std::move(error_type_name)) {}

}  // namespace dbos
