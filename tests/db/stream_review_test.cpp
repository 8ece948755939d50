// Streams under stress: a ReadStream inside a step that cancellation or shutdown of the reading
// workflow must end.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"

namespace dbos::testing::stream_review_fns {

// Stays PENDING without writing until it receives "end" (or a minute passes).
int IdleWriter(DBOSContext& ctx, int) {
  Recv<int>(ctx, "end", std::chrono::seconds(60));
  return 0;
}

std::atomic<bool> g_reading{false};  // ReadInStep's step is about to read

// Reads `writer`'s stream from inside a step: returns the number of values.
int ReadInStep(DBOSContext& ctx, std::string writer) {
  return RunAsStep(
      ctx,
      [&] {
        g_reading = true;
        return static_cast<int>(ReadStream<int>(ctx, writer, "k").values.size());
      },
      WithStepName("reader"));
}

}  // namespace dbos::testing::stream_review_fns

namespace dbos::testing {
namespace {
using namespace stream_review_fns;

// How soon an interrupted reader must return (generous for sanitizer builds on a busy machine).
constexpr auto kPrompt = std::chrono::seconds(5);

class StreamReviewTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_reading = false;
  }

  // Waits until ReadInStep's step is about to read (a read started after the interruption is
  // interrupted too, so this is enough).
  static void AwaitReading() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!g_reading && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(g_reading);
  }

  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }

  DBOSContext Launched() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, IdleWriter);
    RegisterWorkflow(ctx, ReadInStep);
    Launch(ctx);
    return ctx;
  }
};

// The writer never ends on its own; the reading workflow is cancelled while its step waits in
// ReadStream: the wait ends at once and the workflow ends CANCELLED.
TEST_P(StreamReviewTest, ReadInsideAStepEndsWhenTheReadingWorkflowIsCancelled) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, IdleWriter, 0, WithWorkflowID("writer"));
  auto handle = RunWorkflow(ctx, ReadInStep, std::string("writer"), WithWorkflowID("reader"));
  auto result = std::async(std::launch::async, [&] {
    try {
      handle.GetResult();
    } catch (const DBOSError& e) {
      return e.Code();
    }
    return ErrorCode::ConflictingID;  // stands for "no error"
  });
  AwaitReading();
  CancelWorkflow(ctx, "reader");
  const bool ended = result.wait_for(kPrompt) == std::future_status::ready;
  EXPECT_TRUE(ended) << "the step's ReadStream kept waiting after its workflow was cancelled";
  Send(ctx, "writer", 1, "end");  // lets a stuck reader go, so that the test ends either way
  EXPECT_EQ(result.get(), ErrorCode::AwaitedWorkflowCancelled);
  Shutdown(ctx);
}

// Shutdown interrupts a step waiting in ReadStream like any other wait of a workflow: it returns
// within its timeout, and the reader stays PENDING for recovery.
TEST_P(StreamReviewTest, ShutdownEndsAReadInsideAStep) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, IdleWriter, 0, WithWorkflowID("writer"));
  RunWorkflow(ctx, ReadInStep, std::string("writer"), WithWorkflowID("reader"));
  AwaitReading();
  const auto start = std::chrono::steady_clock::now();
  auto shutdown = std::async(std::launch::async, [&] { Shutdown(ctx); });
  const bool ended = shutdown.wait_for(kPrompt) == std::future_status::ready;
  EXPECT_TRUE(ended) << "shutdown waited for a step blocked in ReadStream";
  if (!ended) {
    // Let the stuck reader go (through another context on the same database).
    DBOSContext other = NewDBOSContext(MakeConfig());
    CancelWorkflow(other, "writer");
    shutdown.wait();
    Shutdown(other);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPrompt + std::chrono::seconds(1));
  EXPECT_EQ(RunSql(url_, "SELECT status FROM " + Table("workflow_status") +
                             " WHERE workflow_uuid = 'reader'"),
            (Rows{{"PENDING"}}));
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(StreamReviewTest);

}  // namespace
}  // namespace dbos::testing
