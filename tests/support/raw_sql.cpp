// Raw SQL helpers; see raw_sql.hpp.
#include "support/raw_sql.hpp"

#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>
#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <regex>
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
  static const std::regex kTable(R"(CREATE TABLE dbos\.(\w+) \(([^;]*)\);)");
  static const std::regex kColumn(R"re(^\s+"?(\w+)"? )re");
  for (std::sregex_iterator it(text.begin(), text.end(), kTable), end; it != end; ++it) {
    std::vector<std::string> columns;
    std::stringstream body((*it)[2].str());
    std::string line;
    while (std::getline(body, line)) {
      std::smatch m;
      if (std::regex_search(line, m, kColumn)) columns.push_back(m[1].str());
    }
    tables.emplace_back((*it)[1].str(), columns);
  }
  return tables;
}

std::string SharedPath(const std::string& relative) {
  return std::string(DBOS_SHARED_DIR) + "/" + relative;
}

}  // namespace dbos::testing
