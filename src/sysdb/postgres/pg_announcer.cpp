// The announcer thread; see pg_announcer.hpp.
#include "sysdb/postgres/pg_announcer.hpp"

#include <exception>

namespace dbos::sysdb::pg {

PgAnnouncer::PgAnnouncer(Sender send, OnFailure on_failure)
    : send_(std::move(send)), on_failure_(std::move(on_failure)) {}

PgAnnouncer::~PgAnnouncer() { Stop(); }

void PgAnnouncer::Announce(const std::string& channel, const std::string& payload) noexcept {
  try {
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      first = pending_.empty();
      pending_.emplace(channel, payload);
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
    // The thread waits for a first announcement, or sleeps out its spacing and then takes all.
    if (first) wake_.notify_one();
  } catch (...) {  // no memory or no thread: the listeners' poll finds the work
  }
}

void PgAnnouncer::Stop() noexcept {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    pending_.clear();
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

void PgAnnouncer::Run() noexcept {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopped_ || !pending_.empty(); });
      if (stopped_) return;
      try {
        batch.assign(pending_.begin(), pending_.end());
      } catch (...) {  // no memory: drop this batch
      }
      pending_.clear();
    }
    if (batch.empty()) continue;
    try {
      send_(batch);
    } catch (const std::exception& e) {
      on_failure_(e.what());
    } catch (...) {
      on_failure_("unknown error");
    }
    // What is announced meanwhile waits for the next batch: a burst of enqueues costs one NOTIFY
    // per spacing rather than one per round trip.
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kBatchSpacing, [&] { return stopped_; });
  }
}

}  // namespace dbos::sysdb::pg
