// Every SystemDatabase operation, written once over a dialect's Backend. Each method builds its
// parameters in the order statements.hpp documents, runs its Scripts inside one call of the
// shared retry loop (Backend::Execute), and reads the result columns through outcomes.hpp, so
// both dialects return, classify and retry identically.
#include "sysdb/core/sql_system_database.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "dbos/errors.hpp"
#include "sysdb/core/list_workflows.hpp"
#include "sysdb/core/operations.hpp"
#include "sysdb/core/outcomes.hpp"
#include "sysdb/core/read_coalescer.hpp"
#include "sysdb/core/sql_schedules.hpp"
#include "sysdb/core/sql_streams.hpp"
#include "sysdb/core/statements.hpp"
#include "sysdb/core/workflow_rows.hpp"
#include "util/uuid.hpp"

namespace dbos::sysdb::core {
namespace {

using Row = Rows::Row;

/// Appends the five receiver parameters of the Send scripts (all NULL when there is none).
void AddReceiver(Params& params, const std::optional<StepWrite>& receiver) {
  if (!receiver) {
    params.Nulls(5);
    return;
  }
  params.Int(receiver->function_id)
      .Int(receiver->started_at_epoch_ms)
      .Int(receiver->completed_at_epoch_ms)
      .Text(receiver->application_name)
      .Text(receiver->function_name);
}

/// The probe columns starting at `found` (wf_found, wf_status, 7 step columns).
StepProbe ReadProbe(const Row& row, int found, int function_id) {
  StepProbe probe;
  probe.workflow_exists = row.Bool(found);
  probe.cancelled = probe.workflow_exists && row.Text(found + 1) == "CANCELLED";
  if (!row.IsNull(found + 2)) probe.step = ReadStepColumns(row, found + 2, function_id);
  return probe;
}

/// The one row a Script always returns.
Row OneRow(const Rows& rows, const Script& script) {
  if (rows.Empty()) {
    throw std::logic_error("system database statement " + script.name + " returned no row");
  }
  return rows[0];
}

/// Gives up on a step write that keeps losing races with another writer of the same step.
/// A Row refers to its Rows: never to a temporary.
Row OneRow(Rows&& rows, const Script& script) = delete;

[[noreturn]] void ThrowStepRace(const StepWrite& step) {
  throw DBOSError(ErrorCode::ConflictingID,
                  "step " + std::to_string(step.function_id) + " of workflow " +
                      step.workflow_uuid +
                      " could neither be recorded nor read back; another executor may be "
                      "running this workflow",
                  step.workflow_uuid);
}

// A checkpointed write that found no row at its step ID yet inserted nothing lost a race with a
// concurrent writer of the same step (PostgreSQL: ON CONFLICT saw a row its snapshot did not);
// running it again sees that row. This many passes, then ThrowStepRace.
constexpr int kStepRacePasses = 3;

std::vector<DequeuedWorkflow> ReadClaimed(const Rows& rows) {
  struct Claimed {
    DequeuedWorkflow workflow;
    int64_t priority;
    int64_t created_at;
  };
  std::vector<Claimed> claimed;
  claimed.reserve(rows.Size());
  for (size_t i = 0; i < rows.Size(); ++i) {
    const Row row = rows[i];
    Claimed item{ReadDequeuedColumns(row), row.Int64(10), row.Int64(11)};
    item.workflow.has_steps = row.Bool(12);
    claimed.push_back(std::move(item));
  }
  // Handed out in queue order, whatever order the dialect returned them in.
  std::stable_sort(claimed.begin(), claimed.end(), [](const Claimed& a, const Claimed& b) {
    return std::tie(a.priority, a.created_at) < std::tie(b.priority, b.created_at);
  });
  std::vector<DequeuedWorkflow> out;
  out.reserve(claimed.size());
  for (Claimed& item : claimed) out.push_back(std::move(item.workflow));
  return out;
}

class SqlSystemDatabase final : public SystemDatabase {
 public:
  explicit SqlSystemDatabase(std::unique_ptr<Backend> backend)
      : backend_(std::move(backend)), s_(backend_->GetStatements()) {}

  ~SqlSystemDatabase() override { backend_->StopListening(); }

  WorkflowInsertResult InsertWorkflow(const WorkflowInsert& row) override {
    Params params;
    params.Text(row.workflow_uuid)
        .Text(row.status)
        .Text(row.name)
        .Text(row.class_name)
        .Text(row.config_name)
        .Text(row.authenticated_user)
        .Text(row.assumed_role)
        .Text(row.authenticated_roles)
        .Text(row.executor_id)
        .Text(row.application_version)
        .Text(row.application_id)
        .Text(row.application_name)
        .Text(row.queue_name)
        .Int(row.workflow_timeout_ms)
        .Int(row.workflow_deadline_epoch_ms)
        .Text(row.deduplication_id)
        .Int(row.priority)
        .Text(row.queue_partition_key)
        .Text(row.parent_workflow_id)
        .Text(row.inputs)
        .Text(row.serialization)
        .Text(row.creator_xid)
        .Int(row.now_ms)
        .Int(row.delay_until_epoch_ms)
        .Bool(row.is_debounced)
        .Int(row.debounce_deadline_epoch_ms);
    const auto result =
        Run<WorkflowInsertResult>(op::kInsertWorkflow, row.workflow_uuid, [&](Session& s, bool) {
          Rows rows;
          try {
            rows = s.Run(s_.insert_workflow, params);
          } catch (const ConstraintViolation& e) {
            if (e.GetKind() != ConstraintViolation::Kind::kUnique || !e.Mentions("dedup")) throw;
            throw DBOSError(ErrorCode::QueueDeduplicated,
                            "workflow " + row.workflow_uuid + " was not enqueued: queue '" +
                                row.queue_name.value_or("") + "' already holds a workflow with " +
                                "deduplication ID '" + row.deduplication_id.value_or("") + "'",
                            row.workflow_uuid);
          }
          const Row r = OneRow(rows, s_.insert_workflow);
          WorkflowInsertResult out;
          out.created = r.Bool(0);
          out.status = r.Text(1);
          out.name = r.OptText(2);
          out.queue_name = r.OptText(3);
          out.recovery_attempts = r.Int64(4);
          out.workflow_timeout_ms = r.OptInt64(5);
          out.workflow_deadline_epoch_ms = r.OptInt64(6);
          return out;
        });
    // A new ENQUEUED row is work for other processes' queue runners; a new DELAYED row changes
    // when their delay promoters must look next.
    if (result.created && (result.status == "ENQUEUED" || result.status == "DELAYED")) {
      backend_->Announce(result.status == "ENQUEUED" ? kQueueChannel : kDelayChannel,
                         result.queue_name.value_or(""));
    }
    return result;
  }

  bool FinishWorkflow(const std::string& workflow_uuid, const std::string& status,
                      const std::optional<std::string>& output,
                      const std::optional<std::string>& error, int64_t now_ms) override {
    return Run<bool>(op::kFinishWorkflow, workflow_uuid, [&](Session& s, bool retry) {
      Params params;
      params.Text(workflow_uuid).Text(status).Text(output).Text(error).Int(now_ms).Bool(retry);
      const Rows rows = s.Run(s_.finish_workflow, params);
      if (!rows.Empty() && rows[0].Bool(0)) return true;
      if (!retry) return false;
      // After an in-doubt commit, our own finish (same status and completed_at) is found.
      Params mine;
      mine.Text(workflow_uuid).Text(status).Int(now_ms);
      return !s.Run(s_.finished_as, mine).Empty();
    });
  }

  void MarkDeadLetter(const std::string& workflow_uuid, int64_t now_ms) override {
    Params params;
    params.Text(workflow_uuid).Int(now_ms);
    Run<bool>(op::kMarkDeadLetter, workflow_uuid, [&](Session& s, bool) {
      s.Run(s_.mark_dead_letter, params);
      return true;
    });
    AnnounceStreamEnd(workflow_uuid);  // its streams' readers stop waiting
  }

  std::optional<WorkflowRow> GetWorkflow(const std::string& workflow_uuid,
                                         bool load_values) override {
    Params params;
    params.Text(workflow_uuid);
    const Script& script = load_values ? s_.get_workflow : s_.get_workflow_meta;
    return Run<std::optional<WorkflowRow>>(op::kGetWorkflow, workflow_uuid,
                                           [&](Session& s, bool) -> std::optional<WorkflowRow> {
                                             const Rows rows = s.Run(script, params);
                                             if (rows.Empty()) return std::nullopt;
                                             return ReadWorkflowColumns(rows[0]);
                                           });
  }

  StepWriteResult RecordStep(const StepWrite& step) override {
    Params params;
    AddCheckpoint(params, step);
    return Run<StepWriteResult>(op::kRecordStep, step.workflow_uuid, [&](Session& s, bool retry) {
      for (int pass = 1;; ++pass) {
        const Rows rows = s.Run(s_.record_step, params);
        const Row r = OneRow(rows, s_.record_step);
        if (r.Bool(0)) return StepWriteResult{};  // Inserted
        StepProbe probe = ReadProbe(r, 1, step.function_id);
        // After an in-doubt commit, our own row counts as written now.
        if (retry && probe.step && SameStep(*probe.step, step)) return StepWriteResult{};
        if (auto blocked = Blocked(std::move(probe))) return *blocked;
        if (pass >= kStepRacePasses) ThrowStepRace(step);
      }
    });
  }

  std::vector<StepRow> ListSteps(const std::string& workflow_uuid) override {
    return step_reads_.Read(
        workflow_uuid, [this](const std::string& id) { return ListStepsOfOne(id); },
        [this](const std::vector<std::string>& ids) { return ListStepsOfMany(ids); });
  }

  std::optional<std::string> GetWorkflowStatusString(const std::string& workflow_uuid) override {
    Params params;
    params.Text(workflow_uuid);
    return Run<std::optional<std::string>>(op::kGetWorkflowStatusString, workflow_uuid,
                                           [&](Session& s, bool) -> std::optional<std::string> {
                                             const Rows rows = s.Run(s_.get_status, params);
                                             if (rows.Empty()) return std::nullopt;
                                             return rows[0].Text(0);
                                           });
  }

  std::vector<std::string> ReenqueuePendingWorkflows(const std::vector<std::string>& executor_ids,
                                                     const std::string& application_version,
                                                     const std::string& application_name,
                                                     int64_t now_ms) override {
    if (executor_ids.empty()) return {};
    const std::string ids = nlohmann::json(executor_ids).dump();
    const std::string queue = kInternalQueueName;
    Params params;
    params.Text(ids).Text(application_version).Text(queue).Int(now_ms).Text(application_name);
    return Run<std::vector<std::string>>(op::kReenqueuePendingWorkflows, "", [&](Session& s, bool) {
      const Rows rows = s.Run(s_.reenqueue, params);
      std::vector<std::string> out;
      out.reserve(rows.Size());
      for (size_t i = 0; i < rows.Size(); ++i) out.push_back(rows[i].Text(0));
      return out;
    });
  }

  std::vector<DequeuedWorkflow> DequeueWorkflows(const DequeueRequest& request) override {
    if (request.max_tasks < 0 || request.workflow_names.empty()) return {};
    const std::string names = nlohmann::json(request.workflow_names).dump();
    const std::string token = util::NewUuid();
    Params params;
    params.Text(request.queue_name)
        .Text(request.executor_id)
        .Text(request.application_version)
        .Bool(request.accept_unversioned);
    if (request.max_tasks == 0) {
      params.Null();  // no limit
    } else {
      params.Int(request.max_tasks);
    }
    params.Int(request.now_ms).Text(request.application_name).Text(names).Text(token);
    Params by_token;
    by_token.Text(request.executor_id).Text(token);
    return Run<std::vector<DequeuedWorkflow>>(
        op::kDequeueWorkflows, "", [&](Session& s, bool retry) -> std::vector<DequeuedWorkflow> {
          // After an in-doubt commit the rows an earlier attempt claimed carry the token.
          if (retry) {
            std::vector<DequeuedWorkflow> earlier =
                ReadClaimed(s.Run(s_.dequeue_claimed_by_token, by_token));
            if (!earlier.empty()) return earlier;
          }
          // A look without the write lock first, where claiming would take it even for nothing.
          if (s_.dequeue_precheck) {
            const Rows look = s.Run(*s_.dequeue_precheck, params);
            if (look.Empty() || !look[0].Bool(0)) return {};
          }
          return ReadClaimed(s.Run(s_.dequeue_claim, params));
        });
  }

  bool RegisterApplicationVersion(const std::string& version_name,
                                  const std::string& application_name, int64_t now_ms) override {
    const std::string version_id = util::NewUuid();
    Params params;
    params.Text(version_name).Text(application_name).Int(now_ms).Text(version_id);
    return Run<bool>(op::kRegisterApplicationVersion, "", [&](Session& s, bool) {
      const Rows rows = s.Run(s_.register_version, params);
      const Row r = OneRow(rows, s_.register_version);
      if (r.IsNull(1)) return true;  // no version of this app (or unclaimed) before
      return r.Int64(0) >= r.Int64(1);
    });
  }

  SendResult Send(const MessageWrite& message) override {
    const std::string& wf_id = message.checkpoint ? message.checkpoint->workflow_uuid : "";
    const std::string& topic = StoredTopic(message.topic);
    Params params;
    params.Text(message.message_uuid)
        .Text(message.destination_uuid)
        .Text(topic)
        .Text(message.message)
        .Int(message.now_ms);
    if (message.checkpoint) AddCheckpoint(params, *message.checkpoint);
    AddReceiver(params, message.deliver_to);
    return Run<SendResult>(op::kSend, wf_id, [&](Session& s, bool retry) {
      try {
        return message.checkpoint ? SendCheckpointed(s, message, params, retry)
                                  : SendUnrecorded(s, params, retry);
      } catch (const ConstraintViolation& e) {
        // The destination was deleted between the existence check and the insert.
        if (e.GetKind() == ConstraintViolation::Kind::kForeignKey) {
          return SendResult::DestinationMissing;
        }
        throw;
      }
    });
  }

  ConsumeResult ConsumeMessage(const std::string& topic, const StepWrite& checkpoint,
                               const MessageCheck& check) override {
    const std::string& stored_topic = StoredTopic(topic);
    Params peek;
    peek.Text(checkpoint.workflow_uuid).Int(checkpoint.function_id).Text(stored_topic);
    return Run<ConsumeResult>(op::kConsumeMessage, checkpoint.workflow_uuid, [&](Session& s, bool) {
      for (int pass = 1;; ++pass) {
        // Decided from a read first: a waiting Recv polls this, and takes no write lock (and on
        // PostgreSQL locks no row) while there is nothing it can take.
        const Rows found_rows = s.Run(s_.consume_peek, peek);
        const Row found = OneRow(found_rows, s_.consume_peek);
        ConsumeResult out;
        if (auto blocked = Blocked(ReadProbe(found, 0, checkpoint.function_id))) {
          out.kind = blocked->kind;
          out.existing = std::move(blocked->existing);
          return out;
        }
        if (found.IsNull(9)) return out;  // no message waits
        const std::string message_uuid = found.Text(9);
        StoredValue value{found.Text(10), found.OptText(11)};
        if (check) {
          if (auto why = check(value)) {
            out.unreadable = std::move(why);  // never consume what the caller cannot decode
            return out;
          }
        }
        Params take;
        take.Text(checkpoint.workflow_uuid)
            .Int(checkpoint.function_id)
            .Text(checkpoint.function_name)
            .Text(message_uuid)
            .Int(checkpoint.started_at_epoch_ms)
            .Int(checkpoint.completed_at_epoch_ms)
            .Text(checkpoint.application_name);
        const Rows taken_rows = s.Run(s_.consume_take, take);
        const Row taken = OneRow(taken_rows, s_.consume_take);
        if (taken.Bool(0)) {
          out.message = std::move(value.text);
          out.serialization = std::move(value.serialization);
          return out;
        }
        // Not taken: the step or the workflow changed (classified by the next peek), or another
        // reader took the message; look again.
        if (pass >= kStepRacePasses) ThrowStepRace(checkpoint);
      }
    });
  }

  StepWriteResult SetEvent(const EventWrite& event) override {
    Params params;
    params.Text(event.workflow_uuid)
        .Text(event.key)
        .Text(event.value)
        .Bool(event.checkpoint.has_value());
    if (event.checkpoint) {
      AddCheckpoint(params, *event.checkpoint);
    } else {
      params.Nulls(9);
    }
    params.Int(event.function_id);
    const int function_id = event.checkpoint ? event.checkpoint->function_id : 0;
    return Run<StepWriteResult>(op::kSetEvent, event.workflow_uuid, [&](Session& s, bool retry) {
      for (int pass = 1;; ++pass) {
        const Rows rows = s.Run(s_.set_event, params);
        const Row r = OneRow(rows, s_.set_event);
        if (r.Bool(0)) return StepWriteResult{};  // written
        StepProbe probe = ReadProbe(r, 1, function_id);
        if (retry && probe.step && event.checkpoint && SameStep(*probe.step, *event.checkpoint)) {
          return StepWriteResult{};  // our own in-doubt commit
        }
        if (auto blocked = Blocked(std::move(probe))) return *blocked;
        if (!event.checkpoint) {
          throw std::logic_error("SetEvent wrote nothing for an existing workflow " +
                                 event.workflow_uuid);
        }
        if (pass >= kStepRacePasses) ThrowStepRace(*event.checkpoint);
      }
    });
  }

  std::optional<StoredValue> GetEvent(const std::string& workflow_uuid,
                                      const std::string& key) override {
    Params params;
    params.Text(workflow_uuid).Text(key);
    return Run<std::optional<StoredValue>>(
        op::kGetEvent, workflow_uuid, [&](Session& s, bool) -> std::optional<StoredValue> {
          const Rows rows = s.Run(s_.get_event, params);
          if (rows.Empty() || rows[0].IsNull(0)) return std::nullopt;
          return StoredValue{rows[0].Text(0), rows[0].OptText(1)};
        });
  }

  bool CancelWorkflow(const std::string& workflow_uuid, int64_t now_ms) override {
    Params params;
    params.Text(workflow_uuid).Int(now_ms);
    const bool found = Run<bool>(op::kCancelWorkflow, workflow_uuid, [&](Session& s, bool) {
      const Rows rows = s.Run(s_.cancel_workflow, params);
      return OneRow(rows, s_.cancel_workflow).Bool(0);
    });
    if (found) AnnounceStreamEnd(workflow_uuid);  // its streams' readers stop waiting
    return found;
  }

  std::vector<std::string> FilterCancelled(
      const std::vector<std::string>& workflow_uuids) override {
    if (workflow_uuids.empty()) return {};
    const std::string ids = nlohmann::json(workflow_uuids).dump();
    Params params;
    params.Text(ids);
    return Run<std::vector<std::string>>(op::kFilterCancelled, "", [&](Session& s, bool) {
      const Rows rows = s.Run(s_.filter_cancelled, params);
      std::vector<std::string> out;
      out.reserve(rows.Size());
      for (size_t i = 0; i < rows.Size(); ++i) out.push_back(rows[i].Text(0));
      return out;
    });
  }

  std::vector<size_t> FindWaitNews(const std::vector<WaitProbe>& probes) override {
    if (probes.empty()) return {};
    using Kind = WaitProbe::Kind;
    // Each kind's array, each entry once: [workflow, topic, key or step] pairs, or workflow IDs.
    std::set<std::pair<std::string, std::string>> pairs[3];
    std::set<std::string> ended;
    for (const auto& probe : probes) {
      switch (probe.kind) {
        case Kind::kMessage:
          pairs[0].emplace(probe.workflow_uuid, probe.name);
          break;
        case Kind::kEvent:
          pairs[1].emplace(probe.workflow_uuid, probe.name);
          break;
        case Kind::kStep:
          pairs[2].emplace(probe.workflow_uuid, probe.name);
          break;
        case Kind::kEnded:
          ended.insert(probe.workflow_uuid);
          break;
      }
    }
    const std::string arrays[4] = {nlohmann::json(pairs[0]).dump(), nlohmann::json(pairs[1]).dump(),
                                   nlohmann::json(ended).dump(), nlohmann::json(pairs[2]).dump()};
    Params params;  // keeps references to `arrays`
    for (const auto& array : arrays) params.Text(array);
    // (kind, workflow ID, topic, key or step) of what is there.
    using Found = std::tuple<Kind, std::string, std::string>;
    const auto found = Run<std::set<Found>>(op::kFindWaitNews, "", [&](Session& s, bool) {
      const Rows rows = s.Run(s_.wait_news, params);
      std::set<Found> out;
      for (size_t i = 0; i < rows.Size(); ++i) {
        const std::string kind = rows[i].Text(0);
        out.emplace(kind == "m"   ? Kind::kMessage
                    : kind == "e" ? Kind::kEvent
                    : kind == "s" ? Kind::kStep
                                  : Kind::kEnded,
                    rows[i].Text(1), rows[i].Text(2));
      }
      return out;
    });
    std::vector<size_t> news;
    for (size_t i = 0; i < probes.size(); ++i) {
      const auto& probe = probes[i];
      const std::string name = probe.kind == Kind::kEnded ? "" : probe.name;
      if (found.contains({probe.kind, probe.workflow_uuid, name})) news.push_back(i);
    }
    return news;
  }

  // ---- Delays

  DelayedPromotion PromoteDueDelayed(int64_t now_ms) override {
    Params none;
    Params params;
    params.Int(now_ms);
    DelayedPromotion result =
        Run<DelayedPromotion>(op::kPromoteDueDelayed, "", [&](Session& s, bool retry) {
          DelayedPromotion out;
          const auto add_queues = [&](const Rows& rows) {
            for (size_t i = 0; i < rows.Size(); ++i) {
              std::string queue = rows[i].Text(0);
              if (std::find(out.queues.begin(), out.queues.end(), queue) == out.queues.end()) {
                out.queues.push_back(std::move(queue));
              }
            }
          };
          // An earlier attempt may have promoted rows with its reply lost: their queues are still
          // reported, so that the caller wakes the runner for them.
          if (retry) add_queues(s.Run(s_.promoted_at, params));
          const Rows next = s.Run(s_.next_delayed, none);
          // Nothing due: no write (and on SQLite no write lock).
          if (next.Empty() || next[0].IsNull(0) || next[0].Int64(0) > now_ms) {
            if (!next.Empty()) out.next_due_ms = next[0].OptInt64(0);
            return out;
          }
          add_queues(s.Run(s_.promote_delayed, params));
          const Rows later = s.Run(s_.next_delayed, none);
          if (!later.Empty()) out.next_due_ms = later[0].OptInt64(0);
          return out;
        });
    for (const auto& queue : result.queues) backend_->Announce(kQueueChannel, queue);
    return result;
  }

  DelayUpdate SetWorkflowDelay(const std::string& workflow_uuid, int64_t delay_until_epoch_ms,
                               int64_t now_ms) override {
    Params params;
    params.Text(workflow_uuid).Int(delay_until_epoch_ms).Int(now_ms);
    const DelayUpdate result =
        Run<DelayUpdate>(op::kSetWorkflowDelay, workflow_uuid, [&](Session& s, bool retry) {
          const Rows rows = s.Run(s_.set_workflow_delay, params);
          if (rows.Empty() || rows[0].IsNull(0)) return DelayUpdate::Missing;
          if (rows[0].Text(0) == "DELAYED") return DelayUpdate::Updated;
          // An earlier attempt set this time with its reply lost, and the row was promoted since:
          // the move happened.
          if (retry && !rows[0].IsNull(1) && rows[0].Int64(1) == delay_until_epoch_ms) {
            return DelayUpdate::Updated;
          }
          return DelayUpdate::NotDelayed;
        });
    if (result == DelayUpdate::Updated) backend_->Announce(kDelayChannel, workflow_uuid);
    return result;
  }

  std::optional<std::string> BounceDebounced(const Bounce& bounce) override {
    Params params;
    params.Text(bounce.name)
        .Text(bounce.queue_name)
        .Text(bounce.deduplication_id)
        .Int(bounce.delay_until_epoch_ms)
        .Text(bounce.inputs)
        .Int(bounce.now_ms);
    Params earlier;
    earlier.Text(bounce.name)
        .Text(bounce.queue_name)
        .Int(bounce.delay_until_epoch_ms)
        .Text(bounce.inputs);
    return Run<std::optional<std::string>>(
        op::kBounceDebounced, "", [&](Session& s, bool retry) -> std::optional<std::string> {
          const Rows rows = s.Run(s_.bounce_debounced, params);
          if (!rows.Empty()) return rows[0].Text(0);
          // An earlier attempt bounced the row with its reply lost, and it was promoted since:
          // that row runs this input, so no new workflow may start for it.
          if (retry) {
            const Rows bounced = s.Run(s_.bounced_earlier, earlier);
            if (!bounced.Empty()) return bounced[0].Text(0);
          }
          return std::nullopt;
        });
  }

  bool StartListening(NotificationCallback callback) override {
    return backend_->StartListening(std::move(callback));
  }
  void StopListening() override { backend_->StopListening(); }

 private:
  /// Runs `attempt(session, is_retry)` in the backend's retry loop and returns its value.
  template <typename T, typename Attempt>
  T Run(const Operation& operation, const std::string& workflow_id, Attempt&& attempt) {
    std::optional<T> result;
    backend_->Execute(operation, workflow_id, *this, [&](Session& session, bool retry) {
      result.emplace(attempt(session, retry));
    });
    return std::move(*result);
  }

  /// The steps of list_steps's rows.
  static std::vector<StepRow> StepsOf(const Rows& rows) {
    std::vector<StepRow> steps;
    steps.reserve(rows.Size());
    for (size_t i = 0; i < rows.Size(); ++i) {
      const Row r = rows[i];
      steps.push_back(ReadStepColumns(r, 1, static_cast<int>(r.Int64(0))));
    }
    return steps;
  }

  std::vector<StepRow> ListStepsOfOne(const std::string& workflow_uuid) {
    Params params;
    params.Text(workflow_uuid);
    return Run<std::vector<StepRow>>(op::kListSteps, workflow_uuid, [&](Session& s, bool) {
      return StepsOf(s.Run(s_.list_steps, params));
    });
  }

  using StepsOfMany = ReadCoalescer<std::vector<StepRow>>::Batch;
  /// The read lane's attempt: one workflow with list_steps, several with list_steps_of_many.
  StepsOfMany ListStepsOfMany(const std::vector<std::string>& ids) {
    if (ids.size() == 1) {
      Params params;
      params.Text(ids.front());
      return Run<StepsOfMany>(op::kListStepsInLane, ids.front(), [&](Session& s, bool) {
        StepsOfMany steps;
        steps.emplace(ids.front(), StepsOf(s.Run(s_.list_steps, params)));
        return steps;
      });
    }
    const std::string ids_json = nlohmann::json(ids).dump();
    Params params;
    params.Text(ids_json);
    return Run<StepsOfMany>(op::kListStepsInLane, "", [&](Session& s, bool) {
      const Rows rows = s.Run(s_.list_steps_of_many, params);
      StepsOfMany steps;
      for (size_t i = 0; i < rows.Size(); ++i) {
        const Row r = rows[i];
        std::string id = r.Text(0);
        // An ID that did not come back as sent would leave its reader with no history.
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
          throw std::logic_error("list_steps_of_many returned a workflow it was not asked for");
        }
        steps[std::move(id)].push_back(ReadStepColumns(r, 2, static_cast<int>(r.Int64(1))));
      }
      return steps;
    });
  }

  SendResult SendUnrecorded(Session& s, const Params& params, bool retry) {
    const Rows rows = s.Run(s_.send, params);
    const Row r = OneRow(rows, s_.send);
    const SendProbe probe{std::nullopt, r.Bool(0)};
    if (auto blocked = SendBlocked(probe, std::nullopt, retry)) return *blocked;
    return r.Bool(2) ? SendResult::Delivered : SendResult::Sent;
  }

  SendResult SendCheckpointed(Session& s, const MessageWrite& message, const Params& params,
                              bool retry) {
    for (int pass = 1;; ++pass) {
      const Rows rows = s.Run(s_.send_checkpointed, params);
      const Row r = OneRow(rows, s_.send_checkpointed);
      if (r.Bool(0)) return r.Bool(5) ? SendResult::Delivered : SendResult::Sent;
      SendProbe probe;
      probe.sender = StepProbe{};
      probe.sender->workflow_exists = r.Bool(2);
      probe.sender->cancelled = probe.sender->workflow_exists && r.Text(3) == "CANCELLED";
      if (!r.IsNull(6)) {
        probe.sender->step = ReadStepColumns(r, 6, message.checkpoint->function_id);
      }
      probe.destination_exists = r.Bool(4);
      if (auto blocked = SendBlocked(probe, message.checkpoint, retry)) return *blocked;
      // A concurrent insert of the same checkpoint committed during the statement: run again.
      if (pass >= kStepRacePasses) ThrowStepRace(*message.checkpoint);
    }
  }

  std::unique_ptr<Backend> backend_;
  const Statements& s_;
  // Replays that wake together read their recorded steps together: one query at a time, of up
  // to 64 workflows (with two lanes, a third of 100,000 released replays shared a query; with
  // one, two thirds, at the same release rate).
  ReadCoalescer<std::vector<StepRow>> step_reads_{1, 64};

 public:
  // ---- Queues

  void UpsertQueue(const QueueRow& queue, int64_t now_ms) override {
    const std::string queue_id = util::NewUuid();
    Params params;
    params.Text(queue.name)
        .Int(queue.concurrency)
        .Int(queue.worker_concurrency)
        .Int(queue.rate_limit_max)
        .Int(queue.rate_limit_period_ms)
        .Bool(queue.priority_enabled)
        .Bool(queue.partition_queue)
        .Text(queue.application_name)
        .Int(now_ms)
        .Text(queue_id);
    Run<bool>(op::kUpsertQueue, "", [&](Session& s, bool) {
      s.Run(s_.upsert_queue, params);
      return true;
    });
  }

  std::optional<QueueRow> GetQueue(const std::string& name) override {
    Params params;
    params.Text(name);
    return Run<std::optional<QueueRow>>(op::kGetQueue, "",
                                        [&](Session& s, bool) -> std::optional<QueueRow> {
                                          const Rows rows = s.Run(s_.get_queue, params);
                                          if (rows.Empty()) return std::nullopt;
                                          const Row r = rows[0];
                                          QueueRow out;
                                          out.name = r.Text(0);
                                          out.concurrency = r.OptInt64(1);
                                          out.worker_concurrency = r.OptInt64(2);
                                          out.rate_limit_max = r.OptInt64(3);
                                          out.rate_limit_period_ms = r.OptInt64(4);
                                          out.priority_enabled = r.Bool(5);
                                          out.partition_queue = r.Bool(6);
                                          out.application_name = r.OptText(7);
                                          return out;
                                        });
  }

  std::vector<std::string> ListQueuePartitions(const std::string& queue_name) override {
    Params params;
    params.Text(queue_name);
    return Run<std::vector<std::string>>(op::kListQueuePartitions, "", [&](Session& s, bool) {
      const Rows rows = s.Run(s_.list_queue_partitions, params);
      std::vector<std::string> out;
      out.reserve(rows.Size());
      for (size_t i = 0; i < rows.Size(); ++i) out.push_back(rows[i].Text(0));
      return out;
    });
  }

  QueueClaim ClaimFromQueue(const QueueClaimRequest& request) override {
    const DequeueRequest& base = request.base;
    if (base.max_tasks < 0 || base.workflow_names.empty()) return {};
    const std::string names = nlohmann::json(base.workflow_names).dump();
    const std::string token = util::NewUuid();
    Params params;
    params.Text(base.queue_name)
        .Text(base.executor_id)
        .Text(base.application_version)
        .Bool(base.accept_unversioned);
    if (base.max_tasks == 0) {
      params.Null();  // no limit
    } else {
      params.Int(base.max_tasks);
    }
    params.Int(base.now_ms).Text(base.application_name).Text(names).Text(token);
    params.Text(request.partition_key);
    params.Int(request.global_concurrency ? std::optional<int64_t>(*request.global_concurrency)
                                          : std::nullopt);
    params.Int(request.rate_limit_max ? std::optional<int64_t>(*request.rate_limit_max)
                                      : std::nullopt);
    params.Int(base.now_ms - request.rate_limit_period_ms);
    Params by_token;
    by_token.Text(base.executor_id).Text(token);
    return Run<QueueClaim>(op::kClaimFromQueue, "", [&](Session& s, bool retry) -> QueueClaim {
      // After an in-doubt commit the rows an earlier attempt claimed carry the token.
      if (retry) {
        QueueClaim earlier;
        earlier.claimed = ReadClaimed(s.Run(s_.dequeue_claimed_by_token, by_token));
        if (!earlier.claimed.empty()) return earlier;
      }
      if (s_.queue_claim_precheck) {
        const Rows look = s.Run(*s_.queue_claim_precheck, params);
        if (look.Empty() || !look[0].Bool(0)) return {};
      }
      const bool limited = request.global_concurrency || request.rate_limit_max;
      const Rows rows = s.Run(limited ? s_.queue_claim_alone : s_.queue_claim, params);
      QueueClaim out;
      Rows claimed(rows.Columns());
      for (size_t i = 0; i < rows.Size(); ++i) {
        const Row r = rows[i];
        if (r.IsNull(0)) {
          out.contended = out.contended || r.Bool(13);
          continue;
        }
        for (int c = 0; c < rows.Columns(); ++c) claimed.Add(r.OptText(c));
      }
      out.claimed = ReadClaimed(claimed);
      return out;
    });
  }

  // ---- Streams (sql_streams.cpp)

  StreamWriteResult WriteStream(const StreamWrite& write) override {
    return WriteStreamOn(*backend_, s_, *this, write);
  }

  StreamChunk ReadStream(const std::string& workflow_uuid, const std::string& key,
                         int64_t from_offset, int limit) override {
    return ReadStreamOn(*backend_, s_, *this, workflow_uuid, key, from_offset, limit);
  }

  void AnnounceStreamEnd(const std::string& workflow_uuid) noexcept override {
    backend_->Announce(kStreamsChannel, workflow_uuid);
  }

  // ---- Management

  std::vector<WorkflowRow> ListWorkflows(const WorkflowFilter& filter) override {
    Params params;
    Script script;
    try {
      script = ListWorkflowsScript(s_.spelling, filter, params);
    } catch (const std::invalid_argument& e) {
      throw DBOSError(ErrorCode::InvalidOption, std::string("ListWorkflows: ") + e.what());
    }
    return Run<std::vector<WorkflowRow>>(op::kListWorkflows, "", [&](Session& s, bool) {
      const Rows rows = s.Run(script, params);
      std::vector<WorkflowRow> out;
      out.reserve(rows.Size());
      for (size_t i = 0; i < rows.Size(); ++i) out.push_back(ReadWorkflowColumns(rows[i]));
      return out;
    });
  }

  ResumeOutcome ResumeWorkflow(const std::string& workflow_uuid, const std::string& queue_name,
                               int64_t now_ms) override {
    const auto outcome =
        Run<ResumeOutcome>(op::kResumeWorkflow, workflow_uuid, [&](Session& s, bool retry) {
          Params params;
          params.Text(workflow_uuid).Text(queue_name).Int(now_ms).Bool(retry);
          const Rows rows = s.Run(s_.resume_workflow, params);
          if (rows.Empty() || rows[0].IsNull(0)) return ResumeOutcome::Missing;
          const std::string before = rows[0].Text(0);
          if (before == "SUCCESS" || before == "ERROR") return ResumeOutcome::Ended;
          return ResumeOutcome::Resumed;
        });
    if (outcome == ResumeOutcome::Resumed) backend_->Announce(kQueueChannel, queue_name);
    return outcome;
  }

  ForkOutcome ForkWorkflow(const ForkRequest& request) override {
    Params params;
    params.Text(request.original_workflow_id)
        .Text(request.forked_workflow_id)
        .Int(request.start_step)
        .Text(request.application_version)
        .Text(request.queue_name)
        .Text(request.queue_partition_key)
        .Text(request.creator_xid)
        .Int(request.now_ms);
    const auto outcome =
        Run<ForkOutcome>(op::kForkWorkflow, request.forked_workflow_id, [&](Session& s, bool) {
          const Rows rows = s.Run(s_.fork_workflow, params);
          const Row r = OneRow(rows, s_.fork_workflow);
          // A row carrying this request's creator_xid is its own fork, committed by an attempt
          // whose reply was lost.
          if (r.Bool(1) || r.OptText(2) == request.creator_xid) return ForkOutcome::Forked;
          if (!r.Bool(0)) return ForkOutcome::OriginalMissing;
          return ForkOutcome::IdTaken;
        });
    if (outcome == ForkOutcome::Forked) backend_->Announce(kQueueChannel, request.queue_name);
    return outcome;
  }

  // ---- Schedules

  bool InsertSchedule(const ScheduleRow& row) override {
    return Run<bool>(op::kInsertSchedule, "", [&](Session& s, bool retry) {
      return InsertScheduleAttempt(s, s_, row, retry);
    });
  }

  void UpsertSchedule(const ScheduleRow& row) override {
    Params params;
    AddScheduleParams(params, row);
    Run<bool>(op::kUpsertSchedule, "", [&](Session& s, bool) {
      s.Run(s_.upsert_schedule, params);
      return true;
    });
  }

  std::optional<ScheduleRow> GetSchedule(const std::string& schedule_name) override {
    return Run<std::optional<ScheduleRow>>(op::kGetSchedule, "", [&](Session& s, bool) {
      return GetScheduleAttempt(s, s_, schedule_name);
    });
  }

  std::vector<ScheduleRow> ListSchedules(const std::string& application_name) override {
    return Run<std::vector<ScheduleRow>>(op::kListSchedules, "", [&](Session& s, bool) {
      return ListSchedulesAttempt(s, s_, application_name);
    });
  }

  bool SetScheduleStatus(const std::string& schedule_name, const std::string& status) override {
    Params params;
    params.Text(schedule_name).Text(status);
    return Run<bool>(op::kSetScheduleStatus, "", [&](Session& s, bool) {
      return !s.Run(s_.set_schedule_status, params).Empty();
    });
  }

  bool DeleteSchedule(const std::string& schedule_name) override {
    Params params;
    params.Text(schedule_name);
    return Run<bool>(op::kDeleteSchedule, "",
                     [&](Session& s, bool) { return !s.Run(s_.delete_schedule, params).Empty(); });
  }

  void RecordScheduleFired(const std::string& schedule_name, const std::string& fired_at,
                           const std::string& workflow_uuid) override {
    Params params;
    params.Text(schedule_name).Text(fired_at).Text(workflow_uuid);
    Run<bool>(op::kRecordScheduleFired, workflow_uuid, [&](Session& s, bool) {
      s.Run(s_.record_schedule_fired, params);
      return true;
    });
  }

  std::optional<std::string> LatestApplicationVersion(
      const std::string& application_name) override {
    Params params;
    params.Text(application_name);
    return Run<std::optional<std::string>>(op::kLatestApplicationVersion, "",
                                           [&](Session& s, bool) -> std::optional<std::string> {
                                             const Rows rows = s.Run(s_.latest_version, params);
                                             if (rows.Empty()) return std::nullopt;
                                             return rows[0].OptText(0);
                                           });
  }
};

}  // namespace

std::unique_ptr<SystemDatabase> MakeSystemDatabase(std::unique_ptr<Backend> backend) {
  return std::make_unique<SqlSystemDatabase>(std::move(backend));
}

}  // namespace dbos::sysdb::core
