// The scheduler: one background thread, started at Launch, that keeps an in-memory copy of the
// ACTIVE rows of workflow_schedules (the reconciler: at start, every SchedulerPollingInterval and
// when woken by a change made in this process) and enqueues each schedule's ticks as they come
// due. A schedule first seen (or changed, or resumed) starts at its next tick: ticks missed while
// no executor ran are enqueued only for schedules with automatic_backfill (from the tick after
// last_fired_at). Stop() ends the pause of the loop and joins it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/runtime.hpp"
#include "scheduler/cron.hpp"
#include "sysdb/system_database.hpp"
#include "util/background_loop.hpp"

namespace dbos::scheduler {

class Scheduler final : public detail::BackgroundService {
 public:
  explicit Scheduler(detail::Runtime& runtime) : runtime_(runtime) {}
  ~Scheduler() override { Stop(); }

  /// Starts the thread (its first act is a reconciliation).
  void Start();
  void Stop() override;
  /// Reconciles now (a schedule changed in this process).
  void Wake() override;

 private:
  struct Entry {
    sysdb::ScheduleRow row;
    std::string signature;  ///< What makes the ticks differ; a change restarts the entry.
    CronSchedule cron;
    std::chrono::system_clock::time_point next;
  };

  /// Reconciles when woken or due, enqueues the due ticks, and pauses until the next tick or
  /// reconciliation.
  util::BackgroundLoop::Pause Round(bool woken);
  void Reconcile();
  void FireDue();
  /// Enqueues the ticks of `entry` after its last_fired_at up to now (automatic backfill).
  void CatchUp(const Entry& entry);

  detail::Runtime& runtime_;
  std::map<std::string, Entry> entries_;  ///< By schedule name; scheduler thread only.
  /// The first round reconciles (this starts in the past).
  std::chrono::steady_clock::time_point next_reconcile_{};  ///< Scheduler thread only.
  util::BackgroundLoop loop_;  ///< Last: stopped first, before the members its rounds use.
};

/// At Launch: turns every WithSchedule registration into its schedule row (ApplySchedules: the
/// definition is replaced, a paused schedule stays paused) and starts the scheduler.
std::unique_ptr<Scheduler> StartScheduler(detail::Runtime& runtime);

}  // namespace dbos::scheduler
