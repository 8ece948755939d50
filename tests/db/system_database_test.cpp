// The system database contract, identical on both backends: the serialization of stored values,
// messages nobody here can decode, what a dequeue may claim, the cases the two dialects used to
// decide differently, and infrastructure failures that must be retried instead of surfacing.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <string_view>
#include <thread>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing {
namespace {

using sysdb::testing::Fault;
using sysdb::testing::FaultSite;
using sysdb::testing::ScopedFaultInjector;

// A workflow row as the executor writes it, with fixed test values.
sysdb::WorkflowInsert Row(const std::string& id, const std::string& status = "PENDING") {
  sysdb::WorkflowInsert row;
  row.workflow_uuid = id;
  row.status = status;
  row.name = "wf";
  row.executor_id = "local";
  row.application_version = "v1";
  row.inputs = "{}";
  row.creator_xid = id + "-x";
  row.now_ms = 1;
  return row;
}

// Holds a read that leads (it holds the read lane) until `n` readers have started, then a
// little longer, so that they have all queued behind it.
void AwaitStarted(const std::atomic<int>& started, int n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (started.load() < n && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

class SystemDatabaseTest : public DbTest {
 protected:
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  static sysdb::StepWrite Step(const std::string& id, int function_id,
                               const std::string& name = "s") {
    sysdb::StepWrite step;
    step.workflow_uuid = id;
    step.function_id = function_id;
    step.function_name = name;
    step.output = "1";
    step.started_at_epoch_ms = 5;
    step.completed_at_epoch_ms = 6;
    return step;
  }
  static sysdb::DequeueRequest Request(std::vector<std::string> names = {"wf"}) {
    sysdb::DequeueRequest request;
    request.queue_name = "q";
    request.executor_id = "local";
    request.application_version = "v1";
    request.accept_unversioned = true;
    request.now_ms = 100;
    request.application_name = "app";
    request.workflow_names = std::move(names);
    return request;
  }
  std::string Status(const std::string& id) {
    const Rows rows =
        RunSql(url_, "SELECT coalesce(status, 'NULL') FROM " + Table("workflow_status") +
                         " WHERE workflow_uuid = '" + id + "'");
    return rows.empty() ? "" : rows[0][0];
  }
};

TEST_P(SystemDatabaseTest, StoredValuesCarryTheirSerialization) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("w")).created);
  ASSERT_EQ(db->RecordStep(Step("w", 0)).kind, sysdb::StepWriteResult::Kind::Inserted);
  auto steps = db->ListSteps("w");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].serialization, sysdb::kPortableJson);
  EXPECT_EQ(db->GetWorkflow("w", true)->serialization, sysdb::kPortableJson);
  RunSql(url_, "INSERT INTO " + Table("workflow_events") +
                   " (workflow_uuid, key, value, serialization) VALUES ('w', 'k', 'e30=', "
                   "'DBOS_JSON')");
  auto event = db->GetEvent("w", "k");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->text, "e30=");
  EXPECT_EQ(event->serialization, "DBOS_JSON");
  EXPECT_FALSE(db->GetEvent("w", "absent").has_value());
}

// Starting an existing workflow again (RunWorkflow with the same ID) takes it over: the row keeps
// its input and status, and its executor becomes the caller's (enqueuing it again does not),
// identically on both dialects.
TEST_P(SystemDatabaseTest, InsertingAnExistingWorkflowTakesItOverWithoutChangingItsInput) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("p")).created);
  ASSERT_TRUE(db->InsertWorkflow(Row("e", "ENQUEUED")).created);
  for (const std::string id : {"p", "e"}) {
    auto again = Row(id, id == "p" ? "PENDING" : "ENQUEUED");  // run again / enqueue again
    again.executor_id = "other";
    again.inputs = "{\"changed\":true}";
    again.creator_xid = id + "-y";
    again.now_ms = 2;
    const auto result = db->InsertWorkflow(again);
    EXPECT_FALSE(result.created);
    EXPECT_EQ(result.status, id == "p" ? "PENDING" : "ENQUEUED");
  }
  EXPECT_EQ(RunSql(url_, "SELECT workflow_uuid, executor_id, CAST(updated_at AS TEXT) FROM " +
                             Table("workflow_status") + " ORDER BY workflow_uuid"),
            (Rows{{"e", "local", "2"}, {"p", "other", "2"}}));
  EXPECT_EQ(db->GetWorkflow("p", true)->inputs, "{}");
}

// A check accepting the messages written in one of `names` (or with a NULL serialization).
sysdb::MessageCheck ReadableIn(std::vector<std::string> names) {
  return [names](const sysdb::StoredValue& v) -> std::optional<std::string> {
    if (!v.serialization ||
        std::find(names.begin(), names.end(), *v.serialization) != names.end()) {
      return std::nullopt;
    }
    return "cannot read " + *v.serialization;
  };
}

// A message the caller cannot read is left for someone who can.
TEST_P(SystemDatabaseTest, ConsumeMessageNeverTakesAMessageItCannotDecode) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("r")).created);
  const std::string f = IsPostgres() ? "false" : "0";
  RunSql(url_, "INSERT INTO " + Table("notifications") +
                   " (message_uuid, destination_uuid, topic, message, created_at_epoch_ms, "
                   "serialization, consumed) VALUES ('m1', 'r', 't', 'x', 1, 'superjson', " +
                   f + "), ('m2', 'r', 't', '2', 2, NULL, " + f + ")");
  auto step = Step("r", 0, "DBOS.recv");
  auto blocked = db->ConsumeMessage("t", step, ReadableIn({sysdb::kPortableJson}));
  EXPECT_EQ(blocked.kind, sysdb::StepWriteResult::Kind::Inserted);
  EXPECT_FALSE(blocked.message.has_value());
  EXPECT_EQ(blocked.unreadable, "cannot read superjson");
  EXPECT_TRUE(db->ListSteps("r").empty());
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("notifications") +
                             " WHERE consumed = " + (IsPostgres() ? "true" : "1")),
            (Rows{{"0"}}));
  auto taken = db->ConsumeMessage("t", step, ReadableIn({sysdb::kPortableJson, "superjson"}));
  EXPECT_EQ(taken.message, "x");
  EXPECT_EQ(taken.serialization, "superjson");
  auto recorded = db->ListSteps("r");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].serialization, "superjson");
  // A NULL serialization (an older SDK's JSON) is always readable.
  auto legacy = db->ConsumeMessage("t", Step("r", 1, "DBOS.recv"), ReadableIn({}));
  EXPECT_EQ(legacy.message, "2");
  EXPECT_FALSE(legacy.serialization.has_value());
}

// Rows of another application, or of workflows this process has not registered, stay ENQUEUED.
TEST_P(SystemDatabaseTest, DequeueClaimsOnlyThisApplicationsRegisteredWorkflows) {
  auto db = OpenRaw();
  auto enqueue = [&](const std::string& id, const std::string& name,
                     std::optional<std::string> app) {
    auto row = Row(id, "ENQUEUED");
    row.name = name;
    row.queue_name = "q";
    row.application_name = std::move(app);
    ASSERT_TRUE(db->InsertWorkflow(row).created);
  };
  enqueue("mine", "wf", "app");
  enqueue("unnamed-app", "wf", std::nullopt);
  enqueue("other-app", "wf", "other");
  enqueue("unregistered", "ts-only", "app");
  auto claimed = db->DequeueWorkflows(Request());
  std::vector<std::string> ids;
  for (const auto& wf : claimed) ids.push_back(wf.workflow_uuid);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"mine", "unnamed-app"}));
  EXPECT_EQ(Status("other-app"), "ENQUEUED");
  EXPECT_EQ(Status("unregistered"), "ENQUEUED");
  EXPECT_TRUE(db->DequeueWorkflows(Request({})).empty());
}

TEST_P(SystemDatabaseTest, RecoveryLeavesOtherApplicationsAlone) {
  auto db = OpenRaw();
  auto mine = Row("mine");
  mine.application_name = "app";
  auto other = Row("other");
  other.application_name = "other";
  auto unnamed = Row("unnamed");
  ASSERT_TRUE(db->InsertWorkflow(mine).created);
  ASSERT_TRUE(db->InsertWorkflow(other).created);
  ASSERT_TRUE(db->InsertWorkflow(unnamed).created);
  auto ids = db->ReenqueuePendingWorkflows({"local"}, "v1", "app", 10);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"mine", "unnamed"}));
  EXPECT_EQ(Status("other"), "PENDING");
}

// A step that sets a key twice keeps the last value in the history, as in workflow_events.
TEST_P(SystemDatabaseTest, EventHistoryKeepsTheLastValueSetWithinAStep) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("w")).created);
  for (const char* value : {"\"first\"", "\"last\""}) {
    sysdb::EventWrite event;
    event.workflow_uuid = "w";
    event.key = "k";
    event.value = value;
    event.function_id = 3;
    ASSERT_EQ(db->SetEvent(event).kind, sysdb::StepWriteResult::Kind::Inserted);
  }
  EXPECT_EQ(RunSql(url_, "SELECT value FROM " + Table("workflow_events_history") +
                             " WHERE workflow_uuid = 'w' AND key = 'k'"),
            (Rows{{"\"last\""}}));
  EXPECT_EQ(db->GetEvent("w", "k")->text, "\"last\"");
}

// A Send from a workflow whose row is gone writes nothing, and says so the same way everywhere.
TEST_P(SystemDatabaseTest, SendFromAMissingWorkflowWritesNothing) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("dest")).created);
  sysdb::MessageWrite message;
  message.destination_uuid = "dest";
  message.topic = "t";
  message.message = "1";
  message.message_uuid = "m";
  message.now_ms = 1;
  message.checkpoint = Step("gone", 0, "DBOS.send");
  EXPECT_EQ(db->Send(message), sysdb::SendResult::WorkflowCancelled);
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("notifications")), (Rows{{"0"}}));
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("operation_outputs")), (Rows{{"0"}}));
}

// The wait watcher's probes, by what each waits for: IDs, topics and keys with quotes,
// backslashes and non-ASCII text reach the statement intact on both dialects; a probe of each
// kind answers only for what is there; the end of a workflow is news when its row is no longer
// PENDING, ENQUEUED or DELAYED, is gone, or has no status; duplicates each get their answer.
TEST_P(SystemDatabaseTest, FindWaitNewsAnswersEachProbeByWhatIsThere) {
  using Kind = sysdb::WaitProbe::Kind;
  auto db = OpenRaw();
  const std::string odd = "w \"q\" \\ é😀";
  for (const std::string& id : {odd, std::string("quiet"), std::string("done"),
                                std::string("delayed"), std::string("no-status")}) {
    ASSERT_TRUE(db->InsertWorkflow(Row(id, id == "delayed" ? "DELAYED" : "PENDING")).created);
  }
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET status = 'SUCCESS' WHERE workflow_uuid = 'done'");
  RunSql(url_, "UPDATE " + Table("workflow_status") +
                   " SET status = NULL WHERE workflow_uuid = 'no-status'");
  sysdb::MessageWrite message;
  message.destination_uuid = odd;
  message.topic = "t \"ü\"";
  message.message = "1";
  message.message_uuid = "m1";
  message.now_ms = 1;
  ASSERT_EQ(db->Send(message), sysdb::SendResult::Sent);
  sysdb::EventWrite event;
  event.workflow_uuid = odd;
  event.key = "k \\ ß";
  event.value = "1";
  event.function_id = 1;
  ASSERT_EQ(db->SetEvent(event).kind, sysdb::StepWriteResult::Kind::Inserted);
  sysdb::StepWrite step;
  step.workflow_uuid = odd;
  step.function_id = 1;
  step.function_name = "DBOS.recv";
  ASSERT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
  const std::vector<sysdb::WaitProbe> probes = {
      {Kind::kMessage, odd, "t \"ü\""},  // 0: there
      {Kind::kMessage, odd, "t"},        // 1: another topic
      {Kind::kMessage, "quiet", "t \"ü\""},
      {Kind::kEvent, odd, "k \\ ß"},  // 3: there
      {Kind::kEvent, odd, "k"},
      {Kind::kEvent, "quiet", "k \\ ß"},
      {Kind::kEnded, "quiet", ""},
      {Kind::kEnded, "done", ""},        // 7: ended
      {Kind::kEnded, "delayed", ""},     // still waiting to start
      {Kind::kEnded, "gone", ""},        // 9: no row
      {Kind::kEnded, "no-status", ""},   // 10: no status
      {Kind::kMessage, odd, "t \"ü\""},  // 11: a duplicate of 0
      {Kind::kStep, odd, "1"},           // 12: recorded
      {Kind::kStep, odd, "2"},
      {Kind::kStep, "quiet", "1"},
  };
  EXPECT_EQ(db->FindWaitNews(probes), (std::vector<size_t>{0, 3, 7, 9, 10, 11, 12}));
  EXPECT_EQ(db->FindWaitNews({}), std::vector<size_t>{});
  EXPECT_EQ(db->FindWaitNews({{Kind::kEnded, "done", ""}}), std::vector<size_t>{0});
}

// A row another tool left without a status can be cancelled.
TEST_P(SystemDatabaseTest, CancelWorksOnARowWithoutStatus) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("w")).created);
  RunSql(url_, "UPDATE " + Table("workflow_status") + " SET status = NULL");
  EXPECT_TRUE(db->CancelWorkflow("w", 5));
  EXPECT_EQ(Status("w"), "CANCELLED");
  EXPECT_FALSE(db->CancelWorkflow("absent", 5));
}

// Replays that wake together read their steps in one query (core/read_coalescer.hpp): while a
// read holds the step-read lane, the reads that arrive queue and share the next query. Each reader
// still gets exactly its own workflow's steps, in order (none for a workflow without any); a
// permanent failure of the shared query leaves each reader to read, and fail, alone.
TEST_P(SystemDatabaseTest, ConcurrentStepReadsShareAQueryAndEachGetsItsOwnSteps) {
  auto db = OpenRaw();
  constexpr int kWorkflows = 12;
  // IDs with a quote, a backslash and non-ASCII letters travel through the query's JSON intact.
  const auto id_of = [](int w) {
    const std::string n = std::to_string(w);
    return w % 3 == 1 ? "w\"" + n + "\\" : w % 3 == 2 ? "wé" + n + "ü" : "w" + n;
  };
  for (int w = 0; w < kWorkflows; ++w) {
    const std::string id = id_of(w);
    ASSERT_TRUE(db->InsertWorkflow(Row(id)).created);
    for (int f = w % 4; f > 0; --f) {  // w0 has none, w1 one, w2 two, w3 three, ...
      sysdb::StepWrite step = Step(id, f * 2, "s" + std::to_string(w));
      step.output = std::to_string(w * 100 + f);
      ASSERT_EQ(db->RecordStep(step).kind, sysdb::StepWriteResult::Kind::Inserted);
    }
  }
  std::atomic<int> shared_queries{0};
  std::atomic<int> lone_reads{0};
  std::atomic<int> started{0};
  std::atomic<bool> held{false};
  std::atomic<bool> fail_shared{false};
  ScopedFaultInjector injector([&](const FaultSite& site) {
    const std::string_view statement = site.statement;
    if (statement == "list_steps") ++lone_reads;
    if (statement == "list_steps_of_many") {
      ++shared_queries;
      if (fail_shared) {
        Fault f;
        f.kind = Fault::Kind::kBeforeExecute;
        if (IsPostgres())
          f.sqlstate = "42P01";  // undefined table: permanent
        else
          f.sqlite_code = 1;  // SQLITE_ERROR: permanent
        return f;
      }
    }
    // The first lone read holds the lane until every other reader is on its way to queue.
    if (statement == "list_steps" && !held.exchange(true)) AwaitStarted(started, 2 * kWorkflows);
    return Fault{};
  });
  const auto read_all = [&](std::vector<std::vector<sysdb::StepRow>>& out,
                            std::vector<std::string>& errors) {
    std::vector<std::thread> readers;
    for (int r = 0; r < 2 * kWorkflows; ++r) {  // every workflow read twice at once
      readers.emplace_back([&, r] {
        ++started;
        try {
          out[static_cast<size_t>(r)] = db->ListSteps(id_of(r % kWorkflows));
        } catch (const DBOSError& e) {
          errors[static_cast<size_t>(r)] = e.what();
        }
      });
      if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // r0 leads
    }
    for (auto& reader : readers) reader.join();
  };

  std::vector<std::vector<sysdb::StepRow>> steps(2 * kWorkflows);
  std::vector<std::string> errors(2 * kWorkflows);
  read_all(steps, errors);
  EXPECT_EQ(shared_queries.load(), 1);
  EXPECT_EQ(lone_reads.load(), 1);  // the leader's: the shared query answered everyone else
  for (int r = 0; r < 2 * kWorkflows; ++r) {
    const int w = r % kWorkflows;
    const auto& got = steps[static_cast<size_t>(r)];
    EXPECT_EQ(errors[static_cast<size_t>(r)], "");
    ASSERT_EQ(got.size(), static_cast<size_t>(w % 4)) << "reader " << r;
    for (size_t i = 0; i < got.size(); ++i) {
      const int f = static_cast<int>(i) + 1;
      EXPECT_EQ(got[i].function_id, f * 2);
      EXPECT_EQ(got[i].function_name, "s" + std::to_string(w));
      EXPECT_EQ(got[i].output, std::to_string(w * 100 + f));
    }
  }

  // The shared query fails for good: each reader then reads alone and gets its own outcome.
  held = false;
  fail_shared = true;
  shared_queries = 0;
  started = 0;
  std::vector<std::vector<sysdb::StepRow>> again(2 * kWorkflows);
  std::vector<std::string> again_errors(2 * kWorkflows);
  read_all(again, again_errors);
  EXPECT_GE(shared_queries.load(), 1);
  for (int r = 0; r < 2 * kWorkflows; ++r) {
    EXPECT_EQ(again_errors[static_cast<size_t>(r)], "") << "reader " << r;
    EXPECT_EQ(again[static_cast<size_t>(r)].size(), static_cast<size_t>((r % kWorkflows) % 4));
  }
}

// A failure retrying cannot fix reaches the caller as a DBOSError naming the operation, never as
// a driver's own exception type.
TEST_P(SystemDatabaseTest, PermanentFailuresAreDBOSErrors) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("w")).created);
  RunSql(url_, "DROP TABLE " + Table("workflow_events"));
  try {
    db->GetEvent("w", "k");
    FAIL() << "GetEvent on a dropped table returned";
  } catch (const DBOSError& e) {
    EXPECT_NE(std::string(e.what()).find("GetEvent"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "not a DBOSError: " << e.what();
  }
}

// Disk full, out of memory, a read-only standby after failover, a statement timeout (PostgreSQL)
// and SQLITE_FULL / SQLITE_IOERR (SQLite) pass: the operation is retried, not failed.
TEST_P(SystemDatabaseTest, InfrastructureErrorsAreRetried) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("w")).created);
  const std::vector<Fault> faults = [&] {
    std::vector<Fault> out;
    if (IsPostgres()) {
      for (const char* state : {"53100", "53200", "25006", "57014"}) {
        Fault f;
        f.kind = Fault::Kind::kBeforeExecute;
        f.sqlstate = state;
        out.push_back(f);
      }
    } else {
      for (int code : {13 /* SQLITE_FULL */, 10 /* SQLITE_IOERR */, 10 | (3 << 8)}) {
        Fault f;
        f.kind = Fault::Kind::kBeforeExecute;
        f.sqlite_code = code;
        out.push_back(f);
      }
    }
    return out;
  }();
  int step = 0;
  for (const Fault& fault : faults) {
    std::atomic<int> injected{0};
    ScopedFaultInjector injector([&](const FaultSite& site) {
      if (std::string(site.operation) == "RecordStep" && injected.fetch_add(1) == 0) return fault;
      return Fault{};
    });
    auto result = db->RecordStep(Step("w", step));
    EXPECT_EQ(result.kind, sysdb::StepWriteResult::Kind::Inserted)
        << "sqlstate " << fault.sqlstate << " code " << fault.sqlite_code;
    EXPECT_GE(injected.load(), 2);
    ++step;
  }
  EXPECT_EQ(db->ListSteps("w").size(), faults.size());
}

// Transient failures are retried without limit (an outage pauses work), but not once DBOS shuts
// down: Shutdown must not wait forever for threads retrying against a database that stays down.
TEST_P(SystemDatabaseTest, DatabaseThatStaysDownDoesNotHangShutdown) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext&, int x) { return x; };
  RegisterWorkflow(ctx, wf, WithWorkflowName("queued"));  // so that each round dequeues
  Launch(ctx);
  std::atomic<int> failed{0};
  ScopedFaultInjector injector([&](const FaultSite&) {
    failed.fetch_add(1);
    Fault f;
    f.kind = Fault::Kind::kDropConnection;  // every statement from now on: the server is gone
    return f;
  });
  // The queue runner's next round (about a second) starts retrying against the dead database.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (failed.load() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(failed.load(), 0);
  auto done = std::async(std::launch::async, [&] { Shutdown(ctx, std::chrono::seconds(1)); });
  EXPECT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "Shutdown still waits for a retry loop";
  done.wait();
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(SystemDatabaseTest);

}  // namespace
}  // namespace dbos::testing

namespace dbos::testing {
namespace {

// Behaviour of one backend only, on a fresh database of that backend.
class SqliteOnlyTest : public DbTest {};
class PostgresOnlyTest : public DbTest {};

// A waiting Recv polls ConsumeMessage. With nothing to take, the poll must not queue for the write
// lock: with 20,000 waiters, polls taking BEGIN IMMEDIATE starve every writer.
TEST_P(SqliteOnlyTest, PollingWithNothingToTakeDoesNotWaitForTheWriteLock) {
  auto db = OpenRaw();
  ASSERT_TRUE(db->InsertWorkflow(Row("r")).created);
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(url_.substr(std::string("sqlite:").size()).c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  sysdb::StepWrite step;
  step.workflow_uuid = "r";
  step.function_id = 0;
  step.function_name = "DBOS.recv";
  auto poll =
      std::async(std::launch::async, [&] { return db->ConsumeMessage("t", step, nullptr); });
  const bool answered = poll.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);  // lets a blocked poll finish
  sqlite3_close(writer);
  EXPECT_TRUE(answered) << "a poll with nothing to take waited for another writer's lock";
  const auto result = poll.get();
  EXPECT_FALSE(result.message.has_value());
  EXPECT_TRUE(db->ListSteps("r").empty());
}

// Pooled connections notice a silently dead server within about a minute, like the listener.
TEST_P(PostgresOnlyTest, PooledConnectionsUseKeepalivesAndAUserTimeout) {
  auto db = OpenRaw();
  ASSERT_FALSE(db->GetWorkflowStatusString("absent").has_value());  // a pooled connection is open
  int checked = 0;
  for (int fd = 3; fd < 4096; ++fd) {
    int type = 0;
    socklen_t length = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) continue;
    if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) continue;
    int keepalive = 0;
    length = sizeof(keepalive);
    ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &length), 0);
    unsigned int user_timeout = 0;
    length = sizeof(user_timeout);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, &length), 0);
    EXPECT_EQ(keepalive, 1) << "socket " << fd;
    EXPECT_GT(user_timeout, 0u) << "socket " << fd;
    ++checked;
  }
  EXPECT_GE(checked, 1) << "no TCP connection to the server found";
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteOnlyTest, ::testing::Values("sqlite"), BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, PostgresOnlyTest, ::testing::Values("postgres"), BackendName);

}  // namespace
}  // namespace dbos::testing
