// Streams: values in order at offsets 0, 1, 2…, closing, writing after close, snapshot and offset
// reads, readers woken by writes and by the writer's end (in this process and, on PostgreSQL,
// from another connection) rather than by polling, readers of a writer that ended without closing
// or crashed, writes inside steps, replay and in-doubt commits that never write a value twice.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "messaging/stream_reader.hpp"
#include "serialization/codec.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"
#include "sysdb/core/fault_injection.hpp"
#include "util/time_util.hpp"

namespace dbos::testing::stream_fns {

std::atomic<bool> g_hold{false};  // WriteHoldClose holds before closing while set

void Hold(DBOSContext& ctx) {
  RunAsStep(
      ctx,
      [](std::stop_token token) {
        while (g_hold && !token.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return 0;
      },
      WithStepName("hold"));
}

// Writes a, b, c, holds while g_hold is set, then closes.
int WriteHoldClose(DBOSContext& ctx, int) {
  for (const char* v : {"a", "b", "c"}) WriteStream(ctx, "k", std::string(v));
  Hold(ctx);
  CloseStream(ctx, "k");
  return 0;
}

// Waits for "go", writes one value, waits for "close", closes; ends without closing when the
// second message is "end".
int WriteOnSignal(DBOSContext& ctx, int) {
  Recv<int>(ctx, "go", std::chrono::seconds(60));
  WriteStream(ctx, "k", std::string("v"));
  if (Recv<std::string>(ctx, "next", std::chrono::seconds(60)) == "close") CloseStream(ctx, "k");
  return 0;
}

// Writes two values and ends without closing.
int WriteTwoAndEnd(DBOSContext& ctx, int) {
  WriteStream(ctx, "k", 1);
  WriteStream(ctx, "k", 2);
  return 0;
}

// Closes, then writes: returns the error message.
std::string WriteAfterClose(DBOSContext& ctx, int) {
  WriteStream(ctx, "k", 1);
  CloseStream(ctx, "k");
  try {
    WriteStream(ctx, "k", 2);
  } catch (const DBOSError& e) {
    return std::string(ErrorCodeName(e.Code())) + ": " + e.Message();
  }
  return "written";
}

// Writes from inside a step (part of it), then closes from the workflow.
int WriteInStep(DBOSContext& ctx, int) {
  RunAsStep(
      ctx,
      [&] {
        WriteStream(ctx, "k", std::string("x"));
        WriteStream(ctx, "k", std::string("y"));
        return 0;
      },
      WithStepName("writer"));
  CloseStream(ctx, "k");
  return 0;
}

// CloseStream inside a step: the error code.
std::string CloseInStep(DBOSContext& ctx, int) {
  return RunAsStep(
      ctx,
      [&] {
        try {
          CloseStream(ctx, "k");
        } catch (const DBOSError& e) {
          return std::string(ErrorCodeName(e.Code())) + ": " + e.Message();
        }
        return std::string("closed");
      },
      WithStepName("s"));
}

// What the crashed run of ReplayedWriter wrote before the crash: its first value, "a".
std::string ReplayedWriter(DBOSContext& ctx, int) {
  WriteStream(ctx, "k", std::string("a"));
  WriteStream(ctx, "k", std::string("b"));
  CloseStream(ctx, "k");
  return "done";
}

// Reads another workflow's stream from inside a workflow (a recorded step).
std::vector<std::string> ReadInside(DBOSContext& ctx, std::string writer) {
  return ReadStream<std::string>(ctx, writer, "k").values;
}

// Reads its own stream: waiting for it to end is refused, a snapshot works.
std::string ReadOwn(DBOSContext& ctx, int) {
  WriteStream(ctx, "k", std::string("mine"));
  std::string out;
  try {
    ReadStream<std::string>(ctx, GetWorkflowID(ctx), "k");
  } catch (const DBOSError& e) {
    out = std::string(ErrorCodeName(e.Code())) + ";";
  }
  return out + ReadStream<std::string>(ctx, GetWorkflowID(ctx), "k", WithReadStreamSnapshot())
                   .values.at(0);
}

}  // namespace dbos::testing::stream_fns

namespace dbos::testing {
namespace {
using namespace stream_fns;
using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;
using Clock = std::chrono::steady_clock;

// Long enough that a reader returning sooner was woken, not polling.
constexpr auto kLongPoll = std::chrono::seconds(60);
// How soon a woken reader must return (generous for sanitizer builds on a busy machine).
constexpr auto kPrompt = std::chrono::seconds(3);

class StreamTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    g_hold = false;
  }
  void TearDown() override {
    g_hold = false;
    DbTest::TearDown();
  }

  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }

  DBOSContext Launched() {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, WriteHoldClose);
    RegisterWorkflow(ctx, WriteOnSignal);
    RegisterWorkflow(ctx, WriteTwoAndEnd);
    RegisterWorkflow(ctx, WriteAfterClose);
    RegisterWorkflow(ctx, WriteInStep);
    RegisterWorkflow(ctx, CloseInStep);
    RegisterWorkflow(ctx, ReplayedWriter);
    RegisterWorkflow(ctx, ReadInside);
    RegisterWorkflow(ctx, ReadOwn);
    Launch(ctx);
    return ctx;
  }

  // A reader on `ctx`'s database and notifier that polls only every minute: if it returns
  // promptly, a wake-up ended its wait.
  static std::future<messaging::StreamValues> ReadWithoutPolling(DBOSContext ctx,
                                                                 const std::string& id) {
    detail::Runtime& runtime = detail::RuntimeOf(ctx);
    runtime.EnsureListening();
    return std::async(std::launch::async, [&runtime, id] {
      messaging::StreamReaderEnv env{
          runtime.Db(), runtime.Notifications(), kLongPoll, kLongPoll, nullptr, nullptr, nullptr};
      return messaging::ReadStreamValues(env, messaging::StreamReadRequest{id, "k", false, 0});
    });
  }

  // A reader that re-reads every `poll` (the safety net where nothing pushes wake-ups).
  static std::future<messaging::StreamValues> ReadPolling(DBOSContext ctx, const std::string& id,
                                                          std::chrono::milliseconds poll) {
    detail::Runtime& runtime = detail::RuntimeOf(ctx);
    return std::async(std::launch::async, [&runtime, id, poll] {
      messaging::StreamReaderEnv env{
          runtime.Db(), runtime.Notifications(), poll, poll, nullptr, nullptr, nullptr};
      return messaging::ReadStreamValues(env, messaging::StreamReadRequest{id, "k", false, 0});
    });
  }

  // True when the future is still waiting after a short while (the reader blocks).
  static bool Blocks(std::future<messaging::StreamValues>& reader) {
    return reader.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout;
  }
};

TEST_P(StreamTest, ValuesAreReadInOrderAtOffsetsFromZeroUntilClosed) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, WriteHoldClose, 0, WithWorkflowID("w")).GetResult();
  auto [values, closed] = ReadStream<std::string>(ctx, "w", "k");
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(closed);
  // As DBOS Transact stores them: portable JSON at offsets 0.., the step's ID, the close marker
  // last; each write checkpointed as its own step.
  EXPECT_EQ(RunSql(url_, "SELECT \"offset\", value, function_id, serialization FROM " +
                             Table("streams") + " WHERE workflow_uuid = 'w' ORDER BY 1"),
            (Rows{{"0", "\"a\"", "0", "portable_json"},
                  {"1", "\"b\"", "1", "portable_json"},
                  {"2", "\"c\"", "2", "portable_json"},
                  {"3", "\"__DBOS_STREAM_CLOSED__\"", "4", "portable_json"}}));
  EXPECT_EQ(RunSql(url_, "SELECT function_id, function_name FROM " + Table("operation_outputs") +
                             " WHERE workflow_uuid = 'w' ORDER BY 1"),
            (Rows{{"0", "DBOS.writeStream"},
                  {"1", "DBOS.writeStream"},
                  {"2", "DBOS.writeStream"},
                  {"3", "hold"},
                  {"4", "DBOS.closeStream"}}));
  Shutdown(ctx);
}

TEST_P(StreamTest, WritingAfterCloseThrowsAndWritesNothing) {
  DBOSContext ctx = Launched();
  const std::string result = RunWorkflow(ctx, WriteAfterClose, 0, WithWorkflowID("w")).GetResult();
  EXPECT_NE(result.find("InvalidOption: stream 'k' is already closed"), std::string::npos)
      << result;
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("streams")), (Rows{{"2"}}));
  auto [values, closed] = ReadStream<int>(ctx, "w", "k");
  EXPECT_EQ(values, (std::vector<int>{1}));
  EXPECT_TRUE(closed);
  Shutdown(ctx);
}

TEST_P(StreamTest, SnapshotAndOffsetReadsOfAnOpenStream) {
  g_hold = true;
  DBOSContext ctx = Launched();
  auto handle = RunWorkflow(ctx, WriteHoldClose, 0, WithWorkflowID("w"));
  // Wait until the three values are there (the workflow holds before closing).
  const auto until = Clock::now() + std::chrono::seconds(20);
  while (ReadStream<std::string>(ctx, "w", "k", WithReadStreamSnapshot()).values.size() < 3 &&
         Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto [all, all_closed] = ReadStream<std::string>(ctx, "w", "k", WithReadStreamSnapshot());
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(all_closed);  // open: the writer still runs
  auto [tail, tail_closed] =
      ReadStream<std::string>(ctx, "w", "k", WithReadStreamSnapshot(), WithReadStreamFromOffset(1));
  EXPECT_EQ(tail, (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(tail_closed);
  EXPECT_TRUE(
      ReadStream<std::string>(ctx, "w", "k", WithReadStreamSnapshot(), WithReadStreamFromOffset(3))
          .values.empty());
  g_hold = false;
  handle.GetResult();
  auto [last, last_closed] = ReadStream<std::string>(ctx, "w", "k", WithReadStreamFromOffset(2));
  EXPECT_EQ(last, (std::vector<std::string>{"c"}));
  EXPECT_TRUE(last_closed);
  // A snapshot reports closed only when it read the close marker.
  EXPECT_TRUE(ReadStream<std::string>(ctx, "w", "k", WithReadStreamSnapshot()).closed);
  try {
    ReadStream<std::string>(ctx, "w", "k", WithReadStreamFromOffset(-1));
    ADD_FAILURE() << "a negative offset was accepted";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
  }
  Shutdown(ctx);
}

// The reader polls once a minute; a write (the close marker) wakes it at once.
TEST_P(StreamTest, BlockedReaderIsWokenByAWriteInThisProcess) {
  DBOSContext ctx = Launched();
  auto handle = RunWorkflow(ctx, WriteOnSignal, 0, WithWorkflowID("w"));
  auto reader = ReadWithoutPolling(ctx, "w");
  Send(ctx, "w", 1, "go");
  EXPECT_TRUE(Blocks(reader));  // one value, stream open: it waits
  const auto sent = Clock::now();
  Send(ctx, "w", std::string("close"), "next");
  ASSERT_EQ(reader.wait_for(kPrompt), std::future_status::ready);
  EXPECT_LT(Clock::now() - sent, kPrompt);
  const messaging::StreamValues read = reader.get();
  EXPECT_EQ(read.values, (std::vector<nlohmann::json>{"v"}));
  EXPECT_TRUE(read.closed);
  handle.GetResult();
  Shutdown(ctx);
}

// The writer ends without closing: its end wakes the reader, which gets the values written and
// closed = true.
TEST_P(StreamTest, ReaderOfAWriterThatEndsWithoutClosingIsWokenByItsEnd) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, WriteOnSignal, 0, WithWorkflowID("w"));
  auto reader = ReadWithoutPolling(ctx, "w");
  Send(ctx, "w", 1, "go");
  EXPECT_TRUE(Blocks(reader));
  Send(ctx, "w", std::string("end"), "next");
  ASSERT_EQ(reader.wait_for(kPrompt), std::future_status::ready);
  const messaging::StreamValues read = reader.get();
  EXPECT_EQ(read.values, (std::vector<nlohmann::json>{"v"}));
  EXPECT_TRUE(read.closed);
  Shutdown(ctx);
}

TEST_P(StreamTest, ReaderOfAFinishedWorkflowGetsItsValuesAndClosed) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, WriteTwoAndEnd, 0, WithWorkflowID("w")).GetResult();
  auto [values, closed] = ReadStream<int>(ctx, "w", "k");
  EXPECT_EQ(values, (std::vector<int>{1, 2}));
  EXPECT_TRUE(closed);
  auto [snapshot, snapshot_closed] = ReadStream<int>(ctx, "w", "k", WithReadStreamSnapshot());
  EXPECT_EQ(snapshot, (std::vector<int>{1, 2}));
  EXPECT_FALSE(snapshot_closed);  // no close marker was written
  Shutdown(ctx);
}

// A reader on another connection (another DBOSContext, with its own notifier, never launched,
// as in another process): on PostgreSQL NOTIFY wakes it, both for a write and for the writer's
// end, while it polls once a minute; SQLite has no way to push, and its poll finds them.
TEST_P(StreamTest, ReaderOnAnotherConnectionIsWokenByNotifyOrFindsTheEndByPolling) {
  DBOSContext ctx = Launched();
  DBOSContext other = NewDBOSContext(MakeConfig());
  for (const std::string next : {"close", "end"}) {
    SCOPED_TRACE(next);
    const std::string id = "w-" + next;
    RunWorkflow(ctx, WriteOnSignal, 0, WithWorkflowID(id));
    auto reader = IsPostgres() ? ReadWithoutPolling(other, id)
                               : ReadPolling(other, id, std::chrono::milliseconds(100));
    Send(ctx, id, 1, "go");
    EXPECT_TRUE(Blocks(reader));
    const auto sent = Clock::now();
    Send(ctx, id, next, "next");
    ASSERT_EQ(reader.wait_for(kPrompt), std::future_status::ready);
    EXPECT_LT(Clock::now() - sent, kPrompt);
    const messaging::StreamValues read = reader.get();
    EXPECT_EQ(read.values, (std::vector<nlohmann::json>{"v"}));
    EXPECT_TRUE(read.closed);
  }
  Shutdown(other);
  Shutdown(ctx);
}

// A writer that crashed stays PENDING: its stream may still grow (recovery resumes it), so a
// reader waits; a snapshot returns what was written. Cancelling the dead workflow ends the
// stream at once: the reader gets the values and closed = true.
TEST_P(StreamTest, ReaderOfACrashedWriterWaitsUntilItIsCancelled) {
  {
    auto db = OpenRaw();
    sysdb::WorkflowInsert row = WorkflowRow("dead", "elsewhere");
    row.executor_id = "gone";  // not this process's: nothing recovers it here
    ASSERT_TRUE(db->InsertWorkflow(row).created);
    for (int i = 0; i < 2; ++i) {
      sysdb::StreamWrite write;
      write.workflow_uuid = "dead";
      write.key = "k";
      write.value = std::to_string(i);
      write.function_id = i;
      sysdb::StepWrite checkpoint;
      checkpoint.workflow_uuid = "dead";
      checkpoint.function_id = i;
      checkpoint.function_name = "DBOS.writeStream";
      write.checkpoint = checkpoint;
      ASSERT_EQ(db->WriteStream(write).step.kind, sysdb::StepWriteResult::Kind::Inserted);
    }
  }
  DBOSContext ctx = Launched();
  auto [so_far, so_far_closed] = ReadStream<int>(ctx, "dead", "k", WithReadStreamSnapshot());
  EXPECT_EQ(so_far, (std::vector<int>{0, 1}));
  EXPECT_FALSE(so_far_closed);
  auto reader = ReadWithoutPolling(ctx, "dead");
  EXPECT_TRUE(Blocks(reader));
  CancelWorkflow(ctx, "dead");
  ASSERT_EQ(reader.wait_for(kPrompt), std::future_status::ready);
  const messaging::StreamValues read = reader.get();
  EXPECT_EQ(read.values, (std::vector<nlohmann::json>{0, 1}));
  EXPECT_TRUE(read.closed);
  Shutdown(ctx);
}

// The crashed run wrote "a" (recorded at step 0); recovery replays that write without writing it
// again and continues at offset 1.
TEST_P(StreamTest, RecoveredWriterDoesNotWriteRecordedValuesAgain) {
  {
    auto db = OpenRaw();
    sysdb::WorkflowInsert row = WorkflowRow("crashed", "dbos::testing::stream_fns::ReplayedWriter");
    row.inputs = serialization::EncodeWorkflowInput(0);
    ASSERT_TRUE(db->InsertWorkflow(row).created);
    sysdb::StreamWrite write;
    write.workflow_uuid = "crashed";
    write.key = "k";
    write.value = "\"a\"";
    sysdb::StepWrite checkpoint;
    checkpoint.workflow_uuid = "crashed";
    checkpoint.function_name = "DBOS.writeStream";
    write.checkpoint = checkpoint;
    ASSERT_EQ(db->WriteStream(write).step.kind, sysdb::StepWriteResult::Kind::Inserted);
  }
  DBOSContext ctx = Launched();  // recovers it
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "crashed").GetResult(), "done");
  auto [values, closed] = ReadStream<std::string>(ctx, "crashed", "k");
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(closed);
  Shutdown(ctx);
}

TEST_P(StreamTest, WritesInsideAStepArePartOfTheStep) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, WriteInStep, 0, WithWorkflowID("w")).GetResult();
  auto [values, closed] = ReadStream<std::string>(ctx, "w", "k");
  EXPECT_EQ(values, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(closed);
  EXPECT_EQ(RunSql(url_, "SELECT \"offset\", function_id FROM " + Table("streams") +
                             " WHERE workflow_uuid = 'w' ORDER BY 1"),
            (Rows{{"0", "0"}, {"1", "0"}, {"2", "1"}}));
  EXPECT_EQ(RunSql(url_, "SELECT function_id, function_name FROM " + Table("operation_outputs") +
                             " WHERE workflow_uuid = 'w' ORDER BY 1"),
            (Rows{{"0", "writer"}, {"1", "DBOS.closeStream"}}));
  const std::string in_step = RunWorkflow(ctx, CloseInStep, 0).GetResult();
  EXPECT_EQ(in_step, "StepExecution: cannot call CloseStream within a step");
  Shutdown(ctx);
}

TEST_P(StreamTest, BadCallsThrowClearErrors) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, WriteTwoAndEnd, 0, WithWorkflowID("w")).GetResult();
  const auto code_of = [](const std::function<void()>& call) {
    try {
      call();
    } catch (const DBOSError& e) {
      return e.Code();
    }
    return ErrorCode::ConflictingID;  // stands for "no error"
  };
  // A value of another type, an unknown workflow, writes outside a workflow, the reserved value.
  EXPECT_EQ(code_of([&] { ReadStream<std::string>(ctx, "w", "k"); }),
            ErrorCode::WorkflowUnexpectedType);
  EXPECT_EQ(code_of([&] { ReadStream<int>(ctx, "nobody", "k"); }), ErrorCode::NonExistentWorkflow);
  EXPECT_EQ(code_of([&] { WriteStream(ctx, "k", 1); }), ErrorCode::StepExecution);
  EXPECT_EQ(code_of([&] { CloseStream(ctx, "k"); }), ErrorCode::StepExecution);
  EXPECT_EQ(code_of([&] { WriteStream(ctx, "k", std::string("__DBOS_STREAM_CLOSED__")); }),
            ErrorCode::InvalidOption);
  // A workflow waiting for its own stream to end would wait for itself.
  EXPECT_EQ(RunWorkflow(ctx, ReadOwn, 0).GetResult(), "InvalidOption;mine");
  Shutdown(ctx);
}

// Inside a workflow a read is a recorded step: the replay returns what the first run read.
TEST_P(StreamTest, ReadInsideAWorkflowIsRecorded) {
  DBOSContext ctx = Launched();
  RunWorkflow(ctx, WriteTwoAndEnd, 0, WithWorkflowID("w")).GetResult();
  RunWorkflow(ctx, WriteHoldClose, 0, WithWorkflowID("strings")).GetResult();
  EXPECT_EQ(RunWorkflow(ctx, ReadInside, std::string("strings"), WithWorkflowID("r")).GetResult(),
            (std::vector<std::string>{"a", "b", "c"}));
  const Rows recorded = RunSql(url_, "SELECT function_name, output FROM " +
                                         Table("operation_outputs") + " WHERE workflow_uuid = 'r'");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0][0], "DBOS.readStream");
  EXPECT_EQ(nlohmann::json::parse(recorded[0][1]),
            (nlohmann::json{{"values", {"a", "b", "c"}}, {"closed", true}}));
  Shutdown(ctx);
}

// A write whose commit happened but whose reply was lost (or whose connection dropped) is
// retried: the checkpoint says it happened, so the value is written exactly once.
TEST_P(StreamTest, WriteRetriedAfterAFaultWritesTheValueOnce) {
  for (const auto kind : {Fault::Kind::kAfterCommit, Fault::Kind::kDropConnection}) {
    SCOPED_TRACE(kind == Fault::Kind::kAfterCommit ? "in-doubt commit" : "dropped connection");
    const std::string id = kind == Fault::Kind::kAfterCommit ? "doubt" : "dropped";
    auto db = OpenRaw();
    ASSERT_TRUE(db->InsertWorkflow(WorkflowRow(id, "elsewhere")).created);
    std::atomic<int> runs{0};
    sysdb::StreamWriteResult result;
    {
      ScopedFaultInjector injector([&](const FaultSite& site) {
        Fault fault;
        if (std::string(site.statement) == "write_stream" && runs.fetch_add(1) == 0) {
          fault.kind = kind;
        }
        return fault;
      });
      sysdb::StreamWrite write;
      write.workflow_uuid = id;
      write.key = "k";
      write.value = "7";
      sysdb::StepWrite checkpoint;
      checkpoint.workflow_uuid = id;
      checkpoint.function_name = "DBOS.writeStream";
      checkpoint.started_at_epoch_ms = checkpoint.completed_at_epoch_ms = 5;
      write.checkpoint = checkpoint;
      result = db->WriteStream(write);
    }
    EXPECT_GE(runs.load(), 2);  // it was retried
    EXPECT_EQ(result.step.kind, sysdb::StepWriteResult::Kind::Inserted);
    EXPECT_FALSE(result.stream_closed);
    EXPECT_EQ(RunSql(url_, "SELECT \"offset\", value FROM " + Table("streams") +
                               " WHERE workflow_uuid = '" + id + "'"),
              (Rows{{"0", "7"}}));
  }
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(StreamTest);

}  // namespace
}  // namespace dbos::testing
