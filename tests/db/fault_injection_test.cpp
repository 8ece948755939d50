// Fault-injection campaign: workflows with steps, messages, events and recovery run while the
// system database fails statements at random: before they execute, after they committed with the
// reply lost (in-doubt commits), and by dropped connections. Every step's side effect counts its
// runs. The campaign asserts that every recorded step ran at least once, that no recorded value
// differs from what the step returned, and that every workflow ends with its correct result.
// Deterministic tests pin the claim-token defect (a dequeue retried after an in-doubt commit) and
// a connection dropped in the middle of a claim.
#include "sysdb/core/fault_injection.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::fault_fns {

std::mutex g_mutex;
std::map<std::string, int> g_runs;  // "<workflow>/<step>" -> times the step body ran
std::atomic<bool> g_hold{false};    // holds Worker's last step (for the recovery phase)

/// The value step `i` of workflow `seed` returns.
int StepValue(int seed, int i) { return seed * 10 + i; }

int CountedStep(const std::string& workflow_id, int seed, int i) {
  std::lock_guard lock(g_mutex);
  ++g_runs[workflow_id + "/step" + std::to_string(i)];
  return StepValue(seed, i);
}

/// Three steps, an event, and a message to the collector with the sum of the steps.
int Worker(DBOSContext& ctx, int seed) {
  const std::string id = GetWorkflowID(ctx);
  int sum = 0;
  for (int i = 0; i < 3; ++i) {
    if (i == 2) {
      RunAsStep(
          ctx,
          [](std::stop_token token) {
            while (g_hold && !token.stop_requested()) {
              std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            return 0;
          },
          WithStepName("hold"));
    }
    sum += RunAsStep(
        ctx, [&] { return CountedStep(id, seed, i); }, WithStepName("step" + std::to_string(i)));
  }
  SetEvent(ctx, "sum", sum);
  Send(ctx, "collector", sum, "sums");
  return sum;
}

/// Receives `count` sums and adds them up.
int Collector(DBOSContext& ctx, int count) {
  int total = 0;
  for (int i = 0; i < count; ++i) total += Recv<int>(ctx, "sums", std::chrono::seconds(120));
  return total;
}

}  // namespace dbos::testing::fault_fns

namespace dbos::testing {
namespace {
using namespace fault_fns;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

/// The campaign's seed: fixed, or DBOS_FAULT_SEED to reproduce or widen a run (printed on
/// failure through the test's trace).
uint64_t CampaignSeed(uint64_t fixed) {
  const char* env = std::getenv("DBOS_FAULT_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : fixed;
}

/// The share of statements that fail: DBOS_FAULT_RATE, or `fixed`.
double CampaignRate(double fixed) {
  const char* env = std::getenv("DBOS_FAULT_RATE");
  return env != nullptr ? std::strtod(env, nullptr) : fixed;
}

/// Fails a random share of statements with a random kind of fault; counts what it injected.
class RandomFaults {
 public:
  RandomFaults(uint64_t seed, double rate) : rng_(seed), rate_(rate) {}

  Fault operator()(const FaultSite&) {
    std::lock_guard lock(mutex_);
    if (std::uniform_real_distribution<double>(0, 1)(rng_) >= rate_) return {};
    Fault fault;
    switch (std::uniform_int_distribution<int>(0, 2)(rng_)) {
      case 0:
        fault.kind = Fault::Kind::kBeforeExecute;
        break;
      case 1:
        fault.kind = Fault::Kind::kAfterCommit;
        break;
      default:
        fault.kind = Fault::Kind::kDropConnection;
        break;
    }
    ++injected_[static_cast<int>(fault.kind)];
    return fault;
  }

  int Injected(Fault::Kind kind) {
    std::lock_guard lock(mutex_);
    return injected_[static_cast<int>(kind)];
  }

 private:
  std::mutex mutex_;
  std::mt19937_64 rng_;
  double rate_;
  std::map<int, int> injected_;
};

class FaultInjectionTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    std::lock_guard lock(g_mutex);
    g_runs.clear();
    g_hold = false;
  }
  void TearDown() override {
    sysdb::testing::SetFaultInjector(nullptr);
    DbTest::TearDown();
  }

  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, Worker);
    RegisterWorkflow(ctx, Collector);
    Launch(ctx);
    return ctx;
  }

  static std::string WorkerId(int seed) { return "worker-" + std::to_string(seed); }

  // Every recorded step of worker `seed` ran at least once and holds what the step returned.
  void CheckRecordedSteps(int seed) {
    const std::string id = WorkerId(seed);
    for (const sysdb::StepRow& row : OpenRaw()->ListSteps(id)) {
      if (row.function_name.rfind("step", 0) != 0) continue;
      const int i = std::stoi(row.function_name.substr(4));
      {
        std::lock_guard lock(g_mutex);
        EXPECT_GE(g_runs[id + "/" + row.function_name], 1) << id << " " << row.function_name;
      }
      ASSERT_TRUE(row.output.has_value()) << id << " " << row.function_name;
      EXPECT_EQ(serialization::DecodeValue(row.output), StepValue(seed, i))
          << id << " " << row.function_name;
    }
  }

  static int ExpectedSum(int seed) {
    return StepValue(seed, 0) + StepValue(seed, 1) + StepValue(seed, 2);
  }

  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
};

TEST_P(FaultInjectionTest, WorkflowsEndCorrectlyUnderRandomFaults) {
  constexpr int kWorkers = 12;
  const uint64_t fault_seed = CampaignSeed(20261129);
  SCOPED_TRACE("DBOS_FAULT_SEED=" + std::to_string(fault_seed));
  RandomFaults faults(fault_seed, CampaignRate(0.08));
  DBOSContext ctx = Start();
  {
    ScopedFaultInjector injector([&](const FaultSite& site) { return faults(site); });
    auto collector = RunWorkflow(ctx, Collector, kWorkers, WithWorkflowID("collector"));
    std::vector<WorkflowHandle<int>> workers;
    for (int seed = 1; seed <= kWorkers; ++seed) {
      workers.push_back(RunWorkflow(ctx, Worker, seed, WithWorkflowID(WorkerId(seed))));
    }
    int total = 0;
    for (int seed = 1; seed <= kWorkers; ++seed) {
      EXPECT_EQ(workers[static_cast<size_t>(seed - 1)].GetResult(), ExpectedSum(seed));
      EXPECT_EQ(GetEvent<int>(ctx, WorkerId(seed), "sum", std::chrono::seconds(30)),
                ExpectedSum(seed));
      total += ExpectedSum(seed);
    }
    EXPECT_EQ(collector.GetResult(), total);
  }
  for (int seed = 1; seed <= kWorkers; ++seed) CheckRecordedSteps(seed);
  // Each sum was sent exactly once.
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("notifications") +
                             " WHERE destination_uuid = 'collector'"),
            (Rows{{std::to_string(kWorkers)}}));
  EXPECT_GT(faults.Injected(Fault::Kind::kBeforeExecute), 0);
  EXPECT_GT(faults.Injected(Fault::Kind::kAfterCommit), 0);
  EXPECT_GT(faults.Injected(Fault::Kind::kDropConnection), 0);
  Shutdown(ctx);
}

// Workflows left PENDING by a shutdown are recovered (re-enqueued, claimed, replayed) while the
// database keeps failing.
TEST_P(FaultInjectionTest, RecoveryEndsCorrectlyUnderRandomFaults) {
  constexpr int kWorkers = 6;
  g_hold = true;
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, Collector, kWorkers, WithWorkflowID("collector"));
    for (int seed = 1; seed <= kWorkers; ++seed) {
      RunWorkflow(ctx, Worker, seed, WithWorkflowID(WorkerId(seed)));
    }
    // Wait until every worker recorded its first two steps and holds before its last.
    for (int round = 0; round < 1000; ++round) {
      bool all = true;
      for (int seed = 1; seed <= kWorkers && all; ++seed) {
        all = OpenRaw()->ListSteps(WorkerId(seed)).size() >= 2;
      }
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Shutdown(ctx);  // every workflow stays PENDING
  }
  g_hold = false;
  const uint64_t fault_seed = CampaignSeed(7);
  SCOPED_TRACE("DBOS_FAULT_SEED=" + std::to_string(fault_seed));
  RandomFaults faults(fault_seed, CampaignRate(0.08));
  ScopedFaultInjector injector([&](const FaultSite& site) { return faults(site); });
  DBOSContext ctx = Start();
  int total = 0;
  for (int seed = 1; seed <= kWorkers; ++seed) {
    EXPECT_EQ(RetrieveWorkflow<int>(ctx, WorkerId(seed)).GetResult(), ExpectedSum(seed));
    total += ExpectedSum(seed);
  }
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "collector").GetResult(), total);
  sysdb::testing::SetFaultInjector(nullptr);
  for (int seed = 1; seed <= kWorkers; ++seed) CheckRecordedSteps(seed);
  Shutdown(ctx);
}

// ---- Claims ----

class ClaimFaultTest : public FaultInjectionTest {
 protected:
  void EnqueueThree(sysdb::SystemDatabase& db) {
    for (const char* id : {"a", "b", "c"}) {
      sysdb::WorkflowInsert row = WorkflowRow(id, "wf", "ENQUEUED");
      row.queue_name = "q";
      row.executor_id = "other";
      row.application_version.reset();  // unversioned: any version may claim it
      row.now_ms = 1;
      ASSERT_TRUE(db.InsertWorkflow(row).created);
    }
  }
  static sysdb::DequeueRequest Request() {
    sysdb::DequeueRequest request;
    request.queue_name = "q";
    request.executor_id = "local";
    request.application_version = "v1";
    request.accept_unversioned = true;
    request.now_ms = 100;
    request.workflow_names = {"wf"};
    return request;
  }
  // Injects `kind` into the first claiming statement of DequeueWorkflows (not its read-only look).
  static ScopedFaultInjector FailFirstClaim(Fault::Kind kind, std::atomic<int>& injected) {
    return ScopedFaultInjector([kind, &injected](const FaultSite& site) {
      const std::string statement = site.statement;
      if (std::string(site.operation) == "DequeueWorkflows" && statement == "dequeue_claim" &&
          injected.fetch_add(1) == 0) {
        Fault fault;
        fault.kind = kind;
        return fault;
      }
      return Fault{};
    });
  }
  static std::vector<std::string> Ids(const std::vector<sysdb::DequeuedWorkflow>& claimed) {
    std::vector<std::string> ids;
    for (const auto& wf : claimed) ids.push_back(wf.workflow_uuid);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
};

// The claim committed but its reply was lost: the retry must hand out the rows it claimed, or
// they stay PENDING under this executor, never run, until the process restarts.
TEST_P(ClaimFaultTest, DequeueRetriedAfterAnInDoubtCommitReturnsTheClaimedRows) {
  auto db = OpenRaw();
  EnqueueThree(*db);
  sysdb::StepWrite step;  // "b" ran a step before it was enqueued again (a recovery)
  step.workflow_uuid = "b";
  step.function_name = "s";
  step.output = "1";
  ASSERT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
  std::atomic<int> injected{0};
  std::vector<sysdb::DequeuedWorkflow> claimed;
  {
    auto injector = FailFirstClaim(Fault::Kind::kAfterCommit, injected);
    claimed = db->DequeueWorkflows(Request());
  }
  EXPECT_GE(injected.load(), 1);
  EXPECT_EQ(Ids(claimed), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& wf : claimed) {
    EXPECT_EQ(wf.recovery_attempts, 1) << wf.workflow_uuid;
    EXPECT_EQ(wf.has_steps, wf.workflow_uuid == "b") << wf.workflow_uuid;  // read by the token
  }
  EXPECT_TRUE(db->DequeueWorkflows(Request()).empty());
}

// The connection dropped while the claim ran: nothing was committed, and the retry claims.
TEST_P(ClaimFaultTest, DequeueRetriedAfterADroppedConnectionClaimsOnce) {
  auto db = OpenRaw();
  EnqueueThree(*db);
  std::atomic<int> injected{0};
  std::vector<sysdb::DequeuedWorkflow> claimed;
  {
    auto injector = FailFirstClaim(Fault::Kind::kDropConnection, injected);
    claimed = db->DequeueWorkflows(Request());
  }
  EXPECT_GE(injected.load(), 2);
  EXPECT_EQ(Ids(claimed), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& wf : claimed) EXPECT_EQ(wf.recovery_attempts, 1) << wf.workflow_uuid;
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status") +
                             " WHERE status = 'PENDING' AND executor_id = 'local'"),
            (Rows{{"3"}}));
}

// The same for a claim from a declared queue whose global concurrency is counted in the claim
// (the path that also locks and bumps the queue's row).
sysdb::QueueClaimRequest LimitedRequest() {
  sysdb::QueueClaimRequest request;
  request.base.queue_name = "q";
  request.base.executor_id = "local";
  request.base.application_version = "v1";
  request.base.accept_unversioned = true;
  request.base.now_ms = 100;
  request.base.workflow_names = {"wf"};
  request.global_concurrency = 3;
  return request;
}

ScopedFaultInjector FailFirstQueueClaim(Fault::Kind kind, std::atomic<int>& injected) {
  return ScopedFaultInjector([kind, &injected](const FaultSite& site) {
    const std::string statement = site.statement;
    if (std::string(site.operation) == "ClaimFromQueue" && statement == "queue_claim" &&
        injected.fetch_add(1) == 0) {
      Fault fault;
      fault.kind = kind;
      return fault;
    }
    return Fault{};
  });
}

TEST_P(ClaimFaultTest, QueueClaimRetriedAfterAnInDoubtCommitReturnsTheClaimedRows) {
  auto db = OpenRaw();
  sysdb::QueueRow queue;
  queue.name = "q";
  queue.concurrency = 3;
  db->UpsertQueue(queue, 1);
  EnqueueThree(*db);
  std::atomic<int> injected{0};
  sysdb::QueueClaim claim;
  {
    auto injector = FailFirstQueueClaim(Fault::Kind::kAfterCommit, injected);
    claim = db->ClaimFromQueue(LimitedRequest());
  }
  EXPECT_GE(injected.load(), 1);
  EXPECT_EQ(Ids(claim.claimed), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& wf : claim.claimed) EXPECT_EQ(wf.recovery_attempts, 1) << wf.workflow_uuid;
  EXPECT_TRUE(db->ClaimFromQueue(LimitedRequest()).claimed.empty());
}

TEST_P(ClaimFaultTest, QueueClaimRetriedAfterADroppedConnectionClaimsOnce) {
  auto db = OpenRaw();
  sysdb::QueueRow queue;
  queue.name = "q";
  queue.concurrency = 3;
  db->UpsertQueue(queue, 1);
  EnqueueThree(*db);
  std::atomic<int> injected{0};
  sysdb::QueueClaim claim;
  {
    auto injector = FailFirstQueueClaim(Fault::Kind::kDropConnection, injected);
    claim = db->ClaimFromQueue(LimitedRequest());
  }
  EXPECT_GE(injected.load(), 2);
  EXPECT_EQ(Ids(claim.claimed), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& wf : claim.claimed) EXPECT_EQ(wf.recovery_attempts, 1) << wf.workflow_uuid;
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status") +
                             " WHERE status = 'PENDING' AND executor_id = 'local'"),
            (Rows{{"3"}}));
}

// A finish whose commit happened with the reply lost is reported as written by its retry (not
// as "no longer PENDING"), and an idempotent step write likewise as inserted.
TEST_P(ClaimFaultTest, WritesRetriedAfterAnInDoubtCommitReportTheirOwnEffect) {
  auto db = OpenRaw();
  sysdb::WorkflowInsert row = WorkflowRow("w", "wf");
  row.now_ms = 1;
  ASSERT_TRUE(db->InsertWorkflow(row).created);
  std::atomic<int> injected{0};
  std::mutex mutex;
  std::set<std::string> failed;  // operations whose first attempt already failed
  ScopedFaultInjector injector([&](const FaultSite& site) {
    const std::string operation = site.operation;
    if (operation == "FinishWorkflow" || operation == "RecordStep" ||
        operation == "InsertWorkflow" || operation == "Send") {
      // The first attempt of each operation commits and loses its reply.
      std::lock_guard lock(mutex);
      if (failed.insert(operation).second) {
        ++injected;
        Fault fault;
        fault.kind = Fault::Kind::kAfterCommit;
        return fault;
      }
    }
    return Fault{};
  });
  row.creator_xid = "w-x2";
  row.workflow_uuid = "w2";
  EXPECT_TRUE(db->InsertWorkflow(row).created);
  sysdb::StepWrite step;
  step.workflow_uuid = "w";
  step.function_id = 0;
  step.function_name = "s";
  step.output = "1";
  EXPECT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
  sysdb::MessageWrite message;
  message.destination_uuid = "w2";
  message.topic = "t";
  message.message = "2";
  message.message_uuid = "m";
  message.now_ms = 5;
  message.checkpoint = step;
  message.checkpoint->function_id = 1;
  message.checkpoint->function_name = "DBOS.send";
  EXPECT_EQ(db->Send(message), sysdb::SendResult::Sent);
  EXPECT_TRUE(db->FinishWorkflow("w", "SUCCESS", std::string("1"), std::nullopt, 50));
  EXPECT_EQ(injected.load(), 4);
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("notifications")), (Rows{{"1"}}));
  EXPECT_EQ(db->GetWorkflow("w", true)->output, "1");
}

// ---- In-doubt commits and dropped connections of the delay and queue writes ----

// Fails the first run of `statement` in `operation` with `kind`; `before_retry` (if given) runs
// just before the second run, as another process acting between the two attempts.
ScopedFaultInjector FailFirstRun(std::string operation, std::string statement, Fault::Kind kind,
                                 std::atomic<int>& injected,
                                 std::function<void()> before_retry = {}) {
  return ScopedFaultInjector([=, &injected](const FaultSite& site) {
    if (operation != site.operation || statement != site.statement) return Fault{};
    const int run = injected.fetch_add(1);
    if (run == 1 && before_retry) before_retry();
    Fault fault;
    if (run == 0) fault.kind = kind;
    return fault;
  });
}

class DelayFaultTest : public ClaimFaultTest {
 protected:
  // A DELAYED row of "wf" on queue "q", due at `due`; a debounced one holds the key "wf-k".
  static void InsertDelayed(sysdb::SystemDatabase& db, const std::string& id, int64_t due,
                            bool debounced) {
    sysdb::WorkflowInsert row = WorkflowRow(id, "wf", "ENQUEUED");
    row.status = "DELAYED";
    row.queue_name = "q";
    row.delay_until_epoch_ms = due;
    row.is_debounced = debounced;
    if (debounced) row.deduplication_id = "wf-k";
    row.now_ms = 1;
    ASSERT_TRUE(db.InsertWorkflow(row).created);
  }
  Rows StatusAndKey(const std::string& id) {
    return RunSql(url_, "SELECT status, COALESCE(deduplication_id, '-') FROM " +
                            Table("workflow_status") + " WHERE workflow_uuid = '" + id + "'");
  }
  // What a promoter in another process does to `id`.
  void PromoteElsewhere(const std::string& id) {
    RunSql(url_, "UPDATE " + Table("workflow_status") +
                     " SET status = 'ENQUEUED', deduplication_id = CASE WHEN is_debounced THEN "
                     "NULL ELSE deduplication_id END WHERE workflow_uuid = '" +
                     id + "'");
  }
};

// Each due row is promoted once (a debounced one releases its key), none is left DELAYED or
// promoted early, and the queues that received rows are reported even when the reply of the
// commit that promoted them was lost (the runner is woken for them).
TEST_P(DelayFaultTest, PromotionRetriedAfterAFaultPromotesOnceAndReportsItsQueues) {
  for (const auto kind : {Fault::Kind::kAfterCommit, Fault::Kind::kDropConnection}) {
    SCOPED_TRACE(kind == Fault::Kind::kAfterCommit ? "in-doubt commit" : "dropped connection");
    auto db = OpenRaw();
    RunSql(url_, "DELETE FROM " + Table("workflow_status"));
    InsertDelayed(*db, "due-debounced", 50, true);
    InsertDelayed(*db, "due", 60, false);
    InsertDelayed(*db, "later", 10'000, false);
    std::atomic<int> injected{0};
    sysdb::DelayedPromotion promoted;
    {
      auto injector = FailFirstRun("PromoteDueDelayed", "promote_delayed", kind, injected);
      promoted = db->PromoteDueDelayed(100);
    }
    EXPECT_GE(injected.load(), 1);
    EXPECT_EQ(StatusAndKey("due-debounced"), (Rows{{"ENQUEUED", "-"}}));
    EXPECT_EQ(StatusAndKey("due"), (Rows{{"ENQUEUED", "-"}}));
    EXPECT_EQ(StatusAndKey("later"), (Rows{{"DELAYED", "-"}}));
    EXPECT_EQ(promoted.queues, (std::vector<std::string>{"q"}));
    EXPECT_EQ(promoted.next_due_ms, std::optional<int64_t>(10'000));
  }
}

// The move committed with its reply lost, and another process promoted the row (at its new
// time) before the retry: the move happened, so the caller must not be told it came too late.
TEST_P(DelayFaultTest, DelayMoveRetriedAfterAnInDoubtCommitReportsItsOwnMove) {
  auto db = OpenRaw();
  InsertDelayed(*db, "plain", 10'000, false);
  InsertDelayed(*db, "promoted", 10'000, false);
  std::atomic<int> injected{0};
  {
    auto injector =
        FailFirstRun("SetWorkflowDelay", "set_workflow_delay", Fault::Kind::kAfterCommit, injected);
    EXPECT_EQ(db->SetWorkflowDelay("plain", 500, 100), sysdb::DelayUpdate::Updated);
  }
  EXPECT_EQ(injected.load(), 2);
  injected = 0;
  {
    auto injector =
        FailFirstRun("SetWorkflowDelay", "set_workflow_delay", Fault::Kind::kAfterCommit, injected,
                     [&] { PromoteElsewhere("promoted"); });
    EXPECT_EQ(db->SetWorkflowDelay("promoted", 500, 100), sysdb::DelayUpdate::Updated);
  }
  EXPECT_EQ(injected.load(), 2);
  // Without a fault the same promoted row is refused: it is the retry that recognises its move.
  EXPECT_EQ(db->SetWorkflowDelay("promoted", 500, 200), sysdb::DelayUpdate::NotDelayed);
  EXPECT_EQ(
      RunSql(url_, "SELECT CAST(delay_until_epoch_ms AS TEXT) FROM " + Table("workflow_status") +
                       " WHERE workflow_uuid IN ('plain', "
                       "'promoted') ORDER BY workflow_uuid"),
      (Rows{{"500"}, {"500"}}));
}

// The bounce committed with its reply lost (the row took the new input), and the row was
// promoted before the retry: the retry must name that row, or Debounce starts a second workflow
// with the same input.
TEST_P(DelayFaultTest, BounceRetriedAfterAnInDoubtCommitNamesTheBouncedRow) {
  auto db = OpenRaw();
  InsertDelayed(*db, "debounced", 10'000, true);
  sysdb::Bounce bounce{"wf", "q", "wf-k", 500, serialization::EncodeWorkflowInput(42), 100};
  std::atomic<int> injected{0};
  {
    auto injector = FailFirstRun("BounceDebounced", "bounce_debounced", Fault::Kind::kAfterCommit,
                                 injected, [&] { PromoteElsewhere("debounced"); });
    EXPECT_EQ(db->BounceDebounced(bounce), std::optional<std::string>("debounced"));
  }
  EXPECT_EQ(injected.load(), 2);
  EXPECT_EQ(db->GetWorkflow("debounced", true)->inputs, bounce.inputs);
  // Without a fault nothing waits under the key any more: the next Debounce starts a new one.
  EXPECT_EQ(db->BounceDebounced(bounce), std::nullopt);
}

// A queue's row written with the reply lost, or over a dropped connection: one row, with the
// limits asked for.
TEST_P(DelayFaultTest, QueueUpsertRetriedAfterAFaultWritesOneRow) {
  auto db = OpenRaw();
  for (const auto kind : {Fault::Kind::kAfterCommit, Fault::Kind::kDropConnection}) {
    sysdb::QueueRow queue;
    queue.name = "limits";
    queue.concurrency = kind == Fault::Kind::kAfterCommit ? 4 : 5;
    queue.worker_concurrency = 2;
    queue.rate_limit_max = 3;
    queue.rate_limit_period_ms = 1500;
    queue.partition_queue = true;
    std::atomic<int> injected{0};
    {
      auto injector = FailFirstRun("UpsertQueue", "upsert_queue", kind, injected);
      db->UpsertQueue(queue, 10);
    }
    EXPECT_EQ(injected.load(), 2);
    const auto row = db->GetQueue("limits");
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->concurrency, queue.concurrency);
    EXPECT_EQ(row->worker_concurrency, queue.worker_concurrency);
    EXPECT_EQ(row->rate_limit_max, queue.rate_limit_max);
    EXPECT_EQ(row->rate_limit_period_ms, queue.rate_limit_period_ms);
    EXPECT_TRUE(row->partition_queue);
    EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("queues") + " WHERE name = 'limits'"),
              (Rows{{"1"}}));
  }
}

// A claim from one partition, with the reply of its commit lost: the retry returns exactly the
// rows of that partition it claimed, and the other partition's rows stay ENQUEUED.
TEST_P(DelayFaultTest, PartitionClaimRetriedAfterAnInDoubtCommitReturnsItsRows) {
  auto db = OpenRaw();
  sysdb::QueueRow queue;
  queue.name = "q";
  queue.concurrency = 5;
  queue.partition_queue = true;
  db->UpsertQueue(queue, 1);
  for (const auto& [id, key] : std::vector<std::pair<std::string, std::string>>{
           {"p1-a", "p1"}, {"p1-b", "p1"}, {"p2-a", "p2"}}) {
    sysdb::WorkflowInsert row = WorkflowRow(id, "wf", "ENQUEUED");
    row.queue_name = "q";
    row.queue_partition_key = key;
    row.application_version.reset();
    row.now_ms = 1;
    ASSERT_TRUE(db->InsertWorkflow(row).created);
  }
  sysdb::QueueClaimRequest request = LimitedRequest();
  request.global_concurrency = 5;
  request.partition_key = "p1";
  std::atomic<int> injected{0};
  sysdb::QueueClaim claim;
  {
    auto injector = FailFirstQueueClaim(Fault::Kind::kAfterCommit, injected);
    claim = db->ClaimFromQueue(request);
  }
  EXPECT_EQ(Ids(claim.claimed), (std::vector<std::string>{"p1-a", "p1-b"}));
  EXPECT_TRUE(db->ClaimFromQueue(request).claimed.empty());
  EXPECT_EQ(StatusAndKey("p2-a"), (Rows{{"ENQUEUED", "-"}}));
}

// A rate-limited claim after a fault: the window counts the first attempt's starts exactly once,
// so the retry (and the next claim) take no more than the limit.
TEST_P(DelayFaultTest, RateLimitedClaimRetriedAfterAFaultTakesTheLimitOnce) {
  for (const auto kind : {Fault::Kind::kAfterCommit, Fault::Kind::kDropConnection}) {
    SCOPED_TRACE(kind == Fault::Kind::kAfterCommit ? "in-doubt commit" : "dropped connection");
    auto db = OpenRaw();
    RunSql(url_, "DELETE FROM " + Table("workflow_status"));
    sysdb::QueueRow queue;
    queue.name = "q";
    queue.rate_limit_max = 2;
    queue.rate_limit_period_ms = 60'000;
    db->UpsertQueue(queue, 1);
    EnqueueThree(*db);
    sysdb::QueueClaimRequest request = LimitedRequest();
    request.global_concurrency.reset();
    request.rate_limit_max = 2;
    request.rate_limit_period_ms = 60'000;
    std::atomic<int> injected{0};
    sysdb::QueueClaim claim;
    {
      auto injector = FailFirstQueueClaim(kind, injected);
      claim = db->ClaimFromQueue(request);
    }
    EXPECT_EQ(Ids(claim.claimed), (std::vector<std::string>{"a", "b"}));
    request.base.now_ms = 200;
    EXPECT_TRUE(db->ClaimFromQueue(request).claimed.empty());
    EXPECT_EQ(StatusAndKey("c"), (Rows{{"ENQUEUED", "-"}}));
  }
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(FaultInjectionTest);
DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ClaimFaultTest);
DBOS_INSTANTIATE_ON_BOTH_BACKENDS(DelayFaultTest);

}  // namespace
}  // namespace dbos::testing
