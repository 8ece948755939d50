// Group commit on SQLite: checkpoints that different threads are ready to write at the same moment
// share one write transaction on the writer connection. SQLite has one writer, so there is one
// lane: a write that finds no group in flight leads at once, alone, exactly as without grouping (a
// lone workflow never waits for company); writes that arrive while a group runs queue up, and when
// it ends the oldest of them leads everything queued as the next group. The batch is whatever
// queued while the previous commit ran: no timer.
//
// Each write keeps its own outcome. Inside the shared transaction every write runs within its own
// savepoint: a write that fails (a unique conflict) or whose gate closes is rolled back to its
// savepoint, alone, and the others commit. A failure of the transaction itself (BEGIN or COMMIT
// failing, an I/O error that rolled everything back) is every write's: each caller's retry then
// treats its write as in doubt, as it would for a commit of its own. The fault-injection site of a
// shared transaction is operation "GroupCommit", script "group_commit" (as on PostgreSQL).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "sysdb/core/session.hpp"
#include "sysdb/sqlite/sqlite_connection.hpp"

namespace dbos::sysdb::sqlite {

/// What one write did inside its transaction.
struct WriteOutcome {
  core::Rows rows;   ///< The result its caller gets.
  bool keep = true;  ///< False when its gate closed: nothing it wrote is kept.
};

/// Shares write transactions between threads; one per connection pool.
class SqliteCommitGroup {
 public:
  /// Runs one write's statements on the writer, inside a transaction the group opened.
  using Write = std::function<WriteOutcome(Connection&)>;

  /// Runs `write` in a write transaction on `pool`'s writer, alone or with other callers' writes,
  /// and returns its rows, or throws the error it alone failed with (SqliteError, or the
  /// shared transaction's failure). The caller must not hold the writer meanwhile.
  core::Rows Run(ConnectionPool& pool, const Write& write);

  /// The most writes one shared transaction carries.
  static constexpr size_t kMaxGroup = 64;

  /// Writes that committed in a transaction shared with others, in this process (for tests and
  /// diagnostics).
  static uint64_t SharedCommits() noexcept;

 private:
  struct Request {
    const Write* write = nullptr;
    std::optional<core::Rows> result;
    std::exception_ptr error;
    bool taken = false;  // a leader has it
    bool done = false;
    bool alone = false;  // the shared transaction failed before it ran: its caller runs it alone
    // Woken when done, or to lead when the group in flight ends (one waiter at a time).
    std::condition_variable wake;
  };

  /// Moves `own` and up to kMaxGroup - 1 other queued requests, oldest first, into `group`
  /// (whose capacity is kMaxGroup already, so this never allocates).
  void TakeGroup(Request& own, std::vector<Request*>& group);
  /// Runs `group` in one transaction on `pool`'s writer and fills in each request's outcome.
  static void Execute(ConnectionPool& pool, const std::vector<Request*>& group);
  /// Runs a group of several writes, each in its own savepoint, and commits.
  static void ExecuteShared(Connection& conn, const std::vector<Request*>& group);
  /// Runs `write` in a transaction of its own.
  static core::Rows RunAlone(ConnectionPool& pool, const Write& write);

  std::mutex mutex_;
  std::deque<Request*> queued_;  // guarded by mutex_
  bool leading_ = false;         // a group is in flight; guarded by mutex_
};

}  // namespace dbos::sysdb::sqlite
