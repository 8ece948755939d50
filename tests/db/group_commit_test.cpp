// Group commit: checkpoints of different workflows that are ready at the same moment share one
// transaction, on PostgreSQL (sysdb/postgres/pg_commit_group.*) and on SQLite
// (sysdb/sqlite/sqlite_commit_group.*). Many workflows run at once, and each must keep its own
// outcome: its own result, every step body run once, a conflict in a shared transaction belonging
// to its own statement only, and a shared transaction whose commit is in doubt, or which breaks
// before it commits, losing nothing and running nothing twice.
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "sysdb/postgres/pg_commit_group.hpp"
#include "sysdb/postgres/pg_connection.hpp"
#include "sysdb/sqlite/sqlite_commit_group.hpp"

namespace dbos::testing {
namespace group_commit_fns {

std::mutex g_mutex;
std::map<std::string, int> g_runs;  // "<workflow>/<step>" -> times the step body ran

int StepValue(int seed, int i) { return seed * 10 + i; }

/// Three counted steps; returns their sum.
int ThreeSteps(DBOSContext& ctx, int seed) {
  const std::string id = GetWorkflowID(ctx);
  int sum = 0;
  for (int i = 0; i < 3; ++i) {
    sum += RunAsStep(
        ctx,
        [&] {
          std::lock_guard lock(g_mutex);
          ++g_runs[id + "/" + std::to_string(i)];
          return StepValue(seed, i);
        },
        WithStepName("step" + std::to_string(i)));
  }
  return sum;
}

/// Receives six messages on "m", publishes their sum as event "sum" and returns it.
int SixMessages(DBOSContext& ctx, int) {
  int sum = 0;
  for (int i = 0; i < 6; ++i) sum += Recv<int>(ctx, "m", std::chrono::seconds(60));
  SetEvent(ctx, "sum", sum);
  return sum;
}

/// Sends 100, 200 and 300 to `destination` on "m", from inside a workflow.
int SendThree(DBOSContext& ctx, std::string destination) {
  for (int v = 100; v <= 300; v += 100) Send(ctx, destination, v, "m");
  return 0;
}

}  // namespace group_commit_fns

namespace {

using namespace group_commit_fns;
using sysdb::pg::PgCommitGroup;
using sysdb::sqlite::SqliteCommitGroup;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

constexpr int kThreads = 16;
constexpr int kPerThread = 25;

class GroupCommitTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    std::lock_guard lock(g_mutex);
    g_runs.clear();
  }
  void TearDown() override {
    sysdb::testing::SetFaultInjector(nullptr);
    DbTest::TearDown();
  }

  /// What FaultFirstGroups injected.
  struct GroupFaults {
    std::atomic<int> groups{0};
    std::atomic<int> in_doubt{0};
    std::atomic<int> broken{0};
  };
  /// Of the first `limit` shared transactions, one in three commits with its reply lost (in
  /// doubt) and one in three loses its connection before it commits.
  static sysdb::testing::FaultInjector FaultFirstGroups(int limit, GroupFaults& faults) {
    return [limit, &faults](const FaultSite& site) {
      Fault fault;
      if (std::string(site.operation) != "GroupCommit") return fault;
      const int group = faults.groups++;
      if (group >= limit || group % 3 == 2) return fault;
      if (group % 3 == 0) {
        fault.kind = Fault::Kind::kAfterCommit;
        ++faults.in_doubt;
      } else {
        fault.kind = Fault::Kind::kDropConnection;
        ++faults.broken;
      }
      return fault;
    };
  }

  /// Checkpoints committed in shared transactions so far, on this test's backend.
  uint64_t SharedCommits() const {
    return IsPostgres() ? PgCommitGroup::SharedCommits() : SqliteCommitGroup::SharedCommits();
  }

  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, ThreeSteps, WithWorkflowName("ThreeSteps"));
    Launch(ctx);
    return ctx;
  }

  /// kThreads threads each start kPerThread workflows one after the other and await them.
  void RunManyAtOnce(DBOSContext& ctx) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&ctx, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int seed = t * kPerThread + i;
          auto handle =
              RunWorkflow(ctx, ThreeSteps, seed, WithWorkflowID("wf-" + std::to_string(seed)));
          EXPECT_EQ(handle.GetResult(),
                    StepValue(seed, 0) + StepValue(seed, 1) + StepValue(seed, 2));
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }

  /// kThreads threads each enqueue kPerThread workflows on a queue declared with `limit`, then
  /// await them; the context is shut down after.
  void RunManyQueued(QueueOption limit) {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, ThreeSteps, WithWorkflowName("ThreeSteps"));
    const WorkflowQueue queue = NewWorkflowQueue(ctx, "claims", std::move(limit));
    Launch(ctx);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&ctx, &queue, t] {
        std::vector<WorkflowHandle<int>> handles;
        for (int i = 0; i < kPerThread; ++i) {
          const int seed = t * kPerThread + i;
          handles.push_back(RunWorkflow(ctx, ThreeSteps, seed,
                                        WithWorkflowID("wf-" + std::to_string(seed)),
                                        WithQueue(queue.name)));
        }
        for (int i = 0; i < kPerThread; ++i) {
          const int seed = t * kPerThread + i;
          EXPECT_EQ(handles[static_cast<size_t>(i)].GetResult(),
                    StepValue(seed, 0) + StepValue(seed, 1) + StepValue(seed, 2));
        }
      });
    }
    for (auto& thread : threads) thread.join();
    Shutdown(ctx);
  }

  /// Every workflow ended SUCCESS with its own output, and every step body ran exactly once.
  void ExpectEachWorkflowOnce() {
    auto db = OpenRaw();
    for (int seed = 0; seed < kThreads * kPerThread; ++seed) {
      const std::string id = "wf-" + std::to_string(seed);
      const auto row = db->GetWorkflow(id, /*load_values=*/true);
      ASSERT_TRUE(row.has_value()) << id;
      EXPECT_EQ(row->status, "SUCCESS") << id;
      EXPECT_EQ(serialization::DecodeValue(row->output),
                StepValue(seed, 0) + StepValue(seed, 1) + StepValue(seed, 2))
          << id;
      EXPECT_EQ(db->ListSteps(id).size(), 3u) << id;
      std::lock_guard lock(g_mutex);
      for (int i = 0; i < 3; ++i) EXPECT_EQ(g_runs[id + "/" + std::to_string(i)], 1) << id << i;
    }
  }
};

TEST_P(GroupCommitTest, ConcurrentCheckpointsShareCommitsAndEachKeepsItsOwnOutcome) {
  const uint64_t shared_before = SharedCommits();
  DBOSContext ctx = Start();
  RunManyAtOnce(ctx);
  Shutdown(ctx);
  ExpectEachWorkflowOnce();
  // 400 workflows from 16 threads: many of their checkpoints shared a commit.
  EXPECT_GT(SharedCommits(), shared_before);
}

// The first shared transactions fail in turn: every third one breaks before it commits, every
// third one commits with the reply lost (in doubt for each of its statements). Each caller's retry
// sorts out its own write: nothing is lost, no step body runs twice.
TEST_P(GroupCommitTest, ASharedTransactionInDoubtOrBrokenLosesNothingAndRunsNothingTwice) {
  GroupFaults faults;
  ScopedFaultInjector injector(FaultFirstGroups(30, faults));
  DBOSContext ctx = Start();
  RunManyAtOnce(ctx);
  Shutdown(ctx);
  ExpectEachWorkflowOnce();
  EXPECT_GT(faults.in_doubt.load(), 0);
  EXPECT_GT(faults.broken.load(), 0);
}

// Sends (from outside workflows and from a workflow), receipts and events share transactions
// too; the first ones are in doubt or broken in turn. Each retry sorts out its own write: every
// message is stored once and consumed once, every receiver sums exactly what was sent, and the
// events it sets are readable.
TEST_P(GroupCommitTest, MessagesAndEventsInDoubtOrBrokenSharedTransactionsLoseNothing) {
  GroupFaults faults;
  ScopedFaultInjector injector(FaultFirstGroups(60, faults));
  const uint64_t shared_before = SharedCommits();
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, SixMessages, WithWorkflowName("SixMessages"));
  RegisterWorkflow(ctx, SendThree, WithWorkflowName("SendThree"));
  Launch(ctx);
  constexpr int kReceivers = 48;
  constexpr int kSenderThreads = 8;
  std::vector<WorkflowHandle<int>> receivers;
  for (int r = 0; r < kReceivers; ++r) {
    receivers.push_back(
        RunWorkflow(ctx, SixMessages, r, WithWorkflowID("rcv-" + std::to_string(r))));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kSenderThreads; ++t) {
    threads.emplace_back([&ctx, t] {
      for (int r = t; r < kReceivers; r += kSenderThreads) {
        const std::string destination = "rcv-" + std::to_string(r);
        auto sender =
            RunWorkflow(ctx, SendThree, destination, WithWorkflowID("snd-" + std::to_string(r)));
        for (int v = 1; v <= 3; ++v) Send(ctx, destination, v, "m");
        EXPECT_EQ(sender.GetResult(), 0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int r = 0; r < kReceivers; ++r) {
    EXPECT_EQ(receivers[static_cast<size_t>(r)].GetResult(), 606) << r;
    EXPECT_EQ(GetEvent<int>(ctx, "rcv-" + std::to_string(r), "sum", std::chrono::seconds(5)), 606)
        << r;
  }
  Shutdown(ctx);
  const std::string table = IsPostgres() ? schema_ + ".notifications" : "notifications";
  const bool consumed_is_int = !IsPostgres();
  EXPECT_EQ(RunSql(url_, "SELECT count(*), count(DISTINCT destination_uuid) FROM " + table +
                             " WHERE consumed = " + (consumed_is_int ? "1" : "TRUE")),
            (Rows{{std::to_string(kReceivers * 6), std::to_string(kReceivers)}}));
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + table),
            (Rows{{std::to_string(kReceivers * 6)}}));
  EXPECT_GT(faults.in_doubt.load(), 0);
  EXPECT_GT(faults.broken.load(), 0);
  EXPECT_GT(SharedCommits(), shared_before);
}

// On PostgreSQL a queue claim shares a transaction when it finds the commit lanes busy (the
// checkpoints of the workflows already running keep them so). Every shared transaction that
// carries a claim, up to 20, is in doubt or breaks before it commits, in turn: a claim's retry
// finds the workflows it took by its token, or claims again, so each queued workflow runs once.
// SQLite claims alone: there the same load checks the queue alone, and no claim is faulted.
TEST_P(GroupCommitTest, QueueClaimsInDoubtOrBrokenSharedTransactionsLoseNothing) {
  std::atomic<int> claim_groups{0};
  std::atomic<int> in_doubt{0};
  std::atomic<int> broken{0};
  ScopedFaultInjector injector([&](const FaultSite& site) {
    Fault fault;
    if (std::string(site.operation) != "GroupCommit" ||
        site.grouped.find("queue_claim") == std::string::npos) {
      return fault;
    }
    const int group = claim_groups++;
    if (group >= 20) return fault;
    if (group % 2 == 0) {
      fault.kind = Fault::Kind::kAfterCommit;
      ++in_doubt;
    } else {
      fault.kind = Fault::Kind::kDropConnection;
      ++broken;
    }
    return fault;
  });
  RunManyQueued(WithWorkerConcurrency(8));
  ExpectEachWorkflowOnce();
  if (IsPostgres()) {
    EXPECT_GT(in_doubt.load(), 0) << "no claim shared a transaction";
    EXPECT_GT(broken.load(), 0);
  }
}

// A queue whose limits are counted in the database (here a global concurrency) claims alone,
// never in a shared transaction: its claim locks the queue's row, which other executors' claims
// would find busy for the whole shared transaction. Its workflows' checkpoints still share.
TEST_P(GroupCommitTest, ClaimsOfAQueueWithAGlobalConcurrencyCommitAlone) {
  std::atomic<int> claims{0};
  std::atomic<int> groups{0};
  std::atomic<int> groups_with_a_claim{0};
  ScopedFaultInjector injector([&](const FaultSite& site) {
    const std::string operation = site.operation;
    if (operation == "ClaimFromQueue") ++claims;
    if (operation == "GroupCommit") {
      ++groups;
      if (site.grouped.find("queue_claim") != std::string::npos) ++groups_with_a_claim;
    }
    return Fault{};
  });
  RunManyQueued(WithGlobalConcurrency(8));
  ExpectEachWorkflowOnce();
  EXPECT_GT(claims.load(), 0);
  EXPECT_EQ(groups_with_a_claim.load(), 0);
  if (IsPostgres()) {
    EXPECT_GT(groups.load(), 0) << "the commit lanes were never busy";
  }
}

// Every shared transaction fails before it runs, as a statement error would fail it (a
// deadlock victim, SQLSTATE 40P01; on SQLite, BEGIN finding the database locked): the group keeps
// nothing and each statement runs again alone, so every workflow still ends with its own outcome
// and no statement commits in a shared transaction. A fault that named the site and did nothing
// would let the groups commit.
TEST_P(GroupCommitTest, ASharedTransactionThatFailsBeforeItRunsFallsBackToEachStatementAlone) {
  std::atomic<int> groups{0};
  ScopedFaultInjector injector([&](const FaultSite& site) {
    Fault fault;
    if (std::string(site.operation) != "GroupCommit") return fault;
    ++groups;
    fault.kind = Fault::Kind::kBeforeExecute;
    fault.sqlstate = "40P01";
    fault.sqlite_code = SQLITE_BUSY;
    return fault;
  });
  const uint64_t shared_before = SharedCommits();
  DBOSContext ctx = Start();
  RunManyAtOnce(ctx);
  Shutdown(ctx);
  ExpectEachWorkflowOnce();
  EXPECT_EQ(SharedCommits(), shared_before);
  EXPECT_GT(groups.load(), 0);
}

// Checkpoints that wait on row locks someone else holds (an administrator's open transaction)
// stall only their own workflows: an unrelated workflow's checkpoint still commits, as it did
// when every checkpoint had a connection of its own.
TEST_P(GroupCommitTest, CheckpointsWaitingOnLockedRowsDoNotStallOtherWorkflows) {
  auto db = OpenRaw();
  constexpr int kLocked = 4;
  for (int i = 0; i <= kLocked; ++i) db->InsertWorkflow(WorkflowRow("w-" + std::to_string(i), "F"));
  if (!IsPostgres()) return;  // SQLite has no row locks
  auto holder =
      sysdb::pg::PgConnection::Connect(sysdb::pg::ConnectionSpec::Parse(url_),
                                       std::chrono::steady_clock::now() + std::chrono::seconds(10));
  holder->Exec("BEGIN");
  holder->Exec("SELECT 1 FROM " + schema_ +
               ".workflow_status WHERE workflow_uuid LIKE 'w-%' AND workflow_uuid <> 'w-" +
               std::to_string(kLocked) + "' FOR UPDATE");
  std::vector<std::thread> blocked;
  for (int i = 0; i < kLocked; ++i) {
    blocked.emplace_back([&db, i] {
      EXPECT_TRUE(db->FinishWorkflow("w-" + std::to_string(i), "SUCCESS", "1", std::nullopt, 5));
    });
  }
  // Until every finish waits on its row lock (the server's view; bounded, so that a failure
  // still releases the locks and joins the threads).
  const std::string waiting =
      "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
      "'%workflow_status%'";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::stoi(RunSql(url_, waiting).at(0).at(0)) < kLocked) {
    if (std::chrono::steady_clock::now() > give_up) {
      ADD_FAILURE() << "the finishes never waited on their row locks";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto unrelated = std::async(std::launch::async, [&db] {
    sysdb::StepWrite step;
    step.workflow_uuid = "w-" + std::to_string(kLocked);
    step.function_id = 0;
    step.function_name = "s";
    step.output = "1";
    return db->RecordStep(step).kind;
  });
  const bool finished = unrelated.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  holder->Exec("ROLLBACK");
  for (auto& thread : blocked) thread.join();
  EXPECT_TRUE(finished) << "an unrelated checkpoint waited for other workflows' row locks";
  EXPECT_EQ(unrelated.get(), sysdb::StepWriteResult::Kind::Inserted);
}

// Enqueues with the same deduplication IDs at once: a unique conflict in a shared transaction
// fails only its own statement; the others of the group are created.
TEST_P(GroupCommitTest, AConflictInASharedTransactionIsOnlyItsOwnStatements) {
  auto db = OpenRaw();
  constexpr int kIds = 8;
  constexpr int kCallers = 64;
  std::atomic<int> created{0};
  std::atomic<int> deduplicated{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&, t] {
      sysdb::WorkflowInsert row = WorkflowRow("e-" + std::to_string(t), "ThreeSteps", "ENQUEUED");
      row.queue_name = "q";
      row.deduplication_id = "d-" + std::to_string(t % kIds);
      try {
        if (db->InsertWorkflow(row).created) ++created;
      } catch (const DBOSError& e) {
        EXPECT_EQ(e.Code(), ErrorCode::QueueDeduplicated) << e.what();
        ++deduplicated;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), kIds);
  EXPECT_EQ(deduplicated.load(), kCallers - kIds);
  const std::string table = IsPostgres() ? schema_ + ".workflow_status" : "workflow_status";
  EXPECT_EQ(RunSql(url_, "SELECT count(DISTINCT deduplication_id), count(*) FROM " + table),
            (Rows{{std::to_string(kIds), std::to_string(kIds)}}));
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(GroupCommitTest);

}  // namespace
}  // namespace dbos::testing
