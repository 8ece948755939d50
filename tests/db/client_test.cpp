// The Client on both backends, beside an executor on the same system database: what an enqueue
// stores (unversioned, portable JSON) and each of its options (ID, version, timeout starting at
// dequeue, deduplication, priority, partition, delay); messages, events, handles, cancellation,
// listing, steps, resume and fork between a client and a context; bad input refused with nothing
// written; a database that is not a DBOS system database refused with nothing created.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "sysdb/core/fault_injection.hpp"

namespace dbos::testing::client_fns {

std::string Greet(DBOSContext&, std::string who) { return "hello " + who; }

struct Order {
  std::string item;
  int quantity = 0;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(Order, item, quantity)
};
struct Receipt {
  std::string line;
  int total = 0;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(Receipt, line, total)
};
Receipt Place(DBOSContext&, Order order) {
  return {order.item + " x" + std::to_string(order.quantity), order.quantity * 3};
}

// Waits for a message on "in", publishes "<prefix><message>" as event "out", returns the message.
std::string Echo(DBOSContext& ctx, std::string prefix) {
  const auto message = Recv<std::string>(ctx, "in", std::chrono::seconds(60));
  SetEvent(ctx, "out", prefix + message);
  return message;
}

// Writes "<input>-0" and "<input>-1" to stream "out", one at a time after a message on "next",
// then closes it.
std::string Streamer(DBOSContext& ctx, std::string input) {
  for (int i = 0; i < 2; ++i) {
    Recv<std::string>(ctx, "next", std::chrono::seconds(60));
    WriteStream(ctx, "out", input + "-" + std::to_string(i));
  }
  CloseStream(ctx, "out");
  return input;
}

// Waits a minute for a message nobody sends (a cancellation or a timeout ends it at once).
std::string Hold(DBOSContext& ctx, std::string input) {
  Recv<std::string>(ctx, "never", std::chrono::seconds(60));
  return input;
}

// Two recorded steps; counts the runs of the first.
std::atomic<int> g_step_a_runs{0};
std::string TwoSteps(DBOSContext& ctx, std::string input) {
  const std::string a = RunAsStep(
      ctx,
      [&] {
        ++g_step_a_runs;
        return input + "-a";
      },
      WithStepName("a"));
  return RunAsStep(
      ctx, [&] { return a + "-b"; }, WithStepName("b"));
}

// Waits for a message on "go" and returns it after the input.
std::string WaitForGo(DBOSContext& ctx, std::string input) {
  return input + Recv<std::string>(ctx, "go", std::chrono::seconds(60));
}

// Start order of Work, and a gate that Blocker holds its queue slot on.
std::mutex g_mutex;
std::condition_variable g_cv;
std::vector<std::string> g_order;
bool g_open = false;
bool g_blocked = false;

std::string Work(DBOSContext&, std::string input) {
  std::lock_guard lock(g_mutex);
  g_order.push_back(input);
  return input;
}

std::string Blocker(DBOSContext&, std::string input) {
  std::unique_lock lock(g_mutex);
  g_blocked = true;
  g_cv.notify_all();
  g_cv.wait_for(lock, std::chrono::seconds(30), [] { return g_open; });
  return input;
}

}  // namespace dbos::testing::client_fns

namespace dbos::testing {
namespace {
using namespace client_fns;
using namespace std::chrono_literals;

class ClientTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    std::lock_guard lock(g_mutex);
    g_order.clear();
    g_open = false;
    g_blocked = false;
  }

  ClientConfig MakeClientConfig() const {
    ClientConfig config;
    config.database_url = url_;
    config.database_schema = schema_;
    config.logger = logger_;
    return config;
  }

  // An executor (not launched yet) of `version` with every workflow and queue of these tests.
  // Constructing it creates the system database.
  DBOSContext Executor(const std::string& version = "test-v1",
                       const std::string& app_name = "dbos-test") const {
    Config config = MakeConfig(app_name);
    config.application_version = version;
    config.executor_id = "executor-" + version;
    DBOSContext ctx = NewDBOSContext(config);
    RegisterWorkflow(ctx, Greet, WithWorkflowName("Greet"));
    RegisterWorkflow(ctx, Place, WithWorkflowName("Place"));
    RegisterWorkflow(ctx, Echo, WithWorkflowName("Echo"));
    RegisterWorkflow(ctx, Hold, WithWorkflowName("Hold"));
    RegisterWorkflow(ctx, Work, WithWorkflowName("Work"));
    RegisterWorkflow(ctx, Blocker, WithWorkflowName("Blocker"));
    RegisterWorkflow(ctx, TwoSteps, WithWorkflowName("TwoSteps"));
    RegisterWorkflow(ctx, WaitForGo, WithWorkflowName("WaitForGo"));
    RegisterWorkflow(ctx, Streamer, WithWorkflowName("Streamer"));
    NewWorkflowQueue(ctx, "q");
    NewWorkflowQueue(ctx, "prio", WithPriorityEnabled(), WithWorkerConcurrency(1));
    NewWorkflowQueue(ctx, "parts", WithPartitionQueue());
    return ctx;
  }

  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }

  sysdb::WorkflowRow Row(const std::string& id) const {
    auto row = OpenRaw()->GetWorkflow(id, /*load_values=*/true);
    EXPECT_TRUE(row.has_value()) << id;
    return row.value_or(sysdb::WorkflowRow{});
  }

  std::string CountWorkflows() const {
    return RunSql(url_, "SELECT count(*) FROM " + Table("workflow_status")).at(0).at(0);
  }
};

bool Contains(const DBOSError& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

TEST_P(ClientTest, ADatabaseThatIsNotADbosSystemDatabaseIsRefusedAndNothingIsCreated) {
  if (IsPostgres()) {
    // A schema that does not exist (this test's schema_ was never created).
    auto e = ErrorOf([&] { NewClient(MakeClientConfig()); });
    EXPECT_EQ(e.Code(), ErrorCode::Initialization);
    EXPECT_TRUE(Contains(e, "is not a DBOS system database")) << e.what();
    EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = '" +
                               schema_ + "'")[0][0],
              "0");
    // A database that does not exist.
    const std::string database = UniqueName("no_such_db");
    ClientConfig config = MakeClientConfig();
    config.database_url = PostgresUrl(database);
    e = ErrorOf([&] { NewClient(config); });
    EXPECT_EQ(e.Code(), ErrorCode::Initialization);
    EXPECT_TRUE(Contains(e, database)) << e.what();
    EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = '" +
                               database + "'")[0][0],
              "0");
  } else {
    const std::string file = url_.substr(std::string("sqlite:").size());
    // A file that does not exist.
    auto e = ErrorOf([&] { NewClient(MakeClientConfig()); });
    EXPECT_EQ(e.Code(), ErrorCode::Initialization);
    EXPECT_TRUE(Contains(e, "cannot be opened")) << e.what();
    EXPECT_FALSE(std::filesystem::exists(file));
    // A SQLite database of another program: neither tables nor its journal mode change.
    RunSql(url_, "CREATE TABLE notes (body TEXT)");
    e = ErrorOf([&] { NewClient(MakeClientConfig()); });
    EXPECT_EQ(e.Code(), ErrorCode::Initialization);
    EXPECT_TRUE(Contains(e, "is not a DBOS system database")) << e.what();
    EXPECT_EQ(RunSql(url_, "SELECT group_concat(name) FROM sqlite_master"), Rows{{"notes"}});
    EXPECT_EQ(RunSql(url_, "PRAGMA journal_mode"), Rows{{"delete"}});
    // An in-memory database is always new and empty.
    ClientConfig memory = MakeClientConfig();
    memory.database_url = "sqlite::memory:";
    EXPECT_EQ(ErrorOf([&] { NewClient(memory); }).Code(), ErrorCode::Initialization);
  }
}

TEST_P(ClientTest, BadConfigurationIsRefused) {
  ClientConfig config = MakeClientConfig();
  config.database_schema = "bad schema";
  auto e = ErrorOf([&] { NewClient(config); });
  EXPECT_EQ(e.Code(), ErrorCode::Initialization);
  EXPECT_TRUE(Contains(e, "ClientConfig.database_schema")) << e.what();

  // No URL given and none in the environment.
  const std::string saved = GetEnv("DBOS_SYSTEM_DATABASE_URL");
  unsetenv("DBOS_SYSTEM_DATABASE_URL");
  e = ErrorOf([&] { NewClient(ClientConfig{}); });
  if (!saved.empty()) setenv("DBOS_SYSTEM_DATABASE_URL", saved.c_str(), 1);
  EXPECT_EQ(e.Code(), ErrorCode::Initialization);
  EXPECT_TRUE(Contains(e, "ClientConfig.database_url is required")) << e.what();

  EXPECT_EQ(ErrorOf([] { Client().CancelWorkflow("x"); }).Code(), ErrorCode::Initialization);
}

TEST_P(ClientTest, EnqueueStoresAnUnversionedPortableRowThatTheExecutorRuns) {
  DBOSContext ctx = Executor();
  Client client = NewClient(MakeClientConfig());
  auto handle = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("ann"),
                                                  WithEnqueueWorkflowID("c1"));
  EXPECT_EQ(handle.GetWorkflowID(), "c1");
  const sysdb::WorkflowRow row = Row("c1");
  EXPECT_EQ(row.status, "ENQUEUED");
  EXPECT_EQ(row.name, "Greet");
  EXPECT_EQ(row.queue_name, "q");
  EXPECT_FALSE(row.application_version.has_value());
  EXPECT_FALSE(row.application_name.has_value());
  EXPECT_EQ(row.executor_id, "");
  EXPECT_EQ(row.inputs, R"({"namedArgs":{},"positionalArgs":["ann"]})");
  EXPECT_EQ(row.serialization, "portable_json");
  EXPECT_FALSE(row.workflow_timeout_ms.has_value());
  EXPECT_EQ(row.priority, 0);

  // A generated ID, a struct input and result.
  auto placed = Enqueue<Order, Receipt>(client, "q", "Place", Order{"pen", 4});
  EXPECT_FALSE(placed.GetWorkflowID().empty());

  Launch(ctx);
  EXPECT_EQ(handle.GetResult(), "hello ann");
  const Receipt receipt = placed.GetResult();
  EXPECT_EQ(receipt.line, "pen x4");
  EXPECT_EQ(receipt.total, 12);
  EXPECT_EQ(client.RetrieveWorkflow<std::string>("c1").GetStatus().application_version, "test-v1");

  // The ID is the idempotency key: the same enqueue returns the recorded workflow; the ID of
  // another workflow is refused.
  EXPECT_EQ((Enqueue<std::string, std::string>(client, "q", "Greet", std::string("bob"),
                                               WithEnqueueWorkflowID("c1"))
                 .GetResult()),
            "hello ann");
  EXPECT_EQ(ErrorOf([&] {
              Enqueue<std::string>(client, "q", "Place", std::string("x"),
                                   WithEnqueueWorkflowID("c1"));
            }).Code(),
            ErrorCode::UnexpectedWorkflow);
  Shutdown(ctx);
}

TEST_P(ClientTest, UnversionedWorkflowsRunOnTheLatestVersionAndVersionedOnesOnTheirOwn) {
  DBOSContext old_ctx = Executor("v-old");
  DBOSContext new_ctx = Executor("v-new");
  Launch(old_ctx);
  Launch(new_ctx);
  // v-new is the latest: registered later, and made the newest for certain.
  RunSql(url_, "UPDATE " + Table("application_versions") +
                   " SET version_timestamp = 4102444800000 WHERE version_name = 'v-new'");
  detail::RuntimeOf(old_ctx).RefreshLatestVersion();
  detail::RuntimeOf(new_ctx).RefreshLatestVersion();
  ASSERT_FALSE(detail::RuntimeOf(old_ctx).IsLatestVersion());

  Client client = NewClient(MakeClientConfig());
  auto pinned = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("p"),
                                                  WithEnqueueApplicationVersion("v-old"));
  std::vector<WorkflowHandle<std::string>> unversioned;
  for (int i = 0; i < 4; ++i) {
    unversioned.push_back(
        Enqueue<std::string, std::string>(client, "q", "Greet", std::to_string(i)));
  }
  EXPECT_EQ(pinned.GetResult(), "hello p");
  EXPECT_EQ(pinned.GetStatus().application_version, "v-old");
  for (auto& handle : unversioned) {
    handle.GetResult();
    EXPECT_EQ(handle.GetStatus().application_version, "v-new");
    EXPECT_EQ(handle.GetStatus().executor_id, "executor-v-new");
  }
  Shutdown(old_ctx);
  Shutdown(new_ctx);
}

TEST_P(ClientTest, TimeoutClockStartsWhenTheWorkflowIsDequeued) {
  DBOSContext ctx = Executor();
  Client client = NewClient(MakeClientConfig());
  auto quick = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("t"),
                                                 WithEnqueueTimeout(300ms));
  auto held = Enqueue<std::string, std::string>(client, "q", "Hold", std::string("h"),
                                                WithEnqueueTimeout(300ms));
  sysdb::WorkflowRow row = Row(quick.GetWorkflowID());
  EXPECT_EQ(row.workflow_timeout_ms, 300);
  EXPECT_FALSE(row.workflow_deadline_epoch_ms.has_value());
  // More than the timeout passes before any executor runs: the clock has not started yet.
  std::this_thread::sleep_for(500ms);
  Launch(ctx);
  EXPECT_EQ(quick.GetResult(), "hello t");
  row = Row(quick.GetWorkflowID());
  ASSERT_TRUE(row.started_at_epoch_ms && row.workflow_deadline_epoch_ms);
  EXPECT_EQ(*row.workflow_deadline_epoch_ms, *row.started_at_epoch_ms + 300);
  // Once running, the timeout cancels the workflow.
  EXPECT_EQ(ErrorOf([&] { held.GetResult(); }).Code(), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(held.GetStatus().status, WorkflowStatusType::Cancelled);
  Shutdown(ctx);
}

TEST_P(ClientTest, DeduplicationIDAllowsOneActiveWorkflowPerQueue) {
  DBOSContext ctx = Executor();
  Client client = NewClient(MakeClientConfig());
  auto first = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("1"),
                                                 WithEnqueueDeduplicationID("d"));
  EXPECT_EQ(ErrorOf([&] {
              Enqueue<std::string>(client, "q", "Greet", std::string("2"),
                                   WithEnqueueDeduplicationID("d"));
            }).Code(),
            ErrorCode::QueueDeduplicated);
  // Another queue has its own deduplication IDs.
  auto other = Enqueue<std::string, std::string>(client, "prio", "Greet", std::string("3"),
                                                 WithEnqueueDeduplicationID("d"));
  Launch(ctx);
  EXPECT_EQ(first.GetResult(), "hello 1");
  EXPECT_EQ(other.GetResult(), "hello 3");
  // The first ended: the ID is free again.
  EXPECT_EQ((Enqueue<std::string, std::string>(client, "q", "Greet", std::string("4"),
                                               WithEnqueueDeduplicationID("d"))
                 .GetResult()),
            "hello 4");
  Shutdown(ctx);
}

// An enqueue whose commit happened but whose reply was lost is retried, and a caller may repeat
// an enqueue with its workflow ID: both find the row they wrote, not a duplicate of themselves.
TEST_P(ClientTest, RepeatedOrInDoubtEnqueueWithADeduplicationIDReturnsTheSameWorkflow) {
  DBOSContext ctx = Executor();
  Client client = NewClient(MakeClientConfig());
  std::atomic<int> injected{0};
  {
    sysdb::testing::ScopedFaultInjector injector([&](const sysdb::testing::FaultSite& site) {
      sysdb::testing::Fault fault;
      if (std::string(site.statement) == "insert_workflow" && injected.fetch_add(1) == 0) {
        fault.kind = sysdb::testing::Fault::Kind::kAfterCommit;
      }
      return fault;
    });
    auto first = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("1"),
                                                   WithEnqueueWorkflowID("dedup-wf"),
                                                   WithEnqueueDeduplicationID("d"));
    EXPECT_EQ(first.GetWorkflowID(), "dedup-wf");
  }
  EXPECT_GE(injected.load(), 2);
  auto again = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("1"),
                                                 WithEnqueueWorkflowID("dedup-wf"),
                                                 WithEnqueueDeduplicationID("d"));
  EXPECT_EQ(again.GetWorkflowID(), "dedup-wf");
  EXPECT_EQ(CountWorkflows(), "1");
  Launch(ctx);
  EXPECT_EQ(again.GetResult(), "hello 1");
  Shutdown(ctx);
}

TEST_P(ClientTest, PriorityOrdersTheQueueAndIsCheckedAgainstIt) {
  DBOSContext ctx = Executor();
  Launch(ctx);
  auto blocker = RunWorkflow(ctx, Blocker, std::string("b"), WithQueue("prio"));
  {
    std::unique_lock lock(g_mutex);
    ASSERT_TRUE(g_cv.wait_for(lock, 20s, [] { return g_blocked; }));
  }
  Client client = NewClient(MakeClientConfig());
  std::vector<WorkflowHandle<std::string>> handles;
  for (const auto& [input, priority] : std::vector<std::pair<std::string, int>>{
           {"five", 5}, {"none", 0}, {"one", 1}, {"three", 3}}) {
    if (priority == 0) {
      handles.push_back(Enqueue<std::string, std::string>(client, "prio", "Work", input));
    } else {
      handles.push_back(Enqueue<std::string, std::string>(client, "prio", "Work", input,
                                                          WithEnqueuePriority(priority)));
    }
    std::this_thread::sleep_for(3ms);  // distinct created_at
  }
  {
    std::lock_guard lock(g_mutex);
    g_open = true;
    g_cv.notify_all();
  }
  blocker.GetResult();
  for (auto& handle : handles) handle.GetResult();
  {
    std::lock_guard lock(g_mutex);
    EXPECT_EQ(g_order, (std::vector<std::string>{"none", "one", "three", "five"}));
  }
  EXPECT_EQ(Row(handles[0].GetWorkflowID()).priority, 5);

  // Checked against the queue the executor declared; nothing is written.
  const std::string before = CountWorkflows();
  auto e = ErrorOf(
      [&] { Enqueue<std::string>(client, "q", "Work", std::string("x"), WithEnqueuePriority(2)); });
  EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
  EXPECT_TRUE(Contains(e, "WithPriorityEnabled")) << e.what();
  e = ErrorOf([&] {
    Enqueue<std::string>(client, "prio", "Work", std::string("x"), WithEnqueuePriority(0));
  });
  EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
  EXPECT_TRUE(Contains(e, "between 1 and 2147483647")) << e.what();
  EXPECT_EQ(CountWorkflows(), before);
  Shutdown(ctx);
}

TEST_P(ClientTest, PartitionKeyAndDelay) {
  DBOSContext ctx = Executor();
  Launch(ctx);
  Client client = NewClient(MakeClientConfig());
  auto partitioned = Enqueue<std::string, std::string>(client, "parts", "Greet", std::string("p"),
                                                       WithEnqueueQueuePartitionKey("user-7"));
  EXPECT_EQ(partitioned.GetResult(), "hello p");
  EXPECT_EQ(Row(partitioned.GetWorkflowID()).queue_partition_key, "user-7");
  auto e = ErrorOf([&] { Enqueue<std::string>(client, "parts", "Greet", std::string("x")); });
  EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
  EXPECT_TRUE(Contains(e, "partitioned")) << e.what();
  // A key on a queue that is not partitioned is refused too, and nothing is written.
  const auto before = CountWorkflows();
  auto keyed = ErrorOf([&] {
    Enqueue<std::string>(client, "q", "Greet", std::string("x"),
                         WithEnqueueQueuePartitionKey("user-7"));
  });
  EXPECT_EQ(keyed.Code(), ErrorCode::InvalidOption);
  EXPECT_TRUE(Contains(keyed, "WithPartitionQueue")) << keyed.what();
  EXPECT_EQ(CountWorkflows(), before);

  auto delayed = Enqueue<std::string, std::string>(client, "q", "Greet", std::string("d"),
                                                   WithEnqueueDelay(400ms));
  EXPECT_EQ(Row(delayed.GetWorkflowID()).status, "DELAYED");
  EXPECT_EQ(delayed.GetResult(), "hello d");
  const sysdb::WorkflowRow row = Row(delayed.GetWorkflowID());
  ASSERT_TRUE(row.started_at_epoch_ms);
  EXPECT_GE(*row.started_at_epoch_ms - row.created_at, 400);
  Shutdown(ctx);
}

TEST_P(ClientTest, BadEnqueuesAreRefusedAndNothingIsWritten) {
  { DBOSContext create_database = Executor(); }
  Client client = NewClient(MakeClientConfig());
  auto expect_invalid = [&](const std::string& text, auto&& enqueue) {
    const DBOSError e = ErrorOf(enqueue);
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption) << e.what();
    EXPECT_TRUE(Contains(e, text)) << e.what();
  };
  const std::string in = "x";
  expect_invalid("queue name is required", [&] { Enqueue<std::string>(client, "", "Greet", in); });
  expect_invalid("workflow name is required", [&] { Enqueue<std::string>(client, "q", "", in); });
  expect_invalid("WithEnqueueWorkflowID", [&] {
    Enqueue<std::string>(client, "q", "Greet", in, WithEnqueueWorkflowID(""));
  });
  expect_invalid("queue name",
                 [&] { Enqueue<std::string>(client, std::string("q\0r", 3), "Greet", in); });
  expect_invalid("UTF-8", [&] { Enqueue<std::string>(client, "q", "Greet", std::string("\xff")); });
  expect_invalid("WithEnqueueTimeout must be positive",
                 [&] { Enqueue<std::string>(client, "q", "Greet", in, WithEnqueueTimeout(0ms)); });
  expect_invalid("WithEnqueuePriority",
                 [&] { Enqueue<std::string>(client, "q", "Greet", in, WithEnqueuePriority(-1)); });
  EXPECT_EQ(CountWorkflows(), "0");
}

TEST_P(ClientTest, MessagesEventsAndHandlesWorkBetweenAClientAndAContext) {
  DBOSContext ctx = Executor();
  Launch(ctx);
  Client client = NewClient(MakeClientConfig());
  auto echo = RunWorkflow(ctx, Echo, std::string("pong:"), WithWorkflowID("echo"));
  client.Send("echo", std::string("ping"), "in");
  EXPECT_EQ(client.GetEvent<std::string>("echo", "out", 30s), "pong:ping");
  auto retrieved = client.RetrieveWorkflow<std::string>("echo");
  EXPECT_EQ(retrieved.GetResult(), "ping");
  EXPECT_EQ(retrieved.GetStatus().status, WorkflowStatusType::Success);
  EXPECT_EQ(echo.GetResult(), "ping");

  // A workflow the client enqueued, driven by the context.
  auto enqueued = Enqueue<std::string, std::string>(client, "q", "Echo", std::string("re:"),
                                                    WithEnqueueWorkflowID("echo2"));
  Send(ctx, "echo2", std::string("hi"), "in");
  EXPECT_EQ(GetEvent<std::string>(ctx, "echo2", "out", 30s), "re:hi");
  EXPECT_EQ(enqueued.GetResult(), "hi");

  EXPECT_EQ(ErrorOf([&] { client.Send("missing", 1, ""); }).Code(), ErrorCode::NonExistentWorkflow);
  EXPECT_EQ(ErrorOf([&] { client.GetEvent<std::string>("echo", "nothing", 50ms); }).Code(),
            ErrorCode::Timeout);
  EXPECT_EQ(ErrorOf([&] { client.RetrieveWorkflow<std::string>("missing"); }).Code(),
            ErrorCode::NonExistentWorkflow);
  Shutdown(ctx);
}

TEST_P(ClientTest, ReadsAStreamAsItIsWritten) {
  DBOSContext ctx = Executor();
  Launch(ctx);
  Client client = NewClient(MakeClientConfig());
  auto streamer = RunWorkflow(ctx, Streamer, std::string("v"), WithWorkflowID("streamer"));
  EXPECT_TRUE(
      client.ReadStream<std::string>("streamer", "out", WithReadStreamSnapshot()).values.empty());
  client.Send("streamer", std::string("go"), "next");
  // A reader that waits: it sees the first value, then the second and the close.
  std::thread sender([&] {
    while (client.ReadStream<std::string>("streamer", "out", WithReadStreamSnapshot())
               .values.empty()) {
      std::this_thread::sleep_for(5ms);
    }
    client.Send("streamer", std::string("go"), "next");
  });
  auto [values, closed] = client.ReadStream<std::string>("streamer", "out");
  sender.join();
  EXPECT_EQ(values, (std::vector<std::string>{"v-0", "v-1"}));
  EXPECT_TRUE(closed);
  auto tail = client.ReadStream<std::string>("streamer", "out", WithReadStreamFromOffset(1));
  EXPECT_EQ(tail.values, (std::vector<std::string>{"v-1"}));
  EXPECT_EQ(streamer.GetResult(), "v");
  EXPECT_EQ(ErrorOf([&] { client.ReadStream<std::string>("missing", "out"); }).Code(),
            ErrorCode::NonExistentWorkflow);
  Shutdown(ctx);
}

TEST_P(ClientTest, CancelFromAClientStopsARunningOrQueuedWorkflow) {
  DBOSContext ctx = Executor();
  Launch(ctx);
  Client client = NewClient(MakeClientConfig());
  auto held = RunWorkflow(ctx, Hold, std::string("h"), WithWorkflowID("held"));
  client.CancelWorkflow("held");
  EXPECT_EQ(ErrorOf([&] { held.GetResult(); }).Code(), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_EQ(client.RetrieveWorkflow<std::string>("held").GetStatus().status,
            WorkflowStatusType::Cancelled);

  // Queued on a queue nobody serves: cancelled, it leaves the queue.
  auto queued = Enqueue<std::string, std::string>(client, "unserved", "Greet", std::string("u"));
  client.CancelWorkflow(queued.GetWorkflowID());
  EXPECT_EQ(ErrorOf([&] { queued.GetResult(); }).Code(), ErrorCode::AwaitedWorkflowCancelled);
  EXPECT_FALSE(Row(queued.GetWorkflowID()).queue_name.has_value());

  EXPECT_EQ(ErrorOf([&] { client.CancelWorkflow("missing"); }).Code(),
            ErrorCode::NonExistentWorkflow);
  Shutdown(ctx);
}

TEST_P(ClientTest, ShutdownEndsEveryCopyAndTheWaitsInProgress) {
  { DBOSContext create_database = Executor(); }
  Client client = NewClient(MakeClientConfig());
  Client copy = client;
  auto queued = Enqueue<std::string, std::string>(client, "unserved", "Greet", std::string("u"));
  client.Shutdown();
  client.Shutdown();  // idempotent
  EXPECT_EQ(ErrorOf([&] { copy.RetrieveWorkflow<std::string>(queued.GetWorkflowID()); }).Code(),
            ErrorCode::Initialization);
  EXPECT_EQ(ErrorOf([&] { Enqueue<std::string>(copy, "q", "Greet", std::string("x")); }).Code(),
            ErrorCode::Initialization);
  EXPECT_EQ(ErrorOf([&] { queued.GetResult(); }).Code(), ErrorCode::Initialization);
}

TEST_P(ClientTest, ListsEveryApplicationsWorkflowsWithoutValuesUnlessAsked) {
  DBOSContext ctx = Executor();
  DBOSContext other = Executor("test-v1", "other-app");
  Launch(ctx);
  Launch(other);
  EXPECT_EQ(RunWorkflow(ctx, TwoSteps, std::string("x"), WithWorkflowID("mine")).GetResult(),
            "x-a-b");
  EXPECT_EQ(RunWorkflow(other, TwoSteps, std::string("y"), WithWorkflowID("theirs")).GetResult(),
            "y-a-b");
  Client client = NewClient(MakeClientConfig());
  const auto listed = client.ListWorkflows(WithName("TwoSteps"));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, "mine");
  EXPECT_EQ(listed[1].id, "theirs");
  EXPECT_TRUE(listed[0].input.is_null());
  EXPECT_TRUE(listed[0].output.is_null());
  const auto loaded =
      client.ListWorkflows(WithWorkflowIDs({"mine"}), WithLoadInput(true), WithLoadOutput(true));
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].input, "x");
  EXPECT_EQ(loaded[0].output, "x-a-b");
  // The context of one application lists its own only.
  EXPECT_EQ(ListWorkflows(ctx, WithName("TwoSteps")).size(), 1u);

  const auto steps = client.GetWorkflowSteps("theirs");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].step_name, "a");
  EXPECT_EQ(steps[1].output, "y-a-b");
  EXPECT_EQ(ErrorOf([&] { client.GetWorkflowSteps("missing"); }).Code(),
            ErrorCode::NonExistentWorkflow);
  EXPECT_EQ(ErrorOf([&] { client.ListWorkflows(WithLimit(-1)); }).Code(), ErrorCode::InvalidOption);
  Shutdown(ctx);
  Shutdown(other);
}

TEST_P(ClientTest, ResumeAndForkFromAClientRunOnTheExecutor) {
  DBOSContext ctx = Executor();
  Launch(ctx);
  Client client = NewClient(MakeClientConfig());
  auto waiting = RunWorkflow(ctx, WaitForGo, std::string("go:"), WithWorkflowID("waiting"));
  client.CancelWorkflow("waiting");
  EXPECT_EQ(ErrorOf([&] { waiting.GetResult(); }).Code(), ErrorCode::AwaitedWorkflowCancelled);
  client.Send("waiting", std::string("now"), "go");
  EXPECT_EQ(client.ResumeWorkflow<std::string>("waiting").GetResult(), "go:now");

  g_step_a_runs = 0;
  EXPECT_EQ(RunWorkflow(ctx, TwoSteps, std::string("f"), WithWorkflowID("original")).GetResult(),
            "f-a-b");
  ForkWorkflowInput input;
  input.original_workflow_id = "original";
  input.forked_workflow_id = "forked";
  input.start_step = 1;
  auto forked = client.ForkWorkflow<std::string>(input);
  EXPECT_EQ(forked.GetWorkflowID(), "forked");
  EXPECT_EQ(forked.GetResult(), "f-a-b");
  EXPECT_EQ(g_step_a_runs.load(), 1);  // step 0 was reused, not run
  EXPECT_EQ(client.GetWorkflowSteps("forked").size(), 2u);

  input.forked_workflow_id = "";
  input.start_step = 5;
  EXPECT_EQ(ErrorOf([&] { client.ForkWorkflow<std::string>(input); }).Code(),
            ErrorCode::InvalidOption);
  EXPECT_EQ(ErrorOf([&] { client.ResumeWorkflow<std::string>("missing"); }).Code(),
            ErrorCode::NonExistentWorkflow);
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(ClientTest);

}  // namespace
}  // namespace dbos::testing
