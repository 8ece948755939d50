// ReadCoalescer (sysdb/core/read_coalescer.hpp): a lone reader reads alone at once; readers that
// arrive while the lane is busy share one query of their distinct keys; a failed shared query
// leaves each to read alone; a lone read's failure is its caller's only.
#include "sysdb/core/read_coalescer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dbos::sysdb::core {
namespace {

using Coalescer = ReadCoalescer<std::string>;

// A read_one that holds its caller until Open(), once, so that others queue meanwhile.
class Gate {
 public:
  void WaitOpen() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void AwaitEntered() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool open_ = false;
};

TEST(ReadCoalescerTest, ALoneReaderReadsAloneAtOnce) {
  Coalescer coalescer(1, 8);
  int many_calls = 0;
  const std::string value = coalescer.Read(
      "a", [](const std::string& key) { return "one:" + key; },
      [&](const std::vector<std::string>&) {
        ++many_calls;
        return Coalescer::Batch{};
      });
  EXPECT_EQ(value, "one:a");
  EXPECT_EQ(many_calls, 0);
  EXPECT_EQ(coalescer.SharedReads(), 0u);
}

TEST(ReadCoalescerTest, ReadersQueuedBehindABusyLaneShareOneQueryOfTheirDistinctKeys) {
  Coalescer coalescer(1, 64);
  Gate gate;
  std::mutex seen_mutex;
  std::vector<std::vector<std::string>> batches;
  const auto read_one = [&](const std::string& key) {
    if (key == "first") gate.WaitOpen();
    return "one:" + key;
  };
  const auto read_many = [&](const std::vector<std::string>& keys) {
    {
      std::lock_guard lock(seen_mutex);
      batches.push_back(keys);
    }
    Coalescer::Batch out;
    for (const auto& key : keys) {
      if (key != "absent") out[key] = "many:" + key;
    }
    return out;
  };
  std::string first;
  std::thread leader([&] { first = coalescer.Read("first", read_one, read_many); });
  gate.AwaitEntered();
  const std::vector<std::string> keys{"x", "y", "x", "absent", "z", "y"};
  std::vector<std::string> got(keys.size());
  std::vector<std::thread> readers;
  for (size_t i = 0; i < keys.size(); ++i) {
    readers.emplace_back([&, i] { got[i] = coalescer.Read(keys[i], read_one, read_many); });
  }
  // Every reader is queued once the lane is its only way on; give them time to get there.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  gate.Open();
  leader.join();
  for (auto& reader : readers) reader.join();

  EXPECT_EQ(first, "one:first");
  ASSERT_EQ(batches.size(), 1u);
  std::vector<std::string> distinct = batches[0];
  std::sort(distinct.begin(), distinct.end());
  EXPECT_EQ(distinct, (std::vector<std::string>{"absent", "x", "y", "z"}));
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(got[i], keys[i] == "absent" ? "" : "many:" + keys[i]) << keys[i];
  }
  EXPECT_EQ(coalescer.SharedReads(), keys.size());
}

TEST(ReadCoalescerTest, AFailedSharedQueryLeavesEachReaderToReadAlone) {
  Coalescer coalescer(1, 64);
  Gate gate;
  std::atomic<int> lone_reads{0};
  const auto read_one = [&](const std::string& key) {
    if (key == "first") gate.WaitOpen();
    ++lone_reads;
    if (key == "bad") throw std::runtime_error("bad key");
    return "one:" + key;
  };
  const auto read_many = [](const std::vector<std::string>&) -> Coalescer::Batch {
    throw std::runtime_error("shared query failed");
  };
  std::thread leader([&] { coalescer.Read("first", read_one, read_many); });
  gate.AwaitEntered();
  std::string good;
  std::string bad_error;
  std::thread good_reader([&] { good = coalescer.Read("good", read_one, read_many); });
  std::thread bad_reader([&] {
    try {
      coalescer.Read("bad", read_one, read_many);
    } catch (const std::runtime_error& e) {
      bad_error = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  gate.Open();
  leader.join();
  good_reader.join();
  bad_reader.join();
  EXPECT_EQ(good, "one:good");
  EXPECT_EQ(bad_error, "bad key");
  EXPECT_EQ(lone_reads.load(), 3);
  EXPECT_EQ(coalescer.SharedReads(), 0u);
}

TEST(ReadCoalescerTest, ALoneReadsFailureIsItsCallersOnly) {
  Coalescer coalescer(1, 8);
  EXPECT_THROW(coalescer.Read(
                   "k", [](const std::string&) -> std::string { throw std::runtime_error("x"); },
                   [](const std::vector<std::string>&) { return Coalescer::Batch{}; }),
               std::runtime_error);
  // The lane is free again.
  EXPECT_EQ(coalescer.Read(
                "k", [](const std::string&) { return std::string("ok"); },
                [](const std::vector<std::string>&) { return Coalescer::Batch{}; }),
            "ok");
}

}  // namespace
}  // namespace dbos::sysdb::core
