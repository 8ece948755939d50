// Queue and delay wake-ups across processes, on PostgreSQL only: there an enqueue, a promotion, a
// new or moved delay (NOTIFY just after their commit) and the end of a workflow holding a
// global-concurrency slot (NOTIFY in its statement) wake the other processes. SQLite has no
// LISTEN/NOTIFY: there other processes' work is found by the queue runner's and the delay
// promoter's poll, so these tests do not apply (queue_test.cpp covers the in-process wake-ups on
// both backends).
//
// Each test has a "runner" context that serves the queues and polls only every 5 s; the other
// side is a second context (another executor ID) or a raw connection to the same system database,
// standing for another process. A start well within the 5 s poll came from a NOTIFY.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "sysdb/postgres/pg_connection.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::queue_notify_fns {

using Clock = std::chrono::steady_clock;

// When each workflow (by its input) started.
struct Starts {
  std::mutex mutex;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> at;
  void Reset() {
    std::lock_guard lock(mutex);
    at.clear();
  }
  void Record(const std::string& id) {
    std::lock_guard lock(mutex);
    at.emplace(id, Clock::now());
    cv.notify_all();
  }
  // The start of `id`, or nullopt when it did not start within 15 s (three polls).
  std::optional<Clock::time_point> Await(const std::string& id) {
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, std::chrono::seconds(15), [&] { return at.count(id) > 0; })) {
      return std::nullopt;
    }
    return at[id];
  }
};
Starts g_starts;

std::string Noted(DBOSContext&, std::string input) {
  g_starts.Record(input);
  return input;
}

}  // namespace dbos::testing::queue_notify_fns

namespace dbos::testing {
namespace {
using namespace queue_notify_fns;
using namespace std::chrono_literals;

constexpr auto kPoll = 5s;           // the runner's safety-net poll in these tests
constexpr auto kPrompt = 500ms;      // a start this soon was pushed, not polled
constexpr const char* kLast = "zz";  // declared after every tested queue (queues go by name)

class QueueNotifyTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_starts.Reset();
  }

  // A context running `noted` that polls every kPoll; `declare` adds its queues (before kLast).
  DBOSContext Context(const std::string& executor) {
    Config config = MakeConfig();
    config.executor_id = executor;
    DBOSContext ctx = NewDBOSContext(config);
    RegisterWorkflow(ctx, Noted, WithWorkflowName("noted"));
    detail::RuntimeOf(ctx).SetBackgroundPollIntervalForTesting(kPoll);
    return ctx;
  }

  // Launches `runner` and returns once its first round has claimed from every queue declared
  // before kLast: the round is at kLast's claim (a queue nothing is enqueued on), so from then on
  // only a wake-up (or the 5 s poll) makes it look at the tested queues again.
  void LaunchAndAwaitFirstRound(DBOSContext& runner) {
    NewWorkflowQueue(runner, kLast);
    const int wanted = static_cast<int>(detail::RuntimeOf(runner).Queues().All().size());
    // Shared with the injector: a call under way may outlive its removal.
    struct Claims {
      std::mutex mutex;
      std::condition_variable cv;
      int count = 0;
    };
    auto claims = std::make_shared<Claims>();
    sysdb::testing::ScopedFaultInjector injector([claims](const sysdb::testing::FaultSite& site) {
      if (std::string(site.statement) == "queue_claim") {
        std::lock_guard lock(claims->mutex);
        ++claims->count;
        claims->cv.notify_all();
      }
      return sysdb::testing::Fault{};
    });
    Launch(runner);
    std::unique_lock lock(claims->mutex);
    ASSERT_TRUE(claims->cv.wait_for(lock, 10s, [&] { return claims->count >= wanted; }))
        << "the queue runner's first round did not reach the queue " << kLast;
  }

  // A DELAYED (or other) row of `noted` on `queue`, written as another process writes it.
  static sysdb::WorkflowInsert Row(const std::string& id, const std::string& status,
                                   const std::string& queue) {
    sysdb::WorkflowInsert row = WorkflowRow(id, "noted", status);
    row.queue_name = queue;
    row.inputs = serialization::EncodeWorkflowInput(nlohmann::json(id));
    return row;
  }

  // Expects `id` to start within kPrompt of `since` (and not before it).
  static void ExpectPromptStart(const std::string& id, Clock::time_point since) {
    const auto started = g_starts.Await(id);
    ASSERT_TRUE(started.has_value()) << id << " never started";
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(*started - since);
    EXPECT_GE(took.count(), 0) << id << " started too early";
    EXPECT_LT(took, kPrompt) << id << " started after " << took.count()
                             << " ms: found by the 5 s poll, not woken";
  }
};

// Another process enqueues on a queue it does not serve: the runner that serves it starts each
// workflow at once.
TEST_P(QueueNotifyTest, AnEnqueueByAnotherProcessWakesTheRunner) {
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "q");
  ASSERT_NO_FATAL_FAILURE(LaunchAndAwaitFirstRound(runner));
  DBOSContext other = Context("exec-other");  // declares no queue: cannot run q's work
  Launch(other);
  for (int i = 0; i < 3; ++i) {
    const std::string id = "enqueued-" + std::to_string(i);
    const auto since = Clock::now();
    RunWorkflow(other, Noted, id, WithQueue("q"), WithWorkflowID(id));
    ExpectPromptStart(id, since);
  }
  Shutdown(other);
  Shutdown(runner);
}

// Another process promotes a DELAYED workflow (here far ahead of its time, so that the runner's
// own promoter, which knows the time too, cannot be the one): the runner starts it at once.
TEST_P(QueueNotifyTest, APromotionByAnotherProcessWakesTheRunner) {
  auto raw = OpenRaw();
  sysdb::WorkflowInsert row = Row("promoted", "DELAYED", "q");
  row.delay_until_epoch_ms = util::NowEpochMs() + 3'600'000;
  ASSERT_TRUE(raw->InsertWorkflow(row).created);
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "q");
  ASSERT_NO_FATAL_FAILURE(LaunchAndAwaitFirstRound(runner));
  const auto since = Clock::now();
  const auto promoted = raw->PromoteDueDelayed(util::NowEpochMs() + 7'200'000);
  ASSERT_EQ(promoted.queues, std::vector<std::string>{"q"});
  ExpectPromptStart("promoted", since);
  Shutdown(runner);
}

// A process delayed a workflow and ended before its time (or a client did): the runner's
// promoter learns the time at once and starts the workflow then, not at its next poll.
TEST_P(QueueNotifyTest, ADelayedWorkflowOfAnotherProcessStartsOnTime) {
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "q");
  ASSERT_NO_FATAL_FAILURE(LaunchAndAwaitFirstRound(runner));
  auto raw = OpenRaw();
  sysdb::WorkflowInsert row = Row("delayed", "DELAYED", "q");
  row.delay_until_epoch_ms = util::NowEpochMs() + 300;
  const auto due = Clock::now() + 300ms;
  ASSERT_TRUE(raw->InsertWorkflow(row).created);
  ExpectPromptStart("delayed", due);
  Shutdown(runner);
}

// SetWorkflowDelay from a process that never launched (a webhook, say) brings a start an hour
// away to 300 ms from now: the runner's promoter re-reads the time at once.
TEST_P(QueueNotifyTest, SetWorkflowDelayByAnotherProcessMovesTheStart) {
  auto raw = OpenRaw();
  sysdb::WorkflowInsert row = Row("moved", "DELAYED", "q");
  row.delay_until_epoch_ms = util::NowEpochMs() + 3'600'000;
  ASSERT_TRUE(raw->InsertWorkflow(row).created);
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "q");
  ASSERT_NO_FATAL_FAILURE(LaunchAndAwaitFirstRound(runner));
  DBOSContext webhook = Context("exec-webhook");
  const auto due = Clock::now() + 300ms;
  SetWorkflowDelay(webhook, "moved", WithDelayDuration(300ms));
  ExpectPromptStart("moved", due);
  Shutdown(runner);
}

// A workflow of a queue with global concurrency 1 ends in another process: the runner waiting
// for that slot claims the next workflow at once.
TEST_P(QueueNotifyTest, AFreedGlobalConcurrencySlotWakesTheRunner) {
  auto raw = OpenRaw();
  sysdb::WorkflowInsert holder = Row("holder", "PENDING", "g");
  holder.executor_id = "exec-elsewhere";  // runs there: not this runner's to recover
  ASSERT_TRUE(raw->InsertWorkflow(holder).created);
  ASSERT_TRUE(raw->InsertWorkflow(Row("waiting", "ENQUEUED", "g")).created);
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "g", WithGlobalConcurrency(1));
  // Its claim on g finds the slot taken.
  ASSERT_NO_FATAL_FAILURE(LaunchAndAwaitFirstRound(runner));
  const auto since = Clock::now();
  ASSERT_TRUE(raw->FinishWorkflow("holder", "SUCCESS", serialization::EncodeValue("done"),
                                  std::nullopt, util::NowEpochMs()));
  ExpectPromptStart("waiting", since);
  Shutdown(runner);
}

// Another process resumes a workflow, which puts it on the internal queue: the runner, whose
// rounds for its own queues' work skip the internal queue, is woken for it and starts it at once.
TEST_P(QueueNotifyTest, AResumeByAnotherProcessWakesTheRunner) {
  auto raw = OpenRaw();
  ASSERT_TRUE(raw->InsertWorkflow(Row("resumed", "CANCELLED", "q")).created);
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "q");
  ASSERT_NO_FATAL_FAILURE(LaunchAndAwaitFirstRound(runner));
  const auto since = Clock::now();
  ASSERT_EQ(raw->ResumeWorkflow("resumed", sysdb::kInternalQueueName, util::NowEpochMs()),
            sysdb::ResumeOutcome::Resumed);
  ExpectPromptStart("resumed", since);
  Shutdown(runner);
}

// Another process's transaction that sends to an ENQUEUED workflow holds a key-share lock on the
// workflow's row (the message's foreign key) until it commits. The runner's claim still takes the
// workflow: skipped, it would wait for a round nothing announces (here the 5 s poll, and skipped
// again while the send stays open).
TEST_P(QueueNotifyTest, AnOpenSendToAQueuedWorkflowDoesNotHoldBackItsClaim) {
  ASSERT_TRUE(OpenRaw()->InsertWorkflow(Row("sent-to", "ENQUEUED", "q")).created);
  auto sender =
      sysdb::pg::PgConnection::Connect(sysdb::pg::ConnectionSpec::Parse(url_), Clock::now() + 10s);
  sender->Exec("BEGIN");
  sender->Exec("INSERT INTO " + schema_ +
               ".notifications (destination_uuid, topic, message) VALUES ('sent-to', 't', '1')");
  DBOSContext runner = Context("exec-runner");
  NewWorkflowQueue(runner, "q");
  const auto since = Clock::now();
  Launch(runner);
  const auto started = g_starts.Await("sent-to");
  sender->Exec("ROLLBACK");
  ASSERT_TRUE(started.has_value()) << "the claim skipped the workflow while the send was open";
  EXPECT_LT(*started - since, kPrompt);
  Shutdown(runner);
}

INSTANTIATE_TEST_SUITE_P(Postgres, QueueNotifyTest, ::testing::Values("postgres"), BackendName);

}  // namespace
}  // namespace dbos::testing
