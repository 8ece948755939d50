// Lifecycle and bad input: every misuse gets a DBOSError that says what to fix, and nothing is
// half-written.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "support/db_test.hpp"

namespace dbos::testing::lifecycle_fns {
int Plain(DBOSContext&, int x) { return x + 1; }
int AlsoPlain(DBOSContext&, int x) { return x + 2; }
int PublishesReady(DBOSContext& ctx, int x) {
  SetEvent(ctx, "ready", x);
  return x;
}
}  // namespace dbos::testing::lifecycle_fns

namespace dbos::testing {
namespace {
using namespace lifecycle_fns;

int FileLocal(DBOSContext&, int x) { return x; }  // internal linkage: no symbol to name it by

using LifecycleTest = DbTest;

TEST_P(LifecycleTest, RunBeforeLaunchAndLaunchTwiceAreInitializationErrors) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Plain);
  EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, Plain, 1); }), ErrorCode::Initialization);
  Launch(ctx);
  EXPECT_EQ(CodeOf([&] { Launch(ctx); }), ErrorCode::Initialization);
  EXPECT_EQ(CodeOf([&] { RegisterWorkflow(ctx, AlsoPlain); }), ErrorCode::Initialization);
  EXPECT_EQ(RunWorkflow(ctx, Plain, 1).GetResult(), 2);
  Shutdown(ctx);
  EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, Plain, 1); }), ErrorCode::Initialization);
}

TEST_P(LifecycleTest, RegistrationConflictsAndMissingNames) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Plain);
  EXPECT_EQ(CodeOf([&] { RegisterWorkflow(ctx, Plain, WithWorkflowName("again")); }),
            ErrorCode::ConflictingRegistration);
  RegisterWorkflow(ctx, AlsoPlain, WithWorkflowName("shared-name"));
  EXPECT_EQ(CodeOf([&] {
              RegisterWorkflow(
                  ctx, [](DBOSContext&, int x) { return x; }, WithWorkflowName("shared-name"));
            }),
            ErrorCode::ConflictingRegistration);
  try {
    RegisterWorkflow(ctx, [](DBOSContext&, int x) { return x; });
    FAIL() << "a lambda without WithWorkflowName must be refused";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
    EXPECT_NE(e.Message().find("WithWorkflowName"), std::string::npos) << e.what();
  }
  EXPECT_EQ(CodeOf([&] { RegisterWorkflow(ctx, FileLocal); }), ErrorCode::InvalidOption);
  RegisterWorkflow(ctx, FileLocal, WithWorkflowName("file-local"));
  Launch(ctx);
  auto unregistered = [](DBOSContext&, int x) { return x; };
  EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, unregistered, 1); }), ErrorCode::InvalidOption);
  EXPECT_EQ(RunWorkflow(ctx, FileLocal, 4).GetResult(), 4);
  Shutdown(ctx);
}

TEST_P(LifecycleTest, FreeFunctionNameIsDerivedFromItsSymbol) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Plain);
  Launch(ctx);
  auto handle = RunWorkflow(ctx, Plain, 1);
  handle.GetResult();
  EXPECT_EQ(handle.GetStatus().name, "dbos::testing::lifecycle_fns::Plain");
  Shutdown(ctx);
}

TEST_P(LifecycleTest, QueueOptionsWithoutQueuesAreRejectedBeforeWriting) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Plain);
  Launch(ctx);
  EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, Plain, 1, WithWorkflowID("q1"), WithQueue("nope")); }),
            ErrorCode::QueueNotFound);
  EXPECT_EQ(
      CodeOf([&] { RunWorkflow(ctx, Plain, 1, WithWorkflowID("q2"), WithDeduplicationID("d")); }),
      ErrorCode::InvalidOption);
  auto db = OpenRaw();
  EXPECT_FALSE(db->GetWorkflow("q1", false).has_value());
  EXPECT_FALSE(db->GetWorkflow("q2", false).has_value());
  Shutdown(ctx);
}

TEST_P(LifecycleTest, EnvironmentOverridesVersionAndExecutor) {
  setenv("DBOS__APPVERSION", "env-version", 1);
  setenv("DBOS__VMID", "env-executor", 1);
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  unsetenv("DBOS__APPVERSION");
  unsetenv("DBOS__VMID");
  EXPECT_EQ(GetApplicationVersion(ctx), "env-version");
  EXPECT_EQ(GetExecutorID(ctx), "env-executor");
  RegisterWorkflow(ctx, Plain);
  Launch(ctx);
  auto status = RunWorkflow(ctx, Plain, 1).GetStatus();
  EXPECT_EQ(status.executor_id, "env-executor");
  EXPECT_EQ(status.application_version, "env-version");
  Shutdown(ctx);
}

TEST_P(LifecycleTest, DefaultVersionIsAStableHashOfTheExecutable) {
  Config config = MakeConfig();
  config.application_version.clear();
  DBOSContext a = NewDBOSContext(config);
  DBOSContext b = NewDBOSContext(config);
  const std::string version = GetApplicationVersion(a);
  EXPECT_EQ(version.size(), 64u);
  EXPECT_EQ(version.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(GetApplicationVersion(b), version);
  config.app_name = "another-app";
  EXPECT_NE(GetApplicationVersion(NewDBOSContext(config)), version);
}

TEST_P(LifecycleTest, DestroyingTheLastContextShutsDown) {
  static std::atomic<bool> step_saw_stop{false};
  step_saw_stop = false;
  auto blocking = [](DBOSContext& c, int) {
    return RunAsStep(
        c,
        [](std::stop_token token) {
          while (!token.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
          step_saw_stop = true;
          return 0;
        },
        WithStepName("block"));
  };
  {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, blocking, WithWorkflowName("blocking"));
    Launch(ctx);
    RunWorkflow(ctx, blocking, 0, WithWorkflowID("left-running"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // the last copy goes: shutdown, which interrupts the step and leaves the workflow PENDING
  EXPECT_TRUE(step_saw_stop.load());
  EXPECT_EQ(OpenRaw()->GetWorkflow("left-running", false)->status, "PENDING");
  EXPECT_TRUE(OpenRaw()->ListSteps("left-running").empty());
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(LifecycleTest);

// ---- Configuration errors that need no working database -----------------------------------

Config Quiet(std::string url) {
  Config config;
  config.app_name = "bad-config";
  config.database_url = std::move(url);
  config.logger = std::make_shared<CapturingLogger>();
  config.application_version = "v";
  return config;
}

std::string InitializationMessage(const Config& config) {
  try {
    NewDBOSContext(config);
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::Initialization) << e.what();
    return e.Message();
  }
  ADD_FAILURE() << "expected an Initialization error";
  return "";
}

TEST(ConfigErrors, EmptyAppNameIsRefused) {
  Config config = Quiet("sqlite::memory:");
  config.app_name.clear();
  EXPECT_NE(InitializationMessage(config).find("app_name"), std::string::npos);
}

TEST(ConfigErrors, MalformedUrlsAreRefused) {
  EXPECT_NE(InitializationMessage(Quiet("mysql://x")).find("unsupported database_url"),
            std::string::npos);
  EXPECT_NE(InitializationMessage(Quiet("postgresql://user:secret@host:5432/db with space"))
                .find("malformed"),
            std::string::npos);
  EXPECT_EQ(InitializationMessage(Quiet("postgresql://user:secret@host:5432/db with space"))
                .find("secret"),
            std::string::npos);
}

TEST(ConfigErrors, RefusedConnectionFailsWithinTheStartupTimeout) {
  // A refused connection is retried (the server may be starting) until the startup timeout.
  Config config = Quiet("postgresql://postgres:pw@127.0.0.1:1/nothing");
  config.system_db_startup_timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = InitializationMessage(config);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(message.find(":pw@"), std::string::npos) << message;
}

TEST(ConfigErrors, SilentServerFailsWithinTheStartupTimeout) {
  // A socket that accepts TCP connections (kernel backlog) but never speaks PostgreSQL.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  Config config =
      Quiet("postgresql://postgres@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x");
  config.system_db_startup_timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  InitializationMessage(config);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(4));
  EXPECT_GE(elapsed, std::chrono::milliseconds(1500));
  close(listener);
}

TEST(ConfigErrors, UnopenableSqlitePathIsRefused) {
  EXPECT_NE(InitializationMessage(Quiet("sqlite:/nonexistent-dir/sub/x.sqlite"))
                .find("/nonexistent-dir/sub/x.sqlite"),
            std::string::npos);
}

TEST(ConfigErrors, AdminServerAndConductorAreRefusedUntilAvailable) {
  Config config = Quiet("sqlite::memory:");
  config.admin_server = true;
  InitializationMessage(config);
  config.admin_server = false;
  config.conductor_api_key = "key";
  InitializationMessage(config);
}

TEST(ConfigDefaults, EmptyUrlUsesEnvThenEmbeddedSqliteFile) {
  unsetenv("DBOS_SYSTEM_DATABASE_URL");
  Config config = Quiet("");
  config.app_name = UniqueName("embedded");
  {
    DBOSContext ctx = NewDBOSContext(config);
    Launch(ctx);
    Shutdown(ctx);
  }
  const std::string file = config.app_name + ".sqlite";
  EXPECT_TRUE(std::ifstream(file).good()) << file;
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((file + suffix).c_str());

  const std::string env_file = UniqueName("from-env") + ".sqlite";
  setenv("DBOS_SYSTEM_DATABASE_URL", ("sqlite:" + env_file).c_str(), 1);
  { DBOSContext ctx = NewDBOSContext(config); }
  unsetenv("DBOS_SYSTEM_DATABASE_URL");
  EXPECT_TRUE(std::ifstream(env_file).good()) << env_file;
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((env_file + suffix).c_str());
}

// A process that never launches (a client, a webhook) still gets pushed wake-ups on PostgreSQL
// instead of polling every 200 ms.
TEST_P(LifecycleTest, ProcessThatNeverLaunchesListensForNotificationsWhenItWaits) {
  DBOSContext worker = NewDBOSContext(MakeConfig());
  RegisterWorkflow(worker, PublishesReady);
  Launch(worker);
  DBOSContext client = NewDBOSContext(MakeConfig());
  EXPECT_FALSE(detail::RuntimeOf(client).Listening());  // nothing opened before it is needed
  std::thread publisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    RunWorkflow(worker, PublishesReady, 7, WithWorkflowID("publisher")).GetResult();
  });
  EXPECT_EQ(GetEvent<int>(client, "publisher", "ready", std::chrono::seconds(10)), 7);
  publisher.join();
  EXPECT_EQ(detail::RuntimeOf(client).Listening(), IsPostgres());
  EXPECT_EQ(detail::RuntimeOf(client).WaitPollInterval() > std::chrono::milliseconds(200),
            IsPostgres());
  Shutdown(client);
  Shutdown(worker);
}

}  // namespace
}  // namespace dbos::testing
