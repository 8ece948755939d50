// A permanent system database failure under a running workflow (here: a corrupted page, as the
// fault injector reports it) is not the workflow's outcome: nothing is recorded, the workflow
// stays PENDING and runs again when recovered, and its local waiters get an error that says so.
// This holds when the workflow's code lets the exception through and when it catches it and
// returns a value, for steps and for messaging calls alike.
#include <sqlite3.h>

#include <atomic>
#include <string>

#include "support/db_test.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::infra_fns {

std::atomic<int> g_step_runs{0};

int Step() { return ++g_step_runs; }

// Lets every exception through.
int RunsAStep(DBOSContext& ctx, int x) { return RunAsStep(ctx, Step) + x; }

// Catches everything and returns a fallback.
int CatchesEverything(DBOSContext& ctx, int x) {
  try {
    return RunAsStep(ctx, Step) + x;
  } catch (...) {
    return -1;
  }
}

// Catches the failure of SetEvent and returns a fallback.
int CatchesSetEventFailure(DBOSContext& ctx, int x) {
  try {
    SetEvent(ctx, "key", x);
  } catch (const DBOSError&) {
    return -1;
  }
  return x;
}

}  // namespace dbos::testing::infra_fns

namespace dbos::testing {
namespace {
using namespace infra_fns;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

class InfrastructureFailureTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_step_runs = 0;
  }
  void TearDown() override {
    sysdb::testing::SetFaultInjector(nullptr);
    DbTest::TearDown();
  }

  DBOSContext Start() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, RunsAStep);
    RegisterWorkflow(ctx, CatchesEverything);
    RegisterWorkflow(ctx, CatchesSetEventFailure);
    Launch(ctx);
    return ctx;
  }

  // Fails the first statement of `operation` permanently, as a corrupted database page does.
  ScopedFaultInjector CorruptFirst(const std::string& operation) {
    return FailFirst(operation, "XX001", SQLITE_CORRUPT);  // data_corrupted
  }
  // Fails the first statement of `operation` with `sqlstate` (PostgreSQL) or `sqlite_code`.
  ScopedFaultInjector FailFirst(const std::string& operation, const std::string& sqlstate,
                                int sqlite_code) {
    return ScopedFaultInjector([this, operation, sqlstate, sqlite_code](const FaultSite& site) {
      if (site.operation != operation || injected_.fetch_add(1) != 0) return Fault{};
      Fault fault;
      fault.kind = Fault::Kind::kBeforeExecute;
      fault.sqlstate = sqlstate;
      fault.sqlite_code = sqlite_code;
      return fault;
    });
  }

  // The message of the DBOSError GetResult throws ("" and a failure when it returns).
  static std::string ResultError(WorkflowHandle<int> handle) {
    try {
      const int value = handle.GetResult();
      ADD_FAILURE() << "expected a DBOSError, got " << value;
    } catch (const DBOSError& e) {
      return e.Message();
    }
    return "";
  }

  void ExpectPendingWithoutOutcome(const std::string& id) {
    const auto row = OpenRaw()->GetWorkflow(id, true);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->status, "PENDING");
    EXPECT_FALSE(row->output.has_value());
    EXPECT_FALSE(row->error.has_value());
  }

  std::atomic<int> injected_{0};
};

TEST_P(InfrastructureFailureTest, PermanentFailureThroughTheWorkflowLeavesItPending) {
  DBOSContext ctx = Start();
  {
    auto injector = CorruptFirst("RecordStep");
    const std::string message =
        ResultError(RunWorkflow(ctx, RunsAStep, 1, WithWorkflowID("through")));
    EXPECT_NE(message.find("stays PENDING"), std::string::npos) << message;
  }
  EXPECT_EQ(injected_.load(), 1);
  ExpectPendingWithoutOutcome("through");
  Shutdown(ctx);
}

// A database the process may not write (a read-only SQLite file; on PostgreSQL a revoked
// privilege) fails at once rather than being retried forever, and is not the workflow's outcome.
TEST_P(InfrastructureFailureTest, ReadOnlyDatabaseLeavesTheWorkflowPending) {
  DBOSContext ctx = Start();
  {
    auto injector = FailFirst("RecordStep", "42501", SQLITE_READONLY);
    const std::string message =
        ResultError(RunWorkflow(ctx, CatchesEverything, 1, WithWorkflowID("read-only")));
    EXPECT_NE(message.find("stays PENDING"), std::string::npos) << message;
  }
  EXPECT_EQ(injected_.load(), 1);  // not retried
  ExpectPendingWithoutOutcome("read-only");
  Shutdown(ctx);
}

TEST_P(InfrastructureFailureTest, PermanentFailureCaughtByTheWorkflowIsNotItsSuccess) {
  {
    DBOSContext ctx = Start();
    auto injector = CorruptFirst("RecordStep");
    const std::string message =
        ResultError(RunWorkflow(ctx, CatchesEverything, 1, WithWorkflowID("caught")));
    EXPECT_NE(message.find("stays PENDING"), std::string::npos) << message;
    ExpectPendingWithoutOutcome("caught");
    Shutdown(ctx);
  }
  // Recovered at the next launch, it ends with its real result.
  DBOSContext ctx = Start();
  const int result = RetrieveWorkflow<int>(ctx, "caught").GetResult();
  EXPECT_EQ(g_step_runs.load(), 2);  // its step ran again: its first outcome was never recorded
  EXPECT_EQ(result, 3);
  EXPECT_EQ(OpenRaw()->GetWorkflow("caught", false)->status, "SUCCESS");
  Shutdown(ctx);
}

TEST_P(InfrastructureFailureTest, PermanentFailureOfAMessagingCallCaughtIsNotItsSuccess) {
  DBOSContext ctx = Start();
  {
    auto injector = CorruptFirst("SetEvent");
    const std::string message =
        ResultError(RunWorkflow(ctx, CatchesSetEventFailure, 3, WithWorkflowID("event")));
    EXPECT_NE(message.find("stays PENDING"), std::string::npos) << message;
  }
  EXPECT_EQ(injected_.load(), 1);
  ExpectPendingWithoutOutcome("event");
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(InfrastructureFailureTest);

}  // namespace
}  // namespace dbos::testing
