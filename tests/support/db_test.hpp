// Shared fixture for database tests: every test runs once on SQLite and once on PostgreSQL. Each
// test gets a fresh system database: a new SQLite file, or a new schema on the PostgreSQL server
// named by DBOS_TEST_POSTGRES_URL (scripts/test.sh starts one). A missing URL fails the
// PostgreSQL runs instead of skipping them, so a green run always covers both backends.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dbos/dbos.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::testing {

/// A logger that keeps every line (and prints warnings and errors).
class CapturingLogger final : public Logger {
 public:
  void Log(LogLevel level, std::string_view message) noexcept override;
  /// True when some line contains `text`.
  bool Contains(const std::string& text) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// The PostgreSQL server URL for tests, pointing at `database` (default: the URL's own).
std::string PostgresUrl(const std::string& database = "");
/// A name unique in this test run (for IDs, schemas, files).
std::string UniqueName(const std::string& prefix);

/// Base fixture; the parameter is "sqlite" or "postgres".
class DbTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  bool IsPostgres() const { return GetParam() == "postgres"; }
  /// A config on this test's database with a quiet capturing logger and a fixed version.
  Config MakeConfig(const std::string& app_name = "dbos-test") const;
  /// Direct access to this test's system database, for assertions on stored rows.
  std::unique_ptr<sysdb::SystemDatabase> OpenRaw() const;

  std::string url_;
  std::string schema_ = "dbos";
  std::shared_ptr<CapturingLogger> logger_ = std::make_shared<CapturingLogger>();
  std::vector<std::string> files_to_remove_;
};

/// The DBOSError `call` throws; fails the test (and returns an Initialization error) when it
/// throws none.
template <typename F>
DBOSError ErrorOf(F&& call) {
  try {
    call();
  } catch (const DBOSError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a DBOSError";
  return DBOSError(ErrorCode::Initialization, "no DBOSError was thrown");
}
/// The code of the DBOSError `call` throws (see ErrorOf).
template <typename F>
ErrorCode CodeOf(F&& call) {
  return ErrorOf(std::forward<F>(call)).Code();
}
/// The code of the DBOSError that `handle.GetResult()` throws (see ErrorOf).
template <typename Handle>
ErrorCode ResultCode(Handle&& handle) {
  return CodeOf([&handle] { handle.GetResult(); });
}

/// Test-name suffix for the backend parameter.
std::string BackendName(const ::testing::TestParamInfo<std::string>& info);

}  // namespace dbos::testing

/// Instantiates a DbTest-derived suite on both backends.
#define DBOS_INSTANTIATE_ON_BOTH_BACKENDS(Suite)                                     \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::Values("sqlite", "postgres"), \
                           ::dbos::testing::BackendName)
