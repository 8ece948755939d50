// Group commit on PostgreSQL; see pg_commit_group.hpp.
#include "sysdb/postgres/pg_commit_group.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sysdb/core/fault_injection.hpp"

namespace dbos::sysdb::pg {
namespace {

std::atomic<uint64_t> g_shared_commits{0};

// Every transaction of the group starts by bounding its lock waits: a statement that waits on a
// row lock someone else holds (another process's open transaction) fails the transaction after
// this long instead of keeping a lane, and with it every other workflow's checkpoints, waiting;
// it then waits alone, outside the lanes, as it did with a connection of its own.
const std::string kLockTimeoutName = "group_commit_lock_timeout";
const std::string kLockTimeoutSql = "SELECT pg_catalog.set_config('lock_timeout', '100ms', true)";
// ...and ends by lifting the bound again: the commit of a transaction that sent a NOTIFY (a send,
// an event) waits for PostgreSQL's cluster-wide notification lock, and giving up on it there
// would fail the commit itself, which every statement of the group would have to treat as in
// doubt.
const std::string kLockTimeoutOffName = "group_commit_lock_timeout_off";
const std::string kLockTimeoutOffSql = "SELECT pg_catalog.set_config('lock_timeout', '0', true)";
const PgParams kNoParams;
constexpr std::string_view kLockNotAvailable = "55P03";

/// A test's fault for a shared transaction: kBeforeExecute fails it before it runs (with its
/// SQLSTATE, as a statement error would, so each statement runs again alone; without one, as a
/// lost connection), kDropConnection breaks it before it commits, kAfterCommit after (the commit
/// is then in doubt for every statement of it). The site names the group's statements.
/// `statements`: the transaction's, the lock bounds first and last included.
testing::Fault GroupFault(const std::vector<PgPipelined>& statements) {
  if (!testing::FaultInjectionOn()) return {};
  testing::FaultSite site{"postgres", "GroupCommit", "group_commit", {}};
  for (size_t i = 1; i + 1 < statements.size(); ++i) {
    if (!site.grouped.empty()) site.grouped += ',';
    site.grouped += *statements[i].name;
  }
  return testing::NextFault(site);
}

/// A copy of `failure` for one caller. Callers rethrow their error and read it on their own
/// threads, and copies of one std::runtime_error share its message buffer: each gets its own.
std::exception_ptr OwnCopy(const std::exception_ptr& failure) noexcept {
  try {
    try {
      std::rethrow_exception(failure);
    } catch (const PgError& e) {
      return std::make_exception_ptr(
          PgError(std::string(e.what()), e.SqlState(), e.Constraint(), e.ConnectionLost()));
    } catch (const std::exception& e) {
      return std::make_exception_ptr(std::runtime_error(std::string(e.what())));
    }
  } catch (...) {
    return failure;  // not a standard exception, or no memory for a copy
  }
}

}  // namespace

uint64_t PgCommitGroup::SharedCommits() noexcept {
  return g_shared_commits.load(std::memory_order_relaxed);
}

PgCommitGroup::PgCommitGroup(int lanes) : lanes_(std::max(lanes, 1)) {}

PgResult PgCommitGroup::Run(PgPool& pool, const std::string& name, const std::string& sql,
                            const PgParams& params, bool first) {
  Request own;
  own.statement = PgPipelined{&name, &sql, &params};
  own.first = first;
  // Allocated before this request is queued: nothing under the lock may throw and leave a
  // request of a caller's stack in the queue.
  std::vector<Request*> group;
  group.reserve(kMaxGroup);
  std::unique_lock lock(mutex_);
  queued_.push_back(&own);
  while (!own.done) {
    if (own.taken || in_flight_ >= lanes_) {
      own.wake.wait(lock);
      continue;
    }
    // A lane is free and this request still waits: lead a group of everything queued.
    TakeGroup(own, group);
    ++in_flight_;
    lock.unlock();
    Execute(pool, group);
    lock.lock();
    --in_flight_;
    for (Request* request : group) {
      request->done = true;
      if (request != &own) request->wake.notify_one();
    }
    // The lane is free: the oldest waiter leads the next group (it may find the lane taken by
    // a newcomer; then the end of that group wakes the oldest again).
    if (!queued_.empty()) queued_.front()->wake.notify_one();
  }
  lock.unlock();
  if (own.error) std::rethrow_exception(own.error);
  if (own.alone) {
    // Outside every lane: a statement that waits long on a row lock holds up no one else.
    PgPool::Lease conn = pool.Acquire();
    return conn->ExecPrepared(name, sql, params);
  }
  return std::move(*own.result);
}

size_t PgCommitGroup::Queued() {
  std::lock_guard lock(mutex_);
  return queued_.size();
}

void PgCommitGroup::TakeGroup(Request& own, std::vector<Request*>& group) {
  group.assign(1, &own);
  own.taken = true;
  // Two passes over the queue: the workflow starts, then everything else, each oldest first.
  for (const bool starts_only : {true, false}) {
    for (auto it = queued_.begin(); it != queued_.end();) {
      Request* request = *it;
      if (request == &own) {
        it = queued_.erase(it);
      } else if (group.size() < kMaxGroup && (request->first || !starts_only)) {
        request->taken = true;
        group.push_back(request);
        it = queued_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void PgCommitGroup::Execute(PgPool& pool, const std::vector<Request*>& group) {
  const auto fail_all = [&group] {
    const std::exception_ptr failure = std::current_exception();
    for (Request* request : group) request->error = OwnCopy(failure);
  };
  try {
    PgPool::Lease conn = pool.Acquire();
    std::vector<PgPipelined> statements;
    statements.reserve(group.size() + 2);
    statements.push_back(PgPipelined{&kLockTimeoutName, &kLockTimeoutSql, &kNoParams});
    for (const Request* request : group) statements.push_back(request->statement);
    statements.push_back(PgPipelined{&kLockTimeoutOffName, &kLockTimeoutOffSql, &kNoParams});
    try {
      const testing::Fault fault =
          group.size() > 1 ? GroupFault(statements) : testing::Fault{};  // a lone one: its own site
      if (fault.kind == testing::Fault::Kind::kBeforeExecute) {
        if (!fault.sqlstate.empty()) {
          throw PgError("injected fault: SQLSTATE " + fault.sqlstate, fault.sqlstate, "", false);
        }
        ::shutdown(conn->Socket(), SHUT_RDWR);
        throw PgError("injected fault: connection lost before a shared transaction ran", "", "",
                      true);
      }
      if (fault.kind == testing::Fault::Kind::kDropConnection) {
        ::shutdown(conn->Socket(), SHUT_RDWR);
      }
      std::vector<PgResult> results = conn->ExecInOneTransaction(statements);
      if (fault.kind == testing::Fault::Kind::kAfterCommit) {
        ::shutdown(conn->Socket(), SHUT_RDWR);
        throw PgError("injected fault: connection lost after a shared transaction committed", "",
                      "", true);
      }
      if (group.size() > 1) g_shared_commits.fetch_add(group.size(), std::memory_order_relaxed);
      for (size_t i = 0; i < group.size(); ++i) group[i]->result = std::move(results[i + 1]);
    } catch (const PgError& e) {
      // Lost connection: in doubt for every statement of the group, and each caller's retry
      // sorts out its own write.
      if (e.ConnectionLost()) return fail_all();
      // A lone statement's own failure is its outcome, unless it only waited too long on a lock.
      if (group.size() == 1 && e.SqlState() != kLockNotAvailable) return fail_all();
      // The transaction kept nothing: each statement runs again alone, outside the lanes (by
      // its own caller), so that a failure belongs to its own statement only.
      for (Request* request : group) request->alone = true;
    }
  } catch (...) {
    fail_all();  // no connection, or out of memory: nothing ran
  }
}

}  // namespace dbos::sysdb::pg
