// Parked waits (core/parking.hpp): a workflow that waits gives its thread back when too many wait,
// and replays its recorded steps when it wakes. Every test here parks every wait (resident limit
// 0) and checks that the workflow wakes on what it waits for — a message, an event, a timer, a
// child's end, a cancellation, its timeout, shutdown — with its steps run once and recorded
// exactly as without parking; and that user code swallowing the unwinding is caught loudly.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::parking_fns {
std::atomic<int> g_before{0};  // bodies of the step before the wait
std::atomic<int> g_after{0};   // bodies of the step after it
std::atomic<bool> g_release_blocked{false};
std::atomic<int> g_blocked_running{0};

int CountBefore(DBOSContext& ctx) {
  return RunAsStep(
      ctx, [] { return ++g_before; }, WithStepName("before"));
}
int CountAfter(DBOSContext& ctx) {
  return RunAsStep(
      ctx, [] { return ++g_after; }, WithStepName("after"));
}

std::string StepRecvStep(DBOSContext& ctx, int) {
  CountBefore(ctx);
  auto message = Recv<std::string>(ctx, "t", std::chrono::seconds(30));
  CountAfter(ctx);
  return message;
}

int StepGetEventStep(DBOSContext& ctx, std::string publisher) {
  CountBefore(ctx);
  const int value = GetEvent<int>(ctx, publisher, "ready", std::chrono::seconds(30));
  CountAfter(ctx);
  return value;
}

int PublishOnMessage(DBOSContext& ctx, int) {
  const int value = Recv<int>(ctx, "go", std::chrono::seconds(30));
  SetEvent(ctx, "ready", value);
  return value;
}

int64_t StepSleepStep(DBOSContext& ctx, int ms) {
  CountBefore(ctx);
  const auto slept = Sleep(ctx, std::chrono::milliseconds(ms));
  CountAfter(ctx);
  return slept.count();
}

std::string ChildWaits(DBOSContext& ctx, int) {
  return Recv<std::string>(ctx, "t", std::chrono::seconds(30));
}

std::string ParentAwaitsChild(DBOSContext& ctx, std::string child_id) {
  CountBefore(ctx);
  auto child = RunWorkflow(ctx, ChildWaits, 0, WithWorkflowID(child_id));
  auto result = child.GetResult();
  CountAfter(ctx);
  return "child said " + result;
}

// Swallows whatever its Recv throws (the unwinding of a park included) and returns a fallback
// that must never be recorded as its outcome.
std::string SwallowsEverything(DBOSContext& ctx, int) {
  CountBefore(ctx);
  try {
    return Recv<std::string>(ctx, "t", std::chrono::seconds(30));
  } catch (...) {
    return "swallowed";
  }
}

// Swallows the unwinding and tries again: it must be held, never get to "gave up".
std::string SwallowsAndRetries(DBOSContext& ctx, int) {
  for (int i = 0; i < 3; ++i) {
    try {
      return Recv<std::string>(ctx, "t", std::chrono::seconds(30));
    } catch (...) {
    }
  }
  return "gave up";
}

int64_t TwoSleeps(DBOSContext& ctx, int ms) {
  Sleep(ctx, std::chrono::milliseconds(5));
  return Sleep(ctx, std::chrono::milliseconds(ms)).count();
}

int ShortWorkflow(DBOSContext& ctx, int i) {
  return RunAsStep(
      ctx, [i] { return i * 2; }, WithStepName("double"));
}

int BlockedStep(DBOSContext& ctx, int) {
  return RunAsStep(
      ctx,
      [] {
        ++g_blocked_running;
        while (!g_release_blocked) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return 1;
      },
      WithStepName("blocked"));
}
// Each counts its executions (a parked workflow's replay runs its body again).
std::atomic<int> g_runs{0};
std::string RunsThenRecv(DBOSContext& ctx, int) {
  ++g_runs;
  return Recv<std::string>(ctx, "t", std::chrono::seconds(60));
}
int RunsThenGetEvent(DBOSContext& ctx, std::string publisher) {
  ++g_runs;
  return GetEvent<int>(ctx, publisher, "ready", std::chrono::seconds(60));
}
std::string RunsThenAwaits(DBOSContext& ctx, std::string id) {
  ++g_runs;
  return RetrieveWorkflow<std::string>(ctx, id).GetResult();
}
int Publishes(DBOSContext& ctx, int value) {
  SetEvent(ctx, "ready", value);
  return value;
}
// A Recv<int> that refuses what is not an int, then reads it as text.
std::string RecvsIntElseText(DBOSContext& ctx, int) {
  try {
    return std::to_string(Recv<int>(ctx, "t", std::chrono::seconds(30)));
  } catch (const DBOSError& e) {
    return std::string(ErrorCodeName(e.Code())) + ":" +
           Recv<std::string>(ctx, "t", std::chrono::seconds(30));
  }
}
std::string RecvsBriefly(DBOSContext& ctx, int) {
  try {
    return Recv<std::string>(ctx, "t", std::chrono::milliseconds(300));
  } catch (const DBOSError& e) {
    return std::string(ErrorCodeName(e.Code()));
  }
}
}  // namespace dbos::testing::parking_fns

namespace dbos::testing {
namespace {
using namespace parking_fns;
using Clock = std::chrono::steady_clock;

template <typename Predicate>
bool Await(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto until = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class ParkingTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_before = 0;
    g_after = 0;
    g_release_blocked = false;
    g_blocked_running = 0;
    g_runs = 0;
  }
  void TearDown() override {
    g_release_blocked = true;
    DbTest::TearDown();
  }
  DBOSContext Start(size_t resident_limit = 0, const std::string& executor_id = "") {
    Config config = MakeConfig();
    if (!executor_id.empty()) config.executor_id = executor_id;
    DBOSContext ctx = NewDBOSContext(config);
    RegisterWorkflow(ctx, StepRecvStep);
    RegisterWorkflow(ctx, StepGetEventStep);
    RegisterWorkflow(ctx, PublishOnMessage);
    RegisterWorkflow(ctx, StepSleepStep);
    RegisterWorkflow(ctx, ChildWaits);
    RegisterWorkflow(ctx, ParentAwaitsChild);
    RegisterWorkflow(ctx, SwallowsEverything);
    RegisterWorkflow(ctx, SwallowsAndRetries);
    RegisterWorkflow(ctx, TwoSleeps);
    RegisterWorkflow(ctx, ShortWorkflow);
    RegisterWorkflow(ctx, BlockedStep);
    RegisterWorkflow(ctx, RunsThenRecv);
    RegisterWorkflow(ctx, RunsThenGetEvent);
    RegisterWorkflow(ctx, RunsThenAwaits);
    RegisterWorkflow(ctx, Publishes);
    RegisterWorkflow(ctx, RecvsIntElseText);
    RegisterWorkflow(ctx, RecvsBriefly);
    detail::RuntimeOf(ctx).Parking().SetResidentLimit(resident_limit);
    Launch(ctx);
    return ctx;
  }
  static size_t Parked(DBOSContext& ctx) { return detail::RuntimeOf(ctx).Parking().ParkedCount(); }
  static std::vector<std::string> StepNames(DBOSContext& ctx, const std::string& id) {
    std::vector<std::string> names;
    for (const auto& step : GetWorkflowSteps(ctx, id)) {
      names.push_back(std::to_string(step.step_id) + ":" + step.step_name);
    }
    return names;
  }
};

TEST_P(ParkingTest, RecvParksAndWakesOnAMessageWithItsStepsRunOnce) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, StepRecvStep, 0, WithWorkflowID("parked-recv"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; }));
  Send(ctx, "parked-recv", std::string("hello"), "t");
  EXPECT_EQ(handle.GetResult(), "hello");
  EXPECT_EQ(g_before.load(), 1);  // replayed from its checkpoint, not run again
  EXPECT_EQ(g_after.load(), 1);
  EXPECT_EQ(Parked(ctx), 0u);
  EXPECT_EQ(StepNames(ctx, "parked-recv"),
            (std::vector<std::string>{"0:before", "1:DBOS.recv", "2:DBOS.sleep", "3:after"}));
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, GetEventParksAndWakesWhenTheEventIsSet) {
  DBOSContext ctx = Start();
  auto publisher = RunWorkflow(ctx, PublishOnMessage, 0, WithWorkflowID("publisher"));
  auto reader =
      RunWorkflow(ctx, StepGetEventStep, std::string("publisher"), WithWorkflowID("event-reader"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 2; }));
  Send(ctx, "publisher", 42, "go");
  EXPECT_EQ(reader.GetResult(), 42);
  EXPECT_EQ(publisher.GetResult(), 42);
  EXPECT_EQ(g_before.load(), 1);
  EXPECT_EQ(g_after.load(), 1);
  EXPECT_EQ(StepNames(ctx, "event-reader"),
            (std::vector<std::string>{"0:before", "1:DBOS.getEvent", "2:DBOS.sleep", "3:after"}));
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, SleepParksAndWakesOnTime) {
  DBOSContext ctx = Start();
  const auto start = Clock::now();
  auto handle = RunWorkflow(ctx, StepSleepStep, 300);
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; }));
  const int64_t slept = handle.GetResult();
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(slept, 300);  // what Sleep returns counts the time it was parked
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(g_before.load(), 1);
  EXPECT_EQ(g_after.load(), 1);
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, ParentParksInGetResultAndWakesWhenItsChildEnds) {
  DBOSContext ctx = Start();
  auto parent =
      RunWorkflow(ctx, ParentAwaitsChild, std::string("the-child"), WithWorkflowID("the-parent"));
  ASSERT_TRUE(
      Await([&] { return Parked(ctx) == 2; }));  // the child in Recv, the parent in GetResult
  Send(ctx, "the-child", std::string("done"), "t");
  EXPECT_EQ(parent.GetResult(), "child said done");
  EXPECT_EQ(g_before.load(), 1);
  EXPECT_EQ(g_after.load(), 1);
  EXPECT_EQ(StepNames(ctx, "the-parent"),
            (std::vector<std::string>{"0:before", "1:dbos::testing::parking_fns::ChildWaits",
                                      "2:DBOS.getResult", "3:after"}));
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, CancellationEndsAParkedWorkflow) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, StepRecvStep, 0, WithWorkflowID("parked-cancel"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; }));
  CancelWorkflow(ctx, "parked-cancel");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_TRUE(Await([&] { return Parked(ctx) == 0; }));
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Cancelled);
  EXPECT_EQ(g_after.load(), 0);
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, TimeoutEndsAParkedWorkflow) {
  DBOSContext ctx = Start();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::milliseconds(300));
  auto handle = RunWorkflow(timed, StepRecvStep, 0, WithWorkflowID("parked-timeout"));
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Cancelled);
  EXPECT_EQ(g_after.load(), 0);
  cancel();
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, ShutdownLeavesParkedWorkflowsPendingAndTheNextLaunchFinishesThem) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, StepRecvStep, 0, WithWorkflowID("parked-shutdown"));
    ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; }));
    const auto start = Clock::now();
    Shutdown(ctx, std::chrono::seconds(5));
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
    EXPECT_EQ(Parked(ctx), 0u);
  }
  {
    DBOSContext ctx = Start();  // recovers it; it parks again in its Recv
    auto handle = RetrieveWorkflow<std::string>(ctx, "parked-shutdown");
    ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; }));
    Send(ctx, "parked-shutdown", std::string("after restart"), "t");
    EXPECT_EQ(handle.GetResult(), "after restart");
    Shutdown(ctx, std::chrono::seconds(5));
  }
  EXPECT_EQ(g_before.load(), 1);
  EXPECT_EQ(g_after.load(), 1);
}

TEST_P(ParkingTest, CodeThatSwallowsTheParkIsToldAndNothingWrongIsRecorded) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, SwallowsEverything, 0, WithWorkflowID("swallower"));
  ASSERT_TRUE(Await([&] { return logger_->Contains("did not rethrow it"); }));
  // Not "swallowed": it runs again without parking and waits on its thread.
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Pending);
  EXPECT_EQ(Parked(ctx), 0u);
  Send(ctx, "swallower", std::string("real"), "t");
  EXPECT_EQ(handle.GetResult(), "real");
  EXPECT_EQ(g_before.load(), 1);
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, CodeThatSwallowsTheParkAndCarriesOnIsHeldUntilCancelled) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, SwallowsAndRetries, 0, WithWorkflowID("retrier"));
  ASSERT_TRUE(Await([&] { return logger_->Contains("held until cancelled or shut down"); }));
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Pending);
  // What it waited for comes while it is held (here a message; the wait watcher's wake-ups
  // signal the same way): it stays held, asleep, not spinning on the signal.
  const auto cpu_seconds = [] {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  };
  Send(ctx, "retrier", std::string("too late"), "t");
  const double cpu_before = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_LT(cpu_seconds() - cpu_before, 0.5) << "the held workflow spins";
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Pending);
  CancelWorkflow(ctx, "retrier");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Cancelled);
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, ASleepThatParkedReturnsTheWholeTimeItSleptAfterAnEarlierSleep) {
  DBOSContext ctx = Start();
  EXPECT_GE(RunWorkflow(ctx, TwoSleeps, 300).GetResult(), 300);
  Shutdown(ctx, std::chrono::seconds(5));
}

TEST_P(ParkingTest, ThousandsOfWaitingWorkflowsHoldABoundedNumberOfThreads) {
  DBOSContext ctx = Start(/*resident_limit=*/16);
  auto& runtime = detail::RuntimeOf(ctx);
  constexpr int kWaiting = 2000;
  std::vector<WorkflowHandle<std::string>> handles;
  for (int i = 0; i < kWaiting; ++i) {
    handles.push_back(
        RunWorkflow(ctx, StepRecvStep, i, WithWorkflowID("many-" + std::to_string(i))));
  }
  ASSERT_TRUE(Await([&] { return Parked(ctx) == kWaiting - 16; }, std::chrono::seconds(120)))
      << Parked(ctx) << " parked";
  EXPECT_LE(runtime.Pool().ThreadCount(), detail::Runtime::kWorkflowThreads);
  for (int i = 0; i < kWaiting; ++i) {
    Send(ctx, "many-" + std::to_string(i), "m" + std::to_string(i), "t");
  }
  for (int i = 0; i < kWaiting; ++i) {
    EXPECT_EQ(handles[static_cast<size_t>(i)].GetResult(), "m" + std::to_string(i));
  }
  EXPECT_EQ(g_before.load(), kWaiting);
  EXPECT_EQ(g_after.load(), kWaiting);
  EXPECT_LE(runtime.Pool().ThreadCount(), detail::Runtime::kWorkflowThreads);
  Shutdown(ctx, std::chrono::seconds(10));
}

// More blocked steps than the pool keeps threads: short workflows still finish while they block.
TEST_P(ParkingTest, StepsThatBlockDoNotStallOtherWorkflows) {
  DBOSContext ctx = Start(/*resident_limit=*/64);
  constexpr int kBlocked = static_cast<int>(detail::Runtime::kWorkflowThreads) + 20;
  std::vector<WorkflowHandle<int>> blocked;
  for (int i = 0; i < kBlocked; ++i) blocked.push_back(RunWorkflow(ctx, BlockedStep, i));
  std::vector<WorkflowHandle<int>> quick;
  for (int i = 0; i < 1000; ++i) quick.push_back(RunWorkflow(ctx, ShortWorkflow, i));
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(quick[static_cast<size_t>(i)].GetResult(), i * 2);
  EXPECT_EQ(g_blocked_running.load(), kBlocked);  // all still blocked, all got a thread
  g_release_blocked = true;
  for (auto& handle : blocked) EXPECT_EQ(handle.GetResult(), 1);
  Shutdown(ctx, std::chrono::seconds(10));
}

// A parked wait does not replay to re-check the database: the wait watcher checks what all parked
// waits wait for in a few queries and wakes only those with news, including news written by
// another process that no notification brings (any write on SQLite; a workflow's end anywhere;
// on PostgreSQL the messages and the event here are announced, and
// AListenerReconnectFindsMessagesAndEventsNoNotificationAnnounced covers their unannounced kind).
TEST_P(ParkingTest, ParkedWaitsReplayOnlyWhenNewsComesIncludingFromAnotherProcess) {
  DBOSContext ctx = Start();
  DBOSContext other = Start(/*resident_limit=*/64, "other-executor");
  // In the other process: a workflow that ends when told (awaited from here).
  RunWorkflow(other, ChildWaits, 0, WithWorkflowID("remote-child"));
  constexpr int kReceivers = 20;
  std::vector<WorkflowHandle<std::string>> receivers;
  for (int i = 0; i < kReceivers; ++i) {
    receivers.push_back(
        RunWorkflow(ctx, RunsThenRecv, i, WithWorkflowID("quiet-" + std::to_string(i))));
  }
  auto reader = RunWorkflow(ctx, RunsThenGetEvent, std::string("remote-publisher"));
  auto awaiter = RunWorkflow(ctx, RunsThenAwaits, std::string("remote-child"));
  constexpr int kWaiting = kReceivers + 2;
  ASSERT_TRUE(Await([&] { return Parked(ctx) == kWaiting; })) << Parked(ctx) << " parked";
  // Longer than any re-check interval a parked wait ever had (5 s on SQLite), several watcher
  // rounds: nothing replays without news.
  std::this_thread::sleep_for(std::chrono::milliseconds(5500));
  EXPECT_EQ(g_runs.load(), kWaiting);
  EXPECT_EQ(Parked(ctx), static_cast<size_t>(kWaiting));

  const auto sent = Clock::now();
  for (int i = 0; i < kReceivers; ++i) {
    Send(other, "quiet-" + std::to_string(i), "m" + std::to_string(i), "t");
  }
  RunWorkflow(other, Publishes, 7, WithWorkflowID("remote-publisher")).GetResult();
  Send(other, "remote-child", std::string("over"), "t");
  for (int i = 0; i < kReceivers; ++i) {
    EXPECT_EQ(receivers[static_cast<size_t>(i)].GetResult(), "m" + std::to_string(i));
  }
  EXPECT_EQ(reader.GetResult(), 7);
  EXPECT_EQ(awaiter.GetResult(), "over");
  // A watcher round is due within a second here.
  EXPECT_LT(Clock::now() - sent, std::chrono::seconds(5));
  EXPECT_EQ(g_runs.load(), 2 * kWaiting);  // one replay each, on its news
  EXPECT_EQ(Parked(ctx), 0u);
  Shutdown(other, std::chrono::seconds(5));
  Shutdown(ctx, std::chrono::seconds(5));
}

// The wait watcher's queries fail fast. While every probe query fails (a statement timeout shorter
// than the query, say), the watcher still finds a cancellation made by another process, after
// many such rounds too, and a parked wait whose news it could not look for is found once the
// queries succeed again.
TEST_P(ParkingTest, ProbeQueriesThatKeepFailingHoldUpNeitherCancellationsNorLaterRounds) {
  using sysdb::testing::Fault;
  std::atomic<bool> failing{true};
  std::atomic<int> failures{0};
  sysdb::testing::ScopedFaultInjector injector([&](const sysdb::testing::FaultSite& site) {
    Fault fault;
    if (failing && std::string_view(site.operation) == "FindWaitNews") {
      fault.kind = Fault::Kind::kBeforeExecute;
      fault.sqlstate = "57014";  // a statement timeout (on SQLite: an I/O error)
      ++failures;
    }
    return fault;
  });
  DBOSContext ctx = Start();
  DBOSContext other = Start(/*resident_limit=*/64, "other-executor");
  RunWorkflow(other, ChildWaits, 0, WithWorkflowID("slow-child"));
  // Only the watcher can wake either: the end of a workflow is never announced, nor, on SQLite,
  // anything another process writes.
  auto awaiter = RunWorkflow(ctx, RunsThenAwaits, std::string("slow-child"));
  auto doomed = RunWorkflow(ctx, StepRecvStep, 0, WithWorkflowID("doomed-receiver"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 2; })) << Parked(ctx) << " parked";
  // Six rounds in which the probe query gave up (three attempts each): rounds whose other
  // queries succeed keep their pace, so a cancellation made now is still found within seconds.
  ASSERT_TRUE(Await([&] { return failures.load() >= 18; }));

  const auto cancelled = Clock::now();
  CancelWorkflow(other, "doomed-receiver");
  EXPECT_EQ(ResultCode(doomed), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_LT(Clock::now() - cancelled, std::chrono::seconds(10));  // its Recv waits 30 s
  EXPECT_TRUE(logger_->Contains("FindWaitNews failed 3 times"));

  Send(other, "slow-child", std::string("over"), "t");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Parked(ctx), 1u);  // its news is there, but the queries fail
  failing = false;
  EXPECT_EQ(awaiter.GetResult(), "over");
  Shutdown(other, std::chrono::seconds(5));
  Shutdown(ctx, std::chrono::seconds(5));
}

// Another execution of a parked workflow (a duplicate after recovery elsewhere) may record the
// step its Recv waits at, having consumed the message: the parked one wakes and replays what the
// other recorded instead of waiting out its timeout for a message that will not come. (The wait
// watcher looks for that in its full rounds, once a minute unless a test shortens it.)
TEST_P(ParkingTest, AParkedRecvWakesWhenAnotherExecutionRecordsItsStep) {
  DBOSContext ctx = Start();
  detail::RuntimeOf(ctx).SetWatcherFullRoundIntervalForTesting(std::chrono::milliseconds(500));
  DBOSContext other = Start(/*resident_limit=*/64, "other-executor");
  auto handle = RunWorkflow(ctx, StepRecvStep, 0, WithWorkflowID("duplicated"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; }));
  sysdb::StepWrite step;
  step.workflow_uuid = "duplicated";
  step.function_id = 1;  // StepRecvStep's Recv
  step.function_name = "DBOS.recv";
  step.output = serialization::EncodeValue(nlohmann::json("taken elsewhere"));
  ASSERT_EQ(detail::RuntimeOf(other).Db().RecordStep(step).kind,
            sysdb::StepWriteResult::Kind::Inserted);
  const auto recorded = Clock::now();
  EXPECT_EQ(handle.GetResult(), "taken elsewhere");
  EXPECT_LT(Clock::now() - recorded, std::chrono::seconds(5));  // its Recv waits 30 s
  EXPECT_EQ(g_before.load(), 1);
  EXPECT_EQ(g_after.load(), 1);
  Shutdown(other, std::chrono::seconds(5));
  Shutdown(ctx, std::chrono::seconds(5));
}

// A parked Recv stays open to senders in its process: a send records its receipt in the same
// transaction, and the replay finds the step recorded (no second write to consume the message).
// The before_delivery hook runs only when a sender found an open receiver.
class ParkedReceiverTest : public ParkingTest {
 protected:
  DBOSContext StartCountingDeliveries() {
    DBOSContext ctx = Start();
    messaging::Notifier::TestHooks hooks;
    hooks.before_delivery = [this](const std::string&, int) {
      ++deliveries_;
      if (auto once = std::exchange(on_delivery_, nullptr)) once();
    };
    Notifications(ctx).SetTestHooks(hooks);
    return ctx;
  }
  static messaging::Notifier& Notifications(DBOSContext& ctx) {
    return detail::RuntimeOf(ctx).Notifications();
  }
  static bool ParkedAndReceiving(DBOSContext& ctx, const std::string& id) {
    // Parked with its claim left open (not still parking, with its claim held on its thread).
    return Await([&] {
      return Parked(ctx) == 1 && Notifications(ctx).ReceiverCount() == 0 &&
             Notifications(ctx).IsReceiving(messaging::MessageKey(id, "t"));
    });
  }
  /// The step that consumed each message sent to `id` ("" while unconsumed).
  Rows ConsumedBy(const std::string& id) const {
    const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
    return RunSql(url_, "SELECT CAST(consumed_by_function_id AS TEXT) FROM " + table +
                            " WHERE destination_uuid = '" + id + "'");
  }
  std::atomic<int> deliveries_{0};
  std::function<void()> on_delivery_;  ///< Runs at the next delivery (on the sender's thread).
};

TEST_P(ParkedReceiverTest, ALocalSendRecordsTheReceiptOfAParkedRecv) {
  DBOSContext ctx = StartCountingDeliveries();
  const std::string id = "open-while-parked";
  auto handle = RunWorkflow(ctx, StepRecvStep, 0, WithWorkflowID(id));
  ASSERT_TRUE(ParkedAndReceiving(ctx, id));
  EXPECT_EQ(Notifications(ctx).ReceiverCount(), 0u);  // parked receivers are not on a thread
  Send(ctx, id, std::string("hello"), "t");
  EXPECT_EQ(handle.GetResult(), "hello");
  EXPECT_EQ(deliveries_.load(), 1);
  EXPECT_EQ(g_before.load(), 1);
  EXPECT_EQ(g_after.load(), 1);
  EXPECT_EQ(StepNames(ctx, id),
            (std::vector<std::string>{"0:before", "1:DBOS.recv", "2:DBOS.sleep", "3:after"}));
  EXPECT_EQ(ConsumedBy(id), (Rows{{"1"}}));
  EXPECT_FALSE(Notifications(ctx).IsReceiving(messaging::MessageKey(id, "t")));
  Shutdown(ctx, std::chrono::seconds(5));
}

// The parked claim checks a message with a copy of the receiver's reader (its stack is gone): a
// message of another type is not delivered, and the replayed Recv refuses it as a live one does.
TEST_P(ParkedReceiverTest, AParkedRecvIsNotHandedAMessageItCannotRead) {
  DBOSContext ctx = StartCountingDeliveries();
  const std::string id = "parked-refuses";
  auto handle = RunWorkflow(ctx, RecvsIntElseText, 0, WithWorkflowID(id));
  ASSERT_TRUE(ParkedAndReceiving(ctx, id));
  Send(ctx, id, std::string("hello"), "t");
  EXPECT_EQ(handle.GetResult(), "WorkflowUnexpectedType:hello");
  EXPECT_EQ(deliveries_.load(), 0);
  const auto steps = GetWorkflowSteps(ctx, id);
  ASSERT_EQ(steps.size(), 4u);
  ASSERT_TRUE(steps[0].error.has_value());
  EXPECT_NE(steps[0].error->find("left unconsumed"), std::string::npos);
  Shutdown(ctx, std::chrono::seconds(5));
}

// Cancelled while a sender is about to record its receipt, the parked workflow ends CANCELLED and
// its claim is released; the send's transaction sees the destination CANCELLED and records no
// receipt for it, so the message stays unconsumed, and the resumed workflow's Recv takes it.
TEST_P(ParkedReceiverTest, AParkedRecvCancelledDuringADeliveryGetsTheMessageWhenResumed) {
  DBOSContext ctx = StartCountingDeliveries();
  const std::string id = "cancelled-mid-delivery";
  auto handle = RunWorkflow(ctx, RunsThenRecv, 0, WithWorkflowID(id));
  ASSERT_TRUE(ParkedAndReceiving(ctx, id));
  on_delivery_ = [&] { CancelWorkflow(ctx, id); };
  Send(ctx, id, std::string("kept"), "t");
  EXPECT_EQ(ResultCode(handle), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(deliveries_.load(), 1);
  EXPECT_TRUE(
      Await([&] { return !Notifications(ctx).IsReceiving(messaging::MessageKey(id, "t")); }));
  EXPECT_EQ(ConsumedBy(id), (Rows{{""}}));
  EXPECT_EQ(ResumeWorkflow<std::string>(ctx, id).GetResult(), "kept");
  EXPECT_EQ(ConsumedBy(id), (Rows{{"0"}}));
  Shutdown(ctx, std::chrono::seconds(5));
}

// A parked Recv that times out releases its claim: a later send is not delivered to it and the
// message stays for a later Recv.
TEST_P(ParkedReceiverTest, AParkedRecvThatTimesOutLeavesNoClaimBehind) {
  DBOSContext ctx = StartCountingDeliveries();
  const std::string id = "parked-times-out";
  auto handle = RunWorkflow(ctx, RecvsBriefly, 0, WithWorkflowID(id));
  EXPECT_EQ(handle.GetResult(), "Timeout");
  EXPECT_FALSE(Notifications(ctx).IsReceiving(messaging::MessageKey(id, "t")));
  Send(ctx, id, std::string("late"), "t");
  EXPECT_EQ(deliveries_.load(), 0);
  EXPECT_EQ(ConsumedBy(id), (Rows{{""}}));
  Shutdown(ctx, std::chrono::seconds(5));
}

class PostgresParkingTest : public ParkingTest {
 protected:
  void SetUp() override {
    ParkingTest::SetUp();
    others_ = ListenerPids();
  }
  /// PIDs of the backends listening for DBOS notifications on this test's server database.
  std::set<std::string> ListenerPids() const {
    std::set<std::string> pids;
    for (const auto& row : RunSql(url_,
                                  "SELECT pid FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND query LIKE 'LISTEN %'")) {
      pids.insert(row[0]);
    }
    return pids;
  }
  /// The PID of the one listener started since SetUp ("" while there is none, or two).
  std::string OwnListener() const {
    std::string own;
    for (const auto& pid : ListenerPids()) {
      if (others_.contains(pid)) continue;
      if (!own.empty()) return "";
      own = pid;
    }
    return own;
  }
  /// Ends the test context's listener connection and returns once it has reconnected.
  void RestartListener() {
    std::string listener;
    ASSERT_TRUE(Await([&] { return !(listener = OwnListener()).empty(); }));
    RunSql(url_, "SELECT pg_terminate_backend(" + listener + ")");
    ASSERT_TRUE(Await([&] { return logger_->Contains("lost its connection; reconnecting"); }));
    ASSERT_TRUE(Await([&] {
      const std::string now = OwnListener();
      return !now.empty() && now != listener;
    }));
  }
  /// Runs `sql` with triggers off, so that an insert into notifications announces nothing.
  void RunUnannounced(const std::string& sql) const {
    RunSql(url_, "SET session_replication_role = replica; " + sql);
  }

  std::set<std::string> others_;  ///< Listeners of other processes.
};

// A parked GetResult of a workflow in another process ends when that workflow's row goes away
// (deleted by a tool): its wait would never end otherwise, since no status will ever be terminal.
TEST_P(PostgresParkingTest, AParkedGetResultEndsWhenTheAwaitedRowIsDeleted) {
  DBOSContext ctx = Start();
  DBOSContext other = Start(/*resident_limit=*/64, "other-executor");
  RunWorkflow(other, ChildWaits, 0, WithWorkflowID("doomed-child"));
  auto awaiter = RunWorkflow(ctx, RunsThenAwaits, std::string("doomed-child"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 1; })) << Parked(ctx) << " parked";
  const auto deleted = Clock::now();
  RunSql(url_, "DELETE FROM " + schema_ + ".workflow_status WHERE workflow_uuid = 'doomed-child'");
  const DBOSError error = ErrorOf([&] { awaiter.GetResult(); });
  EXPECT_NE(error.Message().find("doomed-child does not exist"), std::string::npos) << error.what();
  EXPECT_LT(Clock::now() - deleted, std::chrono::seconds(5));
  Shutdown(other, std::chrono::seconds(5));
  Shutdown(ctx, std::chrono::seconds(5));
}

// PostgreSQL announces messages and events, so the wait watcher checks their parked waits only
// once a minute, and at once when the listener reconnects (the announcement of anything written
// meanwhile is lost). Here the rows are written with triggers off (never announced): the next
// reconnect finds them and wakes only their waits.
TEST_P(PostgresParkingTest, AListenerReconnectFindsMessagesAndEventsNoNotificationAnnounced) {
  DBOSContext ctx = Start();
  auto publisher = RunWorkflow(ctx, RunsThenRecv, 0, WithWorkflowID("silent-publisher"));
  auto receiver = RunWorkflow(ctx, RunsThenRecv, 1, WithWorkflowID("silent-receiver"));
  auto reader = RunWorkflow(ctx, RunsThenGetEvent, std::string("silent-publisher"));
  ASSERT_TRUE(Await([&] { return Parked(ctx) == 3; })) << Parked(ctx) << " parked";
  RunUnannounced("INSERT INTO " + schema_ +
                 ".notifications (message_uuid, destination_uuid, topic, message, serialization) "
                 "VALUES ('silent-1', 'silent-receiver', 't', '\"quiet\"', 'portable_json')");
  RunUnannounced("INSERT INTO " + schema_ +
                 ".workflow_events (workflow_uuid, key, value, serialization) "
                 "VALUES ('silent-publisher', 'ready', '5', 'portable_json')");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // rounds of workflow ends only
  EXPECT_EQ(g_runs.load(), 3);
  const auto reconnect = Clock::now();
  RestartListener();
  EXPECT_EQ(receiver.GetResult(), "quiet");
  EXPECT_EQ(reader.GetResult(), 5);
  EXPECT_LT(Clock::now() - reconnect, std::chrono::seconds(10));
  EXPECT_EQ(g_runs.load(), 3 + 2);  // the publisher, without news, did not replay
  Send(ctx, "silent-publisher", std::string("end"), "t");
  EXPECT_EQ(publisher.GetResult(), "end");
  Shutdown(ctx, std::chrono::seconds(5));
}

// When the PostgreSQL listener loses its connection, any notification may have been missed: waits
// on a thread re-check at once, and the wait watcher checks what parked waits wait for, so a
// parked wait without news does not replay (100,000 parked waits would all replay at once).
TEST_P(PostgresParkingTest, AListenerReconnectReplaysNoParkedWaitWithoutNews) {
  DBOSContext ctx = Start();
  constexpr int kReceivers = 20;
  std::vector<WorkflowHandle<std::string>> receivers;
  for (int i = 0; i < kReceivers; ++i) {
    receivers.push_back(
        RunWorkflow(ctx, RunsThenRecv, i, WithWorkflowID("reconnect-" + std::to_string(i))));
  }
  ASSERT_TRUE(Await([&] { return Parked(ctx) == kReceivers; })) << Parked(ctx) << " parked";
  RestartListener();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // its watcher round too
  EXPECT_EQ(g_runs.load(), kReceivers);
  EXPECT_EQ(Parked(ctx), static_cast<size_t>(kReceivers));
  for (int i = 0; i < kReceivers; ++i) {
    Send(ctx, "reconnect-" + std::to_string(i), "m" + std::to_string(i), "t");
  }
  for (int i = 0; i < kReceivers; ++i) {
    EXPECT_EQ(receivers[static_cast<size_t>(i)].GetResult(), "m" + std::to_string(i));
  }
  EXPECT_EQ(g_runs.load(), 2 * kReceivers);
  Shutdown(ctx, std::chrono::seconds(5));
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ParkingTest);
DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ParkedReceiverTest);
INSTANTIATE_TEST_SUITE_P(Postgres, PostgresParkingTest, ::testing::Values("postgres"), BackendName);

}  // namespace
}  // namespace dbos::testing
