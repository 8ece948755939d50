// Per-execution state of one workflow: its identity, the step counter, the steps recorded by an
// earlier execution (for replay), and the interruption signals (cancel, shutdown) that a running
// step or wait observes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>

#include "sysdb/system_database.hpp"

namespace dbos::detail {

/// Why a workflow was interrupted.
enum class Interruption { None, Cancelled, Shutdown };

/// Thrown through a workflow's stack when the instance shuts down: not a std::exception, so user
/// code catching std::exception does not swallow it; the workflow stays PENDING.
struct ShutdownInterrupt {};

struct WorkflowState {
  std::string workflow_id;
  std::string workflow_name;
  std::string application_version;
  std::optional<std::string> authenticated_user;

  int next_step_id = 0;      ///< Only touched by the workflow's own thread.
  bool in_step = false;      ///< True while a step body runs (nested calls are not steps).
  int current_step_id = -1;  ///< The running step's ID while in_step.
  std::unordered_map<int, sysdb::StepRow> recorded;  ///< Loaded once on replay.

  std::stop_source stop;  ///< Requested on cancel or shutdown; steps may take its token.

  /// Requests interruption and wakes any wait of this workflow.
  void Interrupt(Interruption why) {
    {
      std::lock_guard lock(mutex_);
      if (interruption_ == Interruption::None) interruption_ = why;
    }
    stop.request_stop();
    wake_.notify_all();
  }
  /// The pending interruption, if any.
  Interruption Pending() const {
    std::lock_guard lock(mutex_);
    return interruption_;
  }
  /// Sleeps up to `duration`; returns early (false) when interrupted.
  bool WaitFor(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, duration, [&] { return interruption_ != Interruption::None; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Interruption interruption_ = Interruption::None;
};

}  // namespace dbos::detail
