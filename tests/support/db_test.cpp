// DbTest fixture implementation; see db_test.hpp.
#include "support/db_test.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/parking.hpp"

namespace dbos::testing {

void CapturingLogger::Log(LogLevel level, std::string_view message) noexcept {
  if (level >= LogLevel::Warn) std::cerr << "[dbos] " << message << "\n";
  std::lock_guard lock(mutex_);
  lines_.emplace_back(message);
}

bool CapturingLogger::Contains(const std::string& text) const {
  std::lock_guard lock(mutex_);
  for (const auto& line : lines_) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string PostgresUrl(const std::string& database) {
  std::string url = GetEnv("DBOS_TEST_POSTGRES_URL");
  if (url.empty()) {
    ADD_FAILURE() << "DBOS_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, "
                     "which starts a throwaway PostgreSQL server";
    return "postgresql://postgres@127.0.0.1:1/missing";
  }
  if (!database.empty()) {
    const auto slash = url.find('/', url.find("://") + 3);
    url = (slash == std::string::npos ? url : url.substr(0, slash)) + "/" + database;
  }
  return url;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

void DbTest::SetUp() {
  // DBOS_TEST_PARK_ALWAYS=1: every wait of every workflow parks and later replays (a sweep run by
  // hand over the suites with waits, to replay everything through parking).
  const char* park_always = std::getenv("DBOS_TEST_PARK_ALWAYS");
  if (park_always != nullptr && std::string(park_always) == "1") {
    detail::ParkingLot::SetDefaultResidentLimitForTesting(0);
  }
  if (IsPostgres()) {
    url_ = PostgresUrl();
    schema_ = UniqueName("t");
  } else {
    const std::string file = UniqueName("test") + ".sqlite";
    url_ = "sqlite:" + file;
    for (const char* suffix : {"", "-wal", "-shm"}) files_to_remove_.push_back(file + suffix);
  }
}

void DbTest::TearDown() {
  for (const auto& file : files_to_remove_) std::remove(file.c_str());
}

Config MakeConfigFor(const std::string& url, const std::string& schema,
                     const std::shared_ptr<CapturingLogger>& logger, const std::string& app) {
  Config config;
  config.app_name = app;
  config.database_url = url;
  config.database_schema = schema;
  config.logger = logger;
  config.application_version = "test-v1";
  return config;
}

Config DbTest::MakeConfig(const std::string& app_name) const {
  return MakeConfigFor(url_, schema_, logger_, app_name);
}

std::unique_ptr<sysdb::SystemDatabase> DbTest::OpenRaw() const {
  sysdb::Options options;
  options.url = url_;
  options.schema = schema_;
  options.app_name = "dbos-test-raw";
  options.logger = logger_;
  return sysdb::OpenSystemDatabase(options);
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace dbos::testing
