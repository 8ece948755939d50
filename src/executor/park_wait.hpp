// The parkable wait every blocking DBOS operation inside a workflow uses (Sleep, Recv, GetEvent,
// GetResult): it waits on the workflow's thread like any wait, and when the parking lot asks it to
// give the thread back, it registers what would wake it and unwinds the workflow (ParkInterrupt).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/parking.hpp"
#include "core/waiter.hpp"
#include "core/workflow_state.hpp"

namespace dbos::detail {

class Runtime;

/// Code that swallowed the unwinding of a park (`catch (...)` without rethrow) and called DBOS
/// again: it has diverged from what its replay will do, so it must not go on. Says so in the log
/// (once) and blocks until the workflow is interrupted (cancelled, timed out, shut down).
void HoldSwallowedPark(WorkflowState& state);

/// One workflow's parkable wait, for the duration of its wait loop.
class ParkableWait {
 public:
  /// `keys`: the notifier keys that wake the wait; `probes`: what the wait watcher checks in the
  /// database while the wait is parked.
  ParkableWait(Runtime& runtime, WorkflowState& state, std::vector<std::string> keys,
               std::vector<ParkProbe> probes = {});
  ParkableWait(const ParkableWait&) = delete;
  ParkableWait& operator=(const ParkableWait&) = delete;

  /// Waits until signalled or `until` (returns Signaled or Deadline); throws the interruption.
  /// Asked to park, registers the keys, the probes (unless `with_probes` is false) and
  /// `park_wake_at_ms` (the epoch ms at which the parked workflow wakes, its deadline; nullopt:
  /// no time) and throws ParkInterrupt. A parked wait does not re-check the database by itself:
  /// the wait watcher checks the probes of all parked waits at once.
  messaging::Waiter::Wake Wait(std::chrono::steady_clock::time_point until,
                               std::optional<int64_t> park_wake_at_ms, bool with_probes = true);

 private:
  Runtime& runtime_;
  WorkflowState& state_;
  std::vector<std::string> keys_;
  std::vector<ParkProbe> probes_;
  ParkingLot::ResidentWait resident_;
};

}  // namespace dbos::detail
