// Probe classification and shared encodings for both system database backends.
#include "sysdb/core/outcomes.hpp"

namespace dbos::sysdb::core {

std::optional<StepWriteResult> Blocked(StepProbe probe) {
  StepWriteResult result;
  if (probe.step) {
    result.kind = StepWriteResult::Kind::AlreadyRecorded;
    result.existing = std::move(probe.step);
  } else if (!probe.workflow_exists) {
    result.kind = StepWriteResult::Kind::WorkflowMissing;
  } else if (probe.cancelled) {
    result.kind = StepWriteResult::Kind::WorkflowCancelled;
  } else {
    return std::nullopt;
  }
  return result;
}

bool SameStep(const StepRow& row, const StepWrite& step) {
  return row.function_name == step.function_name && row.output == step.output &&
         row.error == step.error && row.child_workflow_id == step.child_workflow_id &&
         row.started_at_epoch_ms == step.started_at_epoch_ms &&
         row.completed_at_epoch_ms == step.completed_at_epoch_ms;
}

std::optional<SendResult> SendBlocked(const SendProbe& probe,
                                      const std::optional<StepWrite>& checkpoint, bool retry) {
  if (probe.sender) {
    const StepProbe& sender = *probe.sender;
    if (sender.step) {
      return retry && checkpoint && SameStep(*sender.step, *checkpoint)
                 ? SendResult::Sent
                 : SendResult::AlreadyRecorded;
    }
    if (!sender.workflow_exists || sender.cancelled) return kSenderGone;
  }
  if (!probe.destination_exists) return SendResult::DestinationMissing;
  return std::nullopt;
}

const std::string& StoredTopic(const std::string& topic) {
  static const std::string kNull = kNullTopic;
  return topic.empty() ? kNull : topic;
}

}  // namespace dbos::sysdb::core
