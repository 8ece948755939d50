// Handle implementations; see handles.hpp.
#include "executor/handles.hpp"

#include <algorithm>
#include <optional>

#include "core/notifier.hpp"
#include "core/runtime.hpp"
#include "dbos/errors.hpp"
#include "executor/operation.hpp"
#include "executor/park_wait.hpp"
#include "serialization/codec.hpp"
#include "util/time_util.hpp"

namespace dbos::executor {
namespace {

using detail::Runtime;
using detail::WorkflowOutcome;
using detail::WorkflowState;
using serialization::ErrorRecord;

// How a workflow ended, as its awaiter sees it.
struct Awaited {
  nlohmann::json output;
  std::optional<ErrorRecord> error;
};

bool IsTerminal(const std::string& status) {
  return status == "SUCCESS" || status == "ERROR" || status == "CANCELLED" ||
         status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED";
}

// The statuses a workflow may pass through before it ends.
bool IsWaitable(const std::string& status) {
  return status == "PENDING" || status == "ENQUEUED" || status == "DELAYED";
}

ErrorRecord CodeRecord(ErrorCode code, const std::string& message) {
  return {std::string(ErrorCodeName(code)), message, static_cast<int>(code)};
}

Awaited RecordedOutcome(const std::string& id, const sysdb::WorkflowRow& row) {
  if (row.status == "SUCCESS") {
    return {serialization::DecodeValue(row.output, row.serialization, "result"), std::nullopt};
  }
  if (row.status == "ERROR") {
    return {nullptr, serialization::DecodeError(row.error.value_or(""), row.serialization)};
  }
  if (row.status == "CANCELLED") {
    return {nullptr,
            CodeRecord(ErrorCode::AwaitedWorkflowCancelled, "workflow " + id + " was cancelled")};
  }
  return {nullptr, CodeRecord(ErrorCode::DeadLetterQueue,
                              "workflow " + id + " exceeded its maximum recovery attempts")};
}

// Waits until `id` ends: on its local execution when it runs here, else by polling the database
// with a backoff from 2 ms to 500 ms. A waiting workflow (`caller`) stays interruptible. An
// application thread's poll also ends when an execution of `id` begins here (e.g. the queue
// runner started it), so that it waits on that execution rather than up to a poll interval.
Awaited AwaitOutcome(Runtime& runtime, const std::string& id,
                     const std::shared_ptr<WorkflowOutcome>& known, WorkflowState* caller) {
  std::optional<messaging::Waiter> started;
  std::optional<messaging::Notifier::Registration> registration;
  // A waiting workflow waits on its own waiter, woken when an execution of `id` ends here, and
  // may park meanwhile.
  std::optional<detail::ParkableWait> parkable;
  if (caller == nullptr) {
    started.emplace();
    registration.emplace(runtime.Notifications(), messaging::ExecutionKey(id), *started);
  } else {
    const std::string end_key = messaging::StreamEndKey(id);
    registration.emplace(runtime.Notifications(), end_key, caller->waiter);
    parkable.emplace(runtime, *caller, std::vector<std::string>{end_key},
                     std::vector<detail::ParkProbe>{{sysdb::WaitProbe::Kind::kEnded, id, ""}});
  }
  auto delay = std::chrono::milliseconds(2);
  for (bool first = true;; first = false) {
    if (started) started->Arm();
    if (caller != nullptr) caller->waiter.Arm();
    auto local = first && known ? known : runtime.FindExecution(id);
    if (local) {
      const auto kind = caller == nullptr ? local->Wait() : local->WaitFor({});
      if (kind == WorkflowOutcome::Kind::Running) {
        // Its end here signals the waiter. Parked, it has no probe: its row may say it ended (it
        // was cancelled elsewhere) while its execution here still runs, and a probe would then
        // replay this workflow at every watcher round until that execution ends.
        parkable->Wait(std::chrono::steady_clock::now() + std::chrono::seconds(1), std::nullopt,
                       /*with_probes=*/false);
        continue;
      }
      if (kind == WorkflowOutcome::Kind::Success) return {local->Output(), std::nullopt};
      if (kind == WorkflowOutcome::Kind::Error) return {nullptr, local->Error()};
      if (kind == WorkflowOutcome::Kind::Unrecorded && caller == nullptr) {
        // Not the workflow's outcome (it stays PENDING): the application's caller is told.
        runtime.ErrorTypes().Throw(*local->Error(), ErrorCode::WorkflowExecution, id);
      }
      // An awaiting workflow is not told: the error would pass through its code into its own
      // recorded outcome. It waits for the durable outcome, as for any PENDING workflow, which
      // the recovery of the awaited workflow provides.
    }
    // The first look reads the whole row, outcome included (a workflow that ended already, the
    // common case for a retrieved handle, costs one query); later polls read only the status,
    // and the outcome once the status is terminal.
    std::optional<std::string> status;
    if (first) {
      auto row = runtime.Db().GetWorkflow(id, /*load_values=*/true);
      if (row && IsTerminal(row->status)) return RecordedOutcome(id, *row);
      if (row) status = row->status;
    } else {
      status = runtime.Db().GetWorkflowStatusString(id);
      if (status && IsTerminal(*status)) {
        auto row = runtime.Db().GetWorkflow(id, /*load_values=*/true);
        if (row) return RecordedOutcome(id, *row);
      }
    }
    if (!status) {
      throw DBOSError(ErrorCode::NonExistentWorkflow, "workflow " + id + " does not exist", id);
    }
    if (!IsWaitable(*status)) {
      // Written by another tool or a newer version: waiting would never end.
      throw DBOSError(ErrorCode::WorkflowExecution,
                      "workflow " + id + " has the status '" + *status +
                          "', which this version of DBOS does not know (expected PENDING, "
                          "ENQUEUED, DELAYED, SUCCESS, ERROR, CANCELLED or "
                          "MAX_RECOVERY_ATTEMPTS_EXCEEDED); fix the row's status",
                      id);
    }
    if (runtime.ShuttingDown()) {
      if (caller != nullptr) {
        // Through the caller's state, so its execution knows it was shut down.
        caller->Interrupt(detail::Interruption::Shutdown);
        detail::ThrowInterruption(*caller, detail::Interruption::Shutdown);
      }
      throw DBOSError(ErrorCode::Initialization,
                      "DBOS was shut down while waiting for workflow " + id + "; it stays " +
                          *status + " and resumes at the next launch",
                      id);
    }
    if (caller != nullptr) {
      detail::ThrowIfInterrupted(*caller);
      parkable->Wait(std::chrono::steady_clock::now() + delay, std::nullopt);
    } else {
      started->WaitUntil(std::chrono::steady_clock::now() + delay);
    }
    delay = std::min(delay * 2, std::chrono::milliseconds(500));
  }
}

class Handle final : public detail::HandleCore {
 public:
  Handle(std::shared_ptr<Runtime> runtime, std::string id, std::shared_ptr<WorkflowOutcome> outcome,
         std::shared_ptr<WorkflowState> caller)
      : runtime_(std::move(runtime)),
        id_(std::move(id)),
        outcome_(std::move(outcome)),
        caller_(std::move(caller)) {}

  const std::string& WorkflowID() const noexcept override { return id_; }

  nlohmann::json Result() override {
    if (!caller_) return Unwrap(AwaitOutcome(*runtime_, id_, outcome_, nullptr));
    // Inside a workflow: a checkpointed step, so a replay returns what the first run saw.
    return detail::CheckpointedRead(
        *runtime_, *caller_, "GetResult", "DBOS.getResult", ErrorCode::WorkflowExecution, id_, id_,
        [&] {
          Awaited awaited = AwaitOutcome(*runtime_, id_, outcome_, caller_.get());
          return detail::ReadOutcome{std::move(awaited.output), std::move(awaited.error)};
        });
  }

  WorkflowStatus Status() override {
    if (!caller_) return ReadStatus();
    return StatusFromJson(detail::CheckpointedRead(
        *runtime_, *caller_, "GetStatus", "DBOS.getStatus", ErrorCode::WorkflowExecution, id_,
        std::nullopt, [&] {
          return detail::ReadOutcome{StatusToJson(ReadStatus()), std::nullopt};
        }));
  }

 private:
  nlohmann::json Unwrap(Awaited awaited) const {
    if (awaited.error) {
      runtime_->ErrorTypes().Throw(*awaited.error, ErrorCode::WorkflowExecution, id_);
    }
    return std::move(awaited.output);
  }

  WorkflowStatus ReadStatus() const {
    auto row = runtime_->Db().GetWorkflow(id_, /*load_values=*/true);
    if (!row) {
      throw DBOSError(ErrorCode::NonExistentWorkflow, "workflow " + id_ + " does not exist", id_);
    }
    return ToWorkflowStatus(*row);
  }

  std::shared_ptr<Runtime> runtime_;
  std::string id_;
  std::shared_ptr<WorkflowOutcome> outcome_;
  std::shared_ptr<WorkflowState> caller_;
};

std::optional<std::chrono::system_clock::time_point> OptionalTime(
    const std::optional<int64_t>& ms) {
  if (!ms) return std::nullopt;
  return util::FromEpochMs(*ms);
}

template <typename T>
void PutOptional(nlohmann::json& j, const char* name, const std::optional<T>& value) {
  j[name] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

template <typename T>
std::optional<T> GetOptional(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return std::nullopt;
  return j[name].get<T>();
}

std::optional<int64_t> OptionalMs(const std::optional<std::chrono::system_clock::time_point>& t) {
  if (!t) return std::nullopt;
  return util::ToEpochMs(*t);
}

}  // namespace

std::shared_ptr<detail::HandleCore> MakeLocalHandle(std::shared_ptr<Runtime> runtime,
                                                    std::string workflow_id,
                                                    std::shared_ptr<WorkflowOutcome> outcome,
                                                    std::shared_ptr<WorkflowState> caller) {
  return std::make_shared<Handle>(std::move(runtime), std::move(workflow_id), std::move(outcome),
                                  std::move(caller));
}

std::shared_ptr<detail::HandleCore> MakePollingHandle(std::shared_ptr<Runtime> runtime,
                                                      std::string workflow_id,
                                                      std::shared_ptr<WorkflowState> caller) {
  return std::make_shared<Handle>(std::move(runtime), std::move(workflow_id), nullptr,
                                  std::move(caller));
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
  s.output = serialization::DecodeValueOrText(row.output, row.serialization);
  if (row.error) {
    auto record = serialization::DecodeError(*row.error, row.serialization);
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
  s.input = serialization::DecodeWorkflowInput(row.inputs, row.serialization);
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

nlohmann::json StatusToJson(const WorkflowStatus& s) {
  nlohmann::json j;
  j["workflow_uuid"] = s.id;
  j["status"] = ToString(s.status);
  j["name"] = s.name;
  PutOptional(j, "authenticated_user", s.authenticated_user);
  PutOptional(j, "assumed_role", s.assumed_role);
  j["authenticated_roles"] = s.authenticated_roles;
  j["output"] = s.output;
  PutOptional(j, "error", s.error);
  PutOptional(j, "error_type_name", s.error_type_name);
  j["executor_id"] = s.executor_id;
  j["created_at"] = util::ToEpochMs(s.created_at);
  j["updated_at"] = util::ToEpochMs(s.updated_at);
  j["application_version"] = s.application_version;
  j["application_id"] = s.application_id;
  j["attempts"] = s.attempts;
  PutOptional(j, "queue_name", s.queue_name);
  j["timeout_ms"] = s.timeout ? nlohmann::json(s.timeout->count()) : nlohmann::json(nullptr);
  PutOptional(j, "deadline", OptionalMs(s.deadline));
  PutOptional(j, "started_at", OptionalMs(s.started_at));
  PutOptional(j, "deduplication_id", s.deduplication_id);
  j["input"] = s.input;
  j["priority"] = s.priority;
  PutOptional(j, "queue_partition_key", s.queue_partition_key);
  PutOptional(j, "forked_from", s.forked_from);
  j["was_forked_from"] = s.was_forked_from;
  PutOptional(j, "parent_workflow_id", s.parent_workflow_id);
  PutOptional(j, "completed_at", OptionalMs(s.completed_at));
  PutOptional(j, "serialization", s.serialization);
  PutOptional(j, "application_name", s.application_name);
  return j;
}

WorkflowStatus StatusFromJson(const nlohmann::json& j) {
  WorkflowStatus s;
  s.id = j.value("workflow_uuid", "");
  s.status = ParseWorkflowStatusType(j.value("status", "PENDING"));
  s.name = j.value("name", "");
  s.authenticated_user = GetOptional<std::string>(j, "authenticated_user");
  s.assumed_role = GetOptional<std::string>(j, "assumed_role");
  s.authenticated_roles = j.value("authenticated_roles", std::vector<std::string>{});
  s.output = j.value("output", nlohmann::json());
  s.error = GetOptional<std::string>(j, "error");
  s.error_type_name = GetOptional<std::string>(j, "error_type_name");
  s.executor_id = j.value("executor_id", "");
  s.created_at = util::FromEpochMs(j.value("created_at", int64_t{0}));
  s.updated_at = util::FromEpochMs(j.value("updated_at", int64_t{0}));
  s.application_version = j.value("application_version", "");
  s.application_id = j.value("application_id", "");
  s.attempts = j.value("attempts", int64_t{0});
  s.queue_name = GetOptional<std::string>(j, "queue_name");
  if (auto t = GetOptional<int64_t>(j, "timeout_ms")) s.timeout = std::chrono::milliseconds(*t);
  s.deadline = OptionalTime(GetOptional<int64_t>(j, "deadline"));
  s.started_at = OptionalTime(GetOptional<int64_t>(j, "started_at"));
  s.deduplication_id = GetOptional<std::string>(j, "deduplication_id");
  s.input = j.value("input", nlohmann::json());
  s.priority = j.value("priority", 0);
  s.queue_partition_key = GetOptional<std::string>(j, "queue_partition_key");
  s.forked_from = GetOptional<std::string>(j, "forked_from");
  s.was_forked_from = j.value("was_forked_from", false);
  s.parent_workflow_id = GetOptional<std::string>(j, "parent_workflow_id");
  s.completed_at = OptionalTime(GetOptional<int64_t>(j, "completed_at"));
  s.serialization = GetOptional<std::string>(j, "serialization");
  s.application_name = GetOptional<std::string>(j, "application_name");
  return s;
}

}  // namespace dbos::executor
