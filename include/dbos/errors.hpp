// Errors thrown by the library: one exception type, DBOSError, carrying an ErrorCode with the same
// names as DBOS Transact Go, so code written against the DBOS documentation reads the same in C++.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dbos {

/// What went wrong. Values and order match DBOS Transact Go (1..20).
enum class ErrorCode : int {
  ConflictingID = 1,        ///< Two executors ran the same step, or a second receiver on a topic.
  Initialization = 2,       ///< Bad configuration, unreachable database, wrong lifecycle order.
  NonExistentWorkflow = 3,  ///< No workflow with that ID.
  UnexpectedWorkflow = 4,   ///< The ID was used by a different workflow name or queue.
  WorkflowCancelled = 5,    ///< The running workflow was cancelled or timed out.
  UnexpectedStep = 6,       ///< Non-determinism: another step is recorded at this step ID.
  AwaitedWorkflowCancelled = 7,  ///< The workflow whose result was awaited was cancelled.
  ConflictingRegistration = 8,   ///< A workflow name registered twice.
  WorkflowUnexpectedType = 9,    ///< The requested result type does not match the workflow.
  WorkflowExecution = 10,        ///< The workflow threw an exception of an unregistered type.
  StepExecution = 11,    ///< A step threw an unregistered type, or a forbidden call in a step.
  DeadLetterQueue = 12,  ///< The workflow exceeded its maximum recovery attempts.
  MaxStepRetriesExceeded = 13,  ///< A step failed on every allowed attempt.
  QueueDeduplicated = 14,       ///< A workflow with that deduplication ID is already queued.
  PatchingNotEnabled = 15,      ///< Patch called without patching enabled.
  Timeout = 16,                 ///< A wait (Recv, GetEvent, GetResult) timed out.
  NoApplicationVersions = 17,   ///< No application version is registered.
  QueueNotFound = 18,           ///< No queue with that name.
  ScheduleNotFound = 19,        ///< No schedule with that name.
  InvalidOption = 20,           ///< An option or argument is not valid here.
};

/// The Go name of a code, e.g. "ConflictingID".
std::string_view ErrorCodeName(ErrorCode code);

/// Parses a Go code name back into a code; returns false when the name is unknown.
bool ParseErrorCode(std::string_view name, ErrorCode& out);

/// The exception the library throws. `what()` reads "DBOS Error <CodeName>: <message>".
class DBOSError : public std::runtime_error {
 public:
  /// Builds an error with `code` and a message saying what to fix.
  DBOSError(ErrorCode code, const std::string& message, std::string workflow_id = "",
            std::string error_type_name = "");

  /// The error code.
  ErrorCode Code() const noexcept { return code_; }
  /// The workflow the error concerns, or "" when none.
  const std::string& WorkflowID() const noexcept { return workflow_id_; }
  /// The message without the "DBOS Error <Code>: " prefix.
  const std::string& Message() const noexcept { return message_; }
  /// For StepExecution / WorkflowExecution errors that wrap a user exception: the original
  /// exception type's name (as recorded in the database); "" otherwise.
  const std::string& ErrorTypeName() const noexcept { return error_type_name_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string workflow_id_;
  std::string error_type_name_;
};

}  // namespace dbos
