// The scheduler: one background thread, started at Launch, that keeps an in-memory copy of the
// ACTIVE rows of workflow_schedules (the reconciler: at start, every SchedulerPollingInterval and
// when woken by a change made in this process) and enqueues each schedule's ticks as they come
// due. A schedule first seen (or changed, or resumed) starts at its next tick: ticks missed while
// no executor ran are enqueued only for schedules with automatic_backfill (from the tick after
// last_fired_at). Stop() wakes the sleeping thread through its condition variable and joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/runtime.hpp"
#include "scheduler/cron.hpp"
#include "sysdb/system_database.hpp"

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

  void Run() noexcept;
  void Reconcile();
  void FireDue();
  /// Enqueues the ticks of `entry` after its last_fired_at up to now (automatic backfill).
  void CatchUp(const Entry& entry);

  detail::Runtime& runtime_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;                     ///< Guarded by mutex_.
  bool reconcile_ = false;                ///< Guarded by mutex_.
  std::map<std::string, Entry> entries_;  ///< By schedule name; scheduler thread only.
};

/// At Launch: turns every WithSchedule registration into its schedule row (ApplySchedules: the
/// definition is replaced, a paused schedule stays paused) and starts the scheduler.
std::unique_ptr<Scheduler> StartScheduler(detail::Runtime& runtime);

}  // namespace dbos::scheduler
