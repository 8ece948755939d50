// Durable sleep, messages and events: ordering, topics, timeouts (durable across restarts),
// exactly-once sends, latest-wins events, and the calls a step may not make.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/context_access.hpp"
#include "core/notifier.hpp"
#include "core/runtime.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"

namespace dbos::testing::messaging_fns {
std::atomic<int> g_sends{0};
std::atomic<bool> g_block{true};

std::string Receive3(DBOSContext& ctx, int) {
  auto a1 = Recv<std::string>(ctx, "a", std::chrono::seconds(10));
  auto a2 = Recv<std::string>(ctx, "a", std::chrono::seconds(10));
  auto b1 = Recv<std::string>(ctx, "b", std::chrono::seconds(10));
  return a1 + "," + a2 + "," + b1;
}

std::string ReceiveNoTopic(DBOSContext& ctx, int) {
  return Recv<std::string>(ctx, "", std::chrono::seconds(10));
}

std::string ReceiveOrTimeout(DBOSContext& ctx, int timeout_ms) {
  try {
    return Recv<std::string>(ctx, "t", std::chrono::milliseconds(timeout_ms));
  } catch (const DBOSError& e) {
    if (e.Code() == ErrorCode::Timeout) return "timeout";
    throw;
  }
}

int64_t SleepFor(DBOSContext& ctx, int ms) {
  return Sleep(ctx, std::chrono::milliseconds(ms)).count();
}

int SendThenBlock(DBOSContext& ctx, std::string destination) {
  ++g_sends;
  Send(ctx, destination, std::string("hello"), "greetings");
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (g_block && !token.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return 0;
      },
      WithStepName("block"));
  return 1;
}

int PublishTwice(DBOSContext& ctx, int) {
  SetEvent(ctx, "status", std::string("started"));
  SetEvent(ctx, "status", std::string("done"));
  RunAsStep(
      ctx,
      [&] {
        SetEvent(ctx, "from-step", 7);  // allowed inside a step, part of it
        return 0;
      },
      WithStepName("s"));
  return 0;
}

int PublishLater(DBOSContext& ctx, int delay_ms) {
  Sleep(ctx, std::chrono::milliseconds(delay_ms));
  SetEvent(ctx, "ready", delay_ms);
  return 0;
}

int ReadEventInside(DBOSContext& ctx, std::string other) {
  return GetEvent<int>(ctx, other, "ready", std::chrono::seconds(5));
}

std::string ForbiddenInStep(DBOSContext& ctx, int) {
  std::string out;
  RunAsStep(
      ctx,
      [&] {
        for (auto& [name, call] : std::vector<std::pair<std::string, std::function<void()>>>{
                 {"Send", [&] { Send(ctx, GetWorkflowID(ctx), 1); }},
                 {"Recv", [&] { Recv<int>(ctx, "x", std::chrono::milliseconds(1)); }},
                 {"Sleep", [&] { Sleep(ctx, std::chrono::milliseconds(1)); }}}) {
          try {
            call();
          } catch (const DBOSError& e) {
            if (e.Code() == ErrorCode::StepExecution &&
                e.Message() == "cannot call " + name + " within a step") {
              out += name + ";";
            }
          }
        }
        return 0;
      },
      WithStepName("s"));
  return out;
}

std::mutex g_seen_mutex;
std::string g_seen;  // what the live run of RecordsWhatRecvSaw saw
std::atomic<bool> g_seen_set{false};

std::string RecordsWhatRecvSaw(DBOSContext& ctx, int) {
  auto record = [](const std::string& seen) {
    std::lock_guard lock(g_seen_mutex);
    g_seen = seen;
    g_seen_set = true;
  };
  try {
    auto message = Recv<std::string>(ctx, "t", std::chrono::seconds(60));
    record(message);
    return message;
  } catch (...) {
    record("an exception");
    throw;
  }
}

// Asks for an int on "t" (refused when the message there is text), then for the text. With
// `wait_for_go`, first waits for a message on "go", so that "t" can be filled before.
std::string IntThenText(DBOSContext& ctx, bool wait_for_go) {
  if (wait_for_go) Recv<int>(ctx, "go", std::chrono::seconds(10));
  std::string refused;
  try {
    Recv<int>(ctx, "t", std::chrono::seconds(10));
  } catch (const DBOSError& e) {
    refused = std::string(ErrorCodeName(e.Code())) + ":";
  }
  return refused + Recv<std::string>(ctx, "t", std::chrono::seconds(10));
}

// Returns the message of its Recv's timeout, after a step that blocks while g_block is set (so a
// test can shut down there and have the next launch replay the Recv). `g_live_message` keeps what
// the first execution saw.
std::mutex g_live_mutex;
std::string g_live_message;  // guarded by g_live_mutex
std::string LiveMessage() {
  std::lock_guard lock(g_live_mutex);
  return g_live_message;
}
std::string TimeoutMessageThenBlock(DBOSContext& ctx, int) {
  std::string message;
  try {
    Recv<int>(ctx, "t", std::chrono::milliseconds(50));
  } catch (const DBOSError& e) {
    message = e.Message();
  }
  {
    std::lock_guard lock(g_live_mutex);
    if (g_live_message.empty()) g_live_message = message;
  }
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (g_block && !token.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (token.stop_requested()) throw std::runtime_error("stopped");
        return 0;
      },
      WithStepName("block"));
  return message;
}
}  // namespace dbos::testing::messaging_fns

namespace dbos::testing {
namespace {
using namespace messaging_fns;
using Clock = std::chrono::steady_clock;

class MessagingTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_sends = 0;
    g_block = true;
    g_seen_set = false;
    g_seen.clear();
    std::lock_guard lock(g_live_mutex);
    g_live_message.clear();
  }
  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, Receive3);
    RegisterWorkflow(ctx, ReceiveNoTopic);
    RegisterWorkflow(ctx, ReceiveOrTimeout);
    RegisterWorkflow(ctx, SleepFor);
    RegisterWorkflow(ctx, SendThenBlock);
    RegisterWorkflow(ctx, PublishTwice);
    RegisterWorkflow(ctx, PublishLater);
    RegisterWorkflow(ctx, ReadEventInside);
    RegisterWorkflow(ctx, ForbiddenInStep);
    RegisterWorkflow(ctx, RecordsWhatRecvSaw);
    RegisterWorkflow(ctx, IntThenText);
    RegisterWorkflow(ctx, TimeoutMessageThenBlock);
    Launch(ctx);
    return ctx;
  }
  std::vector<sysdb::StepRow> Steps(const std::string& id) { return OpenRaw()->ListSteps(id); }
};

TEST_P(MessagingTest, MessagesArriveOldestFirstPerTopic) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, Receive3, 0, WithWorkflowID("rx"));
  Send(ctx, "rx", std::string("b1"), "b");
  Send(ctx, "rx", std::string("a1"), "a");
  Send(ctx, "rx", std::string("a2"), "a");
  EXPECT_EQ(handle.GetResult(), "a1,a2,b1");
  auto steps = Steps("rx");
  ASSERT_EQ(steps.size(), 6u);  // each Recv takes two step IDs: DBOS.recv and DBOS.sleep
  EXPECT_EQ(steps[0].function_name, "DBOS.recv");
  EXPECT_EQ(steps[1].function_name, "DBOS.sleep");
  EXPECT_EQ(steps[0].output, "\"a1\"");
  Shutdown(ctx);
}

TEST_P(MessagingTest, EmptyTopicMeansNoTopic) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, ReceiveNoTopic, 0, WithWorkflowID("no-topic"));
  Send(ctx, "no-topic", std::string("plain"));
  EXPECT_EQ(handle.GetResult(), "plain");
  const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
  const Rows expected = {{"__null__topic__", IsPostgres() ? "t" : "1"}};
  EXPECT_EQ(RunSql(url_, "SELECT topic, consumed FROM " + table), expected);
  Shutdown(ctx);
}

TEST_P(MessagingTest, RecvTimesOutAndTheTimeoutReplays) {
  DBOSContext ctx = Start();
  const auto start = Clock::now();
  EXPECT_EQ(RunWorkflow(ctx, ReceiveOrTimeout, 200, WithWorkflowID("rx-timeout")).GetResult(),
            "timeout");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(190));
  auto steps = Steps("rx-timeout");
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_TRUE(steps[0].error.has_value());
  EXPECT_NE(steps[0].error->find("Timeout"), std::string::npos);
  Shutdown(ctx);
}

TEST_P(MessagingTest, SecondConcurrentReceiverOnATopicIsConflictingID) {
  DBOSContext ctx = Start();
  auto two_receivers = [](DBOSContext& c, int) {
    std::string first;
    std::thread waiting([&] { first = Recv<std::string>(c, "t", std::chrono::seconds(5)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::string second;
    try {
      Recv<std::string>(c, "t", std::chrono::milliseconds(100));
    } catch (const DBOSError& e) {
      second = std::string(ErrorCodeName(e.Code()));
    }
    Send(c, GetWorkflowID(c), std::string("m"), "t");
    waiting.join();
    return first + "|" + second;
  };
  Shutdown(ctx);
  DBOSContext ctx2 = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx2, two_receivers, WithWorkflowName("two-receivers"));
  Launch(ctx2);
  EXPECT_EQ(RunWorkflow(ctx2, two_receivers, 0).GetResult(), "m|ConflictingID");
  Shutdown(ctx2);
}

TEST_P(MessagingTest, SendToUnknownWorkflowIsNonExistentWorkflow) {
  DBOSContext ctx = Start();
  try {
    Send(ctx, "nobody", 1, "t");
    FAIL() << "expected NonExistentWorkflow";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::NonExistentWorkflow);
  }
  Shutdown(ctx);
}

TEST_P(MessagingTest, SendFromAWorkflowIsExactlyOnceAcrossRecovery) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, ReceiveNoTopic, 0, WithWorkflowID("inbox"));
    RunWorkflow(ctx, SendThenBlock, std::string("inbox"), WithWorkflowID("sender"));
    for (int i = 0; i < 500 && Steps("sender").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Shutdown(ctx);  // the sender stays PENDING after its send
  }
  g_block = false;
  DBOSContext ctx = Start();
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "sender").GetResult(), 1);
  EXPECT_EQ(g_sends.load(), 2);  // the workflow body ran twice …
  const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + table + " WHERE topic = 'greetings'"),
            Rows{{"1"}});  // … the message was sent once
  Shutdown(ctx);
}

TEST_P(MessagingTest, SleepIsDurableAndReturnsTheTimeSlept) {
  DBOSContext ctx = Start();
  EXPECT_GE(RunWorkflow(ctx, SleepFor, 150, WithWorkflowID("nap")).GetResult(), 140);
  auto steps = Steps("nap");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].function_name, "DBOS.sleep");
  ASSERT_TRUE(steps[0].output.has_value());
  const int64_t wake = std::stoll(*steps[0].output);
  EXPECT_EQ(steps[0].completed_at_epoch_ms, wake);
  Shutdown(ctx);
}

TEST_P(MessagingTest, SleepResumesOnlyTheRemainingTimeAfterRestart) {
  const auto start = Clock::now();
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, SleepFor, 1500, WithWorkflowID("long-nap"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Shutdown(ctx);
  }
  EXPECT_EQ(OpenRaw()->GetWorkflow("long-nap", false)->status, "PENDING");
  DBOSContext ctx = Start();
  const int64_t slept = RetrieveWorkflow<int64_t>(ctx, "long-nap").GetResult();
  const auto total = Clock::now() - start;
  EXPECT_LT(slept, 1400);  // only the remainder
  EXPECT_GE(total, std::chrono::milliseconds(1450));
  EXPECT_LT(total, std::chrono::milliseconds(2600));
  Shutdown(ctx);
}

TEST_P(MessagingTest, RecvTimeoutIsDurableAcrossRestart) {
  const auto start = Clock::now();
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, ReceiveOrTimeout, 1500, WithWorkflowID("rx-durable"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Shutdown(ctx);
  }
  DBOSContext ctx = Start();
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "rx-durable").GetResult(), "timeout");
  const auto total = Clock::now() - start;
  EXPECT_GE(total, std::chrono::milliseconds(1450));
  EXPECT_LT(total, std::chrono::milliseconds(2600));  // not 300 ms + a fresh 1500 ms
  Shutdown(ctx);
}

TEST_P(MessagingTest, EventsKeepTheLatestValueAndHistory) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, PublishTwice, 0, WithWorkflowID("pub")).GetResult();
  EXPECT_EQ(GetEvent<std::string>(ctx, "pub", "status", std::chrono::seconds(1)), "done");
  EXPECT_EQ(GetEvent<int>(ctx, "pub", "from-step", std::chrono::seconds(1)), 7);
  const std::string table =
      IsPostgres() ? schema_ + ".workflow_events_history" : "workflow_events_history";
  EXPECT_EQ(
      RunSql(url_, "SELECT function_id, key, value FROM " + table + " ORDER BY 1, 2"),
      (Rows{{"0", "status", "\"started\""}, {"1", "status", "\"done\""}, {"2", "from-step", "7"}}));
  auto steps = Steps("pub");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].function_name, "DBOS.setEvent");
  EXPECT_EQ(steps[2].function_name, "s");
  Shutdown(ctx);
}

TEST_P(MessagingTest, GetEventWaitsForTheEventAndTimesOut) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, PublishLater, 200, WithWorkflowID("later"));
  const auto start = Clock::now();
  EXPECT_EQ(GetEvent<int>(ctx, "later", "ready", std::chrono::seconds(10)), 200);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));  // pushed, not polled
  try {
    GetEvent<int>(ctx, "later", "never-set", std::chrono::milliseconds(100));
    FAIL() << "expected Timeout";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::Timeout);
  }
  Shutdown(ctx);
}

TEST_P(MessagingTest, GetEventInsideAWorkflowIsCheckpointed) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, PublishLater, 50, WithWorkflowID("source"));
  EXPECT_EQ(RunWorkflow(ctx, ReadEventInside, std::string("source"), WithWorkflowID("reader"))
                .GetResult(),
            50);
  auto steps = Steps("reader");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].function_name, "DBOS.getEvent");
  EXPECT_EQ(steps[0].output, "50");
  EXPECT_EQ(steps[1].function_name, "DBOS.sleep");
  Shutdown(ctx);
}

TEST_P(MessagingTest, WorkflowOperationsInsideAStepAreRejected) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, ForbiddenInStep, 0).GetResult(), "Send;Recv;Sleep;");
  try {
    Recv<int>(ctx, "x", std::chrono::milliseconds(1));
    FAIL() << "Recv outside a workflow must throw";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::StepExecution);
  }
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(MessagingTest);

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing {
namespace {

// A message sent right as the receiver starts waiting must wake it at once (no lost wake-up):
// on PostgreSQL a lost wake-up would only be noticed by the 5 s safety poll.
TEST_P(MessagingTest, MessagesSentWhileTheReceiverRegistersAreNotLost) {
  DBOSContext ctx = Start();
  constexpr int kRounds = 30;
  std::vector<WorkflowHandle<std::string>> handles;
  const auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i) {
    const std::string id = "race-" + std::to_string(i);
    handles.push_back(RunWorkflow(ctx, ReceiveNoTopic, 0, WithWorkflowID(id)));
    if (i % 3 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Send(ctx, id, std::string("m") + std::to_string(i));
  }
  for (int i = 0; i < kRounds; ++i) {
    EXPECT_EQ(handles[static_cast<size_t>(i)].GetResult(), "m" + std::to_string(i));
  }
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(4000));
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing {
namespace {

// The system-database contract behind the one-commit delivery to a receiver waiting in this
// process: the sender's transaction records the receiver's step, unless that would break FIFO
// order or the step is taken.
TEST_P(MessagingTest, SendRecordsTheReceiptOfAWaitingReceiverOnlyWhenItIsSafe) {
  auto db = OpenRaw();
  sysdb::WorkflowInsert row = WorkflowRow("receiver", "r");
  row.now_ms = 1;
  ASSERT_TRUE(db->InsertWorkflow(row).created);
  auto send = [&](const std::string& uuid, const std::string& value, int receiver_step) {
    sysdb::MessageWrite m;
    m.destination_uuid = "receiver";
    m.topic = "t";
    m.message = value;
    m.message_uuid = uuid;
    m.now_ms = 10;
    sysdb::StepWrite receipt;
    receipt.workflow_uuid = "receiver";
    receipt.function_id = receiver_step;
    receipt.function_name = "DBOS.recv";
    receipt.output = value;
    m.deliver_to = receipt;
    return db->Send(m);
  };
  EXPECT_EQ(send("m1", "\"one\"", 0), sysdb::SendResult::Delivered);
  auto steps = db->ListSteps("receiver");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].output, "\"one\"");
  EXPECT_EQ(send("m2", "\"two\"", 0), sysdb::SendResult::Sent);    // step 0 is taken
  EXPECT_EQ(send("m3", "\"three\"", 2), sysdb::SendResult::Sent);  // "two" is older: FIFO
  const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
  const std::string t = IsPostgres() ? "t" : "1";
  const std::string f = IsPostgres() ? "f" : "0";
  EXPECT_EQ(RunSql(url_,
                   "SELECT message_uuid, consumed, coalesce(CAST(consumed_by_function_id AS TEXT), "
                   "'') FROM " +
                       table + " ORDER BY message_uuid"),
            (Rows{{"m1", t, "0"}, {"m2", f, ""}, {"m3", f, ""}}));
  auto consumed = db->ConsumeMessage(
      "t",
      [] {
        sysdb::StepWrite s;
        s.workflow_uuid = "receiver";
        s.function_id = 2;
        s.function_name = "DBOS.recv";
        return s;
      }(),
      nullptr);
  EXPECT_EQ(consumed.message, "\"two\"");  // the receiver's own Recv takes the oldest
}

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing {
namespace {

// Waits (bounded) until `condition` holds.
template <typename Condition>
bool Eventually(Condition condition) {
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A sender in this process records the receipt of a receiver it found waiting. If the receiver
// leaves Recv with an error meanwhile (here: interrupted), the live run must still get the
// message that a replay would read from its recorded step.
TEST_P(MessagingTest, ReceiverLeavingRecvWithAnErrorGetsTheMessageRecordedForIt) {
  DBOSContext ctx = Start();
  auto& notifier = detail::RuntimeOf(ctx).Notifications();
  const std::string id = "leaving-receiver";
  const std::string key = messaging::MessageKey(id, "t");
  messaging::Notifier::TestHooks hooks;
  hooks.before_delivery = [&](const std::string& k, int) {
    if (k != key) return;
    detail::RuntimeOf(ctx).InterruptLocal(id, detail::Interruption::Shutdown);
    EXPECT_TRUE(Eventually([&] { return !notifier.IsReceiving(key); }));
  };
  notifier.SetTestHooks(hooks);
  RunWorkflow(ctx, RecordsWhatRecvSaw, 0, WithWorkflowID(id));
  ASSERT_TRUE(Eventually([&] { return notifier.IsReceiving(key); }));
  Send(ctx, id, std::string("hello"), "t");
  ASSERT_TRUE(Eventually([] { return g_seen_set.load(); }));
  notifier.SetTestHooks({});
  const auto steps = Steps(id);
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps[0].function_name, "DBOS.recv");
  EXPECT_EQ(steps[0].output, "\"hello\"");  // what a replay returns
  {
    std::lock_guard lock(g_seen_mutex);
    EXPECT_EQ(g_seen, "hello");  // what the live run saw
  }
  Shutdown(ctx);
}

// A local sender may record a receiver's DBOS.recv step as soon as the receiver is visible; its
// DBOS.sleep row (the deadline, next step ID) must be committed by then, or a kill in between
// leaves a gap in the step history that no replay fills.
TEST_P(MessagingTest, ReceiverIsVisibleToSendersOnlyAfterItsDeadlineIsRecorded) {
  DBOSContext ctx = Start();
  auto& notifier = detail::RuntimeOf(ctx).Notifications();
  auto raw = OpenRaw();
  const std::string id = "deadline-first";
  std::atomic<int> opened{0};
  std::atomic<bool> deadline_recorded{false};
  messaging::Notifier::TestHooks hooks;
  hooks.on_receiver_open = [&](const std::string& key, int step_id) {
    if (key != messaging::MessageKey(id, "t")) return;
    ++opened;
    for (const auto& step : raw->ListSteps(id)) {
      if (step.function_id == step_id + 1 && step.function_name == "DBOS.sleep") {
        deadline_recorded = true;
      }
    }
  };
  notifier.SetTestHooks(hooks);
  EXPECT_EQ(RunWorkflow(ctx, ReceiveOrTimeout, 20, WithWorkflowID(id)).GetResult(), "timeout");
  notifier.SetTestHooks({});
  EXPECT_EQ(opened.load(), 1);
  EXPECT_TRUE(deadline_recorded.load());
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing {
namespace {

// A message or event value that is not UTF-8 is refused with a clear error before anything is
// written, instead of a JSON library exception.
TEST_P(MessagingTest, SendAndSetEventRefuseValuesThatAreNotUtf8) {
  auto publisher = [](DBOSContext& c, int) {
    try {
      SetEvent(c, "k", std::string("bad \xFF"));
    } catch (const DBOSError& e) {
      return std::string(ErrorCodeName(e.Code()));
    }
    return std::string("set");
  };
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, ReceiveOrTimeout);
  RegisterWorkflow(ctx, publisher, WithWorkflowName("utf8-publisher"));
  Launch(ctx);
  auto handle = RunWorkflow(ctx, ReceiveOrTimeout, 50, WithWorkflowID("utf8-receiver"));
  try {
    Send(ctx, "utf8-receiver", std::string("bad \xFF"), "t");
    ADD_FAILURE() << "expected InvalidOption";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
    EXPECT_NE(e.Message().find("invalid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_EQ(handle.GetResult(), "timeout");  // nothing was sent
  EXPECT_EQ(RunWorkflow(ctx, publisher, 0, WithWorkflowID("utf8-publisher")).GetResult(),
            "InvalidOption");
  EXPECT_TRUE(Steps("utf8-publisher").empty());  // nothing was written
  Shutdown(ctx);
}

// A Recv<T> never consumes a message that is not a T: it throws WorkflowUnexpectedType, records
// that error as its step (a replay throws it again, and the step history has no gap), and leaves
// the message to a Recv that can read it. Both paths: the message read from the database, and a
// local sender that finds the receiver waiting (it must not record the receipt for it).
TEST_P(MessagingTest, RecvLeavesAMessageOfAnotherTypeUnconsumed) {
  DBOSContext ctx = Start();
  auto& notifier = detail::RuntimeOf(ctx).Notifications();
  for (const bool waiting : {false, true}) {
    SCOPED_TRACE(waiting ? "sent while the receiver waits" : "sent before the receiver reads");
    const std::string id = waiting ? "mismatch-waiting" : "mismatch-stored";
    auto handle = RunWorkflow(ctx, IntThenText, !waiting, WithWorkflowID(id));
    const std::string awaited = messaging::MessageKey(id, waiting ? "t" : "go");
    ASSERT_TRUE(Eventually([&] { return notifier.IsReceiving(awaited); }));
    Send(ctx, id, std::string("hello"), "t");
    if (!waiting) Send(ctx, id, 1, "go");
    EXPECT_EQ(handle.GetResult(), "WorkflowUnexpectedType:hello");
    const auto steps = Steps(id);
    const size_t first = waiting ? 0 : 2;  // after the "go" Recv's two steps
    ASSERT_EQ(steps.size(), first + 4);
    EXPECT_EQ(steps[first].function_name, "DBOS.recv");
    EXPECT_FALSE(steps[first].output.has_value());
    ASSERT_TRUE(steps[first].error.has_value());
    EXPECT_NE(steps[first].error->find("WorkflowUnexpectedType"), std::string::npos);
    EXPECT_NE(steps[first].error->find("left unconsumed"), std::string::npos);
    EXPECT_EQ(steps[first + 2].output, "\"hello\"");
    const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
    EXPECT_EQ(RunSql(url_, "SELECT CAST(consumed_by_function_id AS TEXT) FROM " + table +
                               " WHERE destination_uuid = '" + id + "' AND topic = 't'"),
              (Rows{{std::to_string(first + 2)}}));
  }
  Shutdown(ctx);
}

// A message whose body cannot be decoded (here: invalid JSON under portable_json, as a faulty
// sender in another language could write) is refused the same way and stays unconsumed.
TEST_P(MessagingTest, RecvLeavesAMalformedMessageUnconsumed) {
  DBOSContext ctx = Start();
  auto& notifier = detail::RuntimeOf(ctx).Notifications();
  const std::string id = "malformed";
  auto handle = RunWorkflow(ctx, IntThenText, true, WithWorkflowID(id));
  ASSERT_TRUE(Eventually([&] { return notifier.IsReceiving(messaging::MessageKey(id, "go")); }));
  const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
  RunSql(url_, "INSERT INTO " + table +
                   " (message_uuid, destination_uuid, topic, message, created_at_epoch_ms, "
                   "serialization) VALUES ('bad', '" +
                   id +
                   "', 't', '{not json', 1, "
                   "'portable_json')");
  Send(ctx, id, 1, "go");
  // Both Recv calls on "t" refuse it (it stays the oldest message of the topic), and the second
  // refusal ends the workflow.
  EXPECT_THROW(handle.GetResult(), DBOSError);
  const auto steps = Steps(id);
  ASSERT_EQ(steps.size(), 6u);
  for (const size_t refused : {size_t{2}, size_t{4}}) {
    ASSERT_TRUE(steps[refused].error.has_value());
    EXPECT_NE(steps[refused].error->find("left unconsumed"), std::string::npos);
  }
  EXPECT_EQ(
      RunSql(url_, "SELECT CAST(consumed AS TEXT) FROM " + table + " WHERE message_uuid = 'bad'"),
      (Rows{{IsPostgres() ? "false" : "0"}}));
  Shutdown(ctx);
}

// A replayed error reads exactly as it did live: the recorded message is the error's own text,
// not its what() with the "DBOS Error <code>: " prefix (which a replay would add again).
TEST_P(MessagingTest, ARecordedTimeoutReplaysWithTheSameMessage) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, TimeoutMessageThenBlock, 0, WithWorkflowID("replayed-timeout"));
    ASSERT_TRUE(Eventually([&] { return Steps("replayed-timeout").size() >= 2; }));
    ASSERT_TRUE(Eventually([] { return !LiveMessage().empty(); }));
    Shutdown(ctx);  // the workflow stays PENDING in its blocking step
  }
  g_block = false;
  DBOSContext ctx = Start();  // recovers it: the Recv replays its recorded timeout
  const std::string live = LiveMessage();
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "replayed-timeout").GetResult(), live);
  EXPECT_EQ(live.find("DBOS Error"), std::string::npos) << live;
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing
