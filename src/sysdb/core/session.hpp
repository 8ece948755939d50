// What a dialect gives the dialect-neutral system database (sql_system_database.cpp): statement
// text in a Script, a Session that runs a Script with Params and hands back Rows, and a Backend
// that runs an operation's attempts in the shared retry loop. Every operation is written once on
// top of these; a dialect writes SQL and drives its driver, nothing else.
//
// A Script is what one transaction of an operation runs. On PostgreSQL it is one statement
// (data-modifying CTEs ending in the probe SELECT, so one round trip); on SQLite a short sequence
// inside BEGIN IMMEDIATE (or on a reader, for reads). Parameters are numbered by the operation
// ($N on PostgreSQL, ?N on SQLite) in the order statements.hpp documents, identically for both
// dialects, and each Script's result has the column layout documented there.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sysdb/core/operations.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::sysdb::core {

/// One statement of a Script.
struct Part {
  std::string sql;
  /// The Script's rows are this part's rows (exactly one part of a Script sets it).
  bool result = false;
  /// When this part returns no row, or its first column is NULL, 0 or false, the parts after it
  /// are skipped and nothing the Script wrote is kept (SQLite rolls the transaction back).
  bool gate = false;
  /// Runs only after a gate closed (instead of being skipped): e.g. the read that says why a
  /// write did not happen, so the common case costs one statement.
  bool when_closed = false;
};

/// The statements one transaction of an operation runs, in order.
struct Script {
  enum class Access {
    kRead,   ///< Reads only (SQLite: a reader connection, no write lock).
    kWrite,  ///< Writes (SQLite: the writer, BEGIN IMMEDIATE; committed after the last part).
  };
  std::string name;  ///< Names the prepared statements and the fault-injection site.
  Access access = Access::kRead;
  std::vector<Part> parts;
  /// May commit in one transaction with other operations' scripts (group commit): a write whose
  /// result and effect are the same whether it commits alone or after others' writes, so the
  /// backend may batch it with whatever else is ready (see postgres/pg_commit_group.hpp).
  bool shares_commit = false;
  /// Planned for the parameter values of each run (PostgreSQL: an unnamed statement, so a
  /// condition on a value can pick a partial index); for statements assembled per call.
  bool custom_plan = false;
};

/// Statement parameters, $1.. / ?1.. in order. Text() refers to the caller's string, which must
/// outlive every Run using these parameters; Copy() keeps its own.
class Params {
 public:
  struct Value {
    enum class Kind { kNull, kInt, kBool, kText };
    Kind kind = Kind::kNull;
    int64_t number = 0;                 ///< kInt; kBool as 0/1.
    const std::string* text = nullptr;  ///< kText.
  };
  /// Appends a text value.
  Params& Text(const std::string& value) { return Push({Value::Kind::kText, 0, &value}); }
  /// Temporaries would dangle: use Copy().
  Params& Text(std::string&&) = delete;
  /// Appends a text value or NULL.
  Params& Text(const std::optional<std::string>& value) { return value ? Text(*value) : Null(); }
  /// Temporaries would dangle: use Copy().
  Params& Text(std::optional<std::string>&&) = delete;
  /// Appends a copy of `value`.
  Params& Copy(std::string value) {
    owned_.push_back(std::move(value));
    return Text(owned_.back());
  }
  /// Appends an integer.
  Params& Int(int64_t value) { return Push({Value::Kind::kInt, value, nullptr}); }
  /// Appends an integer or NULL.
  Params& Int(const std::optional<int64_t>& value) { return value ? Int(*value) : Null(); }
  /// Appends a boolean.
  Params& Bool(bool value) { return Push({Value::Kind::kBool, value ? 1 : 0, nullptr}); }
  /// Appends SQL NULL.
  Params& Null() { return Push({}); }
  /// Appends `count` NULLs.
  Params& Nulls(int count) {
    for (int i = 0; i < count; ++i) Null();
    return *this;
  }
  /// The values in order.
  const std::vector<Value>& Values() const noexcept { return values_; }

 private:
  Params& Push(Value value) {
    values_.push_back(value);
    return *this;
  }
  std::vector<Value> values_;
  std::deque<std::string> owned_;  // deque: push_back never moves existing strings
};

/// The rows of a Script's result part, as text cells (NULL kept apart from "").
class Rows {
 public:
  /// One row, read by column index (the row interface of outcomes.hpp and workflow_rows.hpp).
  class Row {
   public:
    Row(const Rows& rows, size_t index) : rows_(rows), index_(index) {}
    bool IsNull(int col) const { return !Cell(col).has_value(); }
    /// The text; "" when NULL.
    std::string Text(int col) const { return Cell(col).value_or(""); }
    std::optional<std::string> OptText(int col) const { return Cell(col); }
    /// The integer; 0 when NULL. Throws std::runtime_error on text that is not an integer.
    int64_t Int64(int col) const { return OptInt64(col).value_or(0); }
    std::optional<int64_t> OptInt64(int col) const;
    /// A boolean or count: true for "t", "true" and any non-zero integer; false when NULL.
    bool Bool(int col) const;

   private:
    const std::optional<std::string>& Cell(int col) const;
    const Rows& rows_;
    size_t index_;
  };

  explicit Rows(int columns = 0) : columns_(columns) {}
  int Columns() const noexcept { return columns_; }
  size_t Size() const noexcept {
    return columns_ == 0 ? 0 : cells_.size() / static_cast<size_t>(columns_);
  }
  bool Empty() const noexcept { return Size() == 0; }
  Row operator[](size_t index) const { return Row(*this, index); }
  /// Appends a cell; rows fill left to right, `Columns()` cells each.
  void Add(std::optional<std::string> cell) { cells_.push_back(std::move(cell)); }

 private:
  int columns_;
  std::vector<std::optional<std::string>> cells_;
};

/// A constraint the database refused, translated by the dialect from its own error (PostgreSQL
/// 23505/23503, SQLITE_CONSTRAINT_UNIQUE/FOREIGNKEY) so operations can tell expected conflicts
/// (a deduplication ID in use, a message to a workflow deleted meanwhile) from failures.
class ConstraintViolation : public std::runtime_error {
 public:
  enum class Kind { kUnique, kForeignKey };
  /// `subject` names the constraint, index or column the database reported.
  ConstraintViolation(Kind kind, std::string subject, const std::string& message)
      : std::runtime_error(message), kind_(kind), subject_(std::move(subject)) {}
  Kind GetKind() const noexcept { return kind_; }
  /// True when the violated constraint's name (or the columns SQLite lists) mentions `part`.
  bool Mentions(std::string_view part) const { return subject_.find(part) != std::string::npos; }

 private:
  Kind kind_;
  std::string subject_;
};

/// Runs Scripts on one connection for the length of one attempt of an operation.
class Session {
 public:
  virtual ~Session() = default;
  /// Runs `script` (one transaction) and returns its result part's rows. Driver errors leave as
  /// the dialect's error type (the retry loop classifies them), constraint violations as
  /// ConstraintViolation.
  virtual Rows Run(const Script& script, const Params& params) = 0;
};

struct Statements;

/// A dialect: its statements, and the shared retry loop (run.hpp) over its connections.
class Backend {
 public:
  virtual ~Backend() = default;
  /// The statement text of every operation.
  virtual const Statements& GetStatements() const = 0;
  /// Runs `attempt(session, is_retry)` until it returns or fails permanently (core::RunOperation
  /// with this dialect's error classification); `owner` says when retrying has been stopped.
  virtual void Execute(const Operation& operation, const std::string& workflow_id,
                       const SystemDatabase& owner,
                       const std::function<void(Session&, bool)>& attempt) = 0;
  /// See SystemDatabase::StartListening / StopListening.
  virtual bool StartListening(NotificationCallback callback) = 0;
  virtual void StopListening() = 0;
  /// Called after a committed write made queue work available: tells other processes
  /// (PostgreSQL: a NOTIFY sent soon after, outside the write; SQLite: nothing, they poll).
  /// Never throws.
  virtual void Announce(const char* /*channel*/, const std::string& /*payload*/) noexcept {}
};

}  // namespace dbos::sysdb::core
