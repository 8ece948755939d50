// Scheduled workflows on both backends: ticks run with their scheduled times and deterministic
// IDs, once per tick across two executors on one database; pause, resume, delete, apply,
// backfill (idempotent) and trigger; missed ticks are replayed only with automatic backfill;
// in-doubt commits of schedule writes; bad input is refused before anything is written; Shutdown
// wakes a sleeping scheduler.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "scheduler/cron.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::schedule_fns {

using Clock = std::chrono::system_clock;

/// What the scheduled workflows received, by workflow ID.
struct Received {
  Clock::time_point scheduled_time;
  nlohmann::json context;
  int runs = 0;
};
std::mutex g_mutex;
std::condition_variable g_cv;
std::map<std::string, Received> g_received;

void Record(const std::string& id, Clock::time_point t, nlohmann::json context) {
  {
    std::lock_guard lock(g_mutex);
    Received& r = g_received[id];
    r.scheduled_time = t;
    r.context = std::move(context);
    ++r.runs;
  }
  g_cv.notify_all();
}

// Takes the scheduled time, as API.md's scheduled workflows do.
std::string Tick(DBOSContext& ctx, Clock::time_point scheduled) {
  Record(GetWorkflowID(ctx), scheduled, nullptr);
  return GetWorkflowID(ctx);
}

// Takes the scheduled time and the schedule's context.
int Job(DBOSContext& ctx, ScheduledWorkflowInput input) {
  Record(GetWorkflowID(ctx), input.scheduled_time, input.context);
  return 1;
}

// Not schedulable: its input is neither a time nor ScheduledWorkflowInput.
int Plain(DBOSContext&, int x) { return x; }

}  // namespace dbos::testing::schedule_fns

namespace dbos::testing {
namespace {
using namespace schedule_fns;
using namespace std::chrono_literals;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

/// Waits (bounded) until `pred` holds over the received runs.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::seconds timeout = 20s) {
  std::unique_lock lock(g_mutex);
  return g_cv.wait_for(lock, timeout, [&] { return pred(g_received); });
}

std::map<std::string, Received> Snapshot() {
  std::lock_guard lock(g_mutex);
  return g_received;
}

class ScheduleTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    std::lock_guard lock(g_mutex);
    g_received.clear();
  }
  DBOSContext Make(const std::string& executor = "local", const std::string& tick_cron = "") {
    Config config = MakeConfig();
    config.executor_id = executor;
    DBOSContext ctx = NewDBOSContext(config);
    if (tick_cron.empty()) {
      RegisterWorkflow(ctx, Tick, WithWorkflowName("tick"));
    } else {
      RegisterWorkflow(ctx, Tick, WithWorkflowName("tick"), WithSchedule(tick_cron));
    }
    RegisterWorkflow(ctx, Job, WithWorkflowName("job"));
    RegisterWorkflow(ctx, Plain, WithWorkflowName("plain"));
    return ctx;
  }
};

// WithSchedule: every second, the workflow runs with the tick's time (a whole second) and the ID
// sched-<workflow name>-<RFC 3339 time>; last_fired_at follows.
TEST_P(ScheduleTest, APerSecondScheduleRunsWithItsScheduledTimes) {
  DBOSContext ctx = Make("local", "* * * * * *");
  const auto launched = Clock::now();
  Launch(ctx);
  ASSERT_TRUE(WaitFor([](const auto& m) { return m.size() >= 3; }));
  Shutdown(ctx, 5s);
  std::vector<Clock::time_point> times;
  for (const auto& [id, r] : Snapshot()) {
    EXPECT_EQ(id, "sched-tick-" + scheduler::FormatRfc3339Seconds(r.scheduled_time));
    EXPECT_EQ(r.scheduled_time.time_since_epoch() % 1s, Clock::duration::zero()) << id;
    EXPECT_GT(r.scheduled_time, launched - 1s) << id << ": a tick from before the launch";
    EXPECT_EQ(r.runs, 1) << id;
    times.push_back(r.scheduled_time);
  }
  std::sort(times.begin(), times.end());
  for (size_t i = 1; i < times.size(); ++i) EXPECT_EQ(times[i] - times[i - 1], 1s);
  DBOSContext reader = Make();
  const WorkflowSchedule schedule = GetSchedule(reader, "tick");
  EXPECT_EQ(schedule.workflow_name, "tick");
  EXPECT_EQ(schedule.status, "ACTIVE");
  ASSERT_TRUE(schedule.last_fired_at.has_value());
  EXPECT_GE(*schedule.last_fired_at, times.front());
}

// Two executors with the same schedule on one database: each tick runs exactly once.
TEST_P(ScheduleTest, TwoExecutorsRunEachTickOnce) {
  DBOSContext a = Make("executor-a", "* * * * * *");
  DBOSContext b = Make("executor-b", "* * * * * *");
  Launch(a);
  Launch(b);
  ASSERT_TRUE(WaitFor([](const auto& m) { return m.size() >= 4; }));
  Shutdown(a, 5s);
  Shutdown(b, 5s);
  std::map<Clock::time_point, int> per_tick;
  for (const auto& [id, r] : Snapshot()) {
    EXPECT_EQ(r.runs, 1) << id;
    ++per_tick[r.scheduled_time];
  }
  for (const auto& [t, n] : per_tick) {
    EXPECT_EQ(n, 1) << scheduler::FormatRfc3339Seconds(t) << " ran " << n << " times";
  }
}

// CreateSchedule with a context; pause stops the ticks, resume restarts them, delete removes the
// schedule; a duplicate name is refused.
TEST_P(ScheduleTest, PauseResumeAndDelete) {
  DBOSContext ctx = Make();
  Launch(ctx);
  CreateSchedule(ctx, ScheduleSpec{.schedule_name = "every-second",
                                   .schedule = "* * * * * *",
                                   .workflow_name = "job",
                                   .context = {{"bucket", "tmp"}}});
  EXPECT_EQ(CodeOf([&] {
              CreateSchedule(ctx, ScheduleSpec{.schedule_name = "every-second",
                                               .schedule = "0 0 0 * * *",
                                               .workflow_name = "job"});
            }),
            ErrorCode::ConflictingRegistration);
  EXPECT_EQ(GetSchedule(ctx, "every-second").schedule, "* * * * * *");
  ASSERT_TRUE(WaitFor([](const auto& m) { return !m.empty(); }));
  EXPECT_EQ(Snapshot().begin()->second.context, nlohmann::json({{"bucket", "tmp"}}));

  PauseSchedule(ctx, "every-second");
  EXPECT_EQ(GetSchedule(ctx, "every-second").status, "PAUSED");
  // A tick enqueued just before the pause may still run; after that, none for 2.5 s.
  std::this_thread::sleep_for(1500ms);
  const size_t paused_count = Snapshot().size();
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(Snapshot().size(), paused_count) << "a paused schedule ticked";

  ResumeSchedule(ctx, "every-second");
  EXPECT_EQ(GetSchedule(ctx, "every-second").status, "ACTIVE");
  ASSERT_TRUE(WaitFor([&](const auto& m) { return m.size() >= paused_count + 2; }));

  DeleteSchedule(ctx, "every-second");
  EXPECT_EQ(CodeOf([&] { GetSchedule(ctx, "every-second"); }), ErrorCode::ScheduleNotFound);
  EXPECT_TRUE(ListSchedules(ctx).empty());
  DeleteSchedule(ctx, "every-second");  // nothing to delete: no error
  std::this_thread::sleep_for(1500ms);
  const size_t deleted_count = Snapshot().size();
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(Snapshot().size(), deleted_count) << "a deleted schedule ticked";
  Shutdown(ctx, 5s);
}

// ApplySchedules upserts by name: the definition changes, status and ID stay; ListSchedules
// filters.
TEST_P(ScheduleTest, ApplySchedulesReplacesDefinitionsAndKeepsStatus) {
  DBOSContext ctx = Make();
  CreateSchedule(
      ctx,
      ScheduleSpec{.schedule_name = "nightly", .schedule = "0 0 3 * * *", .workflow_name = "job"});
  const std::string id = GetSchedule(ctx, "nightly").schedule_id;
  PauseSchedule(ctx, "nightly");
  ApplySchedules(
      ctx,
      {ScheduleSpec{.schedule_name = "nightly",
                    .schedule = "0 30 4 * * *",
                    .workflow_name = "job",
                    .context = 5,
                    .automatic_backfill = true,
                    .cron_timezone = "Europe/Berlin"},
       ScheduleSpec{.schedule_name = "hourly", .schedule = "@hourly", .workflow_name = "tick"}});
  const WorkflowSchedule nightly = GetSchedule(ctx, "nightly");
  EXPECT_EQ(nightly.schedule_id, id);
  EXPECT_EQ(nightly.status, "PAUSED");
  EXPECT_EQ(nightly.schedule, "0 30 4 * * *");
  EXPECT_EQ(nightly.context, 5);
  EXPECT_TRUE(nightly.automatic_backfill);
  EXPECT_EQ(nightly.cron_timezone, "Europe/Berlin");
  EXPECT_EQ(ListSchedules(ctx).size(), 2u);
  EXPECT_EQ(ListSchedules(ctx, WithScheduleStatuses({"PAUSED"})).size(), 1u);
  EXPECT_EQ(ListSchedules(ctx, WithScheduleWorkflowNames({"tick"})).at(0).schedule_name, "hourly");
  EXPECT_EQ(ListSchedules(ctx, WithScheduleNamePrefixes({"night"})).size(), 1u);
  EXPECT_EQ(ListSchedules(ctx, WithScheduleNames({"none"})).size(), 0u);
}

// BackfillSchedule enqueues the ticks strictly between start and end with their deterministic
// IDs; a second backfill returns the same IDs and runs nothing again. TriggerSchedule runs once
// now.
TEST_P(ScheduleTest, BackfillIsIdempotentAndTriggerRunsNow) {
  DBOSContext ctx = Make();
  Launch(ctx);
  CreateSchedule(ctx, ScheduleSpec{.schedule_name = "ten",
                                   .schedule = "*/10 * * * * *",
                                   .workflow_name = "job",
                                   .context = "ctx"});
  PauseSchedule(ctx, "ten");  // only the backfill runs
  const auto start = ParseTimestamp("2026-01-01T00:00:00Z");
  const auto ids = BackfillSchedule(ctx, "ten", start, start + 60s);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids.front(), "sched-ten-2026-01-01T00:00:10Z");
  EXPECT_EQ(ids.back(), "sched-ten-2026-01-01T00:00:50Z");
  for (const auto& id : ids) EXPECT_EQ(RetrieveWorkflow<int>(ctx, id).GetResult(), 1);
  EXPECT_EQ(BackfillSchedule(ctx, "ten", start, start + 60s), ids);
  for (const auto& id : ids) EXPECT_EQ(RetrieveWorkflow<int>(ctx, id).GetResult(), 1);
  const auto received = Snapshot();
  EXPECT_EQ(received.size(), 5u);
  for (const auto& id : ids) {
    EXPECT_EQ(received.at(id).runs, 1) << id;
    EXPECT_EQ(received.at(id).context, "ctx");
    EXPECT_EQ(id, "sched-ten-" + scheduler::FormatRfc3339Seconds(received.at(id).scheduled_time));
  }

  const auto before = Clock::now();
  const std::string triggered = TriggerSchedule(ctx, "ten");
  EXPECT_EQ(triggered.rfind("sched-ten-trigger-", 0), 0u) << triggered;
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, triggered).GetResult(), 1);
  const auto at = Snapshot().at(triggered).scheduled_time;
  EXPECT_GE(at, before);
  EXPECT_LE(at, Clock::now());
  Shutdown(ctx, 5s);
}

// A process that was down does not replay the ticks it missed; with automatic_backfill it does.
class MissedTicksTest : public ScheduleTest {
 protected:
  // The schedule last fired 6 s ago; returns the launch time.
  Clock::time_point LaunchAfterDowntime(DBOSContext& ctx, bool backfill) {
    CreateSchedule(ctx, ScheduleSpec{.schedule_name = "s",
                                     .schedule = "* * * * * *",
                                     .workflow_name = "tick",
                                     .automatic_backfill = backfill});
    const auto last = std::chrono::floor<std::chrono::seconds>(Clock::now()) - 6s;
    OpenRaw()->RecordScheduleFired("s", FormatTimestamp(last), "none");
    const auto launched = Clock::now();
    Launch(ctx);
    return launched;
  }
};

TEST_P(MissedTicksTest, MissedTicksAreNotReplayed) {
  DBOSContext ctx = Make();
  const auto launched = LaunchAfterDowntime(ctx, false);
  ASSERT_TRUE(WaitFor([](const auto& m) { return m.size() >= 2; }));
  Shutdown(ctx, 5s);
  for (const auto& [id, r] : Snapshot()) {
    EXPECT_GT(r.scheduled_time, launched - 1s) << id << " is a missed tick, replayed";
  }
}

TEST_P(MissedTicksTest, AutomaticBackfillReplaysMissedTicks) {
  DBOSContext ctx = Make();
  const auto launched = LaunchAfterDowntime(ctx, true);
  ASSERT_TRUE(WaitFor([&](const auto& m) {
    return std::count_if(m.begin(), m.end(), [&](const auto& kv) {
             return kv.second.scheduled_time < launched - 1s;
           }) >= 4;
  }));
  Shutdown(ctx, 5s);
  for (const auto& [id, r] : Snapshot()) EXPECT_EQ(r.runs, 1) << id;
}

// Shutdown during a long automatic backfill (two hours of per-second ticks) does not wait for
// the backfill to end.
TEST_P(MissedTicksTest, ShutdownStopsALongBackfill) {
  DBOSContext ctx = Make();
  CreateSchedule(ctx, ScheduleSpec{.schedule_name = "s",
                                   .schedule = "* * * * * *",
                                   .workflow_name = "tick",
                                   .automatic_backfill = true});
  const auto last = std::chrono::floor<std::chrono::seconds>(Clock::now()) - 2h;
  OpenRaw()->RecordScheduleFired("s", FormatTimestamp(last), "none");
  Launch(ctx);
  ASSERT_TRUE(WaitFor([](const auto& m) { return !m.empty(); }));  // the backfill is under way
  const auto before = std::chrono::steady_clock::now();
  Shutdown(ctx, 5s);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
}

// Bad input: a clear InvalidOption or ScheduleNotFound, nothing written.
TEST_P(ScheduleTest, BadInputIsRefusedBeforeAnythingIsWritten) {
  DBOSContext ctx = Make();
  DBOSError error = ErrorOf([&] {
    CreateSchedule(
        ctx,
        ScheduleSpec{.schedule_name = "bad", .schedule = "0 0 25 * * *", .workflow_name = "job"});
  });
  EXPECT_EQ(error.Code(), ErrorCode::InvalidOption);
  EXPECT_NE(error.Message().find("hour field '25'"), std::string::npos) << error.what();
  error = ErrorOf([&] {
    CreateSchedule(ctx, ScheduleSpec{.schedule_name = "bad",
                                     .schedule = "0 0 1 * * *",
                                     .workflow_name = "job",
                                     .cron_timezone = "Atlantis/Capital"});
  });
  EXPECT_EQ(error.Code(), ErrorCode::InvalidOption);
  EXPECT_NE(error.Message().find("unknown time zone 'Atlantis/Capital'"), std::string::npos)
      << error.what();
  EXPECT_EQ(CodeOf([&] {
              CreateSchedule(ctx, ScheduleSpec{.schedule_name = "bad",
                                               .schedule = "@daily",
                                               .workflow_name = "unregistered"});
            }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf([&] {
              CreateSchedule(
                  ctx, ScheduleSpec{
                           .schedule_name = "bad", .schedule = "@daily", .workflow_name = "plain"});
            }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(
      CodeOf([&] {
        ApplySchedules(
            ctx,
            {ScheduleSpec{.schedule_name = "good", .schedule = "@daily", .workflow_name = "job"},
             ScheduleSpec{.schedule_name = "bad", .schedule = "* * * *", .workflow_name = "job"}});
      }),
      ErrorCode::InvalidOption);
  EXPECT_TRUE(ListSchedules(ctx).empty()) << "a refused spec wrote a schedule";
  EXPECT_EQ(CodeOf([&] { PauseSchedule(ctx, "none"); }), ErrorCode::ScheduleNotFound);
  EXPECT_EQ(CodeOf([&] { ResumeSchedule(ctx, "none"); }), ErrorCode::ScheduleNotFound);
  EXPECT_EQ(CodeOf([&] { GetSchedule(ctx, "none"); }), ErrorCode::ScheduleNotFound);
  EXPECT_EQ(CodeOf([&] { TriggerSchedule(ctx, "none"); }), ErrorCode::ScheduleNotFound);
  EXPECT_EQ(CodeOf([&] { BackfillSchedule(ctx, "none", Clock::now() - 1h, Clock::now()); }),
            ErrorCode::ScheduleNotFound);

  DBOSContext other = NewDBOSContext(MakeConfig());
  error = ErrorOf([&] {
    RegisterWorkflow(other, Tick, WithWorkflowName("t"), WithSchedule("0 0 0 * JANUARY *"));
  });
  EXPECT_EQ(error.Code(), ErrorCode::InvalidOption);
  EXPECT_NE(error.Message().find("month field 'JANUARY'"), std::string::npos) << error.what();
  EXPECT_EQ(CodeOf([&] {
              RegisterWorkflow(other, Plain, WithWorkflowName("p"), WithSchedule("@daily"));
            }),
            ErrorCode::InvalidOption);
}

// In-doubt commits (the commit happened, the reply was lost): CreateSchedule creates one
// schedule and reports success; pause, resume and the tick's writes are recognised too.
TEST_P(ScheduleTest, InDoubtScheduleWritesAreRecognised) {
  DBOSContext ctx = Make();
  // The first statement of each of these operations commits and loses its reply.
  std::mutex mutex;
  std::set<std::string> faulted;
  {
    ScopedFaultInjector injector([&](const FaultSite& site) {
      const std::string op = site.operation;
      Fault fault;
      std::lock_guard lock(mutex);
      if ((op == "InsertSchedule" || op == "SetScheduleStatus" || op == "InsertWorkflow" ||
           op == "RecordScheduleFired") &&
          faulted.insert(op).second) {
        fault.kind = Fault::Kind::kAfterCommit;
      }
      return fault;
    });
    CreateSchedule(
        ctx,
        ScheduleSpec{.schedule_name = "doubt", .schedule = "* * * * * *", .workflow_name = "job"});
    PauseSchedule(ctx, "doubt");
    ResumeSchedule(ctx, "doubt");
    Launch(ctx);
    ASSERT_TRUE(WaitFor([](const auto& m) { return m.size() >= 2; }));
  }
  Shutdown(ctx, 5s);
  EXPECT_EQ(faulted.size(), 4u);
  EXPECT_EQ(ListSchedules(ctx).size(), 1u);
  EXPECT_EQ(GetSchedule(ctx, "doubt").status, "ACTIVE");
  for (const auto& [id, r] : Snapshot()) EXPECT_EQ(r.runs, 1) << id;
}

// Shutdown wakes the scheduler thread sleeping until a far tick and its next reconciliation.
TEST_P(ScheduleTest, ShutdownWakesASleepingScheduler) {
  DBOSContext ctx = Make("local", "0 0 0 1 1 *");
  Launch(ctx);
  std::this_thread::sleep_for(200ms);  // let it go to sleep
  const auto before = std::chrono::steady_clock::now();
  Shutdown(ctx, 5s);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
}

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing::schedule_fns {

// Creates, pauses, reads and lists a schedule: each call a checkpointed step.
std::string ManageSchedules(DBOSContext& ctx, std::string name) {
  CreateSchedule(ctx, ScheduleSpec{.schedule_name = name,
                                   .schedule = "0 0 0 1 1 *",
                                   .workflow_name = "job",
                                   .context = {{"by", "workflow"}}});
  PauseSchedule(ctx, name);
  const WorkflowSchedule read = GetSchedule(ctx, name);
  const size_t listed = ListSchedules(ctx, WithScheduleNames({name})).size();
  return read.status + ":" + read.context.at("by").get<std::string>() + ":" +
         std::to_string(listed);
}

// Calls CreateSchedule inside a step.
int CreateInStep(DBOSContext& ctx, int) {
  return RunAsStep(ctx, [&] {
    CreateSchedule(
        ctx, ScheduleSpec{.schedule_name = "s", .schedule = "* * * * * *", .workflow_name = "job"});
    return 1;
  });
}

}  // namespace dbos::testing::schedule_fns

namespace dbos::testing {
namespace {

// Inside a workflow the schedule calls are steps named as DBOS names them; a replay (with its
// steps recorded, or after a crash between the insert and its checkpoint) creates nothing again
// and does not fail; inside a step they are refused.
TEST_P(ScheduleTest, ScheduleCallsInAWorkflowAreStepsThatDoNotRepeat) {
  DBOSContext ctx = Make();
  RegisterWorkflow(ctx, ManageSchedules, WithWorkflowName("manage"));
  RegisterWorkflow(ctx, CreateInStep, WithWorkflowName("create-in-step"));
  Launch(ctx);
  EXPECT_EQ(
      RunWorkflow(ctx, ManageSchedules, std::string("yearly"), WithWorkflowID("mgr")).GetResult(),
      "PAUSED:workflow:1");
  std::vector<std::string> names;
  for (const StepInfo& step : GetWorkflowSteps(ctx, "mgr")) names.push_back(step.step_name);
  EXPECT_EQ(names, (std::vector<std::string>{"DBOS.createSchedule", "DBOS.pauseSchedule",
                                             "DBOS.getSchedule", "DBOS.listSchedules"}));
  const std::string table = IsPostgres() ? schema_ + ".workflow_schedules" : "workflow_schedules";
  const std::string steps = IsPostgres() ? schema_ + ".operation_outputs" : "operation_outputs";
  const std::string status = IsPostgres() ? schema_ + ".workflow_status" : "workflow_status";
  const auto replay = [&](bool forget_steps) {
    if (forget_steps) RunSql(url_, "DELETE FROM " + steps + " WHERE workflow_uuid = 'mgr'");
    RunSql(url_, "UPDATE " + status + " SET status = 'PENDING' WHERE workflow_uuid = 'mgr'");
    return ResumeWorkflow<std::string>(ctx, "mgr").GetResult();
  };
  EXPECT_EQ(replay(false), "PAUSED:workflow:1");
  // A crash after the insert committed and before its checkpoint: the row is recognised.
  EXPECT_EQ(replay(true), "PAUSED:workflow:1");
  EXPECT_EQ(RunSql(url_, "SELECT COUNT(*) FROM " + table).at(0).at(0), "1");
  EXPECT_EQ(
      CodeOf([&] { RunWorkflow(ctx, CreateInStep, 0, WithWorkflowID("in-step")).GetResult(); }),
      ErrorCode::StepExecution);
  Shutdown(ctx, 5s);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ScheduleTest);
DBOS_INSTANTIATE_ON_BOTH_BACKENDS(MissedTicksTest);

}  // namespace
}  // namespace dbos::testing
