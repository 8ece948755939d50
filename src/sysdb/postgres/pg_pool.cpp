// Connection pool implementation: a mutex-guarded idle stack plus a count of open slots. New
// connections are opened outside the lock so a slow connect never blocks other threads.
#include "sysdb/postgres/pg_pool.hpp"

#include <utility>

namespace dbos::sysdb::pg {

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_) pool_->Release(std::move(conn_));
}

PgPool::PgPool(ConnectionSpec spec, size_t max_size, std::chrono::milliseconds connect_timeout)
    : spec_(std::move(spec)),
      max_size_(max_size == 0 ? 1 : max_size),
      connect_timeout_(connect_timeout) {
  idle_.reserve(max_size_);  // so Release() never allocates
}

PgPool::~PgPool() = default;

PgPool::Lease PgPool::Acquire() {
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot, then connect without holding the lock
  }
  try {
    return Lease(this,
                 PgConnection::Connect(spec_, std::chrono::steady_clock::now() + connect_timeout_));
  } catch (const PgConnectError& e) {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    available_.notify_one();
    throw PgError(std::string("could not open a connection to the system database (") +
                      spec_.Describe() + "): " + e.what(),
                  "", "", true);
  }
}

void PgPool::Adopt(std::unique_ptr<PgConnection> conn) {
  if (!conn || !conn->Healthy()) return;
  {
    std::lock_guard lock(mutex_);
    if (open_ >= max_size_) return;  // conn closes here
    ++open_;
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

void PgPool::DiscardIdle() noexcept {
  {
    std::lock_guard lock(mutex_);
    open_ -= idle_.size();
    idle_.clear();  // closes them; clear() keeps the capacity, so Release() stays allocation-free
  }
  available_.notify_all();
}

void PgPool::Release(std::unique_ptr<PgConnection> conn) noexcept {
  if (!conn->Healthy()) conn->RollbackQuietly();
  if (!conn->Healthy()) {
    conn.reset();  // close outside the lock
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    available_.notify_one();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

}  // namespace dbos::sysdb::pg
