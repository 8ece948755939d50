// Reads of one kind, keyed by workflow ID, that many threads ask for at the same moment share
// one query: when workflows wake together (messages released, timers firing, recovery), each
// replay reading its recorded steps alone costs a round trip and a statement apiece.
//
// Batching is adaptive, like the group commit: a read that finds a lane free runs at once
// (alone, if no one else is waiting: a lone reader never waits for company); reads that arrive
// while every lane is busy queue up, and the first of them takes all of them, up to a bound,
// into the next query when a lane frees. Only reads queued before a query starts are in it, so
// each sees at least what a read of its own, started when it asked, would have seen.
//
// A batch that fails leaves each of its readers to read alone again, so that every reader gets
// its own error, with its own operation's retries and its own workflow's name in it.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
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

  ReadCoalescer(int lanes, size_t max_batch) : lanes_(lanes < 1 ? 1 : lanes), max_(max_batch) {}
  ReadCoalescer(const ReadCoalescer&) = delete;
  ReadCoalescer& operator=(const ReadCoalescer&) = delete;

  /// The value of `key`. `read_one(key)` reads a key alone (a lone reader, or one whose batch
  /// failed); `read_many(keys)` reads several distinct keys in one query and returns a Batch.
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
      lock.unlock();
      RunBatch(own, batch, read_one, read_many);
      lock.lock();
      --in_flight_;
      for (Request* request : batch) {
        request->done = true;
        if (request != &own) request->wake.notify_one();
      }
      // The lane is free: the oldest waiter leads the next batch.
      if (!queued_.empty()) queued_.front()->wake.notify_one();
    }
    lock.unlock();
    if (own.error) std::rethrow_exception(own.error);
    if (own.value) return std::move(*own.value);
    return read_one(key);  // alone, outside the lanes: its batch failed
  }

  /// Reads that shared a query with another (for tests and diagnostics).
  size_t SharedReads() const {
    std::lock_guard lock(mutex_);
    return shared_reads_;
  }

 private:
  struct Request {
    const std::string* key = nullptr;
    std::optional<Value> value;  ///< Set when its batch succeeded.
    std::exception_ptr error;    ///< A lone read's own failure.
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
      } else if (batch.size() < max_) {
        request->taken = true;
        batch.push_back(request);
        it = queued_.erase(it);
      } else {
        ++it;
      }
    }
  }

  /// A batch of one is its leader's own read, with the statement a lone read always used.
  template <typename ReadOne, typename ReadMany>
  void RunBatch(Request& own, std::vector<Request*>& batch, ReadOne& read_one,
                ReadMany& read_many) {
    if (batch.size() < 2) {
      try {
        own.value.emplace(read_one(*own.key));
      } catch (...) {
        own.error = std::current_exception();
      }
      return;
    }
    std::vector<std::string> keys;
    keys.reserve(batch.size());
    for (const Request* request : batch) {
      if (std::find(keys.begin(), keys.end(), *request->key) == keys.end()) {
        keys.push_back(*request->key);
      }
    }
    try {
      Batch values = read_many(keys);
      for (Request* request : batch) {
        auto found = values.find(*request->key);
        request->value.emplace(found == values.end() ? Value{} : found->second);
      }
      std::lock_guard lock(mutex_);
      shared_reads_ += batch.size();
    } catch (...) {
      for (Request* request : batch) request->value.reset();  // each reads alone
    }
  }

  const int lanes_;
  const size_t max_;
  mutable std::mutex mutex_;
  std::deque<Request*> queued_;
  int in_flight_ = 0;
  size_t shared_reads_ = 0;
};

}  // namespace dbos::sysdb::core
