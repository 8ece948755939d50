// Per-execution state of one workflow: its identity, the step counter, the steps recorded by an
// earlier execution (for replay), its deadline, the interruption signals (cancel, shutdown) that
// a running step or wait observes, and the first system database failure it met (which decides
// that its execution records no outcome).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/concurrent_steps.hpp"
#include "core/waiter.hpp"
#include "dbos/logging.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {

struct CancelScope;

/// Why a workflow was interrupted.
enum class Interruption { None, Cancelled, Shutdown };

/// Thrown through a workflow's stack when the instance shuts down: not a std::exception, so user
/// code catching std::exception does not swallow it; the workflow stays PENDING.
struct ShutdownInterrupt {};

/// Thrown through a workflow's stack when it parks (core/parking.hpp): its thread goes back to the
/// pool and the workflow later replays from its recorded steps. Not a std::exception either. User
/// code that swallows it (`catch (...)` without rethrow) is detected: every DBOS call throws it
/// again, and an execution that ends without it is not recorded (workflow_executor.cpp).
struct ParkInterrupt {};

struct WorkflowState {
  std::string workflow_id;
  std::optional<std::string> authenticated_user;
  std::optional<int64_t> deadline_epoch_ms;  ///< Durable deadline, inherited by children.

  std::atomic<int> next_step_id{0};  ///< Step IDs, taken in call order (atomic: helper threads).
  /// A RunAsStep body runs (threads it starts are part of it); see core/step_marks.hpp, which
  /// decides for each thread, with dbos::Go steps running beside the workflow.
  std::atomic<bool> in_step{false};
  std::atomic<int> current_step_id{-1};  ///< The running step's ID while in_step.
  /// This execution wrote (or replayed a write) to one of the workflow's streams: its end is
  /// announced to readers in other processes.
  std::atomic<bool> wrote_streams{false};
  /// The WithTimeout scope the workflow was started from: it forgets the workflow when it ends.
  std::weak_ptr<CancelScope> cancel_scope;

  /// A wait of this execution asked to park (its thread unwinds): set until the execution is
  /// resumed, so that code that caught the unwinding cannot go on.
  std::atomic<bool> parking{false};
  /// Never parks again (its code swallowed a park once): its waits keep their thread.
  std::atomic<bool> never_park{false};
  /// Its code swallowed a park and called DBOS again (told once in the log).
  std::atomic<bool> swallowed_park{false};
  /// The instance's logger (set when the execution starts), for what only the workflow sees.
  Logger* logger = nullptr;
  /// The Sleep that parked (its step ID) and when it began in this process: its replay returns
  /// the whole time slept here, as a Sleep that kept its thread does.
  std::optional<std::pair<int, int64_t>> parked_sleep;
  /// The Recv that parked (its notifier key and step ID): its claim stays open to local senders
  /// until its replay reaches it, or the execution ends without (which releases the claim).
  std::optional<std::pair<std::string, int>> parked_receiver;

  std::stop_source stop;     ///< Requested on cancel or shutdown; steps may take its token.
  messaging::Waiter waiter;  ///< What this workflow's waits block on.

  /// Requests interruption and wakes any wait of this workflow.
  void Interrupt(Interruption why) {
    {
      std::lock_guard lock(mutex_);
      if (interruption_ == Interruption::None) interruption_ = why;
    }
    stop.request_stop();
    waiter.Interrupt();
  }
  /// Before a parked execution runs again from its first step: the step counter restarts, and the
  /// waiter waits on a thread again. Interruptions and the durable deadline stay.
  void ResetForReplay() {
    next_step_id = 0;
    in_step = false;
    current_step_id = -1;
    parking = false;
    waiter.Unpark();
  }
  /// Keeps the steps an earlier execution recorded, loaded once on replay.
  void SetRecorded(std::unordered_map<int, sysdb::StepRow> steps) {
    std::lock_guard lock(recorded_mutex_);
    recorded_ = std::move(steps);
  }
  /// Takes the step recorded at `step_id`, if any: each is replayed once, and released then.
  std::optional<sysdb::StepRow> TakeRecorded(int step_id) {
    std::lock_guard lock(recorded_mutex_);
    auto it = recorded_.find(step_id);
    if (it == recorded_.end()) return std::nullopt;
    sysdb::StepRow row = std::move(it->second);
    recorded_.erase(it);
    return row;
  }
  /// Number of recorded steps not replayed yet.
  size_t RecordedCount() const {
    std::lock_guard lock(recorded_mutex_);
    return recorded_.size();
  }

  /// The pending interruption, if any.
  Interruption Pending() const {
    std::lock_guard lock(mutex_);
    return interruption_;
  }
  /// Remembers that a system database operation failed for this workflow (the first one is
  /// kept). The execution then records no outcome, whatever the workflow's code returns or
  /// throws: the row stays PENDING for recovery.
  void NoteInfrastructureFailure(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (!infrastructure_failure_) infrastructure_failure_ = what;
  }
  /// The first system database failure this execution met, if any.
  std::optional<std::string> InfrastructureFailure() const {
    std::lock_guard lock(mutex_);
    return infrastructure_failure_;
  }
  /// Sleeps for `duration` (notifications do not cut it short); false when interrupted.
  bool WaitFor(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    for (;;) {
      waiter.Arm();
      const auto wake = waiter.WaitUntil(until);
      if (wake == messaging::Waiter::Wake::Interrupted) return false;
      if (wake == messaging::Waiter::Wake::Deadline) return true;
      if (wake == messaging::Waiter::Wake::Park) waiter.ClearParkRequest();  // not a parkable wait
    }
  }

  /// The steps started with dbos::Go that still run; the workflow's end waits for them.
  ConcurrentSteps go_steps;

 private:
  mutable std::mutex mutex_;
  Interruption interruption_ = Interruption::None;
  std::optional<std::string> infrastructure_failure_;
  mutable std::mutex recorded_mutex_;
  std::unordered_map<int, sysdb::StepRow> recorded_;  ///< Recorded steps not replayed yet.
};

/// The workflow whose code runs on this thread, or null: set by its execution thread (and by the
/// DBOS calls it makes from other threads), so that a system database failure reaches its state.
inline thread_local WorkflowState* current_workflow = nullptr;

/// Makes `state` the current workflow of this thread for the scope's lifetime.
class CurrentWorkflowScope {
 public:
  explicit CurrentWorkflowScope(WorkflowState* state) : previous_(current_workflow) {
    current_workflow = state;
  }
  ~CurrentWorkflowScope() { current_workflow = previous_; }
  CurrentWorkflowScope(const CurrentWorkflowScope&) = delete;
  CurrentWorkflowScope& operator=(const CurrentWorkflowScope&) = delete;

 private:
  WorkflowState* previous_;
};

/// Notes a system database failure in the current workflow of this thread, if any.
inline void NoteInfrastructureFailure(const std::string& what) {
  if (current_workflow != nullptr) current_workflow->NoteInfrastructureFailure(what);
}

}  // namespace dbos::detail
