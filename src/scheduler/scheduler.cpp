// The scheduler's thread; see scheduler.hpp.
#include "scheduler/scheduler.hpp"

#include <algorithm>
#include <exception>
#include <vector>

#include "dbos/serialization.hpp"
#include "scheduler/ticks.hpp"
#include "util/uuid.hpp"

namespace dbos::scheduler {
namespace {

using Clock = std::chrono::system_clock;

std::string Signature(const sysdb::ScheduleRow& row) {
  const auto field = [](const std::optional<std::string>& v) { return v ? "1" + *v : "0"; };
  // Length-prefixed, so that no two rows share a signature by shifting text between fields.
  std::string out;
  for (const std::string& part :
       {row.workflow_name, field(row.workflow_class_name), row.schedule, row.context,
        field(row.cron_timezone), field(row.queue_name), std::string(row.status)}) {
    out += std::to_string(part.size()) + ":" + part;
  }
  return out;
}

}  // namespace

void Scheduler::Start() {
  loop_.Start([this](bool woken) { return Round(woken); });
}

void Scheduler::Stop() { loop_.Stop(); }

void Scheduler::Wake() { loop_.Wake(); }

util::BackgroundLoop::Pause Scheduler::Round(bool woken) {
  if (woken || std::chrono::steady_clock::now() >= next_reconcile_) {
    try {
      Reconcile();
    } catch (const std::exception& e) {
      runtime_.Log().Log(LogLevel::Error,
                         std::string("scheduler: could not read the schedules: ") + e.what());
    }
    next_reconcile_ = std::chrono::steady_clock::now() + runtime_.SchedulerPollingInterval();
  }
  FireDue();
  // Pause until the earliest tick or the next reconciliation, whichever comes first.
  auto pause = next_reconcile_ - std::chrono::steady_clock::now();
  const auto now = Clock::now();
  for (const auto& [name, entry] : entries_) {
    if (entry.next == Clock::time_point::max()) continue;
    pause = std::min(pause,
                     std::chrono::duration_cast<util::BackgroundLoop::Duration>(entry.next - now));
  }
  return {std::max(pause, util::BackgroundLoop::Duration::zero())};
}

void Scheduler::Reconcile() {
  const auto rows = runtime_.Db().ListSchedules(runtime_.Config().app_name);
  std::map<std::string, Entry> kept;
  const auto now = Clock::now();
  for (const sysdb::ScheduleRow& row : rows) {
    if (row.status != "ACTIVE") continue;
    const std::string signature = Signature(row);
    const auto existing = entries_.find(row.schedule_name);
    if (existing != entries_.end() && existing->second.signature == signature) {
      kept.emplace(row.schedule_name, std::move(existing->second));
      continue;
    }
    try {
      CronSchedule cron = ParseScheduleOf(row);
      const auto next = cron.Next(now);
      if (!next) continue;  // no tick in the next five years
      Entry entry{row, signature, std::move(cron), *next};
      if (row.automatic_backfill) CatchUp(entry);
      kept.emplace(row.schedule_name, std::move(entry));
    } catch (const std::exception& e) {
      runtime_.Log().Log(LogLevel::Error,
                         "scheduler: schedule '" + row.schedule_name + "' is skipped: " + e.what());
    }
  }
  entries_ = std::move(kept);
}

void Scheduler::CatchUp(const Entry& entry) {
  if (!entry.row.last_fired_at) return;
  Clock::time_point last;
  try {
    last = ParseTimestamp(*entry.row.last_fired_at);
  } catch (const std::exception&) {
    return;
  }
  int enqueued = 0;
  for (auto tick = entry.cron.Next(last); tick && *tick < entry.next;
       tick = entry.cron.Next(*tick)) {
    // A long backlog must not hold up Shutdown; the rest is backfilled at the next launch.
    if (loop_.Stopping()) break;
    if (EnqueueScheduledRun(runtime_, entry.row, *tick,
                            TickWorkflowId(entry.row.schedule_name, *tick), true)) {
      ++enqueued;
    }
  }
  if (enqueued > 0) {
    runtime_.Log().Log(LogLevel::Info, "scheduler: backfilled " + std::to_string(enqueued) +
                                           " missed tick(s) of schedule '" +
                                           entry.row.schedule_name + "'");
  }
}

void Scheduler::FireDue() {
  for (auto& [name, entry] : entries_) {
    // Ticks that came due while the thread was busy or the database slow are all enqueued.
    while (Clock::now() >= entry.next) {
      if (loop_.Stopping()) return;
      try {
        EnqueueScheduledRun(runtime_, entry.row, entry.next, TickWorkflowId(name, entry.next),
                            true);
      } catch (const std::exception& e) {
        runtime_.Log().Log(LogLevel::Error, "scheduler: tick " + FormatTimestamp(entry.next) +
                                                " of schedule '" + name +
                                                "' was not enqueued: " + e.what());
      }
      const auto next = entry.cron.Next(entry.next);
      if (!next) {
        entry.next = Clock::time_point::max();
        break;
      }
      entry.next = *next;
    }
  }
}

std::unique_ptr<Scheduler> StartScheduler(detail::Runtime& runtime) {
  for (const std::string& name : runtime.Registry().Names()) {
    const detail::RegisteredWorkflow* workflow = runtime.Registry().FindByName(name);
    if (workflow == nullptr || workflow->schedule.empty()) continue;
    sysdb::ScheduleRow row;
    row.schedule_id = util::NewUuid();
    row.schedule_name = name;
    row.workflow_name = name;
    row.schedule = workflow->schedule;
    row.context = "null";
    row.application_name = runtime.Config().app_name;
    runtime.Db().UpsertSchedule(row);
  }
  auto scheduler = std::make_unique<Scheduler>(runtime);
  scheduler->Start();
  return scheduler;
}

}  // namespace dbos::scheduler
