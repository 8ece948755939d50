// The system database as workflows see it: every operation is forwarded to the backend, and when
// one fails (a permanent error, or the retry loop stopped at shutdown) the workflow executing on
// the calling thread remembers it in its state. A failure of the infrastructure is never the
// workflow's outcome, even when the workflow's code catches the exception and returns a value:
// the execution ends without recording anything (the row stays PENDING and is recovered), and
// its local waiters get an error saying so.
#pragma once

#include <memory>

#include "sysdb/system_database.hpp"

namespace dbos::detail {

class GuardedSystemDatabase final : public sysdb::SystemDatabase {
 public:
  /// Forwards to `backend`, which must outlive this object.
  explicit GuardedSystemDatabase(sysdb::SystemDatabase& backend) : backend_(backend) {}

  sysdb::WorkflowInsertResult InsertWorkflow(const sysdb::WorkflowInsert& row) override;
  bool FinishWorkflow(const std::string& workflow_uuid, const std::string& status,
                      const std::optional<std::string>& output,
                      const std::optional<std::string>& error, int64_t now_ms) override;
  void MarkDeadLetter(const std::string& workflow_uuid, int64_t now_ms) override;
  std::optional<sysdb::WorkflowRow> GetWorkflow(const std::string& workflow_uuid,
                                                bool load_values) override;
  sysdb::StepWriteResult RecordStep(const sysdb::StepWrite& step) override;
  std::vector<sysdb::StepRow> ListSteps(const std::string& workflow_uuid) override;
  std::optional<std::string> GetWorkflowStatusString(const std::string& workflow_uuid) override;
  std::vector<std::string> ReenqueuePendingWorkflows(const std::vector<std::string>& executor_ids,
                                                     const std::string& application_version,
                                                     const std::string& application_name,
                                                     int64_t now_ms) override;
  std::vector<sysdb::DequeuedWorkflow> DequeueWorkflows(
      const sysdb::DequeueRequest& request) override;
  bool RegisterApplicationVersion(const std::string& version_name,
                                  const std::string& application_name, int64_t now_ms) override;
  sysdb::SendResult Send(const sysdb::MessageWrite& message) override;
  sysdb::ConsumeResult ConsumeMessage(const std::string& topic, const sysdb::StepWrite& checkpoint,
                                      const sysdb::MessageCheck& check) override;
  sysdb::StepWriteResult SetEvent(const sysdb::EventWrite& event) override;
  std::optional<sysdb::StoredValue> GetEvent(const std::string& workflow_uuid,
                                             const std::string& key) override;
  bool CancelWorkflow(const std::string& workflow_uuid, int64_t now_ms) override;
  std::vector<std::string> FilterCancelled(const std::vector<std::string>& workflow_uuids) override;
  std::vector<size_t> FindWaitNews(const std::vector<sysdb::WaitProbe>& probes) override;
  sysdb::DelayedPromotion PromoteDueDelayed(int64_t now_ms) override;
  sysdb::DelayUpdate SetWorkflowDelay(const std::string& workflow_uuid,
                                      int64_t delay_until_epoch_ms, int64_t now_ms) override;
  std::optional<std::string> BounceDebounced(const sysdb::Bounce& bounce) override;
  void UpsertQueue(const sysdb::QueueRow& queue, int64_t now_ms) override;
  std::optional<sysdb::QueueRow> GetQueue(const std::string& name) override;
  std::vector<std::string> ListQueuePartitions(const std::string& queue_name) override;
  sysdb::QueueClaim ClaimFromQueue(const sysdb::QueueClaimRequest& request) override;
  bool InsertSchedule(const sysdb::ScheduleRow& row) override;
  void UpsertSchedule(const sysdb::ScheduleRow& row) override;
  std::optional<sysdb::ScheduleRow> GetSchedule(const std::string& schedule_name) override;
  std::vector<sysdb::ScheduleRow> ListSchedules(const std::string& application_name) override;
  bool SetScheduleStatus(const std::string& schedule_name, const std::string& status) override;
  bool DeleteSchedule(const std::string& schedule_name) override;
  void RecordScheduleFired(const std::string& schedule_name, const std::string& fired_at,
                           const std::string& workflow_uuid) override;
  std::optional<std::string> LatestApplicationVersion(const std::string& application_name) override;
  bool StartListening(sysdb::NotificationCallback callback) override;
  void StopListening() override;
  std::vector<sysdb::WorkflowRow> ListWorkflows(const sysdb::WorkflowFilter& filter) override;
  sysdb::ResumeOutcome ResumeWorkflow(const std::string& workflow_uuid,
                                      const std::string& queue_name, int64_t now_ms) override;
  sysdb::ForkOutcome ForkWorkflow(const sysdb::ForkRequest& request) override;

  sysdb::StreamWriteResult WriteStream(const sysdb::StreamWrite& write) override;
  sysdb::StreamChunk ReadStream(const std::string& workflow_uuid, const std::string& key,
                                int64_t from_offset, int limit) override;
  void AnnounceStreamEnd(const std::string& workflow_uuid) noexcept override;

 private:
  sysdb::SystemDatabase& backend_;
};

}  // namespace dbos::detail
