// Group commit on PostgreSQL: checkpoints (workflow starts and ends, steps, sends, receipts,
// events) and queue claims that different threads are ready to write at the same moment share one
// transaction. A statement that finds no commit group in flight runs at once, alone, exactly as
// without grouping, so a lone workflow never waits for company. Statements that arrive while
// `lanes` groups are in flight queue up, holding no connection; when a group ends, one of the
// waiting threads takes everything queued and runs it on a pooled connection as one pipelined
// transaction (one round trip, one WAL flush). The batch is whatever queued while the previous
// commit was in flight: no timer.
//
// Each statement keeps its own outcome. When one fails (a unique conflict, a deadlock), the
// shared transaction kept nothing, and each statement is run again alone by its own caller,
// outside the lanes, so that the failure is only its own. A statement of the group waits at
// most 100 ms for a row lock: a statement held up by someone else's lock (another process's open
// transaction) then waits alone, and its lane serves other workflows meanwhile. The commit waits
// for the notification lock (a NOTIFY's) without that bound. When the connection
// breaks, every statement of the group gets that error: each caller's retry then treats its write
// as in doubt, as it would for a commit of its own. The fault-injection site of a shared
// transaction is operation "GroupCommit", script "group_commit".
//
// A group takes workflow starts before other checkpoints: a start's caller waits in RunWorkflow
// (or an enqueue) for it, and while starts queue behind the checkpoints of every running
// workflow, new work begins only as fast as those drain. Other statements keep their order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sysdb/postgres/pg_connection.hpp"
#include "sysdb/postgres/pg_pool.hpp"

namespace dbos::sysdb::pg {

/// Shares commits between threads; one per connection pool.
class PgCommitGroup {
 public:
  /// At most `lanes` transactions of this group in flight at once (at least 1).
  explicit PgCommitGroup(int lanes);

  /// Runs the prepared statement `name` (`sql`) with `params` on a connection of `pool`, alone
  /// or with other callers' statements, and returns its result, or throws the PgError it alone
  /// failed with. The caller must hold no connection of `pool` meanwhile (a leader needs one).
  /// `first` marks a workflow start, which the next group takes before other statements.
  PgResult Run(PgPool& pool, const std::string& name, const std::string& sql,
               const PgParams& params, bool first = false);

  /// The most statements one shared transaction carries.
  static constexpr size_t kMaxGroup = 64;

  /// Statements that committed in a transaction shared with others, in this process (for tests
  /// and diagnostics).
  static uint64_t SharedCommits() noexcept;
  /// Statements waiting for a lane now (for tests).
  size_t Queued();

 private:
  struct Request {
    PgPipelined statement{};
    std::optional<PgResult> result;
    std::exception_ptr error;
    bool taken = false;  // a leader has it
    bool done = false;
    bool alone = false;  // the group failed: its caller runs the statement alone
    bool first = false;  // a workflow start: taken before other queued statements
    // Woken when done, or to lead when a lane frees (one waiter at a time: no stampede).
    std::condition_variable wake;
  };

  /// Takes `own` and up to kMaxGroup - 1 other queued requests, the workflow starts among them
  /// first and otherwise oldest first, into `group`
  /// (whose capacity is kMaxGroup already, so this never allocates).
  void TakeGroup(Request& own, std::vector<Request*>& group);
  /// Runs `group` on a connection of `pool` and fills in each request's outcome.
  static void Execute(PgPool& pool, const std::vector<Request*>& group);

  const int lanes_;
  std::mutex mutex_;
  std::deque<Request*> queued_;  // guarded by mutex_
  int in_flight_ = 0;            // guarded by mutex_
};

}  // namespace dbos::sysdb::pg
