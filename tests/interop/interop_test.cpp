// Interoperation with the real DBOS Transact TypeScript 5.3.0 (npm package @dbos-inc/dbos-sdk) on
// one PostgreSQL system database: its DBOSClient sends to C++ workflows, reads their status,
// result and steps, and enqueues a workflow for another application, which the C++ executor must
// leave alone. The TypeScript side is tests/interop/ts_peer.js, run with node; the package is
// installed under the build folder by scripts/install_ts_peer.sh (run here when it is missing).
// Without node (>= 20, which the package needs), the tests are skipped and say so.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "dbos/dbos.hpp"
#include "support/db_test.hpp"

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

  // Runs one ts_peer.js command against this test's database and returns its JSON reply.
  nlohmann::json Peer(const std::string& command, const std::vector<std::string>& args = {}) {
    std::string line = "NODE_PATH=" + Quote(std::string(DBOS_TS_PEER_DIR) + "/node_modules") +
                       " node --no-deprecation " + Quote(DBOS_TS_PEER_SCRIPT) + " " + command +
                       " " + Quote(url_);
    for (const auto& a : args) line += " " + Quote(a);
    const CommandResult result = RunCommand(line);
    EXPECT_EQ(result.status, 0) << line << "\n" << result.out;
    const auto parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << line << "\n" << result.out;
    return parsed.is_discarded() ? nlohmann::json() : parsed;
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

}  // namespace
}  // namespace dbos::testing
