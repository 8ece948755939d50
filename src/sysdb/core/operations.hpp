// Every system database operation by name with its retry class, for both dialects: what a retry
// after an unknown commit outcome may assume (see retry.hpp).
#pragma once

#include "sysdb/core/retry.hpp"

namespace dbos::sysdb::core {

/// An operation of SystemDatabase: its name (in messages and fault sites), its retry class, and
/// how many attempts a transient failure gets (0: retried until it succeeds or shutdown).
struct Operation {
  const char* name;
  RetryClass retry_class;
  int max_attempts = 0;
};

namespace op {
using enum RetryClass;
// Writes whose retry finds their own effect: creator_xid, ON CONFLICT, guarded UPDATEs, and the
// probe row that recognises the caller's own checkpoint or finish.
inline constexpr Operation kInsertWorkflow{"InsertWorkflow", kIdempotent};
inline constexpr Operation kFinishWorkflow{"FinishWorkflow", kIdempotent};
inline constexpr Operation kMarkDeadLetter{"MarkDeadLetter", kIdempotent};
inline constexpr Operation kRecordStep{"RecordStep", kIdempotent};
inline constexpr Operation kReenqueuePendingWorkflows{"ReenqueuePendingWorkflows", kIdempotent};
inline constexpr Operation kRegisterApplicationVersion{"RegisterApplicationVersion", kIdempotent};
inline constexpr Operation kSend{"Send", kIdempotent};
inline constexpr Operation kConsumeMessage{"ConsumeMessage", kIdempotent};
inline constexpr Operation kSetEvent{"SetEvent", kIdempotent};
inline constexpr Operation kCancelWorkflow{"CancelWorkflow", kIdempotent};
inline constexpr Operation kUpsertQueue{"UpsertQueue", kIdempotent};
// A claim takes whatever is there: its retry first returns the rows carrying its token.
inline constexpr Operation kDequeueWorkflows{"DequeueWorkflows", kClaimToken};
inline constexpr Operation kPromoteDueDelayed{"PromoteDueDelayed", kIdempotent};
inline constexpr Operation kSetWorkflowDelay{"SetWorkflowDelay", kIdempotent};
inline constexpr Operation kBounceDebounced{"BounceDebounced", kIdempotent};

inline constexpr Operation kClaimFromQueue{"ClaimFromQueue", kClaimToken};
// Reads.
inline constexpr Operation kGetWorkflow{"GetWorkflow", kReadOnly};
inline constexpr Operation kListSteps{"ListSteps", kReadOnly};
// The same read for one or more workflows in the read lane (ReadCoalescer): one attempt, then
// each reader reads alone with kListSteps, so that a failing read holds the lane for one
// attempt, not for its retries.
inline constexpr Operation kListStepsInLane{"ListSteps", kReadOnly, 1};
inline constexpr Operation kGetWorkflowStatusString{"GetWorkflowStatusString", kReadOnly};
inline constexpr Operation kGetEvent{"GetEvent", kReadOnly};
// The wait watcher's reads run in a loop that tries again next round and moves on to its other
// chunks meanwhile, so they fail fast: a chunk that keeps failing (a statement timeout shorter
// than the query) must not hold the watcher, and the cancellation poll with it, forever.
inline constexpr int kBackgroundReadAttempts = 3;
inline constexpr Operation kFilterCancelled{"FilterCancelled", kReadOnly, kBackgroundReadAttempts};
inline constexpr Operation kFindWaitNews{"FindWaitNews", kReadOnly, kBackgroundReadAttempts};
inline constexpr Operation kGetQueue{"GetQueue", kReadOnly};
inline constexpr Operation kListQueuePartitions{"ListQueuePartitions", kReadOnly};

// Streams. A checkpointed append finds its own checkpoint on retry; an append inside a step has
// none and is as at-least-once as the step it belongs to.
inline constexpr Operation kWriteStream{"WriteStream", kIdempotent};
inline constexpr Operation kReadStream{"ReadStream", kReadOnly};
// Management: resume and fork recognise their own in-doubt commit (see SystemDatabase).
inline constexpr Operation kListWorkflows{"ListWorkflows", kReadOnly};
inline constexpr Operation kResumeWorkflow{"ResumeWorkflow", kIdempotent};
inline constexpr Operation kForkWorkflow{"ForkWorkflow", kIdempotent};
// Schedules: writes that find their own effect on a retry (schedule_id, upserts, updates).
inline constexpr Operation kInsertSchedule{"InsertSchedule", kIdempotent};
inline constexpr Operation kUpsertSchedule{"UpsertSchedule", kIdempotent};
inline constexpr Operation kSetScheduleStatus{"SetScheduleStatus", kIdempotent};
inline constexpr Operation kDeleteSchedule{"DeleteSchedule", kIdempotent};
inline constexpr Operation kRecordScheduleFired{"RecordScheduleFired", kIdempotent};
inline constexpr Operation kGetSchedule{"GetSchedule", kReadOnly};
inline constexpr Operation kListSchedules{"ListSchedules", kReadOnly};
inline constexpr Operation kLatestApplicationVersion{"LatestApplicationVersion", kReadOnly};
}  // namespace op

}  // namespace dbos::sysdb::core
