// Config resolution: URL forms, defaults, environment overrides, redaction of secrets.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "core/config_resolution.hpp"
#include "dbos/dbos.hpp"
#include "util/uuid.hpp"
#include "util/worker_pool.hpp"

namespace dbos {
namespace {

using detail::RedactUrl;
using detail::ResolveConfig;

Config WithUrl(std::string url) {
  Config config;
  config.app_name = "app";
  config.database_url = std::move(url);
  config.application_version = "v1";
  return config;
}

TEST(ConfigResolution, AcceptsTheDocumentedUrlForms) {
  for (const char* url :
       {"postgres://u:p@localhost:5432/db", "postgresql://localhost/db?sslmode=disable",
        "host=localhost dbname=db user=u", "sqlite:app.sqlite",
        "sqlite::memory:", "sqlite:///abs/path.db", "sqlite3:x.db"}) {
    EXPECT_EQ(ResolveConfig(WithUrl(url)).database_url, url);
  }
}

TEST(ConfigResolution, DefaultsToEnvThenEmbeddedSqlite) {
  unsetenv("DBOS_SYSTEM_DATABASE_URL");
  EXPECT_EQ(ResolveConfig(WithUrl("")).database_url, "sqlite:app.sqlite");
  setenv("DBOS_SYSTEM_DATABASE_URL", "postgresql://h/db", 1);
  EXPECT_EQ(ResolveConfig(WithUrl("")).database_url, "postgresql://h/db");
  unsetenv("DBOS_SYSTEM_DATABASE_URL");
}

TEST(ConfigResolution, ExecutorAndVersionDefaultsAndOverrides) {
  Config config = WithUrl("sqlite::memory:");
  auto resolved = ResolveConfig(config);
  EXPECT_EQ(resolved.executor_id, "local");
  EXPECT_EQ(resolved.application_version, "v1");
  config.executor_id = "exec-1";
  EXPECT_EQ(ResolveConfig(config).executor_id, "exec-1");
  setenv("DBOS__VMID", "vm-9", 1);
  setenv("DBOS__APPVERSION", "env-v", 1);
  resolved = ResolveConfig(config);
  EXPECT_EQ(resolved.executor_id, "vm-9");
  EXPECT_EQ(resolved.application_version, "env-v");
  unsetenv("DBOS__VMID");
  unsetenv("DBOS__APPVERSION");
}

TEST(ConfigResolution, RejectsBadSchemaNamesAndTimeouts) {
  Config config = WithUrl("sqlite::memory:");
  config.database_schema = "bad;schema";
  EXPECT_THROW(ResolveConfig(config), DBOSError);
  config = WithUrl("sqlite::memory:");
  config.system_db_startup_timeout = std::chrono::milliseconds(0);
  EXPECT_THROW(ResolveConfig(config), DBOSError);
}

TEST(ConfigResolution, RedactsPasswords) {
  EXPECT_EQ(RedactUrl("postgresql://user:s3cret@host/db"), "postgresql://user:***@host/db");
  EXPECT_EQ(RedactUrl("host=h password=s3cret dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(RedactUrl("sqlite:x.db"), "sqlite:x.db");
}

TEST(ConfigResolution, PasswordWithAnUnencodedAtIsHiddenAndRefused) {
  EXPECT_EQ(RedactUrl("postgresql://user:p@ss@host/db"), "postgresql://user:***@host/db");
  EXPECT_EQ(RedactUrl("postgresql://user:p@s/s@host:5432/db?sslmode=disable"),
            "postgresql://user:***@host:5432/db?sslmode=disable");
  try {
    ResolveConfig(WithUrl("postgresql://user:p@ss@host/db"));
    FAIL() << "an unencoded '@' must be refused";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), dbos::ErrorCode::Initialization);
    EXPECT_NE(e.Message().find("%40"), std::string::npos) << e.what();
    EXPECT_EQ(e.Message().find("ss@"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ResolveConfig(WithUrl("postgresql://user:p%40ss@host/db")));
}

TEST(Uuid, IsVersion4AndUnique) {
  auto well_formed = [](const std::string& id) {
    if (id.size() != 36 || id[14] != '4' || std::string("89ab").find(id[19]) == std::string::npos)
      return false;
    for (size_t i = 0; i < id.size(); ++i) {
      const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash != (id[i] == '-')) return false;
      if (!dash && std::string("0123456789abcdef").find(id[i]) == std::string::npos) return false;
    }
    return true;
  };
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto id = util::NewUuid();
    EXPECT_TRUE(well_formed(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(WorkerPool, RunsTasksConcurrentlyAndWaitsForThem) {
  // Each task waits (up to 5 s) until all 16 are running at once: a pool that made a blocking
  // task wait for another would leave them short of 16. No timing guess: a loaded machine only
  // makes the wait longer.
  util::WorkerPool pool(std::chrono::milliseconds(50));
  std::mutex mutex;
  std::condition_variable all_inside;
  int inside = 0;
  int max_inside = 0;
  std::atomic<int> done{0};
  for (int i = 0; i < 16; ++i) {
    pool.Submit([&] {
      std::unique_lock lock(mutex);
      max_inside = std::max(max_inside, ++inside);
      all_inside.notify_all();
      all_inside.wait_for(lock, std::chrono::seconds(5), [&] { return max_inside == 16; });
      --inside;
      ++done;
    });
  }
  EXPECT_TRUE(pool.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(done.load(), 16);
  std::lock_guard lock(mutex);
  EXPECT_EQ(max_inside, 16);  // blocking tasks never wait for each other
}

}  // namespace
}  // namespace dbos
