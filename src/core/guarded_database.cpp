// Forwarding with failure notes; see guarded_database.hpp.
#include "core/guarded_database.hpp"

#include <exception>
#include <utility>

#include "core/workflow_state.hpp"
#include "dbos/errors.hpp"

namespace dbos::detail {
namespace {

// Runs one backend operation; a failure is noted in the workflow running on this thread, then
// passed on unchanged. A deduplication conflict is an answer about the request, not a failure.
template <typename Operation>
auto Guard(Operation&& operation) -> decltype(operation()) {
  try {
    return operation();
  } catch (const DBOSError& e) {
    if (e.Code() != ErrorCode::QueueDeduplicated) NoteInfrastructureFailure(e.what());
    throw;
  } catch (const std::exception& e) {
    NoteInfrastructureFailure(e.what());
    throw;
  } catch (...) {
    NoteInfrastructureFailure("the system database failed with an unknown exception");
    throw;
  }
}

}  // namespace

sysdb::WorkflowInsertResult GuardedSystemDatabase::InsertWorkflow(
    const sysdb::WorkflowInsert& row) {
  return Guard([&] { return backend_.InsertWorkflow(row); });
}

bool GuardedSystemDatabase::FinishWorkflow(const std::string& workflow_uuid,
                                           const std::string& status,
                                           const std::optional<std::string>& output,
                                           const std::optional<std::string>& error,
                                           int64_t now_ms) {
  return Guard(
      [&] { return backend_.FinishWorkflow(workflow_uuid, status, output, error, now_ms); });
}

void GuardedSystemDatabase::MarkDeadLetter(const std::string& workflow_uuid, int64_t now_ms) {
  Guard([&] { backend_.MarkDeadLetter(workflow_uuid, now_ms); });
}

std::optional<sysdb::WorkflowRow> GuardedSystemDatabase::GetWorkflow(
    const std::string& workflow_uuid, bool load_values) {
  return Guard([&] { return backend_.GetWorkflow(workflow_uuid, load_values); });
}

sysdb::StepWriteResult GuardedSystemDatabase::RecordStep(const sysdb::StepWrite& step) {
  return Guard([&] { return backend_.RecordStep(step); });
}

std::vector<sysdb::StepRow> GuardedSystemDatabase::ListSteps(const std::string& workflow_uuid) {
  return Guard([&] { return backend_.ListSteps(workflow_uuid); });
}

std::optional<std::string> GuardedSystemDatabase::GetWorkflowStatusString(
    const std::string& workflow_uuid) {
  return Guard([&] { return backend_.GetWorkflowStatusString(workflow_uuid); });
}

std::vector<std::string> GuardedSystemDatabase::ReenqueuePendingWorkflows(
    const std::vector<std::string>& executor_ids, const std::string& application_version,
    const std::string& application_name, int64_t now_ms) {
  return Guard([&] {
    return backend_.ReenqueuePendingWorkflows(executor_ids, application_version, application_name,
                                              now_ms);
  });
}

std::vector<sysdb::DequeuedWorkflow> GuardedSystemDatabase::DequeueWorkflows(
    const sysdb::DequeueRequest& request) {
  return Guard([&] { return backend_.DequeueWorkflows(request); });
}

bool GuardedSystemDatabase::RegisterApplicationVersion(const std::string& version_name,
                                                       const std::string& application_name,
                                                       int64_t now_ms) {
  return Guard(
      [&] { return backend_.RegisterApplicationVersion(version_name, application_name, now_ms); });
}

sysdb::SendResult GuardedSystemDatabase::Send(const sysdb::MessageWrite& message) {
  return Guard([&] { return backend_.Send(message); });
}

sysdb::ConsumeResult GuardedSystemDatabase::ConsumeMessage(const std::string& topic,
                                                           const sysdb::StepWrite& checkpoint,
                                                           const sysdb::MessageCheck& check) {
  return Guard([&] { return backend_.ConsumeMessage(topic, checkpoint, check); });
}

sysdb::StepWriteResult GuardedSystemDatabase::SetEvent(const sysdb::EventWrite& event) {
  return Guard([&] { return backend_.SetEvent(event); });
}

std::optional<sysdb::StoredValue> GuardedSystemDatabase::GetEvent(const std::string& workflow_uuid,
                                                                  const std::string& key) {
  return Guard([&] { return backend_.GetEvent(workflow_uuid, key); });
}

bool GuardedSystemDatabase::CancelWorkflow(const std::string& workflow_uuid, int64_t now_ms) {
  return Guard([&] { return backend_.CancelWorkflow(workflow_uuid, now_ms); });
}

std::vector<std::string> GuardedSystemDatabase::FilterCancelled(
    const std::vector<std::string>& workflow_uuids) {
  return Guard([&] { return backend_.FilterCancelled(workflow_uuids); });
}

std::vector<size_t> GuardedSystemDatabase::FindWaitNews(
    const std::vector<sysdb::WaitProbe>& probes) {
  return Guard([&] { return backend_.FindWaitNews(probes); });
}

sysdb::DelayedPromotion GuardedSystemDatabase::PromoteDueDelayed(int64_t now_ms) {
  return Guard([&] { return backend_.PromoteDueDelayed(now_ms); });
}

sysdb::DelayUpdate GuardedSystemDatabase::SetWorkflowDelay(const std::string& workflow_uuid,
                                                           int64_t delay_until_epoch_ms,
                                                           int64_t now_ms) {
  return Guard(
      [&] { return backend_.SetWorkflowDelay(workflow_uuid, delay_until_epoch_ms, now_ms); });
}

std::optional<std::string> GuardedSystemDatabase::BounceDebounced(const sysdb::Bounce& bounce) {
  return Guard([&] { return backend_.BounceDebounced(bounce); });
}

void GuardedSystemDatabase::UpsertQueue(const sysdb::QueueRow& queue, int64_t now_ms) {
  Guard([&] {
    backend_.UpsertQueue(queue, now_ms);
    return true;
  });
}

std::optional<sysdb::QueueRow> GuardedSystemDatabase::GetQueue(const std::string& name) {
  return Guard([&] { return backend_.GetQueue(name); });
}

std::vector<std::string> GuardedSystemDatabase::ListQueuePartitions(const std::string& queue_name) {
  return Guard([&] { return backend_.ListQueuePartitions(queue_name); });
}

sysdb::QueueClaim GuardedSystemDatabase::ClaimFromQueue(const sysdb::QueueClaimRequest& request) {
  return Guard([&] { return backend_.ClaimFromQueue(request); });
}

bool GuardedSystemDatabase::StartListening(sysdb::NotificationCallback callback) {
  return Guard([&] { return backend_.StartListening(std::move(callback)); });
}

void GuardedSystemDatabase::StopListening() { backend_.StopListening(); }

sysdb::StreamWriteResult GuardedSystemDatabase::WriteStream(const sysdb::StreamWrite& write) {
  return Guard([&] { return backend_.WriteStream(write); });
}

sysdb::StreamChunk GuardedSystemDatabase::ReadStream(const std::string& workflow_uuid,
                                                     const std::string& key, int64_t from_offset,
                                                     int limit) {
  return Guard([&] { return backend_.ReadStream(workflow_uuid, key, from_offset, limit); });
}

void GuardedSystemDatabase::AnnounceStreamEnd(const std::string& workflow_uuid) noexcept {
  backend_.AnnounceStreamEnd(workflow_uuid);
}

std::vector<sysdb::WorkflowRow> GuardedSystemDatabase::ListWorkflows(
    const sysdb::WorkflowFilter& filter) {
  return Guard([&] { return backend_.ListWorkflows(filter); });
}

sysdb::ResumeOutcome GuardedSystemDatabase::ResumeWorkflow(const std::string& workflow_uuid,
                                                           const std::string& queue_name,
                                                           int64_t now_ms) {
  return Guard([&] { return backend_.ResumeWorkflow(workflow_uuid, queue_name, now_ms); });
}

sysdb::ForkOutcome GuardedSystemDatabase::ForkWorkflow(const sysdb::ForkRequest& request) {
  return Guard([&] { return backend_.ForkWorkflow(request); });
}

// ---- Schedules

bool GuardedSystemDatabase::InsertSchedule(const sysdb::ScheduleRow& row) {
  return Guard([&] { return backend_.InsertSchedule(row); });
}

void GuardedSystemDatabase::UpsertSchedule(const sysdb::ScheduleRow& row) {
  Guard([&] { backend_.UpsertSchedule(row); });
}

std::optional<sysdb::ScheduleRow> GuardedSystemDatabase::GetSchedule(
    const std::string& schedule_name) {
  return Guard([&] { return backend_.GetSchedule(schedule_name); });
}

std::vector<sysdb::ScheduleRow> GuardedSystemDatabase::ListSchedules(
    const std::string& application_name) {
  return Guard([&] { return backend_.ListSchedules(application_name); });
}

bool GuardedSystemDatabase::SetScheduleStatus(const std::string& schedule_name,
                                              const std::string& status) {
  return Guard([&] { return backend_.SetScheduleStatus(schedule_name, status); });
}

bool GuardedSystemDatabase::DeleteSchedule(const std::string& schedule_name) {
  return Guard([&] { return backend_.DeleteSchedule(schedule_name); });
}

void GuardedSystemDatabase::RecordScheduleFired(const std::string& schedule_name,
                                                const std::string& fired_at,
                                                const std::string& workflow_uuid) {
  Guard([&] { backend_.RecordScheduleFired(schedule_name, fired_at, workflow_uuid); });
}

std::optional<std::string> GuardedSystemDatabase::LatestApplicationVersion(
    const std::string& application_name) {
  return Guard([&] { return backend_.LatestApplicationVersion(application_name); });
}

}  // namespace dbos::detail
