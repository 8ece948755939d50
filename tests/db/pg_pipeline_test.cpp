// PostgreSQL only: PgConnection::ExecInOneTransaction, the pipelined transaction a commit group
// runs (sysdb/postgres/pg_commit_group.*). Whatever happens in the middle of a pipeline (a
// statement that fails, one that cannot even be sent, the server ending the connection), the
// connection must end either idle and usable by the next borrower or unhealthy, so that the pool
// closes it: a connection still in pipeline mode would fail every later statement.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/db_test.hpp"
#include "sysdb/postgres/pg_connection.hpp"

namespace dbos::testing {
namespace {

using sysdb::pg::ConnectionSpec;
using sysdb::pg::PgConnection;
using sysdb::pg::PgError;
using sysdb::pg::PgParams;
using sysdb::pg::PgPipelined;

std::unique_ptr<PgConnection> Connect() {
  return PgConnection::Connect(ConnectionSpec::Parse(PostgresUrl()),
                               std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

/// What the pool asks before handing `conn` to the next borrower: when it says healthy, the
/// connection must run an ordinary statement.
void ExpectHealthyMeansUsable(PgConnection& conn) {
  if (!conn.Healthy()) return;  // the pool closes it
  EXPECT_NO_THROW(conn.Exec("SELECT 1")) << "a connection the pool keeps must be usable";
}

TEST(PgPipelineTest, AStatementThatCannotBeSentLeavesNoUsableLookingConnectionInPipelineMode) {
  auto conn = Connect();
  const std::string name = "pipeline_send_failure";
  const std::string sql = "SELECT $1::integer";
  PgParams one;
  one.Int(1);
  conn->ExecPrepared(name, sql, one);  // prepared, so the pipeline skips preparing it
  // More parameters than the protocol allows: libpq refuses to queue the statement.
  PgParams too_many;
  for (int i = 0; i < 65536; ++i) too_many.Int(1);
  EXPECT_THROW(conn->ExecInOneTransaction({PgPipelined{&name, &sql, &too_many}}), PgError);
  ExpectHealthyMeansUsable(*conn);
}

TEST(PgPipelineTest, AFailedStatementRollsBackTheOthersAndLeavesTheConnectionIdle) {
  auto conn = Connect();
  const std::string table = UniqueName("pipeline_t");
  conn->Exec("CREATE TABLE " + table + " (k integer PRIMARY KEY)");
  const std::string name = "pipeline_insert_" + table;
  const std::string sql = "INSERT INTO " + table + " VALUES ($1::integer) RETURNING k";
  PgParams one, two;
  one.Int(1);
  two.Int(2);
  // The second insert of key 1 fails; the third is skipped (aborted pipeline).
  try {
    conn->ExecInOneTransaction({PgPipelined{&name, &sql, &one}, PgPipelined{&name, &sql, &one},
                                PgPipelined{&name, &sql, &two}});
    ADD_FAILURE() << "the duplicate key did not fail";
  } catch (const PgError& e) {
    EXPECT_EQ(e.SqlState(), "23505") << e.what();
    EXPECT_FALSE(e.ConnectionLost()) << e.what();
  }
  EXPECT_TRUE(conn->Healthy());
  EXPECT_EQ(conn->Exec("SELECT k FROM " + table).Rows(), 0);  // nothing kept
  const auto results =
      conn->ExecInOneTransaction({PgPipelined{&name, &sql, &one}, PgPipelined{&name, &sql, &two}});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(conn->Exec("SELECT k FROM " + table).Rows(), 2);
  conn->Exec("DROP TABLE " + table);
}

TEST(PgPipelineTest, TheServerEndingTheConnectionMidPipelineIsAConnectionLoss) {
  auto conn = Connect();
  const std::string first = "pipeline_one", first_sql = "SELECT 1";
  const std::string kill = "pipeline_kill",
                    kill_sql = "SELECT pg_terminate_backend(pg_backend_pid())";
  const PgParams none;
  try {
    conn->ExecInOneTransaction({PgPipelined{&first, &first_sql, &none},
                                PgPipelined{&kill, &kill_sql, &none},
                                PgPipelined{&first, &first_sql, &none}});
    ADD_FAILURE() << "the pipeline survived its connection";
  } catch (const PgError& e) {
    EXPECT_TRUE(e.ConnectionLost()) << e.what();
  }
  EXPECT_FALSE(conn->Healthy());
}

}  // namespace
}  // namespace dbos::testing
