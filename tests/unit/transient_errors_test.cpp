// Which system database failures are retried as transient (like a lost connection) and which end
// the operation: a condition of the infrastructure that passes by itself is transient; corruption
// and a read-only database are not (they never heal by themselves).
#include <gtest/gtest.h>

#include "sysdb/postgres/pg_connection.hpp"
#include "sysdb/sqlite/sqlite_connection.hpp"

namespace dbos::sysdb {
namespace {

bool PgTransient(const std::string& sqlstate) {
  return pg::PgError("failure", sqlstate, "", false).IsTransient();
}

TEST(TransientErrorsTest, PostgresInfrastructureConditionsAreTransient) {
  for (const char* sqlstate : {"55P03", "58030", "53400", "53100", "53200", "53300", "57014",
                               "25006", "40001", "40P01", "57P01", "08006"}) {
    EXPECT_TRUE(PgTransient(sqlstate)) << sqlstate;
  }
  EXPECT_TRUE(pg::PgError("lost", "", "", true).IsTransient());
}

TEST(TransientErrorsTest, PostgresCorruptionAndBadStatementsArePermanent) {
  for (const char* sqlstate : {"XX001", "XX002", "42601", "23505", "42P01", ""}) {
    EXPECT_FALSE(PgTransient(sqlstate)) << sqlstate;
  }
}

TEST(TransientErrorsTest, SqliteOutOfMemoryIsTransient) {
  EXPECT_TRUE(sqlite::SqliteError(SQLITE_NOMEM, "out of memory").IsTransient());
  for (int code : {SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL, SQLITE_IOERR, SQLITE_IOERR_WRITE,
                   SQLITE_BUSY_SNAPSHOT}) {
    EXPECT_TRUE(sqlite::SqliteError(code, "failure").IsTransient()) << code;
  }
}

TEST(TransientErrorsTest, SqliteReadOnlyAndCorruptionArePermanent) {
  for (int code : {SQLITE_READONLY, SQLITE_READONLY_DBMOVED, SQLITE_READONLY_DIRECTORY,
                   SQLITE_CORRUPT, SQLITE_CONSTRAINT_UNIQUE, SQLITE_ERROR}) {
    EXPECT_FALSE(sqlite::SqliteError(code, "failure").IsTransient()) << code;
  }
}

}  // namespace
}  // namespace dbos::sysdb
