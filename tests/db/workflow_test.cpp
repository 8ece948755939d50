// Workflows: start, result, idempotency by ID, concurrent starts, status, retrieval, and the
// stored format (portable JSON) that other DBOS SDKs read.
#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::workflow_fns {

std::atomic<int> g_step_runs{0};

int CountedStep() { return ++g_step_runs; }

std::string Greet(DBOSContext& ctx, std::string name) {
  RunAsStep(ctx, CountedStep);
  RunAsStep(
      ctx, [] { return 7; }, WithStepName("seven"));
  return "hello " + name;
}

struct Order {
  std::string id;
  int quantity = 0;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(Order, id, quantity)
};

Order DoubleOrder(DBOSContext&, Order order) {
  order.quantity *= 2;
  return order;
}

int Other(DBOSContext&, int x) { return x; }

int SleepsThenReturns(DBOSContext& ctx, int ms) {
  Sleep(ctx, std::chrono::milliseconds(ms));
  return ms;
}

// Outcomes JSON cannot carry: text that is not UTF-8.
std::string InvalidUtf8Result(DBOSContext&, int) { return std::string("caf\xC3 au lait"); }
int InvalidUtf8Error(DBOSContext&, int) { throw std::runtime_error("bad \xFF byte"); }
std::string AwaitsInvalidUtf8Child(DBOSContext& ctx, int) {
  try {
    RunWorkflow(ctx, InvalidUtf8Result, 0).GetResult();
    return "no error";
  } catch (const DBOSError& e) {
    return e.Message();
  }
}

// Awaits a child whose outcome the database refuses (see the test), catching everything.
std::string AwaitsUnrecordableChild(DBOSContext& ctx, int) {
  try {
    return std::to_string(RunWorkflow(ctx, Other, 5, WithWorkflowID("unrecordable")).GetResult());
  } catch (...) {
    return "caught";
  }
}

}  // namespace dbos::testing::workflow_fns

namespace dbos::testing {
namespace {
using namespace workflow_fns;

class WorkflowTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_step_runs = 0;
    ctx_ = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx_, Greet);
    RegisterWorkflow(ctx_, DoubleOrder);
    RegisterWorkflow(ctx_, Other);
    RegisterWorkflow(ctx_, InvalidUtf8Result);
    RegisterWorkflow(ctx_, InvalidUtf8Error);
    RegisterWorkflow(ctx_, AwaitsInvalidUtf8Child);
    RegisterWorkflow(ctx_, AwaitsUnrecordableChild);
    RegisterWorkflow(ctx_, SleepsThenReturns);
    Launch(ctx_);
  }
  void TearDown() override {
    Shutdown(ctx_);
    DbTest::TearDown();
  }
  // Waits (bounded) until the workflow's status is no longer PENDING; returns the status.
  std::string AwaitNotPending(const std::string& id) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string status = OpenRaw()->GetWorkflow(id, false)->status;
    while (status == "PENDING" && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      status = OpenRaw()->GetWorkflow(id, false)->status;
    }
    return status;
  }
  // A trigger refuses to record the outcome of workflow `id`, as a broken database would.
  void RefuseFinishOf(const std::string& id) {
    if (IsPostgres()) {
      RunSql(url_, "CREATE FUNCTION \"" + schema_ +
                       "\".refuse_finish() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                       "'finish refused'; END $$ LANGUAGE plpgsql; CREATE TRIGGER refuse_finish "
                       "BEFORE UPDATE ON \"" +
                       schema_ +
                       "\".workflow_status FOR EACH ROW WHEN (NEW.status <> 'PENDING' AND "
                       "NEW.workflow_uuid = '" +
                       id + "') EXECUTE FUNCTION \"" + schema_ + "\".refuse_finish()");
    } else {
      RunSql(url_,
             "CREATE TRIGGER refuse_finish BEFORE UPDATE ON workflow_status WHEN NEW.status <> "
             "'PENDING' AND NEW.workflow_uuid = '" +
                 id + "' BEGIN SELECT RAISE(ABORT, 'finish refused'); END");
    }
  }
  // The message of the DBOSError GetResult throws ("" and a failure when it returns).
  template <typename R>
  static std::string ResultError(WorkflowHandle<R> handle) {
    try {
      handle.GetResult();
    } catch (const DBOSError& e) {
      return e.Message();
    }
    ADD_FAILURE() << "expected a DBOSError";
    return "";
  }
  DBOSContext ctx_;
};

TEST_P(WorkflowTest, RunsStepsAndReturnsResult) {
  auto handle = RunWorkflow(ctx_, Greet, std::string("ann"));
  EXPECT_EQ(handle.GetResult(), "hello ann");
  EXPECT_EQ(g_step_runs.load(), 1);
  const auto status = handle.GetStatus();
  EXPECT_EQ(status.status, WorkflowStatusType::Success);
  EXPECT_EQ(status.id, handle.GetWorkflowID());
  EXPECT_EQ(status.output, "hello ann");
  EXPECT_EQ(status.input, "ann");
  EXPECT_EQ(status.executor_id, "local");
  EXPECT_EQ(status.application_version, "test-v1");
  EXPECT_EQ(status.attempts, 1);
  EXPECT_NE(status.name.find("Greet"), std::string::npos) << status.name;
}

TEST_P(WorkflowTest, StructInputAndOutputRoundTrip) {
  auto handle = RunWorkflow(ctx_, DoubleOrder, Order{"o-1", 3});
  const Order out = handle.GetResult();
  EXPECT_EQ(out.id, "o-1");
  EXPECT_EQ(out.quantity, 6);
}

TEST_P(WorkflowTest, SameIdRunsOnceAndReturnsRecordedResult) {
  auto first = RunWorkflow(ctx_, Greet, std::string("bob"), WithWorkflowID("greet-bob"));
  EXPECT_EQ(first.GetResult(), "hello bob");
  auto second = RunWorkflow(ctx_, Greet, std::string("someone else"), WithWorkflowID("greet-bob"));
  EXPECT_EQ(second.GetResult(), "hello bob");
  EXPECT_EQ(g_step_runs.load(), 1);
}

TEST_P(WorkflowTest, ConcurrentStartsOfOneIdRunOnce) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<size_t>(i)] =
          RunWorkflow(ctx_, Greet, std::string("race"), WithWorkflowID("race-id")).GetResult();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, "hello race");
  EXPECT_EQ(g_step_runs.load(), 1);
}

TEST_P(WorkflowTest, ConcurrentStartsFromTwoContextsRunOnce) {
  DBOSContext other = NewDBOSContext(MakeConfig());
  RegisterWorkflow(other, Greet);
  Launch(other);
  std::thread a([&] { RunWorkflow(ctx_, Greet, std::string("x"), WithWorkflowID("two-ctx")); });
  std::thread b([&] { RunWorkflow(other, Greet, std::string("x"), WithWorkflowID("two-ctx")); });
  a.join();
  b.join();
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx_, "two-ctx").GetResult(), "hello x");
  EXPECT_EQ(RetrieveWorkflow<std::string>(other, "two-ctx").GetResult(), "hello x");
  EXPECT_EQ(g_step_runs.load(), 1);
  Shutdown(other);
}

TEST_P(WorkflowTest, SameIdWithAnotherWorkflowIsUnexpectedWorkflow) {
  RunWorkflow(ctx_, Other, 1, WithWorkflowID("taken")).GetResult();
  try {
    RunWorkflow(ctx_, Greet, std::string("x"), WithWorkflowID("taken"));
    FAIL() << "expected UnexpectedWorkflow";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::UnexpectedWorkflow);
    EXPECT_NE(std::string(e.what()).find("different name"), std::string::npos) << e.what();
  }
}

TEST_P(WorkflowTest, RetrieveReturnsRecordedResult) {
  RunWorkflow(ctx_, Other, 41, WithWorkflowID("answer")).GetResult();
  auto handle = RetrieveWorkflow<int>(ctx_, "answer");
  EXPECT_EQ(handle.GetResult(), 41);
  EXPECT_EQ(handle.GetStatus().status, WorkflowStatusType::Success);
}

TEST_P(WorkflowTest, RetrieveUnknownIdIsNonExistentWorkflow) {
  try {
    RetrieveWorkflow<int>(ctx_, "no-such-workflow");
    FAIL() << "expected NonExistentWorkflow";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::NonExistentWorkflow);
  }
}

TEST_P(WorkflowTest, RetrieveWithWrongResultTypeIsUnexpectedType) {
  RunWorkflow(ctx_, Other, 5, WithWorkflowID("typed")).GetResult();
  try {
    RetrieveWorkflow<std::string>(ctx_, "typed");
    FAIL() << "expected WorkflowUnexpectedType";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::WorkflowUnexpectedType);
  }
}

TEST_P(WorkflowTest, StoresPortableJsonThatOtherSdksRead) {
  RunWorkflow(ctx_, DoubleOrder, Order{"o-9", 2}, WithWorkflowID("portable")).GetResult();
  auto db = OpenRaw();
  auto row = db->GetWorkflow("portable", /*load_values=*/true);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->serialization, "portable_json");
  ASSERT_TRUE(row->inputs.has_value());
  EXPECT_EQ(
      nlohmann::json::parse(*row->inputs),
      nlohmann::json::parse(R"({"positionalArgs":[{"id":"o-9","quantity":2}],"namedArgs":{}})"));
  ASSERT_TRUE(row->output.has_value());
  EXPECT_EQ(nlohmann::json::parse(*row->output),
            nlohmann::json::parse(R"({"id":"o-9","quantity":4})"));
  EXPECT_EQ(row->status, "SUCCESS");
  EXPECT_TRUE(row->completed_at.has_value());
}

TEST_P(WorkflowTest, StepsAreRecordedInProgramOrder) {
  RunWorkflow(ctx_, Greet, std::string("z"), WithWorkflowID("ordered")).GetResult();
  auto steps = OpenRaw()->ListSteps("ordered");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].function_id, 0);
  EXPECT_NE(steps[0].function_name.find("CountedStep"), std::string::npos);
  EXPECT_EQ(steps[0].output, "1");
  EXPECT_EQ(steps[1].function_id, 1);
  EXPECT_EQ(steps[1].function_name, "seven");
  EXPECT_EQ(steps[1].output, "7");
  EXPECT_FALSE(steps[1].error.has_value());
}

TEST_P(WorkflowTest, WorkflowAndStepIdsAreVisibleInside) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto ids = [](DBOSContext& c, int) {
    const std::string id = GetWorkflowID(c);
    const int first = RunAsStep(
        c, [&] { return GetStepID(c); }, WithStepName("a"));
    const int second = RunAsStep(
        c, [&] { return GetStepID(c); }, WithStepName("b"));
    return id + ":" + std::to_string(first) + ":" + std::to_string(second);
  };
  RegisterWorkflow(ctx, ids, WithWorkflowName("ids"));
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, ids, 0, WithWorkflowID("wf-ids")).GetResult(), "wf-ids:0:1");
  Shutdown(ctx);
}

TEST_P(WorkflowTest, AuthenticatedUserAndVersionAreRecorded) {
  auto handle = RunWorkflow(ctx_, Other, 1, WithAuthenticatedUser("ann"),
                            WithApplicationVersion("v-special"));
  // A workflow pinned to another version still runs when started directly.
  EXPECT_EQ(handle.GetResult(), 1);
  const auto status = handle.GetStatus();
  EXPECT_EQ(status.authenticated_user, "ann");
  EXPECT_EQ(status.application_version, "v-special");
}

TEST_P(WorkflowTest, ExecutorIdAndVersionAccessors) {
  EXPECT_EQ(GetExecutorID(ctx_), "local");
  EXPECT_EQ(GetApplicationVersion(ctx_), "test-v1");
  EXPECT_THROW(GetWorkflowID(ctx_), DBOSError);
  EXPECT_THROW(GetStepID(ctx_), DBOSError);
}

TEST_P(WorkflowTest, ResultThatIsNotUtf8IsRecordedAsAnErrorSayingSo) {
  auto handle = RunWorkflow(ctx_, InvalidUtf8Result, 0, WithWorkflowID("bad-result"));
  ASSERT_EQ(AwaitNotPending("bad-result"), "ERROR");
  for (auto h : {handle, RetrieveWorkflow<std::string>(ctx_, "bad-result")}) {
    const std::string message = ResultError(h);
    EXPECT_NE(message.find("could not be stored: it is not valid UTF-8"), std::string::npos)
        << message;
    EXPECT_NE(message.find("invalid byte 0xc3 at offset 3"), std::string::npos) << message;
  }
}

TEST_P(WorkflowTest, ErrorMessageThatIsNotUtf8IsRecordedReadably) {
  auto handle = RunWorkflow(ctx_, InvalidUtf8Error, 0, WithWorkflowID("bad-error"));
  ASSERT_EQ(AwaitNotPending("bad-error"), "ERROR");
  for (auto h : {handle, RetrieveWorkflow<int>(ctx_, "bad-error")}) {
    const std::string message = ResultError(h);
    EXPECT_NE(message.find("its message is not valid UTF-8 (invalid byte 0xff at offset 4"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("bad \xEF\xBF\xBD byte"), std::string::npos) << message;
  }
}

TEST_P(WorkflowTest, ParentAwaitingAChildWhoseResultIsNotUtf8GetsTheError) {
  auto parent = RunWorkflow(ctx_, AwaitsInvalidUtf8Child, 0, WithWorkflowID("bad-parent"));
  ASSERT_EQ(AwaitNotPending("bad-parent"), "SUCCESS");
  EXPECT_NE(parent.GetResult().find("could not be stored"), std::string::npos);
}

TEST_P(WorkflowTest, FinishWriteThatFailsGivesLocalWaitersAnErrorAndLeavesThePendingRow) {
  RefuseFinishOf("unrecordable");
  auto handle = RunWorkflow(ctx_, Other, 3, WithWorkflowID("unrecordable"));
  const std::string message = ResultError(handle);  // an answer, not a wait without end
  EXPECT_NE(message.find("its outcome could not be recorded"), std::string::npos) << message;
  EXPECT_EQ(OpenRaw()->GetWorkflow("unrecordable", false)->status, "PENDING");
}

// The child's outcome could not be recorded, so it stays PENDING: its parent must not record
// that failure (which is the database's, not the child's) as its own outcome, even when the
// parent's code catches everything; it waits for the child's durable outcome instead.
TEST_P(WorkflowTest, ParentOfAChildWhoseOutcomeCannotBeRecordedKeepsWaiting) {
  RefuseFinishOf("unrecordable");
  auto parent = RunWorkflow(ctx_, AwaitsUnrecordableChild, 0, WithWorkflowID("patient-parent"));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (OpenRaw()->ListSteps("patient-parent").empty() &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the child finished meanwhile
  EXPECT_EQ(OpenRaw()->GetWorkflow("unrecordable", false)->status, "PENDING");
  EXPECT_EQ(OpenRaw()->GetWorkflow("patient-parent", false)->status, "PENDING");
}

TEST_P(WorkflowTest, UnknownStatusInTheDatabaseIsAClearErrorInsteadOfAnEndlessWait) {
  // As another tool might write it.
  sysdb::WorkflowInsert row =
      WorkflowRow("bogus-status", "dbos::testing::workflow_fns::Other", "BOGUS");
  row.executor_id = "elsewhere";
  row.inputs = serialization::EncodeWorkflowInput(1);
  ASSERT_TRUE(OpenRaw()->InsertWorkflow(row).created);
  auto handle = RetrieveWorkflow<int>(ctx_, "bogus-status");
  auto result = std::async(std::launch::async, [&] { return ResultError(handle); });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    Shutdown(ctx_);  // ends the wait, so the test fails instead of hanging
    ADD_FAILURE() << "GetResult still waits on a row with an unknown status";
  }
  const std::string message = result.get();
  EXPECT_NE(message.find("has the status 'BOGUS'"), std::string::npos) << message;
}

// The system-database operations `run` makes, by name (a fault injector that injects nothing).
// The counts are shared with the injector's copies: a call already under way on another thread
// when the injector goes may still count.
std::map<std::string, int> CountOperations(const std::function<void()>& run) {
  struct Counts {
    std::mutex mutex;
    std::map<std::string, int> by_operation;
  };
  auto counts = std::make_shared<Counts>();
  {
    sysdb::testing::ScopedFaultInjector counter([counts](const sysdb::testing::FaultSite& site) {
      std::lock_guard lock(counts->mutex);
      ++counts->by_operation[site.operation];
      return sysdb::testing::Fault{};
    });
    run();
  }
  std::lock_guard lock(counts->mutex);
  return counts->by_operation;
}

// A handle polling a workflow that runs elsewhere reads the whole row (inputs, output) at its
// first look (one query when the workflow has ended already), then only the status on each poll,
// and the whole row again once, when it is terminal.
TEST_P(WorkflowTest, PollingHandleReadsOnlyTheStatusUntilTheWorkflowEnds) {
  RunWorkflow(ctx_, SleepsThenReturns, 300, WithWorkflowID("polled"));
  DBOSContext client = NewDBOSContext(MakeConfig());  // not launched: it can only poll
  auto handle = RetrieveWorkflow<int>(client, "polled");
  auto reads = CountOperations([&] { EXPECT_EQ(handle.GetResult(), 300); });
  EXPECT_GE(reads["GetWorkflowStatusString"], 2);
  EXPECT_EQ(reads["GetWorkflow"], 2);
  Shutdown(client);
}

// A handle to a workflow that has ended reads its outcome at once: RetrieveWorkflow's read and
// one more, no status polls.
TEST_P(WorkflowTest, RetrievingAnEndedWorkflowReadsItsOutcomeInOneQuery) {
  EXPECT_EQ(RunWorkflow(ctx_, SleepsThenReturns, 1, WithWorkflowID("ended")).GetResult(), 1);
  DBOSContext client = NewDBOSContext(MakeConfig());
  auto reads =
      CountOperations([&] { EXPECT_EQ(RetrieveWorkflow<int>(client, "ended").GetResult(), 1); });
  EXPECT_EQ(reads["GetWorkflowStatusString"], 0);
  EXPECT_EQ(reads["GetWorkflow"], 2);
  Shutdown(client);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(WorkflowTest);

}  // namespace
}  // namespace dbos::testing
