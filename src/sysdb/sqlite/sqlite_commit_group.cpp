// Group commit on SQLite; see sqlite_commit_group.hpp.
#include "sysdb/sqlite/sqlite_commit_group.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <utility>

#include "sysdb/core/fault_injection.hpp"

namespace dbos::sysdb::sqlite {
namespace {

std::atomic<uint64_t> g_shared_commits{0};

/// A test's fault for a shared transaction: kBeforeExecute fails it before it runs (with a
/// result code: as a failure of the shared transaction itself, after which each write runs again
/// alone; without one: as an I/O error every write gets), kDropConnection rolls it back after its
/// writes ran, kAfterCommit reports an I/O error after it committed (in doubt for every write).
testing::Fault GroupFault() {
  if (!testing::FaultInjectionOn()) return {};
  return testing::NextFault({"sqlite", "GroupCommit", "group_commit", {}});
}

/// A copy of `failure` for one caller: callers rethrow and read their errors on their own
/// threads, and copies of one std::runtime_error share its message buffer.
std::exception_ptr OwnCopy(const std::exception_ptr& failure) noexcept {
  try {
    try {
      std::rethrow_exception(failure);
    } catch (const SqliteError& e) {
      return std::make_exception_ptr(SqliteError(e.Code(), e.Message()));
    } catch (const std::exception& e) {
      return std::make_exception_ptr(std::runtime_error(std::string(e.what())));
    }
  } catch (...) {
    return failure;  // not a standard exception, or no memory for a copy
  }
}

/// Runs `sql` (a savepoint command) on `conn`.
void Exec(Connection& conn, const char* sql) { conn.Prepare(sql).Run(); }

}  // namespace

uint64_t SqliteCommitGroup::SharedCommits() noexcept {
  return g_shared_commits.load(std::memory_order_relaxed);
}

core::Rows SqliteCommitGroup::Run(ConnectionPool& pool, const Write& write) {
  Request own;
  own.write = &write;
  // Allocated before this request is queued: nothing under the lock may throw and leave a
  // request of a caller's stack in the queue.
  std::vector<Request*> group;
  group.reserve(kMaxGroup);
  std::unique_lock lock(mutex_);
  queued_.push_back(&own);
  while (!own.done) {
    if (own.taken || leading_) {
      own.wake.wait(lock);
      continue;
    }
    // No group in flight and this request still waits: lead everything queued.
    TakeGroup(own, group);
    leading_ = true;
    lock.unlock();
    Execute(pool, group);
    lock.lock();
    leading_ = false;
    for (Request* request : group) {
      request->done = true;
      if (request != &own) request->wake.notify_one();
    }
    // The oldest waiter leads the next group (a newcomer may lead first; then the end of its
    // group wakes the oldest again).
    if (!queued_.empty()) queued_.front()->wake.notify_one();
  }
  lock.unlock();
  if (own.error) std::rethrow_exception(own.error);
  if (own.alone) return RunAlone(pool, write);
  return std::move(*own.result);
}

void SqliteCommitGroup::TakeGroup(Request& own, std::vector<Request*>& group) {
  group.assign(1, &own);
  own.taken = true;
  for (auto it = queued_.begin(); it != queued_.end();) {
    if (*it == &own) {
      it = queued_.erase(it);
    } else if (group.size() < kMaxGroup) {
      (*it)->taken = true;
      group.push_back(*it);
      it = queued_.erase(it);
    } else {
      ++it;
    }
  }
}

core::Rows SqliteCommitGroup::RunAlone(ConnectionPool& pool, const Write& write) {
  ConnectionPool::Lease lease = pool.Writer();
  Transaction txn(*lease, Transaction::Mode::Immediate);
  WriteOutcome outcome = write(*lease);
  if (outcome.keep) txn.Commit();  // otherwise the destructor rolls back
  return std::move(outcome.rows);
}

void SqliteCommitGroup::Execute(ConnectionPool& pool, const std::vector<Request*>& group) {
  const auto fail_all = [&group] {
    const std::exception_ptr failure = std::current_exception();
    for (Request* request : group) {
      if (!request->error) request->error = OwnCopy(failure);
    }
  };
  if (group.size() == 1) {
    // A lone write: its own transaction, and its failure is its own.
    try {
      group.front()->result = RunAlone(pool, *group.front()->write);
    } catch (...) {
      group.front()->error = std::current_exception();
    }
    return;
  }
  try {
    const testing::Fault fault = GroupFault();
    if (fault.kind == testing::Fault::Kind::kBeforeExecute && fault.sqlite_code != 0) {
      for (Request* request : group) request->alone = true;
      return;
    }
    if (fault.kind == testing::Fault::Kind::kBeforeExecute) {
      throw SqliteError(SQLITE_IOERR, "injected fault before a shared transaction ran");
    }
    ConnectionPool::Lease lease = pool.Writer();
    Transaction txn(*lease, Transaction::Mode::Immediate);
    ExecuteShared(*lease, group);
    if (fault.kind == testing::Fault::Kind::kDropConnection) {
      throw SqliteError(SQLITE_IOERR, "injected fault: a shared transaction broke before COMMIT");
    }
    txn.Commit();
    if (fault.kind == testing::Fault::Kind::kAfterCommit) {
      // Every write of the group is in doubt now, also one that failed on its own.
      for (Request* request : group) request->error = nullptr;
      throw SqliteError(SQLITE_IOERR, "injected fault: reply lost after a shared commit");
    }
    uint64_t committed = 0;
    for (const Request* request : group) committed += request->error ? 0 : 1;
    g_shared_commits.fetch_add(committed, std::memory_order_relaxed);
  } catch (...) {
    // Nothing of the group was kept (or, after the commit, each caller's retry sorts out its
    // own write): the failure is every write's that did not already fail on its own.
    fail_all();
    for (Request* request : group) request->result.reset();
  }
}

void SqliteCommitGroup::ExecuteShared(Connection& conn, const std::vector<Request*>& group) {
  for (Request* request : group) {
    Exec(conn, "SAVEPOINT dbos_group_write");
    try {
      WriteOutcome outcome = (*request->write)(conn);
      if (!outcome.keep) Exec(conn, "ROLLBACK TO dbos_group_write");
      Exec(conn, "RELEASE dbos_group_write");
      request->result = std::move(outcome.rows);
    } catch (...) {
      // Some errors (I/O, a full disk) end the whole transaction: then it is everyone's.
      if (!conn.InTransaction()) throw;
      request->error = std::current_exception();
      Exec(conn, "ROLLBACK TO dbos_group_write");
      Exec(conn, "RELEASE dbos_group_write");
    }
  }
}

}  // namespace dbos::sysdb::sqlite
