// Streams under stress: a ReadStream inside a step that cancellation or shutdown of the reading
// workflow must end, many threads of one step appending to one stream at once (each value at its
// own offset, none refused), a reader woken when its writer reaches its deadline, and long
// streams read across pages from any offset, workflow writes whose commit replies are lost, and
// a reader outside workflows at shutdown.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "messaging/stream_reader.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"

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

constexpr int kThreads = 8;
constexpr int kValuesPerThread = 25;

// One step whose kThreads threads each append kValuesPerThread values to stream "k" at once.
int ConcurrentAppends(DBOSContext& ctx, int) {
  RunAsStep(
      ctx,
      [&] {
        std::vector<std::future<void>> writers;
        for (int t = 0; t < kThreads; ++t) {
          writers.push_back(std::async(std::launch::async, [&ctx, t] {
            for (int i = 0; i < kValuesPerThread; ++i) WriteStream(ctx, "k", t * 1000 + i);
          }));
        }
        for (auto& writer : writers) writer.get();  // rethrows a writer's error
        return 0;
      },
      WithStepName("appends"), WithStepMaxRetries(0));
  CloseStream(ctx, "k");
  return 0;
}

// Writes one value, then stays PENDING until it receives "end" (or a minute passes).
int WriteOneAndIdle(DBOSContext& ctx, int) {
  WriteStream(ctx, "k", 1);
  Recv<int>(ctx, "end", std::chrono::seconds(60));
  return 0;
}

// Writes 1 and 2, then closes.
int WriteTwoAndClose(DBOSContext& ctx, int) {
  WriteStream(ctx, "k", 1);
  WriteStream(ctx, "k", 2);
  CloseStream(ctx, "k");
  return 0;
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
    RegisterWorkflow(ctx, ConcurrentAppends);
    RegisterWorkflow(ctx, WriteOneAndIdle);
    RegisterWorkflow(ctx, WriteTwoAndClose);
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

// Eight threads of one step append 25 values each to one stream at once: every value is
// written, at offsets 0..199 with no gap, whatever the contention for the next offset.
TEST_P(StreamReviewTest, ConcurrentAppendsToOneStreamAllGetTheirOwnOffset) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, ConcurrentAppends, 0, WithWorkflowID("w")).GetResult();
  auto [values, closed] = ReadStream<int>(ctx, "w", "k");
  EXPECT_TRUE(closed);
  ASSERT_EQ(values.size(), static_cast<size_t>(kThreads * kValuesPerThread));
  // Each thread's values in its own order.
  std::vector<int> next(kThreads, 0);
  for (const int v : values) {
    const int t = v / 1000;
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(v % 1000, next[static_cast<size_t>(t)]++);
  }
  EXPECT_EQ(RunSql(url_, "SELECT count(*), min(\"offset\"), max(\"offset\") FROM " +
                             Table("streams") + " WHERE workflow_uuid = 'w'"),
            (Rows{{std::to_string(kThreads * kValuesPerThread + 1), "0",
                   std::to_string(kThreads * kValuesPerThread)}}));
  Shutdown(ctx);
}

// The writer reaches its deadline (cancelled by this process, not by CancelWorkflow): a reader
// that re-reads only once a minute is woken by its end, on SQLite too, where no NOTIFY comes.
TEST_P(StreamReviewTest, ReaderIsWokenWhenTheWriterReachesItsDeadline) {
  DBOSContext ctx = Launched();
  auto [timed, cancel] = WithTimeout(ctx, std::chrono::milliseconds(500));
  auto handle = RunWorkflow(timed, WriteOneAndIdle, 0, WithWorkflowID("w"));
  detail::Runtime& runtime = detail::RuntimeOf(ctx);
  runtime.EnsureListening();
  auto reader = std::async(std::launch::async, [&runtime] {
    const auto minute = std::chrono::minutes(1);
    messaging::StreamReaderEnv env{
        runtime.Db(), runtime.Notifications(), minute, minute, nullptr, nullptr, nullptr};
    return messaging::ReadStreamValues(env, messaging::StreamReadRequest{"w", "k", false, 0});
  });
  try {
    handle.GetResult();
  } catch (const DBOSError&) {
  }
  const bool woken = reader.wait_for(kPrompt) == std::future_status::ready;
  EXPECT_TRUE(woken) << "the reader waited for its poll after the writer was cancelled";
  if (!woken) {
    Shutdown(ctx);
    return;  // the reader ends at its poll, a minute later
  }
  const messaging::StreamValues read = reader.get();
  EXPECT_EQ(read.values, (std::vector<nlohmann::json>{1}));
  EXPECT_TRUE(read.closed);
  cancel();
  Shutdown(ctx);
}

// A finished writer's 2,500 values (more than one page of 1,000) are read whole, from any offset;
// an offset past the last value (even past the column's 32-bit range) reads nothing.
TEST_P(StreamReviewTest, LongStreamsAreReadAcrossPagesFromAnyOffset) {
  {
    auto db = OpenRaw();
    ASSERT_TRUE(db->InsertWorkflow(WorkflowRow("big", "elsewhere")).created);
  }
  const std::string rows =
      IsPostgres() ? "SELECT 'big', 'k', i::text, i, 0, 'portable_json' FROM "
                     "generate_series(0, 2499) AS i"
                   : "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < "
                     "2499) SELECT 'big', 'k', CAST(i AS TEXT), i, 0, 'portable_json' FROM c";
  RunSql(url_, "INSERT INTO " + Table("streams") +
                   " (workflow_uuid, key, value, \"offset\", function_id, serialization) " + rows);
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET status = 'SUCCESS' WHERE workflow_uuid = 'big'");
  DBOSContext ctx = Launched();
  auto [all, closed] = ReadStream<int>(ctx, "big", "k");
  ASSERT_EQ(all.size(), 2500u);
  for (int i = 0; i < 2500; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  EXPECT_TRUE(closed);
  auto [tail, tail_closed] = ReadStream<int>(ctx, "big", "k", WithReadStreamFromOffset(999));
  ASSERT_EQ(tail.size(), 1501u);
  EXPECT_EQ(tail.front(), 999);
  EXPECT_EQ(tail.back(), 2499);
  EXPECT_EQ(ReadStream<int>(ctx, "big", "k", WithReadStreamSnapshot()).values.size(), 2500u);
  auto [none, none_closed] =
      ReadStream<int>(ctx, "big", "k", WithReadStreamFromOffset(int64_t{3'000'000'000}));
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none_closed);
  Shutdown(ctx);
}

// Every WriteStream and CloseStream of a workflow commits and loses its reply: each retry finds
// its own checkpoint, so each value and the close marker are written once, and the workflow ends.
TEST_P(StreamReviewTest, WorkflowWritesWhoseRepliesAreLostAreWrittenOnce) {
  DBOSContext ctx = Launched();
  std::atomic<int> attempts{0};
  {
    sysdb::testing::ScopedFaultInjector injector([&](const sysdb::testing::FaultSite& site) {
      sysdb::testing::Fault fault;
      // Each call's first attempt commits and loses its reply; its retry goes through.
      if (std::string(site.statement) == "write_stream" && attempts.fetch_add(1) % 2 == 0) {
        fault.kind = sysdb::testing::Fault::Kind::kAfterCommit;
      }
      return fault;
    });
    RunWorkflow(ctx, WriteTwoAndClose, 0, WithWorkflowID("w")).GetResult();
  }
  EXPECT_EQ(attempts.load(), 6);
  auto [values, closed] = ReadStream<int>(ctx, "w", "k");
  EXPECT_EQ(values, (std::vector<int>{1, 2}));
  EXPECT_TRUE(closed);
  EXPECT_EQ(RunSql(url_, "SELECT \"offset\", value FROM " + Table("streams") +
                             " WHERE workflow_uuid = 'w' ORDER BY 1"),
            (Rows{{"0", "1"}, {"1", "2"}, {"2", "\"__DBOS_STREAM_CLOSED__\""}}));
  Shutdown(ctx);
}

// A reader outside any workflow waits for a writer that shutdown leaves PENDING (its stream stays
// open until another process recovers it): shutdown ends the read with a clear error instead of
// leaving the caller blocked.
TEST_P(StreamReviewTest, ShutdownEndsAReadOutsideWorkflows) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, IdleWriter, 0, WithWorkflowID("writer"));
  auto reader = std::async(std::launch::async, [ctx]() mutable {
    try {
      ReadStream<int>(ctx, "writer", "k");
    } catch (const DBOSError& e) {
      return e.Code();
    }
    return ErrorCode::ConflictingID;  // stands for "no error"
  });
  EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  Shutdown(ctx);
  const bool ended = reader.wait_for(kPrompt) == std::future_status::ready;
  EXPECT_TRUE(ended) << "the reader kept waiting after shutdown";
  if (!ended) {
    DBOSContext other = NewDBOSContext(MakeConfig());
    CancelWorkflow(other, "writer");  // its end lets the reader go at its next poll
    reader.wait();
    Shutdown(other);
    return;
  }
  EXPECT_EQ(reader.get(), ErrorCode::Initialization);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(StreamReviewTest);

}  // namespace
}  // namespace dbos::testing
