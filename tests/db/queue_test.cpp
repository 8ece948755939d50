// Queues on both backends: declaring them (bad limits refused, rows written at Launch), the
// options of an enqueue, and the runner's rules: worker concurrency (per partition on a
// partitioned queue), global concurrency across executors, the rate limit, priority then FIFO
// order, deduplication (also under concurrent enqueues), and an enqueue starting at once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "queue/queue_runner.hpp"
#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::queue_fns {

// How many run at once (now and at most), per partition too, and every start in order.
struct Gauge {
  std::mutex mutex;
  std::map<std::string, int> now;
  std::map<std::string, int> max;
  std::vector<std::string> order;
  std::map<std::string, int> runs;
  void Reset() {
    std::lock_guard lock(mutex);
    now.clear();
    max.clear();
    order.clear();
    runs.clear();
  }
  void Enter(const std::string& group, const std::string& id) {
    std::lock_guard lock(mutex);
    for (const auto& key : {std::string("*"), group}) {
      max[key] = std::max(max[key], ++now[key]);
    }
    order.push_back(id);
    ++runs[id];
  }
  void Leave(const std::string& group) {
    std::lock_guard lock(mutex);
    --now["*"];
    --now[group];
  }
  int Max(const std::string& key) {
    std::lock_guard lock(mutex);
    return max[key];
  }
};
Gauge g_gauge;

// A gate the test opens: workflows that wait on it hold their queue slot.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void Reset() {
    std::lock_guard lock(mutex);
    open = false;
    waiting = 0;
  }
  void Wait() {
    std::unique_lock lock(mutex);
    ++waiting;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return open; });
  }
  bool AwaitWaiting(int n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return waiting >= n; });
  }
  void Open() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};
Gate g_gate;

// input: "<group>/<id>"; works a few milliseconds while counted.
std::string Work(DBOSContext&, std::string input) {
  const std::string group = input.substr(0, input.find('/'));
  g_gauge.Enter(group, input);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));  // the workload, not a wait
  g_gauge.Leave(group);
  return input;
}

// Enqueues a child on queue "q" and returns its result.
std::string EnqueuesChild(DBOSContext& ctx, std::string input) {
  return RunWorkflow(ctx, Work, input, WithQueue("q"), WithWorkflowID("child")).GetResult();
}

std::string Blocker(DBOSContext&, std::string input) {
  g_gate.Wait();
  return input;
}

std::atomic<int> g_unwind_runs{0};
std::atomic<int> g_unwind_released{0};

// A step that ignores cancellation until the test releases its run (the first run, the second…),
// as slow code that does not check its stop token does.
std::string Unwinder(DBOSContext& ctx, std::string input) {
  return RunAsStep(
      ctx,
      [input] {
        const int run = ++g_unwind_runs;
        while (g_unwind_released.load() < run) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return input;
      },
      WithStepName("unwind"));
}

// Sleeps for a minute (durably, so a cancellation or a timeout ends it at once).
std::string Sleeper(DBOSContext& ctx, std::string input) {
  Sleep(ctx, std::chrono::minutes(1));
  return input;
}

// Waits for the gate, then enqueues (mode "enqueue") or debounces (mode "debounce") a Work and
// catches whatever that throws, as code that must not fail might.
std::string CatchesAll(DBOSContext& ctx, std::string mode) {
  g_gate.Wait();
  try {
    if (mode == "enqueue") {
      RunWorkflow(ctx, Work, std::string("late/enqueued"), WithQueue("q"));
    } else {
      NewDebouncer(ctx, Work).Debounce(ctx, "k", std::chrono::seconds(1),
                                       std::string("late/debounced"));
    }
  } catch (...) {
    return "caught";
  }
  return "started";
}

}  // namespace dbos::testing::queue_fns

namespace dbos::testing {
namespace {
using namespace queue_fns;

class QueueTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_gauge.Reset();
    g_gate.Reset();
    g_unwind_runs = 0;
    g_unwind_released = 0;
  }
  void TearDown() override {
    g_gate.Open();
    g_unwind_released = 1000;
    DbTest::TearDown();
  }
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  DBOSContext Context(const std::string& executor = "local") {
    Config config = MakeConfig();
    config.executor_id = executor;
    DBOSContext ctx = NewDBOSContext(config);
    RegisterWorkflow(ctx, Work, WithWorkflowName("work"));
    RegisterWorkflow(ctx, Blocker, WithWorkflowName("blocker"));
    RegisterWorkflow(ctx, CatchesAll, WithWorkflowName("catches-all"));
    RegisterWorkflow(ctx, Sleeper, WithWorkflowName("sleeper"));
    RegisterWorkflow(ctx, Unwinder, WithWorkflowName("unwinder"));
    return ctx;
  }
  // An ENQUEUED Work("<group>/<id>") on `queue`, written before Launch as another process would.
  void InsertQueued(const std::string& queue, const std::string& id, int64_t created,
                    const std::string& name = "work") {
    sysdb::WorkflowInsert row = WorkflowRow(id, name, "ENQUEUED");
    row.queue_name = queue;
    row.inputs = serialization::EncodeWorkflowInput(std::string("g/" + id));
    row.now_ms = created;
    ASSERT_TRUE(OpenRaw()->InsertWorkflow(row).created);
  }
  // A claim by executor "local" at time 1000 of Work rows on `queue`, of this test's version or
  // none.
  static sysdb::QueueClaimRequest ClaimRequest(const std::string& queue) {
    sysdb::QueueClaimRequest request;
    request.base.queue_name = queue;
    request.base.executor_id = "local";
    request.base.application_version = "test-v1";
    request.base.accept_unversioned = true;
    request.base.now_ms = 1000;
    request.base.workflow_names = {"work"};
    return request;
  }
  std::string StatusOf(const std::string& id) {
    const Rows rows = RunSql(url_, "SELECT status FROM " + Table("workflow_status") +
                                       " WHERE workflow_uuid = '" + id + "'");
    return rows.empty() ? "" : rows[0][0];
  }
  int CountPending(const std::string& queue) {
    return std::stoi(RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status") +
                                      " WHERE queue_name = '" + queue + "' AND status = 'PENDING'")
                         .at(0)
                         .at(0));
  }
  // Waits (bounded) until `pred` holds.
  template <typename Pred>
  static bool Await(Pred pred) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }
};

void ExpectError(ErrorCode code, const std::string& fragment, const std::function<void()>& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected " << ErrorCodeName(code) << " mentioning '" << fragment << "'";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), code) << e.what();
    EXPECT_NE(e.Message().find(fragment), std::string::npos) << e.what();
  }
}

TEST_P(QueueTest, BadQueueDeclarationsAreRefusedAndNothingIsWritten) {
  DBOSContext ctx = Context();
  ExpectError(ErrorCode::InvalidOption, "name", [&] { NewWorkflowQueue(ctx, ""); });
  ExpectError(ErrorCode::InvalidOption, "reserved",
              [&] { NewWorkflowQueue(ctx, "_dbos_internal_queue"); });
  ExpectError(ErrorCode::InvalidOption, "WithWorkerConcurrency must be positive",
              [&] { NewWorkflowQueue(ctx, "bad-w", WithWorkerConcurrency(0)); });
  ExpectError(ErrorCode::InvalidOption, "WithGlobalConcurrency must be positive",
              [&] { NewWorkflowQueue(ctx, "bad-g", WithGlobalConcurrency(-1)); });
  ExpectError(ErrorCode::InvalidOption, "below WithWorkerConcurrency", [&] {
    NewWorkflowQueue(ctx, "bad-gw", WithWorkerConcurrency(5), WithGlobalConcurrency(4));
  });
  ExpectError(ErrorCode::InvalidOption, "limit must be positive", [&] {
    NewWorkflowQueue(ctx, "bad-r", WithRateLimiter({0, std::chrono::seconds(1)}));
  });
  ExpectError(ErrorCode::InvalidOption, "period must be positive", [&] {
    NewWorkflowQueue(ctx, "bad-p", WithRateLimiter({3, std::chrono::milliseconds(0)}));
  });
  ExpectError(ErrorCode::InvalidOption, "WithMaxTasksPerIteration must be positive",
              [&] { NewWorkflowQueue(ctx, "bad-m", WithMaxTasksPerIteration(0)); });
  const WorkflowQueue q = NewWorkflowQueue(ctx, "q", WithWorkerConcurrency(2));
  EXPECT_EQ(q.name, "q");
  EXPECT_EQ(q.worker_concurrency, 2);
  EXPECT_EQ(NewWorkflowQueue(ctx, "q", WithWorkerConcurrency(2)), q);  // same limits: fine
  ExpectError(ErrorCode::InvalidOption, "already declared with other limits",
              [&] { NewWorkflowQueue(ctx, "q", WithWorkerConcurrency(3)); });
  Launch(ctx);
  ExpectError(ErrorCode::InvalidOption, "before Launch", [&] { NewWorkflowQueue(ctx, "late"); });
  EXPECT_EQ(
      RunSql(url_, "SELECT name, worker_concurrency FROM " + Table("queues") + " ORDER BY name"),
      (Rows{{"_dbos_internal_queue", ""}, {"q", "2"}}));
  Shutdown(ctx);
}

TEST_P(QueueTest, LaunchWritesEachQueueAsARowOfTheQueuesTable) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "limits", WithWorkerConcurrency(5), WithGlobalConcurrency(10),
                   WithRateLimiter({100, std::chrono::seconds(60)}), WithPriorityEnabled());
  NewWorkflowQueue(ctx, "parts", WithPartitionQueue(), WithWorkerConcurrency(1));
  Launch(ctx);
  const std::string truth = IsPostgres() ? "t" : "1";
  const std::string lie = IsPostgres() ? "f" : "0";
  EXPECT_EQ(RunSql(url_,
                   "SELECT name, concurrency, worker_concurrency, rate_limit_max, "
                   "CAST(rate_limit_period_sec AS INTEGER), priority_enabled, "
                   "partition_queue FROM " +
                       Table("queues") + " ORDER BY name"),
            (Rows{{"_dbos_internal_queue", "", "", "", "", lie, lie},
                  {"limits", "10", "5", "100", "60", truth, lie},
                  {"parts", "", "1", "", "", lie, truth}}));
  const auto row = OpenRaw()->GetQueue("limits");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->rate_limit_period_ms, 60000);
  Shutdown(ctx);
}

TEST_P(QueueTest, EnqueueOptionsAreCheckedAgainstTheQueue) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "plain");
  NewWorkflowQueue(ctx, "prio", WithPriorityEnabled());
  NewWorkflowQueue(ctx, "parts", WithPartitionQueue());
  Launch(ctx);
  ExpectError(ErrorCode::QueueNotFound, "'nowhere' does not exist",
              [&] { RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("nowhere")); });
  ExpectError(ErrorCode::InvalidOption, "between 1 and 2147483647", [&] {
    RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("prio"), WithPriority(0));
  });
  ExpectError(ErrorCode::InvalidOption, "between 1 and 2147483647", [&] {
    RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("prio"), WithPriority(-4));
  });
  ExpectError(ErrorCode::InvalidOption, "WithPriorityEnabled", [&] {
    RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("plain"), WithPriority(1));
  });
  ExpectError(ErrorCode::InvalidOption, "WithPartitionQueue", [&] {
    RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("plain"), WithQueuePartitionKey("k"));
  });
  ExpectError(ErrorCode::InvalidOption, "partitioned",
              [&] { RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("parts")); });
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status")), (Rows{{"0"}}));
  // A queue declared by another process (only its row) is known.
  sysdb::QueueRow elsewhere;
  elsewhere.name = "elsewhere";
  OpenRaw()->UpsertQueue(elsewhere, util::NowEpochMs());
  auto handle =
      RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("elsewhere"), WithWorkflowID("e1"));
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Enqueued);
  // Its rules are the row's: a partitioned queue declared elsewhere needs a key, and only there.
  sysdb::QueueRow parts_elsewhere;
  parts_elsewhere.name = "parts-elsewhere";
  parts_elsewhere.partition_queue = true;
  OpenRaw()->UpsertQueue(parts_elsewhere, util::NowEpochMs());
  ExpectError(ErrorCode::InvalidOption, "partitioned",
              [&] { RunWorkflow(ctx, Work, std::string("a/2"), WithQueue("parts-elsewhere")); });
  ExpectError(ErrorCode::InvalidOption, "WithPartitionQueue", [&] {
    RunWorkflow(ctx, Work, std::string("a/3"), WithQueue("elsewhere"), WithQueuePartitionKey("k"));
  });
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status")), (Rows{{"1"}}));
  Shutdown(ctx);
}

TEST_P(QueueTest, EnqueuedWorkflowsStartWithoutWaitingForAPoll) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "q");
  Launch(ctx);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the first round pass
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto handle = RunWorkflow(ctx, Work, "a/" + std::to_string(i), WithQueue("q"));
    EXPECT_EQ(handle.GetResult(), "a/" + std::to_string(i));
    // The safety-net poll is 1 s: a start this soon came from the enqueue's wake-up.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
    EXPECT_EQ(handle.GetStatus().queue_name, "q");
  }
  Shutdown(ctx);
}

// The runner may claim an enqueued row the moment it is committed, before the enqueuing call
// has returned (here: while a parent records the link to its enqueued child, held up past a
// poll round). The claimed workflow must still run, not stay PENDING as "already executing".
TEST_P(QueueTest, AWorkflowClaimedBeforeItsEnqueueReturnedStillRuns) {
  DBOSContext ctx = Context();
  RegisterWorkflow(ctx, EnqueuesChild, WithWorkflowName("parent"));
  NewWorkflowQueue(ctx, "q");
  Launch(ctx);
  std::atomic<int> held{0};
  sysdb::testing::ScopedFaultInjector injector([&](const sysdb::testing::FaultSite& site) {
    if (std::string(site.operation) == "RecordStep" && held.fetch_add(1) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // spans a 1 s poll round
    }
    return sysdb::testing::Fault{};
  });
  auto parent = RunWorkflow(ctx, EnqueuesChild, std::string("c/1"), WithWorkflowID("parent"));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  std::string status;
  while (std::chrono::steady_clock::now() < until) {
    status = OpenRaw()->GetWorkflow("child", false).value_or(sysdb::WorkflowRow{}).status;
    if (status == "SUCCESS") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, "SUCCESS");
  EXPECT_GE(held.load(), 1);
  if (status == "SUCCESS") {
    EXPECT_EQ(parent.GetResult(), "c/1");
  }
  Shutdown(ctx);
}

TEST_P(QueueTest, WorkerConcurrencyIsNeverExceeded) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "q", WithWorkerConcurrency(3));
  Launch(ctx);
  std::vector<WorkflowHandle<std::string>> handles;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 24; ++i) {
    handles.push_back(RunWorkflow(ctx, Work, "a/" + std::to_string(i), WithQueue("q")));
  }
  for (auto& h : handles) h.GetResult();
  EXPECT_EQ(g_gauge.Max("*"), 3);  // never more, and the limit was used
  // Eight waves of 40 ms: a finished workflow frees its slot and starts the next one at once
  // (waiting for the 1 s poll instead would take at least 7 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  Shutdown(ctx);
}

TEST_P(QueueTest, PartitionedQueueLimitsEachPartition) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "parts", WithPartitionQueue(), WithWorkerConcurrency(1));
  Launch(ctx);
  std::vector<WorkflowHandle<std::string>> handles;
  for (int i = 0; i < 6; ++i) {
    for (const char* key : {"a", "b"}) {
      handles.push_back(RunWorkflow(ctx, Work, std::string(key) + "/" + std::to_string(i),
                                    WithQueue("parts"), WithQueuePartitionKey(key)));
    }
  }
  for (auto& h : handles) h.GetResult();
  EXPECT_EQ(g_gauge.Max("a"), 1);
  EXPECT_EQ(g_gauge.Max("b"), 1);
  EXPECT_EQ(g_gauge.Max("*"), 2);  // the partitions ran side by side
  Shutdown(ctx);
}

TEST_P(QueueTest, GlobalConcurrencyHoldsAcrossExecutors) {
  constexpr int kPerExecutor = 10;
  std::vector<DBOSContext> contexts;
  for (const char* executor : {"exec-a", "exec-b", "exec-c"}) {
    contexts.push_back(Context(executor));
    NewWorkflowQueue(contexts.back(), "shared", WithWorkerConcurrency(2), WithGlobalConcurrency(2));
  }
  for (auto& ctx : contexts) Launch(ctx);
  std::vector<WorkflowHandle<std::string>> handles;
  for (int i = 0; i < kPerExecutor; ++i) {
    for (size_t c = 0; c < contexts.size(); ++c) {
      handles.push_back(RunWorkflow(contexts[c], Work,
                                    "g/" + std::to_string(c) + "-" + std::to_string(i),
                                    WithQueue("shared")));
    }
  }
  for (auto& h : handles) h.GetResult();
  EXPECT_LE(g_gauge.Max("*"), 2);
  std::lock_guard lock(g_gauge.mutex);
  EXPECT_EQ(g_gauge.runs.size(), handles.size());
  for (const auto& [id, runs] : g_gauge.runs) EXPECT_EQ(runs, 1) << id;
  for (auto& ctx : contexts) Shutdown(ctx);
}

TEST_P(QueueTest, RateLimitIsNeverExceeded) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "rated", WithRateLimiter({3, std::chrono::milliseconds(400)}));
  Launch(ctx);
  std::vector<WorkflowHandle<std::string>> handles;
  for (int i = 0; i < 9; ++i) {
    handles.push_back(RunWorkflow(ctx, Work, "r/" + std::to_string(i), WithQueue("rated")));
  }
  for (auto& h : handles) h.GetResult();
  std::vector<int64_t> starts;
  for (const auto& row :
       RunSql(url_, "SELECT started_at_epoch_ms FROM " + Table("workflow_status") +
                        " WHERE queue_name = 'rated'"
                        " ORDER BY 1")) {
    starts.push_back(std::stoll(row[0]));
  }
  ASSERT_EQ(starts.size(), 9u);
  // Any four consecutive starts span at least the period.
  for (size_t i = 3; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 3], 400) << i;
  Shutdown(ctx);
}

TEST_P(QueueTest, PriorityFirstThenFifo) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "prio", WithPriorityEnabled(), WithWorkerConcurrency(1));
  Launch(ctx);
  auto blocker = RunWorkflow(ctx, Blocker, std::string("b"), WithQueue("prio"));
  ASSERT_TRUE(g_gate.AwaitWaiting(1));
  const std::vector<std::pair<std::string, int>> plan = {{"p/none-1", 0}, {"p/five", 5},
                                                         {"p/one-1", 1},  {"p/none-2", 0},
                                                         {"p/one-2", 1},  {"p/three", 3}};
  std::vector<WorkflowHandle<std::string>> handles;
  for (const auto& [id, priority] : plan) {
    if (priority == 0) {
      handles.push_back(RunWorkflow(ctx, Work, id, WithQueue("prio")));
    } else {
      handles.push_back(RunWorkflow(ctx, Work, id, WithQueue("prio"), WithPriority(priority)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // distinct created_at
  }
  g_gate.Open();
  blocker.GetResult();
  for (auto& h : handles) h.GetResult();
  std::lock_guard lock(g_gauge.mutex);
  EXPECT_EQ(g_gauge.order, (std::vector<std::string>{"p/none-1", "p/none-2", "p/one-1", "p/one-2",
                                                     "p/three", "p/five"}));
}

TEST_P(QueueTest, DeduplicationRefusesASecondEnqueueWhileTheFirstIsQueuedOrRunning) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "dedup", WithWorkerConcurrency(1));
  Launch(ctx);
  auto running = RunWorkflow(ctx, Blocker, std::string("r"), WithQueue("dedup"),
                             WithDeduplicationID("running"));
  ASSERT_TRUE(g_gate.AwaitWaiting(1));
  auto queued =
      RunWorkflow(ctx, Work, std::string("d/q"), WithQueue("dedup"), WithDeduplicationID("queued"));
  ExpectError(ErrorCode::QueueDeduplicated, "running", [&] {
    RunWorkflow(ctx, Work, std::string("d/x"), WithQueue("dedup"), WithDeduplicationID("running"));
  });
  ExpectError(ErrorCode::QueueDeduplicated, "queued", [&] {
    RunWorkflow(ctx, Work, std::string("d/y"), WithQueue("dedup"), WithDeduplicationID("queued"));
  });
  // Concurrent enqueues with one new ID: exactly one is accepted.
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      try {
        RunWorkflow(ctx, Work, "d/c" + std::to_string(i), WithQueue("dedup"),
                    WithDeduplicationID("contended"));
        ++accepted;
      } catch (const DBOSError& e) {
        if (e.Code() == ErrorCode::QueueDeduplicated) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(refused.load(), 7);
  g_gate.Open();
  running.GetResult();
  queued.GetResult();
  // Finished: the ID is free again.
  EXPECT_EQ(RunWorkflow(ctx, Work, std::string("d/again"), WithQueue("dedup"),
                        WithDeduplicationID("queued"))
                .GetResult(),
            "d/again");
  Shutdown(ctx);
}

// A claim says whether an earlier execution recorded steps: only then does the start read
// them (a first start reads no history). Both claims: the internal queue's and a declared one's.
TEST_P(QueueTest, AClaimSaysWhetherTheWorkflowHasRecordedSteps) {
  auto db = OpenRaw();
  sysdb::QueueRow row;
  row.name = "q";
  db->UpsertQueue(row, 1);
  for (const std::string& queue : {std::string(sysdb::kInternalQueueName), std::string("q")}) {
    InsertQueued(queue, queue + "-fresh", 10);
    InsertQueued(queue, queue + "-ran", 10);
    sysdb::StepWrite step;
    step.workflow_uuid = queue + "-ran";
    step.function_name = "s";
    step.output = "1";
    ASSERT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
  }
  sysdb::QueueClaimRequest request = ClaimRequest(sysdb::kInternalQueueName);
  const auto steps_of = [](const std::vector<sysdb::DequeuedWorkflow>& claimed) {
    std::map<std::string, bool> out;
    for (const auto& wf : claimed) out[wf.workflow_uuid] = wf.has_steps;
    return out;
  };
  const std::string internal = sysdb::kInternalQueueName;
  EXPECT_EQ(steps_of(db->DequeueWorkflows(request.base)),
            (std::map<std::string, bool>{{internal + "-fresh", false}, {internal + "-ran", true}}));
  request.base.queue_name = "q";
  request.global_concurrency = 5;  // the claim that counts its limit in the database
  EXPECT_EQ(steps_of(db->ClaimFromQueue(request).claimed),
            (std::map<std::string, bool>{{"q-fresh", false}, {"q-ran", true}}));
}

// The claim itself, on the system database: the database-counted limits and partitions.
TEST_P(QueueTest, ClaimCountsGlobalConcurrencyAndTheRateWindowInTheDatabase) {
  auto db = OpenRaw();
  sysdb::QueueRow row;
  row.name = "q";
  db->UpsertQueue(row, 1);
  for (int i = 0; i < 6; ++i) {
    sysdb::WorkflowInsert w;
    w.workflow_uuid = "w" + std::to_string(i);
    w.status = "ENQUEUED";
    w.name = "work";
    w.queue_name = "q";
    w.queue_partition_key = i % 2 == 0 ? "even" : "odd";
    w.executor_id = "x";
    w.inputs = serialization::EncodeWorkflowInput("x");
    w.creator_xid = w.workflow_uuid;
    w.now_ms = 10 + i;
    ASSERT_TRUE(db->InsertWorkflow(w).created);
  }
  sysdb::QueueClaimRequest request = ClaimRequest("q");
  request.global_concurrency = 2;
  const auto ids = [](const sysdb::QueueClaim& claim) {
    std::vector<std::string> out;
    for (const auto& wf : claim.claimed) out.push_back(wf.workflow_uuid);
    return out;
  };
  request.base.max_tasks = 1;  // this process's own cap (worker slots, tasks per iteration)
  EXPECT_EQ(ids(db->ClaimFromQueue(request)), (std::vector<std::string>{"w0"}));
  request.base.max_tasks = 0;
  EXPECT_EQ(ids(db->ClaimFromQueue(request)), (std::vector<std::string>{"w1"}));
  EXPECT_TRUE(db->ClaimFromQueue(request).claimed.empty());  // two PENDING: full
  ASSERT_TRUE(db->FinishWorkflow("w0", "SUCCESS", "1", std::nullopt, 1001));
  EXPECT_EQ(ids(db->ClaimFromQueue(request)), (std::vector<std::string>{"w2"}));
  // Per partition: "odd" has w1 PENDING, so one more of it fits under 2.
  request.partition_key = "odd";
  EXPECT_EQ(ids(db->ClaimFromQueue(request)), (std::vector<std::string>{"w3"}));
  EXPECT_TRUE(db->ClaimFromQueue(request).claimed.empty());
  // Rate limit: rows started in the window count, whatever their status.
  request.partition_key.reset();
  request.global_concurrency.reset();
  request.rate_limit_max = 1;
  request.rate_limit_period_ms = 500;
  request.base.now_ms = 2000;
  EXPECT_EQ(ids(db->ClaimFromQueue(request)), (std::vector<std::string>{"w4"}));
  request.base.now_ms = 2400;
  EXPECT_TRUE(db->ClaimFromQueue(request).claimed.empty());  // w4 started 400 ms ago
  request.base.now_ms = 2501;
  EXPECT_EQ(ids(db->ClaimFromQueue(request)), (std::vector<std::string>{"w5"}));
}

// Claimers on separate connections race on one queue with a global limit: after every claim,
// the PENDING rows (which only claims add) are within the limit, and every row is claimed once.
TEST_P(QueueTest, ConcurrentClaimersNeverExceedGlobalConcurrency) {
  constexpr int kRows = 120;
  constexpr int kLimit = 3;
  {
    auto db = OpenRaw();
    sysdb::QueueRow row;
    row.name = "q";
    row.concurrency = kLimit;
    db->UpsertQueue(row, 1);
    for (int i = 0; i < kRows; ++i) {
      sysdb::WorkflowInsert w;
      w.workflow_uuid = "w" + std::to_string(i);
      w.status = "ENQUEUED";
      w.name = "work";
      w.queue_name = "q";
      w.executor_id = "x";
      w.inputs = serialization::EncodeWorkflowInput("x");
      w.creator_xid = w.workflow_uuid;
      w.now_ms = 10 + i;
      ASSERT_TRUE(db->InsertWorkflow(w).created);
    }
  }
  std::atomic<int> claimed{0};
  std::atomic<int> over{0};
  std::atomic<int> contended{0};
  std::mutex mutex;
  std::map<std::string, int> claims;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto db = OpenRaw();
      sysdb::QueueClaimRequest request;
      request.base.queue_name = "q";
      request.base.executor_id = "exec-" + std::to_string(t);
      request.base.application_version = "v1";
      request.base.accept_unversioned = true;
      request.base.workflow_names = {"work"};
      request.global_concurrency = kLimit;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (claimed.load() < kRows && std::chrono::steady_clock::now() < until) {
        request.base.now_ms = util::NowEpochMs();
        const sysdb::QueueClaim claim = db->ClaimFromQueue(request);
        if (claim.contended) ++contended;
        const auto pending = RunSql(
            url_, "SELECT count(*) FROM " + Table("workflow_status") + " WHERE status = 'PENDING'");
        if (std::stoi(pending[0][0]) > kLimit) ++over;
        for (const auto& wf : claim.claimed) {
          {
            std::lock_guard lock(mutex);
            ++claims[wf.workflow_uuid];
          }
          ++claimed;
          db->FinishWorkflow(wf.workflow_uuid, "SUCCESS", "1", std::nullopt, util::NowEpochMs());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kRows));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << id;
  std::cout << "contended claims: " << contended.load() << std::endl;
}

// One round of the runner claims at most WithMaxTasksPerIteration workflows of the queue: when
// the first of them starts, the round's claim is all that is PENDING.
TEST_P(QueueTest, OneRoundClaimsAtMostMaxTasksPerIteration) {
  for (int i = 0; i < 5; ++i) InsertQueued("mq", "m" + std::to_string(i), 1 + i);
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "mq", WithMaxTasksPerIteration(2));
  std::atomic<int> pending_at_first_start{-1};
  detail::RuntimeOf(ctx).SetDequeueHookForTesting([&](const std::string& id) {
    if (id == "m0") pending_at_first_start = CountPending("mq");
  });
  Launch(ctx);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "m" + std::to_string(i)).GetResult(),
              "g/m" + std::to_string(i));
  }
  EXPECT_EQ(pending_at_first_start.load(), 2);
  Shutdown(ctx);
}

// A claimed workflow of a queue with worker concurrency 1 whose start keeps failing holds the
// queue's slot while it is retried (the next one does not start), and frees it when it ends
// (cancelled here): the queue then goes on.
TEST_P(QueueTest, AClaimRetriedAfterAFailedStartHoldsItsSlotUntilItEnds) {
  InsertQueued("wq", "stuck", 1);
  InsertQueued("wq", "next", 2);
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "wq", WithWorkerConcurrency(1));
  std::atomic<int> attempts{0};
  detail::RuntimeOf(ctx).SetDequeueHookForTesting([&](const std::string& id) {
    if (id == "stuck") {
      ++attempts;
      throw std::runtime_error("start refused by the test");
    }
  });
  Launch(ctx);
  ASSERT_TRUE(Await([&] { return attempts.load() >= 3; }));
  EXPECT_EQ(StatusOf("next"), "ENQUEUED") << "the queue exceeded its worker concurrency";
  CancelWorkflow(ctx, "stuck");
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "next").GetResult(), "g/next");
  EXPECT_EQ(StatusOf("stuck"), "CANCELLED");
  EXPECT_EQ(g_gauge.Max("*"), 1);
  Shutdown(ctx);
}

// Workflow code that catches everything around an enqueue or a Debounce while DBOS shuts down
// records no outcome: the refusal is the workflow's shutdown, so it stays PENDING for recovery
// (recording "caught" would be an outcome the workflow never had). The queue runner is held in
// a start so that Shutdown has begun but not yet interrupted the workflows.
TEST_P(QueueTest, CatchingAllAroundAnEnqueueDuringShutdownRecordsNoOutcome) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "q");
  std::atomic<bool> held{false};
  std::atomic<bool> release{false};
  detail::Runtime& runtime = detail::RuntimeOf(ctx);
  runtime.SetDequeueHookForTesting([&](const std::string& id) {
    if (id != "hold") return;
    held = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  });
  Launch(ctx);
  RunWorkflow(ctx, CatchesAll, std::string("enqueue"), WithWorkflowID("catch-enqueue"));
  RunWorkflow(ctx, CatchesAll, std::string("debounce"), WithWorkflowID("catch-debounce"));
  ASSERT_TRUE(g_gate.AwaitWaiting(2));
  RunWorkflow(ctx, Work, std::string("h/hold"), WithQueue("q"), WithWorkflowID("hold"));
  ASSERT_TRUE(Await([&] { return held.load(); }));
  std::thread stopper([&] { Shutdown(ctx); });
  EXPECT_TRUE(Await([&] { return runtime.ShuttingDown(); }));
  g_gate.Open();
  EXPECT_TRUE(Await([&] { return runtime.ActiveCount() == 0; }));
  release = true;
  stopper.join();
  EXPECT_EQ(StatusOf("catch-enqueue"), "PENDING");
  EXPECT_EQ(StatusOf("catch-debounce"), "PENDING");
}

// A workflow of a queue with worker concurrency 1 holds the slot while it runs; cancelled, or
// timed out, it frees it when its execution ends, and the next one starts.
TEST_P(QueueTest, ACancelledOrTimedOutWorkflowFreesItsWorkerSlot) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "wq", WithWorkerConcurrency(1));
  Launch(ctx);
  RunWorkflow(ctx, Sleeper, std::string("s"), WithQueue("wq"), WithWorkflowID("cancelled"));
  ASSERT_TRUE(Await([&] { return StatusOf("cancelled") == "PENDING"; }));
  auto after_cancel =
      RunWorkflow(ctx, Work, std::string("a/1"), WithQueue("wq"), WithWorkflowID("after-cancel"));
  EXPECT_EQ(StatusOf("after-cancel"), "ENQUEUED");
  CancelWorkflow(ctx, "cancelled");
  EXPECT_EQ(after_cancel.GetResult(), "a/1");
  auto [timed, cancel_all] = WithTimeout(ctx, std::chrono::milliseconds(300));
  RunWorkflow(timed, Sleeper, std::string("s"), WithQueue("wq"), WithWorkflowID("timed-out"));
  auto after_timeout =
      RunWorkflow(ctx, Work, std::string("a/2"), WithQueue("wq"), WithWorkflowID("after-timeout"));
  EXPECT_EQ(after_timeout.GetResult(), "a/2");
  EXPECT_EQ(StatusOf("timed-out"), "CANCELLED");
  EXPECT_EQ(g_gauge.Max("*"), 1);
  Shutdown(ctx);
}

// A claim that cannot start while an earlier execution of its ID unwinds here (cancelled, then
// re-enqueued on its queue, as another process's recovery would) takes that execution's worker
// slot over when it ends: the queue still runs at most its worker concurrency.
TEST_P(QueueTest, AClaimWaitingForItsOldExecutionKeepsTheSlotWhenThatEnds) {
  for (int i = 1; i <= 3; ++i) InsertQueued("parking", "y" + std::to_string(i), i, "blocker");
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "wq", WithWorkerConcurrency(2));
  Launch(ctx);
  RunWorkflow(ctx, Unwinder, std::string("x"), WithQueue("wq"), WithWorkflowID("x"));
  ASSERT_TRUE(Await([] { return g_unwind_runs.load() >= 1; }));
  CancelWorkflow(ctx, "x");
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET status = 'ENQUEUED', queue_name = 'wq', started_at_epoch_ms = NULL WHERE "
                   "workflow_uuid = 'x'");
  ASSERT_TRUE(Await([&] { return logger_->Contains("workflow x still executes here"); }));
  g_unwind_released = 1;
  ASSERT_TRUE(Await([] { return g_unwind_runs.load() >= 2; }));  // x runs again
  // Three waiting workflows reach the queue at once: one round claims what the slots allow.
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET queue_name = 'wq' WHERE queue_name = 'parking'");
  ASSERT_TRUE(g_gate.AwaitWaiting(1));
  EXPECT_EQ(CountPending("wq"), 2) << "x and one more, not x and two more";
  g_unwind_released = 2;
  g_gate.Open();
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "x").GetResult(), "x");
  Shutdown(ctx);
}

// A claimed workflow whose start keeps failing holds its worker slot only for a bounded number of
// attempts: then it is moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED (which frees the slot, and which
// ResumeWorkflow starts again), so the queue goes on.
TEST_P(QueueTest, AClaimWhoseStartKeepsFailingIsDeadLetteredAndTheQueueGoesOn) {
  InsertQueued("wq", "stuck", 1);
  InsertQueued("wq", "next", 2);
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "wq", WithWorkerConcurrency(1));
  detail::RuntimeOf(ctx).SetBackgroundPollIntervalForTesting(std::chrono::milliseconds(20));
  std::atomic<int> attempts{0};
  std::atomic<bool> refuse{true};
  detail::RuntimeOf(ctx).SetDequeueHookForTesting([&](const std::string& id) {
    if (id == "stuck" && refuse) {
      ++attempts;
      throw std::runtime_error("start refused by the test");
    }
  });
  Launch(ctx);
  ASSERT_TRUE(Await([&] { return StatusOf("next") == "SUCCESS"; }))
      << "a claim that never starts blocked its queue";
  EXPECT_EQ(StatusOf("stuck"), "MAX_RECOVERY_ATTEMPTS_EXCEEDED");
  EXPECT_GE(attempts.load(), queue::kMaxFailedStarts);
  EXPECT_TRUE(logger_->Contains("moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED"));
  EXPECT_EQ(g_gauge.Max("*"), 1);
  refuse = false;
  EXPECT_EQ(ResumeWorkflow<std::string>(ctx, "stuck").GetResult(), "g/stuck");
  Shutdown(ctx);
}

// WithMaxTasksPerIteration applies per partition, as every limit of a partitioned queue: one
// round claims up to that many of each partition, not of the whole queue. Without a poll (and
// with nothing enqueued or ending) the runner makes one round: it starts one of each partition.
TEST_P(QueueTest, MaxTasksPerIterationAppliesToEachPartition) {
  for (int i = 0; i < 3; ++i) {
    for (const std::string part : {"a", "b"}) {
      sysdb::WorkflowInsert row = WorkflowRow(part + std::to_string(i), "blocker", "ENQUEUED");
      row.queue_name = "pq";
      row.queue_partition_key = part;
      row.inputs = serialization::EncodeWorkflowInput(std::string("x"));
      row.now_ms = 1 + i;
      ASSERT_TRUE(OpenRaw()->InsertWorkflow(row).created);
    }
  }
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "pq", WithPartitionQueue(), WithMaxTasksPerIteration(1));
  detail::RuntimeOf(ctx).SetBackgroundPollIntervalForTesting(std::chrono::hours(1));
  Launch(ctx);
  EXPECT_TRUE(g_gate.AwaitWaiting(2)) << "the first round did not claim from both partitions";
  EXPECT_EQ(RunSql(url_, "SELECT queue_partition_key, count(*) FROM " + Table("workflow_status") +
                             " WHERE queue_name = 'pq' AND status = 'PENDING' "
                             "GROUP BY queue_partition_key ORDER BY queue_partition_key"),
            (Rows{{"a", "1"}, {"b", "1"}}));
  g_gate.Open();
  for (const std::string id : {"a0", "a1", "a2", "b0", "b1", "b2"}) {
    EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, id).GetResult(), "x");
  }
  Shutdown(ctx);
}

// A queue with limits counted in the database whose `queues` row was deleted (by another process
// or by hand) while this process serves it still runs its workflows. On PostgreSQL claimers take
// turns on that row, so the runner writes it again (and says so).
TEST_P(QueueTest, ALimitedQueueWhoseRowWasDeletedStillRuns) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "gq", WithGlobalConcurrency(2));
  NewWorkflowQueue(ctx, "rq", WithRateLimiter({5, std::chrono::seconds(1)}));
  Launch(ctx);
  RunSql(url_, "DELETE FROM " + Table("queues") + " WHERE name IN ('gq', 'rq')");
  auto global =
      RunWorkflow(ctx, Work, std::string("g/1"), WithQueue("gq"), WithWorkflowID("global"));
  auto rate = RunWorkflow(ctx, Work, std::string("r/1"), WithQueue("rq"), WithWorkflowID("rate"));
  EXPECT_TRUE(Await([&] { return StatusOf("global") == "SUCCESS"; }))
      << "a queue with a global concurrency never claimed again";
  EXPECT_TRUE(Await([&] { return StatusOf("rate") == "SUCCESS"; }))
      << "a queue with a rate limit never claimed again";
  if (IsPostgres()) {
    EXPECT_EQ(RunSql(url_, "SELECT name, concurrency, rate_limit_max FROM " + Table("queues") +
                               " WHERE name IN ('gq', 'rq') ORDER BY name"),
              (Rows{{"gq", "2", ""}, {"rq", "", "5"}}));
    EXPECT_TRUE(logger_->Contains("queue 'gq' was deleted from the queues table"));
  }
  Shutdown(ctx);
}

// An enqueue whose insert committed with the reply lost, and whose workflow the queue runner
// claimed before the enqueue's retry read the row back: the retry finds the row created by this
// call and PENDING (the workflow waits on the gate until the enqueue has returned), which for a
// workflow started here would mean "run it now". An enqueued one is the runner's: it runs once,
// and the handle returns its result.
TEST_P(QueueTest, AnEnqueueInDoubtWhoseWorkflowWasClaimedMeanwhileRunsOnce) {
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "q");
  detail::RuntimeOf(ctx).SetBackgroundPollIntervalForTesting(std::chrono::milliseconds(20));
  Launch(ctx);
  std::atomic<int> inserts{0};
  std::atomic<bool> pending_at_retry{false};
  sysdb::testing::ScopedFaultInjector injector([&](const sysdb::testing::FaultSite& site) {
    sysdb::testing::Fault fault;
    if (std::string(site.operation) != "InsertWorkflow") return fault;
    const int attempt = inserts++;
    if (attempt == 0) {
      fault.kind = sysdb::testing::Fault::Kind::kAfterCommit;  // committed, the reply lost
    } else if (attempt == 1) {
      // The retry, once the runner (polling every 20 ms) has claimed the row.
      pending_at_retry = Await([&] { return StatusOf("in-doubt") == "PENDING"; });
    }
    return fault;
  });
  auto handle = RunWorkflow(ctx, Blocker, std::string("g/in-doubt"), WithQueue("q"),
                            WithWorkflowID("in-doubt"));
  EXPECT_TRUE(pending_at_retry.load()) << "the runner did not claim the row before the retry";
  EXPECT_GE(inserts.load(), 2);
  g_gate.Open();
  EXPECT_EQ(handle.GetResult(), "g/in-doubt");
  Shutdown(ctx);
  std::lock_guard lock(g_gate.mutex);
  EXPECT_EQ(g_gate.waiting, 1) << "the workflow ran more than once";
}

// A round for an enqueue on a declared queue or for an ended execution does not look at the
// internal queue (a query that would find nothing, once per round); a resume, which puts its
// workflow there, still wakes the runner for it: it starts long before the one-hour poll.
TEST_P(QueueTest, RoundsForDeclaredQueuesSkipTheInternalQueueAndAResumeStillStartsAtOnce) {
  // Shared with the injector: a call under way may outlive its removal.
  struct Looks {
    std::atomic<int> internal{0};
    std::atomic<int> declared{0};
  };
  auto looks = std::make_shared<Looks>();
  sysdb::testing::ScopedFaultInjector injector([looks](const sysdb::testing::FaultSite& site) {
    const std::string operation = site.operation;
    if (operation == "DequeueWorkflows") ++looks->internal;
    if (operation == "ClaimFromQueue") ++looks->declared;
    return sysdb::testing::Fault{};
  });
  sysdb::WorkflowInsert cancelled = WorkflowRow("resumed", "work", "CANCELLED");
  cancelled.inputs = serialization::EncodeWorkflowInput(std::string("g/resumed"));
  ASSERT_TRUE(OpenRaw()->InsertWorkflow(cancelled).created);
  DBOSContext ctx = Context();
  NewWorkflowQueue(ctx, "q");
  detail::RuntimeOf(ctx).SetBackgroundPollIntervalForTesting(std::chrono::hours(1));
  detail::RuntimeOf(ctx).SetVersionCheckIntervalForTesting(std::chrono::hours(1));
  Launch(ctx);
  ASSERT_TRUE(Await([&] { return looks->declared.load() > 0; })) << "no first round";
  const int internal_looks = looks->internal.load();
  const int declared_looks = looks->declared.load();
  EXPECT_GT(internal_looks, 0) << "the first round did not look at the internal queue";
  for (int i = 0; i < 10; ++i) {
    const std::string input = "g/" + std::to_string(i);
    EXPECT_EQ(RunWorkflow(ctx, Work, input, WithQueue("q")).GetResult(), input);
  }
  EXPECT_GE(looks->declared.load(), declared_looks + 10) << "a round per enqueue";
  // Without the skip: a look per round, at least one per enqueue and one per ended workflow. A
  // little slack for wake-ups from outside the test (the listener reconnecting, another
  // process's announcement on the internal queue).
  EXPECT_LE(looks->internal.load() - internal_looks, 2);
  auto resumed = ResumeWorkflow<std::string>(ctx, "resumed");
  EXPECT_TRUE(Await([&] { return StatusOf("resumed") == "SUCCESS"; }))
      << "the resumed workflow waited for the poll";
  EXPECT_GT(looks->internal.load(), internal_looks);
  EXPECT_EQ(resumed.GetResult(), "g/resumed");
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(QueueTest);

}  // namespace
}  // namespace dbos::testing
