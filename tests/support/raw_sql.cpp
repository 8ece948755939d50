// Raw SQL helpers; see raw_sql.hpp.
#include "support/raw_sql.hpp"

#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>
#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace dbos::testing {
namespace {

Rows RunPostgres(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    ADD_FAILURE() << "connect " << url << ": " << PQerrorMessage(conn.get());
    return {};
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> res(PQexec(conn.get(), sql.c_str()), PQclear);
  const auto status = PQresultStatus(res.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    ADD_FAILURE() << "SQL failed: " << PQerrorMessage(conn.get()) << "\n" << sql;
    return {};
  }
  Rows rows;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < PQnfields(res.get()); ++c) row.emplace_back(PQgetvalue(res.get(), r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

Rows RunSqlite(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  const int open_rc = sqlite3_open(path.c_str(), &raw);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (open_rc != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(raw);
    return {};
  }
  // Wait for the executor under test, which may hold the write lock (as another tool would).
  sqlite3_busy_timeout(db.get(), 10000);
  Rows rows;
  const char* tail = sql.c_str();
  while (tail != nullptr && *tail != '\0') {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db.get(), tail, -1, &stmt, &tail) != SQLITE_OK) {
      ADD_FAILURE() << "SQL failed: " << sqlite3_errmsg(db.get()) << "\n" << sql;
      return {};
    }
    if (stmt == nullptr) break;
    rows.clear();
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = sqlite3_column_text(stmt, c);
        row.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) ADD_FAILURE() << "SQL failed: " << sqlite3_errmsg(db.get());
    sqlite3_finalize(stmt);
  }
  return rows;
}

}  // namespace

Rows RunSql(const std::string& url, const std::string& sql) {
  if (url.rfind("sqlite:", 0) == 0) return RunSqlite(url.substr(7), sql);
  return RunPostgres(url, sql);
}

std::vector<std::pair<std::string, std::vector<std::string>>> TablesInDump(
    const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<std::pair<std::string, std::vector<std::string>>> tables;
  // Each "CREATE TABLE dbos.<name> (" is followed by one column per line until ");".
  const std::string marker = "CREATE TABLE dbos.";
  for (auto pos = text.find(marker); pos != std::string::npos; pos = text.find(marker, pos + 1)) {
    const auto name_end = text.find(' ', pos + marker.size());
    const std::string table = text.substr(pos + marker.size(), name_end - pos - marker.size());
    const auto body_end = text.find(");", name_end);
    std::stringstream body(text.substr(name_end, body_end - name_end));
    std::vector<std::string> columns;
    std::string line;
    std::getline(body, line);  // " ("
    while (std::getline(body, line)) {
      const auto first = line.find_first_not_of(' ');
      if (first == std::string::npos) continue;
      std::string column = line.substr(first, line.find(' ', first) - first);
      if (column.size() > 1 && column.front() == '"') column = column.substr(1, column.size() - 2);
      columns.push_back(column);
    }
    tables.emplace_back(table, columns);
  }
  return tables;
}

std::string TestDataPath(const std::string& relative) {
  return std::string(DBOS_TEST_DATA_DIR) + "/" + relative;
}

}  // namespace dbos::testing
