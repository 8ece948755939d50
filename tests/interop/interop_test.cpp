// Interoperation with the real DBOS Transact TypeScript 5.3.0 (npm package @dbos-inc/dbos-sdk) on
// one PostgreSQL system database: its DBOSClient lists C++ workflows, reads their status, result,
// steps and events, sends to them, and enqueues workflows (one for another application, which
// the C++ executor must leave alone); a TypeScript executor runs workflows that the C++ Client
// enqueued, messages and reads events of. The TypeScript side is tests/interop/ts_peer.js, run
// with node; the package is installed under the build folder by scripts/install_ts_peer.sh (run
// here when it is missing). Without node (>= 20, which the package needs), those tests are
// skipped and say so. The stored functions enqueue_workflow and send_message are exercised with
// plain SQL (no node needed).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dbos/dbos.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"

namespace interop_peer {

struct Greeting {
  std::string from;
  int n = 0;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(Greeting, from, n)
};

std::string ReceiveGreetings(dbos::DBOSContext& ctx, int count) {
  std::string received;
  for (int i = 0; i < count; ++i) {
    const auto g = dbos::Recv<Greeting>(ctx, "interop", std::chrono::seconds(60));
    received += (received.empty() ? "" : ",") + g.from + ":" + std::to_string(g.n);
  }
  return received;
}

std::string Shout(dbos::DBOSContext& ctx, std::string text) {
  return dbos::RunAsStep(
      ctx,
      [&] {
        for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return text;
      },
      dbos::WithStepName("upper"));
}

// Returns std::string from a parameter list without one: GCC tags such a symbol [abi:cxx11].
std::string Stars(dbos::DBOSContext&, int count) {
  return std::string(static_cast<size_t>(count), '*');
}

std::string Refuse(dbos::DBOSContext&, std::string text) {
  throw std::invalid_argument("cannot shout '" + text + "'");
}

// Publishes a Greeting as event "hello", then waits for a message on "interop" and returns it.
std::string GreetAndWait(dbos::DBOSContext& ctx, std::string from) {
  dbos::SetEvent(ctx, "hello", Greeting{from, 7});
  return dbos::Recv<std::string>(ctx, "interop", std::chrono::seconds(60));
}

}  // namespace interop_peer

namespace dbos::testing {
namespace {
using namespace interop_peer;

// Output and exit status of a shell command.
struct CommandResult {
  int status = -1;
  std::string out;
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A command running in the background whose output is read once it ends (popen/pclose).
class BackgroundCommand {
 public:
  explicit BackgroundCommand(const std::string& command)
      : command_(command), pipe_(popen(command.c_str(), "r")) {}
  ~BackgroundCommand() {
    if (pipe_ != nullptr) Finish();
  }
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  /// Waits for the command to end; its output and exit status.
  CommandResult Finish() {
    CommandResult result;
    if (pipe_ == nullptr) return result;
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe_)) > 0)
      result.out.append(buffer.data(), n);
    const int status = pclose(pipe_);
    pipe_ = nullptr;
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

 private:
  std::string command_;
  FILE* pipe_;
};

// j[key] for an object that has it, else null (the peer's reply may lack fields when it fails).
nlohmann::json Field(const nlohmann::json& j, const std::string& key) {
  return j.is_object() && j.contains(key) ? j.at(key) : nlohmann::json();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class TypeScriptInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CommandResult version = RunCommand("node --version 2>/dev/null");
    int major = 0;
    if (version.status != 0 || std::sscanf(version.out.c_str(), "v%d", &major) != 1) {
      GTEST_SKIP() << "node is not installed: the interoperation test with DBOS Transact "
                      "TypeScript 5.3.0 needs node >= 20 on PATH";
    }
    if (major < 20) {
      GTEST_SKIP() << "node " << version.out
                   << " is older than 20, which DBOS Transact TypeScript 5.3.0 needs";
    }
    const std::string package =
        std::string(DBOS_TS_PEER_DIR) + "/node_modules/@dbos-inc/dbos-sdk/package.json";
    if (!std::filesystem::exists(package)) {
      const CommandResult install =
          RunCommand(Quote(DBOS_TS_PEER_INSTALL) + " " + Quote(DBOS_TS_PEER_DIR) + " 2>&1");
      ASSERT_EQ(install.status, 0) << "installing @dbos-inc/dbos-sdk 5.3.0 failed:\n"
                                   << install.out;
    }
    database_ = UniqueName("ts_interop");
    url_ = PostgresUrl(database_);
  }

  // The shell command running one ts_peer.js command against this test's database.
  std::string PeerCommand(const std::string& command, const std::vector<std::string>& args) const {
    std::string line = "NODE_PATH=" + Quote(std::string(DBOS_TS_PEER_DIR) + "/node_modules") +
                       " node --no-deprecation " + Quote(DBOS_TS_PEER_SCRIPT) + " " + command +
                       " " + Quote(url_);
    for (const auto& a : args) line += " " + Quote(a);
    return line;
  }

  // The JSON reply of a peer command that ended with `result`.
  static nlohmann::json Reply(const std::string& line, const CommandResult& result) {
    EXPECT_EQ(result.status, 0) << line << "\n" << result.out;
    const auto parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << line << "\n" << result.out;
    return parsed.is_discarded() ? nlohmann::json() : parsed;
  }

  // Runs one ts_peer.js command against this test's database and returns its JSON reply.
  nlohmann::json Peer(const std::string& command, const std::vector<std::string>& args = {}) {
    const std::string line = PeerCommand(command, args);
    return Reply(line, RunCommand(line));
  }

  ClientConfig MakeClientConfig() const {
    ClientConfig config;
    config.database_url = url_;
    config.logger = logger_;
    return config;
  }

  Config MakeConfig(const std::string& app_name) const {
    Config config;
    config.app_name = app_name;
    config.database_url = url_;
    config.logger = logger_;
    config.application_version = "interop-v1";
    return config;
  }

  std::string database_;
  std::string url_;
  std::shared_ptr<CapturingLogger> logger_ = std::make_shared<CapturingLogger>();
};

TEST_F(TypeScriptInteropTest, ClientMessagesInBothSerializationsReachRecvOfAStruct) {
  DBOSContext ctx = NewDBOSContext(MakeConfig("cpp-app"));
  RegisterWorkflow(ctx, ReceiveGreetings);
  Launch(ctx);
  auto handle = RunWorkflow(ctx, ReceiveGreetings, 2, WithWorkflowID("receiver"));
  EXPECT_EQ(Peer("send", {"receiver"}), nlohmann::json({{"sent", 2}}));
  EXPECT_EQ(handle.GetResult(), "ts-default:1,ts-portable:2");
  Shutdown(ctx);
}

TEST_F(TypeScriptInteropTest, ClientReadsStatusResultAndStepsOfCppWorkflows) {
  DBOSContext ctx = NewDBOSContext(MakeConfig("cpp-app"));
  RegisterWorkflow(ctx, Shout);
  RegisterWorkflow(ctx, Stars);
  RegisterWorkflow(ctx, Refuse);
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, Shout, std::string("hi"), WithWorkflowID("shout")).GetResult(), "HI");
  EXPECT_EQ(RunWorkflow(ctx, Stars, 3, WithWorkflowID("stars")).GetResult(), "***");
  EXPECT_THROW(RunWorkflow(ctx, Refuse, std::string("no"), WithWorkflowID("refuse")).GetResult(),
               DBOSError);
  const std::string stars_name = RetrieveWorkflow<std::string>(ctx, "stars").GetStatus().name;
  Shutdown(ctx);

  std::map<std::string, std::string> listed;
  for (const auto& w : Peer("list")) listed[w.value("id", "")] = w.value("status", "");
  EXPECT_EQ(listed, (std::map<std::string, std::string>{
                        {"shout", "SUCCESS"}, {"stars", "SUCCESS"}, {"refuse", "ERROR"}}));

  const auto shout = Peer("inspect", {"shout"});
  EXPECT_EQ(Field(shout, "status"), "SUCCESS");
  EXPECT_EQ(Field(shout, "result"), "HI");
  const auto steps = Field(shout, "steps");
  ASSERT_EQ(steps.size(), 1u) << shout.dump();
  EXPECT_EQ(Field(steps[0], "name"), "upper");
  EXPECT_EQ(Field(steps[0], "output"), "HI");

  const auto stars = Peer("inspect", {"stars"});
  EXPECT_EQ(Field(stars, "result"), "***");
  EXPECT_EQ(Field(stars, "name"), stars_name);
  // The name a TypeScript client must spell carries nothing that depends on the compiler.
  EXPECT_EQ(stars_name.find("[abi:"), std::string::npos) << stars_name;

  const auto refuse = Peer("inspect", {"refuse"});
  EXPECT_EQ(Field(refuse, "status"), "ERROR");
  EXPECT_EQ(Field(Field(refuse, "error"), "message"), "cannot shout 'no'") << refuse.dump();
  EXPECT_EQ(Field(Field(refuse, "error"), "name"), "std::invalid_argument") << refuse.dump();
}

TEST_F(TypeScriptInteropTest, WorkflowEnqueuedForAnotherApplicationIsLeftAlone) {
  { DBOSContext create_database = NewDBOSContext(MakeConfig("cpp-app")); }
  DBOSContext ctx = NewDBOSContext(MakeConfig("cpp-app"));
  RegisterWorkflow(ctx, Shout, WithWorkflowName("interop-shout"));
  // Queued first, so the dequeue meets it before the workflow of this application.
  Peer("enqueue", {"for-other-app", "other-app", "interop-shout", "interop-v1", "x", "portable"});
  Peer("enqueue", {"for-cpp-app", "cpp-app", "interop-shout", "interop-v1", "y", "portable"});
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "for-cpp-app").GetResult(), "Y");
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "for-other-app").GetStatus().status,
            WorkflowStatusType::Enqueued);
  Shutdown(ctx);
}

TEST_F(TypeScriptInteropTest, WorkflowsEnqueuedWithTheDefaultSerializationRunAndReportBack) {
  { DBOSContext create_database = NewDBOSContext(MakeConfig("cpp-app")); }
  DBOSContext ctx = NewDBOSContext(MakeConfig("cpp-app"));
  RegisterWorkflow(ctx, Shout, WithWorkflowName("interop-shout"));
  RegisterWorkflow(ctx, Refuse, WithWorkflowName("interop-refuse"));
  Peer("enqueue", {"ts-shout", "cpp-app", "interop-shout", "interop-v1", "z", "default"});
  Peer("enqueue", {"ts-refuse", "cpp-app", "interop-refuse", "interop-v1", "w", "default"});
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "ts-shout").GetResult(), "Z");
  EXPECT_THROW(RetrieveWorkflow<std::string>(ctx, "ts-refuse").GetResult(), DBOSError);
  Shutdown(ctx);
  const auto shout = Peer("inspect", {"ts-shout"});
  EXPECT_EQ(Field(shout, "result"), "Z") << shout.dump();
  const auto refuse = Peer("inspect", {"ts-refuse"});
  EXPECT_EQ(Field(Field(refuse, "error"), "message"), "cannot shout 'w'") << refuse.dump();
}

TEST_F(TypeScriptInteropTest, CppClientEnqueuesWorkflowsThatATypeScriptExecutorRuns) {
  Peer("migrate");  // a system database DBOS Transact TypeScript created
  Client client = NewClient(MakeClientConfig());
  auto shout = Enqueue<std::string, std::string>(
      client, "ts-queue", "tsShout", std::string("hello"), WithEnqueueWorkflowID("ts1"));
  auto echo = Enqueue<std::string, std::string>(client, "ts-queue", "tsEcho", std::string("pong:"),
                                                WithEnqueueWorkflowID("ts2"));
  // Sent before the executor starts: the message waits in the database.
  client.Send("ts2", std::string("ping"), "in");
  const std::string line = PeerCommand("worker", {"ts-queue", "90", "ts1", "ts2"});
  BackgroundCommand worker(line);
  // The event the TypeScript workflow publishes in its default serialization.
  EXPECT_EQ(client.GetEvent<std::string>("ts2", "out", std::chrono::seconds(90)), "pong:ping");
  EXPECT_EQ(shout.GetResult(), "HELLO");
  EXPECT_EQ(echo.GetResult(), "ping");
  const auto reply = Reply(line, worker.Finish());
  EXPECT_EQ(Field(Field(Field(reply, "results"), "ts1"), "result"), "HELLO") << reply.dump();
  EXPECT_EQ(Field(Field(Field(reply, "results"), "ts2"), "result"), "ping") << reply.dump();
  // Our Client reads what the TypeScript executor recorded.
  const auto listed = client.ListWorkflows(WithWorkflowIDs({"ts1"}), WithLoadOutput(true));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, WorkflowStatusType::Success);
  EXPECT_EQ(listed[0].output, "HELLO");
  EXPECT_EQ(listed[0].application_version, "ts-worker-v1");
  const auto steps = client.GetWorkflowSteps("ts1");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].step_name, "upper");
  EXPECT_EQ(steps[0].output, "HELLO");
  client.Shutdown();
}

TEST_F(TypeScriptInteropTest, TypeScriptClientReadsEventsOfCppWorkflowsAndMessagesThem) {
  DBOSContext ctx = NewDBOSContext(MakeConfig("cpp-app"));
  RegisterWorkflow(ctx, GreetAndWait);
  Launch(ctx);
  auto handle = RunWorkflow(ctx, GreetAndWait, std::string("cpp"), WithWorkflowID("greeter"));
  EXPECT_EQ(Peer("event", {"greeter", "hello"}),
            nlohmann::json({{"value", {{"from", "cpp"}, {"n", 7}}}}));
  // Our Client reads the same event, and its message reaches the workflow.
  Client client = NewClient(MakeClientConfig());
  EXPECT_EQ(client.GetEvent<Greeting>("greeter", "hello", std::chrono::seconds(5)).from, "cpp");
  client.Send("greeter", std::string("from the client"), "interop");
  EXPECT_EQ(handle.GetResult(), "from the client");
  Shutdown(ctx);
}

// The stored functions other languages and plain SQL use to enqueue and send: run with libpq
// against a system database this library created, while its executor runs. Needs no node.
class SqlFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override { url_ = PostgresUrl(UniqueName("sql_functions")); }

  Config MakeConfig() const {
    Config config;
    config.app_name = "cpp-app";
    config.database_url = url_;
    config.logger = logger_;
    config.application_version = "sql-v1";
    return config;
  }

  std::string url_;
  std::shared_ptr<CapturingLogger> logger_ = std::make_shared<CapturingLogger>();
};

TEST_F(SqlFunctionsTest, EnqueueWorkflowAndSendMessageReachTheCppExecutor) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Shout, WithWorkflowName("interop-shout"));
  RegisterWorkflow(ctx, ReceiveGreetings, WithWorkflowName("interop-receive"));
  NewWorkflowQueue(ctx, "sql-queue");
  Launch(ctx);
  // Pinned to this executor's version, and unversioned (taken by the latest version).
  RunSql(url_,
         "SELECT dbos.enqueue_workflow('interop-shout', 'sql-queue', ARRAY['\"sql\"'::json], "
         "workflow_id => 'sql-pinned', app_version => 'sql-v1')");
  RunSql(url_,
         "SELECT dbos.enqueue_workflow('interop-shout', 'sql-queue', ARRAY['\"any\"'::json], "
         "workflow_id => 'sql-any')");
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "sql-pinned").GetResult(), "SQL");
  EXPECT_EQ(RetrieveWorkflow<std::string>(ctx, "sql-any").GetResult(), "ANY");

  auto receiver = RunWorkflow(ctx, ReceiveGreetings, 2, WithWorkflowID("sql-receiver"));
  RunSql(url_,
         "SELECT dbos.send_message('sql-receiver', '{\"from\":\"sql\",\"n\":1}'::json, "
         "'interop')");
  RunSql(url_,
         "SELECT dbos.send_message('sql-receiver', '{\"from\":\"sql\",\"n\":2}'::json, "
         "'interop', 'sql-message-2')");
  EXPECT_EQ(receiver.GetResult(), "sql:1,sql:2");
  Shutdown(ctx);
}

}  // namespace
}  // namespace dbos::testing
