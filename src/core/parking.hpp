// Parking of waiting workflows, so that a process can hold far more waiting workflows than it has
// threads. A workflow that waits (Sleep, Recv, GetEvent, GetResult of another workflow) first waits
// on its thread as a *resident* waiter. When more than the resident limit wait at once, the one
// that has waited longest is asked to park: its wait registers its wake-ups here (notifier keys,
// a wake-up time), then throws ParkInterrupt, which unwinds its stack and gives its thread back.
// When a wake-up comes (a notification, the time, a cancellation, shutdown), the executor runs the
// workflow again from its first step: recorded steps replay from the database up to the wait.
//
// The life of a parked workflow: BeginPark (at the wait, still on its thread) → CompletePark (its
// execution has unwound; the resume function is stored) → a wake-up hands it to this lot's thread,
// which calls the resume function. A wake-up that arrives while the stack still unwinds is kept and
// acted on at CompletePark, so none is lost.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/notifier.hpp"
#include "core/workflow_state.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {

/// What a parked wait waits for in the database: the wait watcher checks the probes of all
/// parked waits at once (a safety net for notifications that never come, e.g. a write by another
/// process on SQLite) and wakes those with news.
using ParkProbe = sysdb::WaitProbe;
/// The probes of one parked wait, shared with the wait watcher's rounds rather than copied.
using ParkProbes = std::shared_ptr<const std::vector<ParkProbe>>;
/// A parked workflow's probes, as the wait watcher gets them.
struct ParkedProbes {
  WorkflowState* state;  ///< Identifies the parked workflow (never dereferenced by the watcher).
  ParkProbes probes;
};

class ParkingLot {
  struct Resident {
    WorkflowState* state;
    bool evicted;  ///< Asked to park; no longer counted against the limit.
  };

 public:
  /// `resident_limit`: how many workflows may wait on a thread at once before the longest
  /// waiting one parks.
  ParkingLot(messaging::Notifier& notifier, size_t resident_limit);
  ~ParkingLot();
  ParkingLot(const ParkingLot&) = delete;
  ParkingLot& operator=(const ParkingLot&) = delete;

  /// A workflow's wait on its own thread, for the scope's lifetime: the least recently started
  /// resident waits park first when there are too many. Does nothing for a workflow that cannot
  /// park (see CanPark).
  class ResidentWait {
   public:
    ResidentWait(ParkingLot& lot, WorkflowState& state);
    ~ResidentWait();
    ResidentWait(const ResidentWait&) = delete;
    ResidentWait& operator=(const ResidentWait&) = delete;

   private:
    ParkingLot& lot_;
    WorkflowState& state_;
    bool entered_ = false;
    std::list<Resident>::iterator position_;
  };

  /// True when `state`'s wait may park: it runs on its execution's thread, outside a step, with
  /// no dbos::Go step running beside it, and it never swallowed a park.
  static bool CanPark(WorkflowState& state);

  /// At the wait, after it returned Wake::Park: the workflow wakes when one of `keys` is
  /// notified, at `wake_at_epoch_ms` (if set), or when it is interrupted. `probes` are what the
  /// wait watcher checks for it. The caller then throws ParkInterrupt.
  void BeginPark(WorkflowState& state, const std::vector<std::string>& keys,
                 std::vector<ParkProbe> probes, std::optional<int64_t> wake_at_epoch_ms);
  /// The wait did not park after all (it returned a result that arrived meanwhile).
  void CancelPark(WorkflowState& state);
  /// The parked execution unwound: `resume` runs on this lot's thread when the workflow wakes (at
  /// once when a wake-up came already, or after Stop).
  void CompletePark(WorkflowState& state, std::function<void()> resume);

  /// The resident limit new runtimes start with: `fallback`, unless a test changed it (a test run
  /// can park every wait of every workflow, to replay everything through parking).
  static size_t DefaultResidentLimit(size_t fallback);
  static void SetDefaultResidentLimitForTesting(std::optional<size_t> limit);
  /// Changes the resident limit (0: every parkable wait parks at once). For tests and benchmarks.
  void SetResidentLimit(size_t limit);
  /// Number of parked workflows (parking or parked).
  size_t ParkedCount();
  /// Number of resident waits.
  size_t ResidentCount();
  /// The probes of every parked workflow not yet woken (with `ends_only`, only the lists holding
  /// a probe of a workflow's end; the caller picks those out).
  std::vector<ParkedProbes> Probes(bool ends_only = false);
  /// Wakes `state` if it is parked in a wait with this probe (news found in a snapshot wakes the
  /// wait that asks for it now, even one parked again since the snapshot).
  void WakeIfParkedFor(WorkflowState* state, const ParkProbe& probe);
  /// Resumes every parked workflow now (each was interrupted by shutdown, so it ends without
  /// running code) and, from then on, every workflow that completes a park; stops the thread.
  void Stop();

 private:
  struct Parked {
    std::vector<std::unique_ptr<messaging::Notifier::Registration>> registrations;
    ParkProbes probes;
    bool awaits_end = false;  ///< A probe of a workflow's end is among them.
    std::optional<int64_t> wake_at;
    std::function<void()> resume;  ///< Set by CompletePark.
    bool woken = false;            ///< A wake-up came (acted on when `resume` is set).
  };
  /// Wakes `state` if parked (with `only_for`, only in a wait with that probe).
  void Wake(WorkflowState* state, const ParkProbe* only_for = nullptr);
  /// Under mutex_: a woken, completed park moves to the ready list.
  void MakeReadyLocked(WorkflowState* state, Parked& parked);
  void Run();

  messaging::Notifier& notifier_;
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t resident_limit_;
  std::list<Resident> residents_;  ///< Oldest first.
  size_t unevicted_ = 0;           ///< Residents not asked to park.
  std::unordered_map<WorkflowState*, Parked> parked_;
  std::set<std::pair<int64_t, WorkflowState*>> timers_;  ///< Wake-up times, earliest first.
  std::deque<std::function<void()>> ready_;              ///< Resume functions to call.
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace dbos::detail
