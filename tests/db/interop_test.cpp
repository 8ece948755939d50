// Values other DBOS SDKs store (messages, events, workflow inputs), read by their `serialization`
// column, and unreadable ones refused by name; inputs that do not carry the one argument a
// workflow takes; and NaN or infinities, which must fail the first run exactly as they would fail
// its replay.
#include <cmath>
#include <limits>
#include <thread>
#include <utility>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"
#include "support/workflow_rows.hpp"

namespace dbos::testing::interop_fns {

std::string Greet(DBOSContext&, std::string who) { return "hello " + who; }

struct Greeting {
  std::string from;
  int n = 0;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(Greeting, from, n)
};

std::string ReceiveGreetings(DBOSContext& ctx, int count) {
  std::string received;
  for (int i = 0; i < count; ++i) {
    const auto g = Recv<Greeting>(ctx, "greetings", std::chrono::seconds(30));
    received += (received.empty() ? "" : ",") + g.from + ":" + std::to_string(g.n);
  }
  return received;
}

std::string ReadEvents(DBOSContext& ctx, std::string publisher) {
  const auto a = GetEvent<Greeting>(ctx, publisher, "go", std::chrono::seconds(5));
  const auto b = GetEvent<Greeting>(ctx, publisher, "ts", std::chrono::seconds(5));
  return a.from + "," + b.from;
}

double NotANumber(DBOSContext&, int) { return std::numeric_limits<double>::quiet_NaN(); }

// Reports what a step returning NaN gave, publishes it, then waits so that a relaunch replays it.
std::string ObserveNanStep(DBOSContext& ctx, int) {
  std::string seen;
  try {
    const double d = RunAsStep(
        ctx, [] { return std::numeric_limits<double>::quiet_NaN(); }, WithStepName("nan"));
    seen = std::isnan(d) ? "NaN" : std::to_string(d);
  } catch (const DBOSError& e) {
    seen = std::string(ErrorCodeName(e.Code()));
  }
  SetEvent(ctx, "seen", seen);
  Recv<std::string>(ctx, "go", std::chrono::seconds(30));
  return seen;
}

}  // namespace dbos::testing::interop_fns

namespace dbos::testing {
namespace {
using namespace interop_fns;

class InteropTest : public DbTest {
 protected:
  // Queues `name` on the internal queue with `inputs` written in `serialization`, as another SDK
  // would; the next Launch dequeues it.
  void Enqueue(const std::string& id, const std::string& name, const std::string& inputs,
               const std::string& serialization) {
    sysdb::WorkflowInsert row = WorkflowRow(id, name, "ENQUEUED");
    row.executor_id = "another-sdk";
    row.application_version = MakeConfig().application_version;
    row.inputs = inputs;
    row.serialization = serialization;
    row.now_ms = 1;
    OpenRaw()->InsertWorkflow(row);
  }

  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }

  // Inserts a message as another SDK's client would.
  void InsertMessage(const std::string& destination, const std::string& text,
                     const std::string& serialization, int order) {
    RunSql(url_, "INSERT INTO " + Table("notifications") +
                     " (message_uuid, destination_uuid, topic, message, created_at_epoch_ms, "
                     "serialization) VALUES ('" +
                     UniqueName("m") + "', '" + destination + "', 'greetings', '" + text + "', " +
                     std::to_string(order) + ", '" + serialization + "')");
  }

  void InsertEvent(const std::string& workflow, const std::string& key, const std::string& text,
                   const std::string& serialization) {
    RunSql(url_, "INSERT INTO " + Table("workflow_events") +
                     " (workflow_uuid, key, value, serialization) VALUES ('" + workflow + "', '" +
                     key + "', '" + text + "', '" + serialization + "')");
  }

  // The DBOSError GetResult throws for `id` (fails the test when it returns).
  std::string ResultError(DBOSContext& ctx, const std::string& id) {
    try {
      RetrieveWorkflow<std::string>(ctx, id).GetResult();
    } catch (const DBOSError& e) {
      return e.what();
    }
    ADD_FAILURE() << id << " succeeded";
    return "";
  }
};

TEST_P(InteropTest, InputWithoutExactlyOneArgumentEndsInErrorNamingTheWorkflow) {
  Enqueue("two-args", "Greet", R"({"positionalArgs":["a","b"],"namedArgs":{}})", "portable_json");
  Enqueue("no-args", "Greet", R"({"positionalArgs":[],"namedArgs":{}})", "portable_json");
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Greet, WithWorkflowName("Greet"));
  Launch(ctx);
  const std::string two = ResultError(ctx, "two-args");
  EXPECT_NE(two.find("workflow 'Greet' takes exactly one argument"), std::string::npos) << two;
  EXPECT_NE(two.find("2 positional arguments"), std::string::npos) << two;
  const std::string none = ResultError(ctx, "no-args");
  EXPECT_NE(none.find("0 positional arguments"), std::string::npos) << none;
  EXPECT_EQ(OpenRaw()->GetWorkflow("two-args", false)->status, "ERROR");
  Shutdown(ctx);
}

TEST_P(InteropTest, WorkflowQueuedWithTheTypeScriptDefaultSerializationRuns) {
  Enqueue("from-ts", "Greet", R"({"json":["ts"],"__dbos_serializer":"superjson"})", "js_superjson");
  Enqueue("from-go", "Greet", "ImdvIg==", "DBOS_JSON");  // base64 of "go"
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Greet, WithWorkflowName("Greet"));
  Launch(ctx);
  auto raw = OpenRaw();
  for (const auto& [id, expected] :
       {std::pair{"from-ts", "\"hello ts\""}, std::pair{"from-go", "\"hello go\""}}) {
    for (int i = 0; i < 500 && raw->GetWorkflowStatusString(id) != "SUCCESS"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto row = raw->GetWorkflow(id, /*load_values=*/true);
    EXPECT_EQ(row->status, "SUCCESS") << id << ": " << row->error.value_or("");
    EXPECT_EQ(row->output.value_or(""), expected) << id;
  }
  Shutdown(ctx);
}

TEST_P(InteropTest, InputInASerializationNobodyHereReadsEndsInErrorNamingIt) {
  Enqueue("pickled", "Greet", "gASVBgAAAAAAAACMAmhplC4=", "py_pickle");
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Greet, WithWorkflowName("Greet"));
  Launch(ctx);
  auto raw = OpenRaw();
  for (int i = 0; i < 500 && raw->GetWorkflowStatusString("pickled") != "ERROR"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Shutdown(ctx);
  // Read as stored: the row still names py_pickle as its serialization.
  const auto row = raw->GetWorkflow("pickled", /*load_values=*/true);
  EXPECT_EQ(row->status, "ERROR");
  const std::string error = nlohmann::json::parse(row->error.value_or("{}")).value("message", "");
  EXPECT_NE(error.find("'py_pickle'"), std::string::npos) << error;
  EXPECT_NE(error.find("portable_json"), std::string::npos) << error;
}

TEST_P(InteropTest, MessagesWrittenByOtherSdksReachRecvOfAStruct) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, ReceiveGreetings);
  Launch(ctx);
  auto handle = RunWorkflow(ctx, ReceiveGreetings, 3, WithWorkflowID("receiver"));
  InsertMessage("receiver", R"({"json":{"from":"ts","n":1},"__dbos_serializer":"superjson"})",
                "js_superjson", 1);
  InsertMessage("receiver", "eyJmcm9tIjoiZ28iLCJuIjoyfQ==", "DBOS_JSON", 2);  // {"from":"go",…}
  InsertMessage("receiver", R"({"from":"sql","n":3})", "portable_json", 3);
  EXPECT_EQ(handle.GetResult(), "ts:1,go:2,sql:3");
  Shutdown(ctx);
}

TEST_P(InteropTest, MessageInASerializationNobodyHereReadsFailsRecvAndStaysUnconsumed) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, ReceiveGreetings);
  Launch(ctx);
  auto handle = RunWorkflow(ctx, ReceiveGreetings, 1, WithWorkflowID("pickle-receiver"));
  InsertMessage("pickle-receiver", "gASVBgAAAAAAAACMAmhplC4=", "py_pickle", 1);
  try {
    handle.GetResult();
    FAIL() << "an unreadable message was received";
  } catch (const DBOSError& e) {
    EXPECT_NE(std::string(e.what()).find("'py_pickle'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("portable_json"), std::string::npos) << e.what();
  }
  EXPECT_EQ(RunSql(url_, "SELECT count(*) FROM " + Table("notifications") +
                             " WHERE destination_uuid = 'pickle-receiver' AND NOT consumed"),
            Rows{{"1"}});
  Shutdown(ctx);
}

TEST_P(InteropTest, EventsWrittenByOtherSdksAreRead) {
  Enqueue("publisher", "elsewhere", R"({"positionalArgs":[1],"namedArgs":{}})", "portable_json");
  InsertEvent("publisher", "go", "eyJmcm9tIjoiZ28iLCJuIjoyfQ==", "DBOS_JSON");
  InsertEvent("publisher", "ts", R"({"json":{"from":"ts","n":1},"__dbos_serializer":"superjson"})",
              "js_superjson");
  InsertEvent("publisher", "py", "gASVBgAAAAAAAACMAmhplC4=", "py_pickle");
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, ReadEvents);
  Launch(ctx);
  EXPECT_EQ(GetEvent<Greeting>(ctx, "publisher", "ts", std::chrono::seconds(1)).from, "ts");
  // Inside a workflow the value read is recorded (as portable_json), and replays the same.
  EXPECT_EQ(
      RunWorkflow(ctx, ReadEvents, std::string("publisher"), WithWorkflowID("reader")).GetResult(),
      "go,ts");
  for (const auto& step : OpenRaw()->ListSteps("reader")) {
    if (step.function_name == "DBOS.getEvent") {
      EXPECT_EQ(step.serialization, "portable_json");
    }
  }
  try {
    GetEvent<Greeting>(ctx, "publisher", "py", std::chrono::seconds(1));
    FAIL() << "an unreadable event was read";
  } catch (const DBOSError& e) {
    EXPECT_NE(std::string(e.what()).find("'py_pickle'"), std::string::npos) << e.what();
  }
  Shutdown(ctx);
}

TEST_P(InteropTest, WorkflowReturningNaNIsRecordedAsAnError) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, NotANumber);
  Launch(ctx);
  auto handle = RunWorkflow(ctx, NotANumber, 1, WithWorkflowID("nan-result"));
  try {
    handle.GetResult();
    FAIL() << "a NaN result was accepted";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption) << e.what();
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  const auto row = OpenRaw()->GetWorkflow("nan-result", /*load_values=*/true);
  EXPECT_EQ(row->status, "ERROR");
  EXPECT_FALSE(row->output.has_value());
  Shutdown(ctx);
}

TEST_P(InteropTest, StepReturningNaNFailsTheFirstRunAsItsReplayDoes) {
  {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, ObserveNanStep, WithWorkflowName("observe"));
    Launch(ctx);
    RunWorkflow(ctx, ObserveNanStep, 1, WithWorkflowID("nan-step"));
    EXPECT_EQ(GetEvent<std::string>(ctx, "nan-step", "seen", std::chrono::seconds(10)),
              "InvalidOption");
    Shutdown(ctx);  // leaves it PENDING in Recv
  }
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, ObserveNanStep, WithWorkflowName("observe"));
  Launch(ctx);  // recovery replays the recorded step
  Send(ctx, "nan-step", std::string("go"), "go");
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "nan-step").GetResult(), "InvalidOption");
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(InteropTest);

}  // namespace
}  // namespace dbos::testing
