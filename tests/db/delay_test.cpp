// Delayed starts (WithDelay, SetWorkflowDelay, the enqueue_workflow SQL function's delay) and the
// debouncer, on both backends: a delayed workflow starts at its time (pushed by the delay
// promoter, not found by a slow poll), and a burst of Debounce calls runs one workflow with the
// last input.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::delay_fns {
std::atomic<int> g_runs{0};

// Returns the wall-clock time (epoch ms) its body started.
int64_t StartedAt(DBOSContext&, int) { return util::NowEpochMs(); }

// Counts its executions and echoes its input.
int Echo(DBOSContext&, int input) {
  ++g_runs;
  return input;
}

std::atomic<bool> g_release{false};

// Echoes its input once released (a debounced workflow that has started and not ended).
int Held(DBOSContext&, int input) {
  while (!g_release) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return input;
}

// Moves the start of another (delayed) workflow, as a step of its own.
int MoveDelay(DBOSContext& ctx, std::string target) {
  SetWorkflowDelay(ctx, target, WithDelayDuration(std::chrono::milliseconds(50)));
  return 1;
}
}  // namespace dbos::testing::delay_fns

namespace dbos::testing {
namespace {
using namespace delay_fns;
using namespace std::chrono_literals;

class DelayTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_runs = 0;
    g_release = false;
  }
  void TearDown() override {
    g_release = true;
    DbTest::TearDown();
  }
  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, StartedAt, WithWorkflowName("StartedAt"));
    RegisterWorkflow(ctx, Echo, WithWorkflowName("Echo"));
    RegisterWorkflow(ctx, MoveDelay, WithWorkflowName("MoveDelay"));
    RegisterWorkflow(ctx, Held, WithWorkflowName("Held"));
    Launch(ctx);
    return ctx;
  }
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  std::string StatusOf(const std::string& id) {
    const Rows rows = RunSql(url_, "SELECT status FROM " + Table("workflow_status") +
                                       " WHERE workflow_uuid = '" + id + "'");
    return rows.empty() ? "" : rows[0][0];
  }
  int64_t DelayUntil(const std::string& id) {
    const Rows rows =
        RunSql(url_, "SELECT CAST(delay_until_epoch_ms AS TEXT) FROM " + Table("workflow_status") +
                         " WHERE workflow_uuid = '" + id + "'");
    return std::stoll(rows.at(0).at(0));
  }
};

// Each workflow starts at its time: the median lateness is under 50 ms (the promoter sleeps until
// the earliest delay and wakes the queue runner), and none is early.
TEST_P(DelayTest, DelayedWorkflowsStartAtTheirTime) {
  DBOSContext ctx = Start();
  std::vector<WorkflowHandle<int64_t>> handles;
  for (int i = 0; i < 5; ++i) {
    handles.push_back(RunWorkflow(ctx, StartedAt, i, WithWorkflowID("delayed-" + std::to_string(i)),
                                  WithDelay(std::chrono::milliseconds(300 + 150 * i))));
  }
  EXPECT_EQ(handles[4].GetStatus().status, WorkflowStatusType::Delayed);
  std::vector<int64_t> lateness;
  for (auto& handle : handles) {
    const int64_t started = handle.GetResult();
    const int64_t due = DelayUntil(handle.GetWorkflowID());
    EXPECT_GE(started, due) << handle.GetWorkflowID() << " started before its time";
    lateness.push_back(started - due);
  }
  std::sort(lateness.begin(), lateness.end());
  EXPECT_LT(lateness[2], 50) << "median lateness " << lateness[2] << " ms";
  EXPECT_LT(lateness.back(), 1000) << "a delayed workflow waited for a slow poll";
  Shutdown(ctx);
}

// A DELAYED row survives its process: the next launch on the database runs it at its time.
TEST_P(DelayTest, ADelayedWorkflowOutlivesItsProcess) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, Echo, 7, WithWorkflowID("outlives"), WithDelay(300ms));
    Shutdown(ctx);
  }
  EXPECT_EQ(g_runs.load(), 0);
  DBOSContext ctx = Start();
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "outlives").GetResult(), 7);
  EXPECT_EQ(g_runs.load(), 1);
  Shutdown(ctx);
}

TEST_P(DelayTest, SetWorkflowDelayMovesAWaitingStart) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, Echo, 3, WithWorkflowID("moved"), WithDelay(1h));
  const auto before = std::chrono::steady_clock::now();
  SetWorkflowDelay(ctx, "moved", WithDelayDuration(100ms));
  EXPECT_EQ(handle.GetResult(), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  // Too late now, and bad requests: clear errors, nothing written.
  auto code_of = [&](auto&& call) {
    try {
      call();
    } catch (const DBOSError& e) {
      return e.Code();
    }
    return ErrorCode::Initialization;  // "no error" for this test
  };
  EXPECT_EQ(code_of([&] { SetWorkflowDelay(ctx, "moved", WithDelayDuration(1s)); }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(code_of([&] { SetWorkflowDelay(ctx, "no-such", WithDelayDuration(1s)); }),
            ErrorCode::NonExistentWorkflow);
  RunWorkflow(ctx, Echo, 4, WithWorkflowID("still-delayed"), WithDelay(1h));
  EXPECT_EQ(code_of([&] { SetWorkflowDelay(ctx, "still-delayed"); }), ErrorCode::InvalidOption);
  EXPECT_EQ(code_of([&] {
              SetWorkflowDelay(ctx, "still-delayed", WithDelayDuration(1s),
                               WithDelayUntil(std::chrono::system_clock::now()));
            }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "still-delayed").GetStatus().status,
            WorkflowStatusType::Delayed);
  // From a workflow, a step: the target starts soon, and the call is recorded.
  EXPECT_EQ(RunWorkflow(ctx, MoveDelay, std::string("still-delayed")).GetResult(), 1);
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "still-delayed").GetResult(), 4);
  Shutdown(ctx);
}

// 100 calls in a burst: one workflow, which runs once, with the last input; every caller gets
// its handle.
TEST_P(DelayTest, ABurstOfDebounceCallsRunsOneWorkflowWithTheLastInput) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Echo);
  EXPECT_EQ(debouncer.WorkflowName(), "Echo");
  std::set<std::string> ids;
  std::vector<WorkflowHandle<int>> handles;
  for (int i = 0; i < 100; ++i) {
    handles.push_back(debouncer.Debounce(ctx, "user-7", 500ms, i));
    ids.insert(handles.back().GetWorkflowID());
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(handles.front().GetResult(), 99);
  EXPECT_EQ(g_runs.load(), 1);
  // The burst is over: the next call starts a new workflow.
  auto next = debouncer.Debounce(ctx, "user-7", 10ms, 100);
  EXPECT_NE(next.GetWorkflowID(), *ids.begin());
  EXPECT_EQ(next.GetResult(), 100);
  EXPECT_EQ(g_runs.load(), 2);
  Shutdown(ctx);
}

// With a timeout, a burst that never pauses still runs the workflow once the timeout (counted from
// its first call) has passed; later calls start the next workflow.
TEST_P(DelayTest, DebouncerTimeoutCapsHowLongABurstHoldsTheWorkflowBack) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Echo, WithDebouncerTimeout(600ms));
  auto first = debouncer.Debounce(ctx, "k", 300ms, 0);
  std::set<std::string> ids{first.GetWorkflowID()};
  for (int i = 1; i <= 15; ++i) {
    std::this_thread::sleep_for(100ms);
    ids.insert(debouncer.Debounce(ctx, "k", 300ms, i).GetWorkflowID());
  }
  EXPECT_GE(ids.size(), 2u) << "calls every 100 ms held the workflow back past its timeout";
  first.GetResult();
  // It ran while the calls went on: well before the burst ended (16 calls, 1.5 s).
  EXPECT_EQ(
      RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status") + " WHERE workflow_uuid = '" +
                       first.GetWorkflowID() + "' AND status = 'SUCCESS'"),
      (Rows{{"1"}}));

  Shutdown(ctx);
}

TEST_P(DelayTest, DebounceRefusesOptionsItSetsItself) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Echo);
  for (auto option : {WithQueue("q"), WithDeduplicationID("d"), WithDelay(1s), WithPriority(1),
                      WithQueuePartitionKey("p")}) {
    try {
      debouncer.Debounce(ctx, "k", 1s, 1, option);
      ADD_FAILURE() << "Debounce accepted an option it sets itself";
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
    }
  }
  auto unregistered = [](DBOSContext&, int x) { return x; };
  try {
    NewDebouncer(ctx, +unregistered);
    ADD_FAILURE() << "NewDebouncer accepted an unregistered workflow";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
  }
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status")), (Rows{{"0"}}));
  Shutdown(ctx);
}

// A delay on a declared queue: the row waits DELAYED on that queue (its deduplication ID held),
// then runs there under the queue's limits; a debouncer can use the queue too, and an unknown
// one is refused when the debouncer is made.
TEST_P(DelayTest, DelayedStartsAndDebouncingOnADeclaredQueue) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Echo, WithWorkflowName("Echo"));
  const WorkflowQueue queue = NewWorkflowQueue(ctx, "slow-lane", WithWorkerConcurrency(1));
  Launch(ctx);
  auto handle =
      RunWorkflow(ctx, Echo, 11, WithQueue(queue.name), WithDeduplicationID("once"),
                  WithDelay(1s));  // read back well before it is due, even on a loaded machine
  EXPECT_EQ(RunSql(url_, "SELECT status, queue_name FROM " + Table("workflow_status") +
                             " WHERE workflow_uuid = '" + handle.GetWorkflowID() + "'"),
            (Rows{{"DELAYED", "slow-lane"}}));
  try {
    RunWorkflow(ctx, Echo, 12, WithQueue(queue.name), WithDeduplicationID("once"));
    ADD_FAILURE() << "the delayed workflow's deduplication ID was not held";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::QueueDeduplicated);
  }
  EXPECT_EQ(handle.GetResult(), 11);
  auto debouncer = NewDebouncer(ctx, Echo, WithDebouncerQueue(queue.name));
  auto first = debouncer.Debounce(ctx, "k", 200ms, 1);
  EXPECT_EQ(debouncer.Debounce(ctx, "k", 200ms, 2).GetWorkflowID(), first.GetWorkflowID());
  EXPECT_EQ(first.GetResult(), 2);
  try {
    NewDebouncer(ctx, Echo, WithDebouncerQueue("no-such-queue"));
    ADD_FAILURE() << "a debouncer accepted an unknown queue";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::QueueNotFound);
  }
  Shutdown(ctx);
}

// A Debounce after the debounced workflow started (it is no longer DELAYED) starts a new
// workflow with its input rather than losing it.
TEST_P(DelayTest, DebounceAfterTheWorkflowStartedStartsANewOne) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Held);
  auto first = debouncer.Debounce(ctx, "k", 10ms, 1);
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (StatusOf(first.GetWorkflowID()) != "PENDING" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(StatusOf(first.GetWorkflowID()), "PENDING");
  auto second = debouncer.Debounce(ctx, "k", 10ms, 2);
  EXPECT_NE(second.GetWorkflowID(), first.GetWorkflowID());
  g_release = true;
  EXPECT_EQ(first.GetResult(), 1);
  EXPECT_EQ(second.GetResult(), 2);
  Shutdown(ctx);
}

// Debounce calls with one key from several threads at once run one workflow; a call after them
// all (still within the delay) gives it the last input.
TEST_P(DelayTest, ConcurrentDebounceCallsWithOneKeyRunOneWorkflow) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Echo);
  std::mutex mutex;
  std::set<std::string> ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string id = debouncer.Debounce(ctx, "k", 3s, t * 10 + i).GetWorkflowID();
        std::lock_guard lock(mutex);
        ids.insert(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto last = debouncer.Debounce(ctx, "k", 200ms, 999);
  ids.insert(last.GetWorkflowID());
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(last.GetResult(), 999);
  EXPECT_EQ(g_runs.load(), 1);
  Shutdown(ctx);
}

// Two first Debounce calls of one key with one workflow ID at the same moment: both find no
// waiting row, and the second insert finds the first one's row. The second call's input is not
// lost: it moves that row and gives it its input, so the workflow runs once with the input written
// last. The fault-injection seam holds the inserts to force this order.
TEST_P(DelayTest, SimultaneousFirstDebounceCallsWithOneIdKeepTheLaterInput) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Echo);
  std::mutex mutex;
  std::condition_variable cv;
  int at_insert = 0;
  std::atomic<bool> go{false};
  std::thread::id second_id;
  sysdb::testing::ScopedFaultInjector injector([&](const sysdb::testing::FaultSite& site) {
    if (std::string(site.operation) != "InsertWorkflow") return sysdb::testing::Fault{};
    {
      // Both calls have looked for a waiting row and found none before either inserts.
      std::unique_lock lock(mutex);
      ++at_insert;
      cv.notify_all();
      cv.wait_for(lock, 10s, [&] { return at_insert >= 2; });
    }
    if (std::this_thread::get_id() == second_id) {
      const auto until = std::chrono::steady_clock::now() + 10s;
      while (StatusOf("fixed").empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(2ms);  // the first insert commits on another thread
      }
    }
    return sysdb::testing::Fault{};
  });
  std::string first_id_seen;
  std::string second_id_seen;
  std::thread first([&] {
    while (!go) std::this_thread::yield();
    first_id_seen = debouncer.Debounce(ctx, "k", 1s, 1, WithWorkflowID("fixed")).GetWorkflowID();
  });
  std::thread second([&] {
    while (!go) std::this_thread::yield();
    second_id_seen = debouncer.Debounce(ctx, "k", 1s, 2, WithWorkflowID("fixed")).GetWorkflowID();
  });
  second_id = second.get_id();
  go = true;
  first.join();
  second.join();
  EXPECT_EQ(at_insert, 2) << "the calls did not both try to insert";
  EXPECT_EQ(first_id_seen, "fixed");
  EXPECT_EQ(second_id_seen, "fixed");
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "fixed").GetResult(), 2)
      << "the input of the call that wrote last was lost";
  EXPECT_EQ(g_runs.load(), 1);
  Shutdown(ctx);
}

// A Debounce given a workflow ID that already names a workflow no longer waiting cannot start
// one with its input: it says so instead of returning the old workflow (whose result is not
// this input's).
TEST_P(DelayTest, DebounceWithAWorkflowIdAlreadyUsedIsRefused) {
  DBOSContext ctx = Start();
  auto debouncer = NewDebouncer(ctx, Echo);
  auto first = debouncer.Debounce(ctx, "k", 5s, 1, WithWorkflowID("fixed"));
  EXPECT_EQ(debouncer.Debounce(ctx, "k", 10ms, 2, WithWorkflowID("fixed")).GetWorkflowID(),
            "fixed");  // still waiting: bounced
  EXPECT_EQ(first.GetResult(), 2);
  try {
    auto late = debouncer.Debounce(ctx, "k", 10ms, 3, WithWorkflowID("fixed"));
    ADD_FAILURE() << "a Debounce reused the ID of a finished workflow; its result is "
                  << late.GetResult();
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::ConflictingID) << e.what();
  }
  EXPECT_EQ(g_runs.load(), 1);
  Shutdown(ctx);
}

// A DELAYED row due past the year 2262 (any time may be stored, e.g. by another SDK) neither
// crashes nor stalls the delay promoter: a workflow delayed by 50 ms still runs.
TEST_P(DelayTest, AFarFutureDelayDoesNotStopThePromoter) {
  sysdb::WorkflowInsert row = WorkflowRow("far", "Echo", "ENQUEUED");
  row.status = "DELAYED";
  row.delay_until_epoch_ms = int64_t{9'000'000'000'000'000'000};
  ASSERT_TRUE(OpenRaw()->InsertWorkflow(row).created);
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, Echo, 5, WithDelay(50ms)).GetResult(), 5);
  EXPECT_EQ(StatusOf("far"), "DELAYED");
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(DelayTest);

class PostgresDelayTest : public DelayTest {};

// Another SDK (or psql) enqueues with the SQL function's delay argument: this executor runs it
// at that time.
TEST_P(PostgresDelayTest, EnqueueWorkflowSqlFunctionWithADelay) {
  DBOSContext ctx = Start();
  const int64_t due = util::NowEpochMs() + 300;
  RunSql(url_, "SELECT " + schema_ +
                   ".enqueue_workflow('Echo', '_dbos_internal_queue', ARRAY['5'::json], "
                   "workflow_id => 'from-sql', delay_until_epoch_ms => " +
                   std::to_string(due) + ")");
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "from-sql").GetStatus().status, WorkflowStatusType::Delayed);
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "from-sql").GetResult(), 5);
  Shutdown(ctx);
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresDelayTest, ::testing::Values("postgres"), BackendName);

}  // namespace
}  // namespace dbos::testing
