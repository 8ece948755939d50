// Reads of one kind, keyed by workflow ID, that many threads ask for at the same moment share
// one query: when workflows wake together (messages released, timers firing, recovery), each
// replay reading its recorded steps alone costs a round trip and a statement apiece.
//
// Batching is adaptive, like the group commit: a read that finds a lane free runs at once
// (alone, if no one else is waiting: a lone reader never waits for company); reads that arrive
// while every lane is busy queue up, and the oldest of them takes them all, up to a bound, into
// the next query when a lane frees. Only reads queued before a query starts are in it, so each
// sees at least what a read of its own, started when it asked, would have seen.
//
// A read inside a lane makes one attempt (`read_many`, which the caller bounds): whatever its
// failure, each of its readers then reads again alone, outside the lanes, with `read_one` and
// that operation's own retries and errors. So a query that keeps failing (a batch over a
// statement timeout, a database that went away) holds the lane for one attempt, not for its
// retries; and after a shared query fails the next ones take half as many readers.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dbos::sysdb::core {

template <typename Value>
class ReadCoalescer {
 public:
  /// The values of a batch's keys (each distinct key once). A key without an entry reads as
  /// Value{}.
  using Batch = std::unordered_map<std::string, Value>;

  ReadCoalescer(int lanes, size_t max_batch)
      : lanes_(lanes < 1 ? 1 : lanes), max_(max_batch < 1 ? 1 : max_batch) {}
  ReadCoalescer(const ReadCoalescer&) = delete;
  ReadCoalescer& operator=(const ReadCoalescer&) = delete;

  /// The value of `key`. `read_many(keys)` reads distinct keys (one, or several) in one bounded
  /// attempt and returns a Batch; `read_one(key)` reads a key alone, outside the lanes, when
  /// that attempt failed.
  template <typename ReadOne, typename ReadMany>
  Value Read(const std::string& key, ReadOne&& read_one, ReadMany&& read_many) {
    Request own;
    own.key = &key;
    std::vector<Request*> batch;
    batch.reserve(max_);
    std::unique_lock lock(mutex_);
    queued_.push_back(&own);
    while (!own.done) {
      if (own.taken || in_flight_ >= lanes_) {
        own.wake.wait(lock);
        continue;
      }
      Take(own, batch);
      ++in_flight_;
      // Readers the batch left queued lead on another free lane, if there is one.
      if (!queued_.empty() && in_flight_ < lanes_) queued_.front()->wake.notify_one();
      lock.unlock();
      RunBatch(batch, read_many);
      lock.lock();
      --in_flight_;
      for (Request* request : batch) {
        request->done = true;
        if (request != &own) request->wake.notify_one();
      }
      // Lanes are free: the oldest waiters lead the next batches.
      int free_lanes = lanes_ - in_flight_;
      for (auto it = queued_.begin(); it != queued_.end() && free_lanes > 0; ++it, --free_lanes) {
        (*it)->wake.notify_one();
      }
    }
    lock.unlock();
    if (own.value) return std::move(*own.value);
    return read_one(key);  // alone, outside the lanes: the attempt in the lane failed
  }

  /// Reads answered by a query they shared with another read (for tests and diagnostics).
  size_t SharedReads() const {
    std::lock_guard lock(mutex_);
    return shared_reads_;
  }

  /// The most readers the next shared query takes (for tests).
  size_t Limit() const {
    std::lock_guard lock(mutex_);
    return limit_;
  }

  /// Reads waiting for a lane (for tests).
  size_t Queued() const {
    std::lock_guard lock(mutex_);
    return queued_.size();
  }

 private:
  struct Request {
    const std::string* key = nullptr;
    std::optional<Value> value;  ///< Set when the read in its lane succeeded.
    bool taken = false;
    bool done = false;
    std::condition_variable wake;
  };

  void Take(Request& own, std::vector<Request*>& batch) {
    batch.assign(1, &own);
    own.taken = true;
    for (auto it = queued_.begin(); it != queued_.end();) {
      Request* request = *it;
      if (request == &own) {
        it = queued_.erase(it);
      } else if (batch.size() < limit_) {
        request->taken = true;
        batch.push_back(request);
        it = queued_.erase(it);
      } else {
        ++it;
      }
    }
  }

  /// Never throws: a failure leaves every request of the batch without a value (each then
  /// reads alone), and the caller always frees the lane and wakes the batch.
  template <typename ReadMany>
  void RunBatch(std::vector<Request*>& batch, ReadMany& read_many) noexcept {
    try {
      std::vector<std::string> keys;
      keys.reserve(batch.size());
      for (const Request* request : batch) {
        if (std::find(keys.begin(), keys.end(), *request->key) == keys.end()) {
          keys.push_back(*request->key);
        }
      }
      Batch values = read_many(keys);
      for (Request* request : batch) {
        auto found = values.find(*request->key);
        request->value.emplace(found == values.end() ? Value{} : found->second);
      }
      std::lock_guard lock(mutex_);
      if (batch.size() > 1) shared_reads_ += batch.size();
      if (batch.size() == limit_) limit_ = std::min(max_, limit_ * 2);
    } catch (...) {
      for (Request* request : batch) request->value.reset();  // each reads alone
      // A shared query that failed may fail for its size (a statement timeout): the next ones
      // take half as many, down to one, and grow back as they succeed.
      try {
        std::lock_guard lock(mutex_);
        if (batch.size() > 1) limit_ = std::max<size_t>(1, batch.size() / 2);
      } catch (...) {
      }
    }
  }

  const int lanes_;
  const size_t max_;
  size_t limit_ = max_;  ///< The most the next batch takes (max_, halved after a failure).
  mutable std::mutex mutex_;
  std::deque<Request*> queued_;
  int in_flight_ = 0;
  size_t shared_reads_ = 0;
};

}  // namespace dbos::sysdb::core
