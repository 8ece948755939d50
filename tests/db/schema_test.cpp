// The system database is the DBOS one: the same tables and columns as the reference schema
// (migration 123, as DBOS Transact TypeScript 5.3.0 creates it), a database created when missing,
// an existing 123 database used as is, newer versions used with a warning, older ones refused.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include "support/db_test.hpp"
#include "support/raw_sql.hpp"

namespace dbos::testing::schema_fns {
int Echo(DBOSContext&, int x) { return x; }
}  // namespace dbos::testing::schema_fns

namespace dbos::testing {
namespace {
using namespace schema_fns;

class SchemaTest : public DbTest {
 protected:
  std::string Table(const std::string& name) const {
    return IsPostgres() ? schema_ + "." + name : name;
  }
  std::vector<std::string> ColumnsOf(const std::string& table) const {
    Rows rows = IsPostgres() ? RunSql(url_,
                                      "SELECT column_name FROM information_schema.columns WHERE "
                                      "table_schema = '" +
                                          schema_ + "' AND table_name = '" + table +
                                          "' ORDER BY ordinal_position")
                             : RunSql(url_, "SELECT name FROM pragma_table_info('" + table + "')");
    std::vector<std::string> out;
    for (const auto& row : rows) out.push_back(row[0]);
    return out;
  }
};

TEST_P(SchemaTest, TablesAndColumnsMatchTheReferenceSchema) {
  { DBOSContext ctx = NewDBOSContext(MakeConfig()); }
  const auto reference = TablesInDump(TestDataPath("schema-v123.sql"));
  ASSERT_EQ(reference.size(), 13u);
  for (const auto& [table, columns] : reference) {
    EXPECT_EQ(ColumnsOf(table), columns) << "table " << table;
  }
  EXPECT_EQ(RunSql(url_, "SELECT version FROM " + Table("dbos_migrations")), Rows{{"123"}});
}

TEST_P(SchemaTest, OlderSchemaVersionIsRefused) {
  { DBOSContext ctx = NewDBOSContext(MakeConfig()); }
  RunSql(url_, "UPDATE " + Table("dbos_migrations") + " SET version = 122");
  try {
    NewDBOSContext(MakeConfig());
    FAIL() << "expected Initialization";
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::Initialization);
    EXPECT_NE(e.Message().find("122"), std::string::npos) << e.what();
  }
}

TEST_P(SchemaTest, NewerSchemaVersionIsUsedWithAWarning) {
  { DBOSContext ctx = NewDBOSContext(MakeConfig()); }
  RunSql(url_, "UPDATE " + Table("dbos_migrations") + " SET version = 124");
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  EXPECT_TRUE(logger_->Contains("124")) << "no warning naming the newer version";
  RegisterWorkflow(ctx, Echo);
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, Echo, 3).GetResult(), 3);
  Shutdown(ctx);
}

TEST_P(SchemaTest, ReopeningAnExistingDatabaseKeepsItsWorkflows) {
  {
    DBOSContext ctx = NewDBOSContext(MakeConfig());
    RegisterWorkflow(ctx, Echo);
    Launch(ctx);
    RunWorkflow(ctx, Echo, 9, WithWorkflowID("kept")).GetResult();
    Shutdown(ctx);
  }
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  RegisterWorkflow(ctx, Echo);
  Launch(ctx);
  EXPECT_EQ(RetrieveWorkflow<int>(ctx, "kept").GetResult(), 9);
  Shutdown(ctx);
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(SchemaTest);

// ---- PostgreSQL only ---------------------------------------------------------------------------

TEST(PostgresSchema, MissingDatabaseIsCreated) {
  const std::string database = UniqueName("created_db");
  Config config;
  config.app_name = "create-db";
  config.database_url = PostgresUrl(database);
  config.logger = std::make_shared<CapturingLogger>();
  config.application_version = "v";
  DBOSContext ctx = NewDBOSContext(config);
  RegisterWorkflow(ctx, Echo);
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, Echo, 1).GetResult(), 1);
  Shutdown(ctx);
  EXPECT_EQ(
      RunSql(PostgresUrl(), "SELECT count(*) FROM pg_database WHERE datname = '" + database + "'"),
      Rows{{"1"}});
}

TEST(PostgresSchema, DatabaseCreatedByAnotherDbosSdkIsUsedAsIs) {
  // Load the reference dump (what DBOS Transact TypeScript 5.3.0 creates) into a new database.
  const std::string database = UniqueName("foreign_db");
  RunSql(PostgresUrl(), "CREATE DATABASE " + database);
  const std::string url = PostgresUrl(database);
  std::ifstream in(TestDataPath("schema-v123.sql"));
  ASSERT_TRUE(in.good());
  std::string dump((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The dump omits function bodies: drop the trigger that would need one.
  const auto trigger = dump.find("CREATE TRIGGER dbos_notifications_trigger");
  dump.erase(trigger, dump.find(';', trigger) - trigger + 1);
  RunSql(url, dump + "\nINSERT INTO dbos.dbos_migrations VALUES (123);");
  const Rows indexes_before = RunSql(
      url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dbos' ORDER BY 1");

  Config config;
  config.app_name = "foreign";
  config.database_url = url;
  config.logger = std::make_shared<CapturingLogger>();
  config.application_version = "v";
  DBOSContext ctx = NewDBOSContext(config);
  RegisterWorkflow(ctx, Echo);
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, Echo, 5, WithWorkflowID("in-foreign-db")).GetResult(), 5);
  Shutdown(ctx);
  EXPECT_EQ(RunSql(url,
                   "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dbos' "
                   "ORDER BY 1"),
            indexes_before);  // nothing was altered
  EXPECT_EQ(RunSql(url,
                   "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = "
                   "'in-foreign-db'"),
            Rows{{"SUCCESS"}});
}

TEST(PostgresSchema, IndexesMatchTheReferenceSchema) {
  const std::string database = UniqueName("ref_idx");
  RunSql(PostgresUrl(), "CREATE DATABASE " + database);
  std::ifstream in(TestDataPath("schema-v123.sql"));
  std::string dump((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto trigger = dump.find("CREATE TRIGGER dbos_notifications_trigger");
  dump.erase(trigger, dump.find(';', trigger) - trigger + 1);
  RunSql(PostgresUrl(database), dump);

  const std::string ours = UniqueName("ours_idx");
  Config config;
  config.app_name = "idx";
  config.database_url = PostgresUrl(ours);
  config.logger = std::make_shared<CapturingLogger>();
  config.application_version = "v";
  { DBOSContext ctx = NewDBOSContext(config); }
  const std::string query =
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dbos' ORDER BY 1";
  EXPECT_EQ(RunSql(PostgresUrl(ours), query), RunSql(PostgresUrl(database), query));
  const std::string columns =
      "SELECT table_name, column_name, data_type, is_nullable, column_default FROM "
      "information_schema.columns WHERE table_schema = 'dbos' ORDER BY 1, 2";
  EXPECT_EQ(RunSql(PostgresUrl(ours), columns), RunSql(PostgresUrl(database), columns));
  EXPECT_EQ(RunSql(PostgresUrl(ours), "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"),
            Rows{{"dbos_notifications_trigger"}});
}

TEST(PostgresSchema, StoredFunctionsAreThoseOfDbosTransactTypeScript) {
  // The reference is pg_get_functiondef() of a database DBOS Transact TypeScript 5.3.0 created.
  std::ifstream in(TestDataPath("ts530-functions.sql"));
  ASSERT_TRUE(in.good());
  std::string reference;
  for (std::string line; std::getline(in, line);) {
    if (reference.empty() && line.rfind("-- ", 0) == 0) continue;  // the file's header
    reference += line + "\n";
  }
  const std::string ours = UniqueName("ours_fn");
  Config config;
  config.app_name = "fn";
  config.database_url = PostgresUrl(ours);
  config.logger = std::make_shared<CapturingLogger>();
  config.application_version = "v";
  { DBOSContext ctx = NewDBOSContext(config); }
  const Rows definitions = RunSql(
      PostgresUrl(ours),
      "SELECT string_agg(pg_get_functiondef(p.oid), E'\\n' ORDER BY p.proname) FROM pg_proc p "
      "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'dbos'");
  ASSERT_EQ(definitions.size(), 1u);
  EXPECT_EQ(definitions[0][0] + "\n", reference);
}

}  // namespace
}  // namespace dbos::testing
