// Raw SQL against a test database (PostgreSQL through libpq, SQLite through sqlite3), for tests
// that inspect or tamper with the stored schema the way another tool or SDK would.
#pragma once

#include <string>
#include <vector>

namespace dbos::testing {

using Rows = std::vector<std::vector<std::string>>;

/// Runs `sql` (one or more statements) on the database named by a dbos URL and returns the rows of
/// the last statement as text ("" for NULL). Fails the test on error.
Rows RunSql(const std::string& url, const std::string& sql);

/// Table name -> column names, parsed from the CREATE TABLE statements of a pg_dump file.
std::vector<std::pair<std::string, std::vector<std::string>>> TablesInDump(const std::string& path);

/// Path of a file in tests/data/ (reference files the tests compare with, kept in the repository).
std::string TestDataPath(const std::string& relative);

}  // namespace dbos::testing
