// Multi-row forms of the checkpoints that share commits (group commit, pg_commit_group.hpp). When
// a group carries several workflow starts, step records or finishes, those of one kind go to the
// server as one statement over arrays instead of one statement each: one plan and one executor run
// for the whole group, which is most of the server's work per checkpoint.
//
// A multi-row form takes each parameter of its single-row statement as an array of those
// parameters' text values (element i from row i) and returns, for each row, the single-row
// statement's result columns after a first column holding the row's ordinal (1-based), in ordinal
// order. Its answer for each row is the single-row statement's answer at the same snapshot: rows
// with the same key (the first `key_params` parameters) would see each other's writes when run
// one after the other, so a multi-row statement never carries two rows with one key.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sysdb/postgres/pg_connection.hpp"

namespace dbos::sysdb::pg {

/// The multi-row form of one shared single-row statement.
struct PgBatchForm {
  std::string name;       ///< Its prepared statement's name.
  std::string sql;        ///< Its text.
  size_t key_params = 0;  ///< Rows whose first key_params parameters are equal share a key.
};

/// The multi-row forms, by the name of the single-row statement they stand for.
class PgBatchForms {
 public:
  /// The forms of the system database statements with `quoted_schema` as their schema.
  explicit PgBatchForms(const std::string& quoted_schema);
  /// The form of statement `single_name`, or nullptr when it has none.
  const PgBatchForm* Find(const std::string& single_name) const;

 private:
  std::unordered_map<std::string, PgBatchForm> forms_;
};

/// Appends to `out` the parameters of a multi-row form for `rows` (each the single-row
/// statement's parameters, all of one count): parameter k is the array literal of every row's
/// parameter k. (Filled in place: a PgParams refers to its own strings and must not be copied.)
void AppendBatchParams(const std::vector<const PgParams*>& rows, PgParams& out);

/// True when `a` and `b` have the same first `count` parameter values (NULL equals NULL).
bool SameKey(const PgParams& a, const PgParams& b, size_t count);

/// Splits the result of a multi-row form for `count` rows into one result per row, as the
/// single-row statement would have returned it (without the ordinal column). Throws PgError
/// when the result does not have one row per ordinal.
std::vector<PgResult> SplitByOrdinal(const PgResult& result, size_t count);

}  // namespace dbos::sysdb::pg
