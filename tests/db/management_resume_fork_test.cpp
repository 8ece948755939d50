// ResumeWorkflow and ForkWorkflow on a DBOSContext: resume of every status (cancelled,
// dead-lettered, pending elsewhere, enqueued on a queue nobody serves, delayed, and the no-op on
// one that ended), fork from the first step, the middle and the end with the reused steps not run
// again (counted side effects) and the events they left rebuilt, fork on another application
// version, both as steps inside a workflow, the errors for bad input with nothing written, and
// in-doubt commits (the reply of the write lost, or the connection dropped mid-write) that still
// create exactly one workflow.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::resume_fns {

std::atomic<int> g_runs[3];

void ResetRuns() {
  for (auto& r : g_runs) r = 0;
}

// Steps at IDs 0 (s0), 1 (event 1), 2 (s1), 3 (event 2), 4 (s2); each step counts its runs.
int Counted(DBOSContext& ctx, int n) {
  int sum = RunAsStep(
      ctx, [] { return ++g_runs[0], 1; }, WithStepName("s0"));
  SetEvent(ctx, "progress", 1);
  sum += RunAsStep(
      ctx, [] { return ++g_runs[1], 10; }, WithStepName("s1"));
  SetEvent(ctx, "progress", 2);
  sum += RunAsStep(
      ctx, [] { return ++g_runs[2], 100; }, WithStepName("s2"));
  return n + sum;
}

// A step, then a wait for a message (where a test cancels it), then a step.
int Gated(DBOSContext& ctx, int n) {
  RunAsStep(
      ctx, [] { return ++g_runs[0]; }, WithStepName("before"));
  const int m = Recv<int>(ctx, "go", std::chrono::seconds(60));
  RunAsStep(
      ctx, [] { return ++g_runs[1]; }, WithStepName("after"));
  return n + m;
}

int Simple(DBOSContext&, int n) {
  ++g_runs[2];
  return n * 2;
}

// Simple, but it stays PENDING until the test lets it go.
std::atomic<bool> g_release_held{false};
int Held(DBOSContext&, int n) {
  ++g_runs[2];
  while (!g_release_held.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return n * 2;
}

// Forks `target` from step 2 and resumes it, inside a workflow.
std::string Manager(DBOSContext& ctx, std::string target) {
  auto forked =
      ForkWorkflow<int>(ctx, ForkWorkflowInput{.original_workflow_id = target, .start_step = 2});
  ResumeWorkflow<int>(ctx, target);
  return forked.GetWorkflowID();
}

}  // namespace dbos::testing::resume_fns

namespace dbos::testing {
namespace {
using namespace resume_fns;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

class ManagementResumeForkTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    ResetRuns();
  }
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  DBOSContext Start(const std::string& version = "test-v1") {
    Config config = MakeConfig();
    config.application_version = version;
    DBOSContext ctx = NewDBOSContext(config);
    RegisterWorkflow(ctx, Counted);
    RegisterWorkflow(ctx, Gated);
    RegisterWorkflow(ctx, Simple);
    RegisterWorkflow(ctx, Held);
    RegisterWorkflow(ctx, Manager);
    NewWorkflowQueue(ctx, "parts", WithPartitionQueue());
    Launch(ctx);
    return ctx;
  }
  // A row of Simple(21) left as `status` (via SQL) by another process.
  void InsertSimple(const std::string& id, const std::string& status,
                    const std::string& application_name = "dbos-test",
                    const std::string& name = "dbos::testing::resume_fns::Simple") {
    sysdb::WorkflowInsert row = WorkflowRow(id, name);
    row.inputs = serialization::EncodeWorkflowInput(21);
    row.executor_id = "gone-executor";
    row.application_name = application_name;
    if (status == "DELAYED") {
      row.status = "DELAYED";
      row.queue_name = sysdb::kInternalQueueName;
      row.delay_until_epoch_ms = util_now_plus_hour();
    } else if (status == "ENQUEUED") {
      row.status = "ENQUEUED";
      row.queue_name = "nobody-serves-this";
    }
    ASSERT_TRUE(OpenRaw()->InsertWorkflow(row).created);
    if (status != "PENDING" && status != "DELAYED" && status != "ENQUEUED") {
      RunSql(url_, "UPDATE " + Table("workflow_status") + " SET status = '" + status +
                       "' WHERE workflow_uuid = '" + id + "'");
    }
  }
  static int64_t util_now_plus_hour() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           3'600'000;
  }
  int Count(const std::string& table, const std::string& where) {
    return std::stoi(
        RunSql(url_, "SELECT COUNT(*) FROM " + Table(table) + " WHERE " + where).at(0).at(0));
  }
  int WorkflowCount() { return Count("workflow_status", "1 = 1"); }
  template <typename F>
  ErrorCode CodeOf(F&& f) {
    try {
      f();
    } catch (const DBOSError& e) {
      return e.Code();
    }
    ADD_FAILURE() << "expected a DBOSError";
    return ErrorCode::Initialization;
  }
  // The first run of `statement` fails as `kind`; counts the faults injected.
  static ScopedFaultInjector FailFirst(const char* statement, Fault::Kind kind,
                                       std::atomic<int>& injected) {
    return ScopedFaultInjector([statement, kind, &injected](const FaultSite& site) {
      if (std::string(site.statement) == statement && injected.fetch_add(1) == 0) {
        Fault fault;
        fault.kind = kind;
        return fault;
      }
      return Fault{};
    });
  }
};

TEST_P(ManagementResumeForkTest, ResumeRestartsACancelledWorkflowFromItsLastStep) {
  DBOSContext ctx = Start();
  auto handle = RunWorkflow(ctx, Gated, 1, WithWorkflowID("gated"));
  // Cancelled once step "before" is recorded (a cancel while it runs would drop its outcome).
  for (int i = 0; i < 500 && GetWorkflowSteps(ctx, "gated").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CancelWorkflow(ctx, "gated");
  EXPECT_THROW(handle.GetResult(), DBOSError);
  auto resumed = ResumeWorkflow<int>(ctx, "gated");
  Send(ctx, "gated", 41, "go");
  EXPECT_EQ(resumed.GetResult(), 42);
  EXPECT_EQ(g_runs[0], 1);  // recorded before the cancellation: not run again
  EXPECT_EQ(g_runs[1], 1);
  EXPECT_EQ(resumed.GetStatus().status, WorkflowStatusType::Success);
  Shutdown(ctx);
}

TEST_P(ManagementResumeForkTest, ResumeStartsEachUnfinishedStatusAtOnce) {
  for (const char* status : {"MAX_RECOVERY_ATTEMPTS_EXCEEDED", "PENDING", "ENQUEUED", "DELAYED"}) {
    InsertSimple(std::string("r-") + status, status);
  }
  DBOSContext ctx = Start();
  for (const char* status : {"MAX_RECOVERY_ATTEMPTS_EXCEEDED", "PENDING", "ENQUEUED", "DELAYED"}) {
    SCOPED_TRACE(status);
    auto handle = ResumeWorkflow<int>(ctx, std::string("r-") + status);
    EXPECT_EQ(handle.GetResult(), 42);
    const auto after = handle.GetStatus();
    EXPECT_EQ(after.status, WorkflowStatusType::Success);
    EXPECT_EQ(after.queue_name, sysdb::kInternalQueueName);
    EXPECT_EQ(after.attempts, 1);  // reset by the resume, then one start
  }
  EXPECT_EQ(g_runs[2], 4);
  Shutdown(ctx);
}

TEST_P(ManagementResumeForkTest, ResumeOfAnEndedWorkflowChangesNothing) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, Simple, 5, WithWorkflowID("done")).GetResult(), 10);
  const auto before = RetrieveWorkflow<int>(ctx, "done").GetStatus();
  auto handle = ResumeWorkflow<int>(ctx, "done");
  EXPECT_EQ(handle.GetResult(), 10);
  const auto after = handle.GetStatus();
  EXPECT_EQ(after.status, WorkflowStatusType::Success);
  EXPECT_EQ(after.updated_at, before.updated_at);
  EXPECT_EQ(g_runs[2], 1);
  Shutdown(ctx);
}

TEST_P(ManagementResumeForkTest, ForkReusesTheStepsBelowItsStartStep) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, Counted, 1000, WithWorkflowID("orig")).GetResult(), 1111);
  ResetRuns();
  auto from0 = ForkWorkflow<int>(ctx, {.original_workflow_id = "orig", .start_step = 0});
  EXPECT_EQ(from0.GetResult(), 1111);
  EXPECT_EQ((std::array<int, 3>{g_runs[0], g_runs[1], g_runs[2]}), (std::array<int, 3>{1, 1, 1}));
  ResetRuns();
  auto middle = ForkWorkflow<int>(
      ctx, {.original_workflow_id = "orig", .forked_workflow_id = "mid", .start_step = 2});
  EXPECT_EQ(middle.GetWorkflowID(), "mid");
  EXPECT_EQ(middle.GetResult(), 1111);
  EXPECT_EQ((std::array<int, 3>{g_runs[0], g_runs[1], g_runs[2]}), (std::array<int, 3>{0, 1, 1}));
  ResetRuns();
  auto end = ForkWorkflow<int>(ctx, {.original_workflow_id = "orig", .start_step = 5});
  EXPECT_EQ(end.GetResult(), 1111);
  EXPECT_EQ((std::array<int, 3>{g_runs[0], g_runs[1], g_runs[2]}), (std::array<int, 3>{0, 0, 0}));

  const auto status = middle.GetStatus();
  EXPECT_EQ(status.forked_from, "orig");
  EXPECT_EQ(status.application_version, "test-v1");
  EXPECT_TRUE(RetrieveWorkflow<int>(ctx, "orig").GetStatus().was_forked_from);
  EXPECT_EQ(GetWorkflowSteps(ctx, "mid").size(), 5u);
  Shutdown(ctx);
}

TEST_P(ManagementResumeForkTest, ForkOnAnotherVersionWaitsForItsExecutorsWithTheCopiedState) {
  {
    DBOSContext ctx = Start();
    RunWorkflow(ctx, Counted, 1000, WithWorkflowID("orig")).GetResult();
    ResetRuns();
    auto forked = ForkWorkflow<int>(ctx, {.original_workflow_id = "orig",
                                          .forked_workflow_id = "v2-fork",
                                          .start_step = 2,
                                          .application_version = "test-v2"});
    const auto status = forked.GetStatus();
    EXPECT_EQ(status.status, WorkflowStatusType::Enqueued);
    EXPECT_EQ(status.application_version, "test-v2");
    // The state below step 2: two steps and the event they set (rebuilt from the history).
    const auto steps = GetWorkflowSteps(ctx, "v2-fork");
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].step_name, "s0");
    EXPECT_EQ(GetEvent<int>(ctx, "v2-fork", "progress", std::chrono::seconds(0)), 1);
    Shutdown(ctx);
  }
  EXPECT_EQ((std::array<int, 3>{g_runs[0], g_runs[1], g_runs[2]}), (std::array<int, 3>{0, 0, 0}));
  DBOSContext v2 = Start("test-v2");
  EXPECT_EQ(RetrieveWorkflow<int>(v2, "v2-fork").GetResult(), 1111);
  EXPECT_EQ((std::array<int, 3>{g_runs[0], g_runs[1], g_runs[2]}), (std::array<int, 3>{0, 1, 1}));
  EXPECT_EQ(GetEvent<int>(v2, "v2-fork", "progress", std::chrono::seconds(0)), 2);
  Shutdown(v2);
}

TEST_P(ManagementResumeForkTest, BadInputIsRefusedWithNothingWritten) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, Counted, 1000, WithWorkflowID("orig")).GetResult();
  InsertSimple("foreign", "CANCELLED", "other-app");
  const int workflows = WorkflowCount();
  EXPECT_EQ(CodeOf([&] { ResumeWorkflow<int>(ctx, "nope"); }), ErrorCode::NonExistentWorkflow);
  EXPECT_EQ(CodeOf([&] { ForkWorkflow<int>(ctx, {.original_workflow_id = "nope"}); }),
            ErrorCode::NonExistentWorkflow);
  EXPECT_EQ(CodeOf([&] { ResumeWorkflow<int>(ctx, "foreign"); }), ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf([&] { ForkWorkflow<int>(ctx, {.original_workflow_id = "foreign"}); }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(
      CodeOf([&] { ForkWorkflow<int>(ctx, {.original_workflow_id = "orig", .start_step = 6}); }),
      ErrorCode::InvalidOption);
  EXPECT_EQ(
      CodeOf([&] { ForkWorkflow<int>(ctx, {.original_workflow_id = "orig", .start_step = -1}); }),
      ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf([&] {
              ForkWorkflow<int>(ctx,
                                {.original_workflow_id = "orig", .forked_workflow_id = "foreign"});
            }),
            ErrorCode::ConflictingID);
  EXPECT_EQ(CodeOf([&] { ForkWorkflow<int>(ctx, {.original_workflow_id = ""}); }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(WorkflowCount(), workflows);
  EXPECT_EQ(Count("workflow_status", "status = 'CANCELLED' AND workflow_uuid = 'foreign'"), 1);
  EXPECT_FALSE(RetrieveWorkflow<int>(ctx, "orig").GetStatus().was_forked_from);
  Shutdown(ctx);
}

// A partitioned queue runs only rows with a partition key: a keyless fork onto one would stay
// ENQUEUED forever, so it is refused like a keyless enqueue, and a key on another queue too.
TEST_P(ManagementResumeForkTest, ForkOntoAPartitionedQueueNeedsAPartitionKey) {
  DBOSContext ctx = Start();
  EXPECT_EQ(RunWorkflow(ctx, Simple, 4, WithWorkflowID("to-parts")).GetResult(), 8);
  const int workflows = WorkflowCount();
  EXPECT_EQ(CodeOf([&] {
              ForkWorkflow<int>(ctx, {.original_workflow_id = "to-parts", .queue_name = "parts"});
            }),
            ErrorCode::InvalidOption);
  EXPECT_EQ(WorkflowCount(), workflows);
  auto keyed = ForkWorkflow<int>(
      ctx, {.original_workflow_id = "to-parts", .queue_name = "parts", .queue_partition_key = "k"});
  EXPECT_EQ(keyed.GetResult(), 8);
  Shutdown(ctx);
}

TEST_P(ManagementResumeForkTest, InsideAWorkflowForkAndResumeAreStepsThatDoNotRepeat) {
  DBOSContext ctx = Start();
  RunWorkflow(ctx, Counted, 1000, WithWorkflowID("orig")).GetResult();
  const std::string forked =
      RunWorkflow(ctx, Manager, std::string("orig"), WithWorkflowID("mgr")).GetResult();
  EXPECT_EQ(forked, "mgr-fork-0");  // derived from the step: stable across replays
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, forked).GetResult(), 1111);
  const auto steps = GetWorkflowSteps(ctx, "mgr");
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0].step_name, "DBOS.forkWorkflow");
  EXPECT_EQ(steps[1].step_name, "DBOS.resumeWorkflow");
  // A replay of the whole workflow (its steps recorded) forks nothing new.
  const int workflows = WorkflowCount();
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET status = 'PENDING' WHERE workflow_uuid = 'mgr'");
  EXPECT_EQ(ResumeWorkflow<std::string>(ctx, "mgr").GetResult(), forked);
  EXPECT_EQ(WorkflowCount(), workflows);
  Shutdown(ctx);
}

TEST_P(ManagementResumeForkTest, InDoubtForkCreatesExactlyOneWorkflow) {
  for (Fault::Kind kind : {Fault::Kind::kAfterCommit, Fault::Kind::kDropConnection}) {
    SCOPED_TRACE(kind == Fault::Kind::kAfterCommit ? "after commit" : "dropped connection");
    DBOSContext ctx = Start();
    const std::string orig = std::string("orig-") + std::to_string(static_cast<int>(kind));
    RunWorkflow(ctx, Counted, 1000, WithWorkflowID(orig)).GetResult();
    ResetRuns();
    const int workflows = WorkflowCount();
    std::atomic<int> injected{0};
    WorkflowHandle<int> named, unnamed;
    {
      auto injector = FailFirst("fork_workflow", kind, injected);
      named = ForkWorkflow<int>(
          ctx, {.original_workflow_id = orig, .forked_workflow_id = orig + "-f", .start_step = 2});
    }
    EXPECT_GE(injected.load(), 1);
    injected = 0;
    {
      auto injector = FailFirst("fork_workflow", kind, injected);
      unnamed = ForkWorkflow<int>(ctx, {.original_workflow_id = orig, .start_step = 2});
    }
    EXPECT_EQ(named.GetResult(), 1111);
    EXPECT_EQ(unnamed.GetResult(), 1111);
    EXPECT_EQ(WorkflowCount(), workflows + 2);
    EXPECT_EQ(Count("workflow_status", "forked_from = '" + orig + "'"), 2);
    EXPECT_EQ(Count("operation_outputs", "workflow_uuid = '" + orig + "-f'"), 5);
    EXPECT_EQ((std::array<int, 3>{g_runs[0], g_runs[1], g_runs[2]}), (std::array<int, 3>{0, 2, 2}));
    Shutdown(ctx);
  }
}

TEST_P(ManagementResumeForkTest, InDoubtResumeStartsTheWorkflowOnce) {
  for (Fault::Kind kind : {Fault::Kind::kAfterCommit, Fault::Kind::kDropConnection}) {
    SCOPED_TRACE(kind == Fault::Kind::kAfterCommit ? "after commit" : "dropped connection");
    ResetRuns();
    const std::string id = std::string("cancelled-") + std::to_string(static_cast<int>(kind));
    InsertSimple(id, "CANCELLED");
    DBOSContext ctx = Start();
    std::atomic<int> injected{0};
    WorkflowHandle<int> handle;
    {
      auto injector = FailFirst("resume_workflow", kind, injected);
      handle = ResumeWorkflow<int>(ctx, id);
    }
    EXPECT_GE(injected.load(), 1);
    EXPECT_EQ(handle.GetResult(), 42);
    EXPECT_EQ(handle.GetStatus().attempts, 1);
    Shutdown(ctx);
    EXPECT_EQ(g_runs[2], 1);
  }
}

// A queue runner reads its clock, the resume commits (reply lost), the runner claims the resumed
// workflow, then the resume retries while the workflow runs: the claim must count as following
// the resume although its clock reading came first, or the retry enqueues the running workflow
// again (a second attempt, a second run).
TEST_P(ManagementResumeForkTest, InDoubtResumeRecognisesAClaimThatReadItsClockEarlier) {
  g_release_held = false;
  InsertSimple("slow-claim", "CANCELLED", "dbos-test", "dbos::testing::resume_fns::Held");
  DBOSContext ctx = Start();
  std::atomic<int> polls_entered{0};
  std::atomic<int> resume_calls{0};
  std::atomic<bool> pending_before_retry{false};
  ScopedFaultInjector injector([&](const FaultSite& site) {
    const std::string statement = site.statement;
    if (statement == "dequeue_precheck" || statement == "dequeue_claim") {
      polls_entered.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the resume commits now
    } else if (statement == "resume_workflow" && resume_calls.fetch_add(1) == 0) {
      Fault fault;
      fault.kind = Fault::Kind::kAfterCommit;
      return fault;
    } else if (statement == "resume_workflow") {
      // The retry waits until the delayed poll has claimed and started the workflow.
      for (int i = 0; i < 300 && !pending_before_retry; ++i) {
        pending_before_retry =
            Count("workflow_status", "workflow_uuid = 'slow-claim' AND status = 'PENDING'") == 1;
        if (!pending_before_retry) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return Fault{};
  });
  for (int i = 0; i < 5000 && polls_entered.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GT(polls_entered.load(), 0) << "the queue runner never polled";
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // later than the runner's clock
  auto handle = ResumeWorkflow<int>(ctx, "slow-claim");
  EXPECT_GE(resume_calls.load(), 2);
  EXPECT_TRUE(pending_before_retry.load());
  // Enqueued again, it would show now (the delayed poll has not claimed it a second time yet).
  EXPECT_EQ(Count("workflow_status", "workflow_uuid = 'slow-claim' AND status = 'PENDING'"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a wrong re-enqueue is claimed
  EXPECT_FALSE(logger_->Contains("could not start workflow slow-claim"));
  g_release_held = true;
  EXPECT_EQ(handle.GetResult(), 42);
  EXPECT_EQ(handle.GetStatus().attempts, 1);
  Shutdown(ctx);
  EXPECT_EQ(g_runs[2], 1);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ManagementResumeForkTest);

}  // namespace
}  // namespace dbos::testing
