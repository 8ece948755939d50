// Handle implementations; see handles.hpp.
#include "executor/handles.hpp"

#include <algorithm>
#include <thread>

#include "dbos/errors.hpp"
#include "runtime/runtime.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"

namespace dbos::executor {
namespace {

using detail::Runtime;
using detail::WorkflowOutcome;

// Reads the recorded outcome of a terminal workflow: returns the output or throws its error.
nlohmann::json ReadRecordedOutcome(Runtime& runtime, const std::string& id,
                                   const sysdb::WorkflowRow& row) {
  if (row.status == "SUCCESS") return serialization::DecodeValue(row.output);
  if (row.status == "ERROR") {
    runtime.ErrorTypes().Throw(serialization::DecodeError(row.error.value_or("")),
                               ErrorCode::WorkflowExecution, id);
  }
  if (row.status == "CANCELLED") {
    throw DBOSError(ErrorCode::AwaitedWorkflowCancelled, "workflow " + id + " was cancelled", id);
  }
  throw DBOSError(ErrorCode::DeadLetterQueue,
                  "workflow " + id + " exceeded its maximum recovery attempts", id);
}

bool IsTerminal(const std::string& status) {
  return status == "SUCCESS" || status == "ERROR" || status == "CANCELLED" ||
         status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED";
}

// Waits for a workflow's outcome: on its local execution when it runs here, else by polling the
// database with a backoff from 2 ms to 500 ms.
nlohmann::json AwaitResult(Runtime& runtime, const std::string& id) {
  auto delay = std::chrono::milliseconds(2);
  for (;;) {
    if (auto local = runtime.FindExecution(id)) {
      const auto kind = local->Wait();
      if (kind == WorkflowOutcome::Kind::Success) return local->Output();
      if (kind == WorkflowOutcome::Kind::Error) {
        runtime.ErrorTypes().Throw(*local->Error(), ErrorCode::WorkflowExecution, id);
      }
    }
    auto status = runtime.Db().GetWorkflowStatusString(id);
    if (!status) {
      throw DBOSError(ErrorCode::NonExistentWorkflow, "workflow " + id + " does not exist", id);
    }
    if (IsTerminal(*status)) {
      auto row = runtime.Db().GetWorkflow(id, /*load_values=*/true);
      if (row) return ReadRecordedOutcome(runtime, id, *row);
    }
    if (runtime.ShuttingDown()) {
      throw DBOSError(ErrorCode::Initialization,
                      "DBOS was shut down while waiting for workflow " + id + "; it stays " +
                          *status + " and resumes at the next launch",
                      id);
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(500));
  }
}

class Handle final : public detail::HandleCore {
 public:
  Handle(std::shared_ptr<Runtime> runtime, std::string id, std::shared_ptr<WorkflowOutcome> outcome)
      : runtime_(std::move(runtime)), id_(std::move(id)), outcome_(std::move(outcome)) {}

  const std::string& WorkflowID() const noexcept override { return id_; }

  nlohmann::json Result() override {
    if (outcome_) {
      const auto kind = outcome_->Wait();
      if (kind == WorkflowOutcome::Kind::Success) return outcome_->Output();
      if (kind == WorkflowOutcome::Kind::Error) {
        runtime_->ErrorTypes().Throw(*outcome_->Error(), ErrorCode::WorkflowExecution, id_);
      }
    }
    return AwaitResult(*runtime_, id_);
  }

  WorkflowStatus Status() override {
    auto row = runtime_->Db().GetWorkflow(id_, /*load_values=*/true);
    if (!row) {
      throw DBOSError(ErrorCode::NonExistentWorkflow, "workflow " + id_ + " does not exist", id_);
    }
    return ToWorkflowStatus(*row);
  }

 private:
  std::shared_ptr<Runtime> runtime_;
  std::string id_;
  std::shared_ptr<WorkflowOutcome> outcome_;
};

std::optional<std::chrono::system_clock::time_point> OptionalTime(
    const std::optional<int64_t>& ms) {
  if (!ms) return std::nullopt;
  return util::FromEpochMs(*ms);
}

}  // namespace

std::shared_ptr<detail::HandleCore> MakeLocalHandle(std::shared_ptr<Runtime> runtime,
                                                    std::string workflow_id,
                                                    std::shared_ptr<WorkflowOutcome> outcome) {
  return std::make_shared<Handle>(std::move(runtime), std::move(workflow_id), std::move(outcome));
}

std::shared_ptr<detail::HandleCore> MakePollingHandle(std::shared_ptr<Runtime> runtime,
                                                      std::string workflow_id) {
  return std::make_shared<Handle>(std::move(runtime), std::move(workflow_id), nullptr);
}

WorkflowStatus ToWorkflowStatus(const sysdb::WorkflowRow& row) {
  WorkflowStatus s;
  s.id = row.workflow_uuid;
  s.status = ParseWorkflowStatusType(row.status);
  s.name = row.name.value_or("");
  s.authenticated_user = row.authenticated_user;
  s.assumed_role = row.assumed_role;
  if (row.authenticated_roles) {
    auto roles = serialization::DecodeValue(row.authenticated_roles);
    if (roles.is_array()) {
      for (const auto& r : roles) {
        if (r.is_string()) s.authenticated_roles.push_back(r.get<std::string>());
      }
    }
  }
  s.output = serialization::DecodeValue(row.output);
  if (row.error) {
    auto record = serialization::DecodeError(*row.error);
    s.error = record.message;
    s.error_type_name = record.name;
  }
  s.executor_id = row.executor_id.value_or("");
  s.created_at = util::FromEpochMs(row.created_at);
  s.updated_at = util::FromEpochMs(row.updated_at);
  s.application_version = row.application_version.value_or("");
  s.application_id = row.application_id.value_or("");
  s.attempts = row.recovery_attempts;
  s.queue_name = row.queue_name;
  if (row.workflow_timeout_ms) s.timeout = std::chrono::milliseconds(*row.workflow_timeout_ms);
  s.deadline = OptionalTime(row.workflow_deadline_epoch_ms);
  s.started_at = OptionalTime(row.started_at_epoch_ms);
  s.deduplication_id = row.deduplication_id;
  s.input = serialization::DecodeWorkflowInput(row.inputs);
  s.priority = row.priority;
  s.queue_partition_key = row.queue_partition_key;
  s.forked_from = row.forked_from;
  s.was_forked_from = row.was_forked_from;
  s.parent_workflow_id = row.parent_workflow_id;
  s.completed_at = OptionalTime(row.completed_at);
  s.serialization = row.serialization;
  s.application_name = row.application_name;
  return s;
}

}  // namespace dbos::executor
