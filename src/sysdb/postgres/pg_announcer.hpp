// Announcements of queue work (NOTIFY) sent after the write that made the work available has
// committed, from a background thread, instead of inside that write. A NOTIFY inside a
// transaction holds PostgreSQL's notification lock from before its commit record until after it
// is flushed, so every notifying commit of the cluster waits for the previous one's flush: with
// concurrent enqueuers, a NOTIFY per enqueue turns group commit off. Sent afterwards, by a
// transaction that writes nothing, the lock is held for microseconds. Pending announcements are
// coalesced (one per channel and payload per batch), and a batch follows the one before after
// kBatchSpacing at the earliest, so a burst of enqueues on one queue costs one NOTIFY per spacing
// (each NOTIFY is a statement and a commit on the server the enqueues share). An announcement
// lost to a crash or an outage delays the work until the listeners' poll, which is the safety
// net anyway.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dbos::sysdb::pg {

class PgAnnouncer {
 public:
  /// The least time between two batches: what another process waits at most, beyond the
  /// round trip, to hear of work announced right after a batch.
  static constexpr std::chrono::milliseconds kBatchSpacing{5};

  /// (channel, payload) pairs to NOTIFY.
  using Batch = std::vector<std::pair<std::string, std::string>>;
  /// Sends a batch (on any connection, outside any write transaction); may throw, which drops
  /// the batch.
  using Sender = std::function<void(const Batch&)>;
  /// Called with the reason when a batch could not be sent.
  using OnFailure = std::function<void(const std::string&)>;

  PgAnnouncer(Sender send, OnFailure on_failure);
  /// Stops the thread (pending announcements are dropped).
  ~PgAnnouncer();
  PgAnnouncer(const PgAnnouncer&) = delete;
  PgAnnouncer& operator=(const PgAnnouncer&) = delete;

  /// Queues a NOTIFY of `payload` on `channel`; starts the thread on first use. Never throws.
  void Announce(const std::string& channel, const std::string& payload) noexcept;
  /// Stops the thread (idempotent); later announcements are dropped.
  void Stop() noexcept;

 private:
  void Run() noexcept;

  const Sender send_;
  const OnFailure on_failure_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::pair<std::string, std::string>> pending_;  // guarded by mutex_
  bool stopped_ = false;                                   // guarded by mutex_
  std::thread thread_;                                     // started under mutex_
};

}  // namespace dbos::sysdb::pg
