// ReadCoalescer (sysdb/core/read_coalescer.hpp): a lone reader reads at once; readers that arrive
// while the lane is busy share one query of their distinct keys (several, when more queue than a
// query takes), and never one that started before they asked; a failed read in the lane leaves
// each of its readers to read alone, outside the lane.
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
#include <utility>
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

// A shared query that finds every key: "many:<key>".
Coalescer::Batch ManyAnswers(const std::vector<std::string>& keys) {
  Coalescer::Batch out;
  for (const auto& key : keys) out[key] = "many:" + key;
  return out;
}

// The sizes of the shared queries a test's read_many ran, in order (it runs on reader threads).
class QuerySizes {
 public:
  void Record(size_t size) {
    std::lock_guard lock(mutex_);
    sizes_.push_back(size);
  }
  /// The sizes recorded since the last Take.
  std::vector<size_t> Take() {
    std::lock_guard lock(mutex_);
    return std::exchange(sizes_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<size_t> sizes_;
};

// Waits until `n` readers queue behind the lane.
void AwaitQueued(const Coalescer& coalescer, size_t n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (coalescer.Queued() < n) {
    if (std::chrono::steady_clock::now() > give_up) {
      ADD_FAILURE() << coalescer.Queued() << " readers queued, not " << n;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string Unused(const std::string& key) {
  ADD_FAILURE() << "read alone: " << key;
  return "";
}

TEST(ReadCoalescerTest, ALoneReaderReadsAtOnceInOneQueryOfItsOwn) {
  Coalescer coalescer(1, 8);
  std::vector<std::vector<std::string>> queries;
  const std::string value = coalescer.Read("a", Unused, [&](const std::vector<std::string>& keys) {
    queries.push_back(keys);
    return Coalescer::Batch{{"a", "many:a"}};
  });
  EXPECT_EQ(value, "many:a");
  EXPECT_EQ(queries, (std::vector<std::vector<std::string>>{{"a"}}));
  EXPECT_EQ(coalescer.SharedReads(), 0u);
}

// Read by the thread `Leader` starts: holds the lane (its read waits for the gate) until Open().
class HeldLane {
 public:
  HeldLane(Coalescer& coalescer, Gate& gate) : gate_(gate) {
    leader_ = std::thread([&coalescer, &gate, this] {
      value_ = coalescer.Read("first", Unused, [&gate](const std::vector<std::string>& keys) {
        EXPECT_EQ(keys, std::vector<std::string>{"first"});
        gate.WaitOpen();
        return Coalescer::Batch{{"first", "held"}};
      });
    });
    gate.AwaitEntered();
  }
  ~HeldLane() { Release(); }
  std::string Release() {
    if (leader_.joinable()) {
      gate_.Open();
      leader_.join();
    }
    return value_;
  }

 private:
  Gate& gate_;
  std::thread leader_;
  std::string value_;
};

// Reads each of `keys` on a thread of its own, all queued behind a held lane that is released
// once every one of them waits; returns their values in the order of `keys`.
template <typename ReadOne, typename ReadMany>
std::vector<std::string> ReadBehindHeldLane(Coalescer& coalescer,
                                            const std::vector<std::string>& keys,
                                            const ReadOne& read_one, const ReadMany& read_many) {
  Gate gate;
  HeldLane held(coalescer, gate);
  std::vector<std::string> got(keys.size());
  std::vector<std::thread> readers;
  for (size_t i = 0; i < keys.size(); ++i) {
    readers.emplace_back([&, i] { got[i] = coalescer.Read(keys[i], read_one, read_many); });
  }
  AwaitQueued(coalescer, keys.size());
  EXPECT_EQ(held.Release(), "held");
  for (auto& reader : readers) reader.join();
  return got;
}

// "k0" … "k<n-1>".
std::vector<std::string> Keys(size_t n) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) keys.push_back("k" + std::to_string(i));
  return keys;
}

TEST(ReadCoalescerTest, ReadersQueuedBehindABusyLaneShareOneQueryOfTheirDistinctKeys) {
  Coalescer coalescer(1, 64);
  std::mutex seen_mutex;
  std::vector<std::vector<std::string>> batches;
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
  const std::vector<std::string> keys{"x", "y", "x", "absent", "z", "y"};
  const std::vector<std::string> got = ReadBehindHeldLane(coalescer, keys, Unused, read_many);

  ASSERT_EQ(batches.size(), 1u);
  std::vector<std::string> distinct = batches[0];
  std::sort(distinct.begin(), distinct.end());
  EXPECT_EQ(distinct, (std::vector<std::string>{"absent", "x", "y", "z"}));
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(got[i], keys[i] == "absent" ? "" : "many:" + keys[i]) << keys[i];
  }
  EXPECT_EQ(coalescer.SharedReads(), keys.size());
}

TEST(ReadCoalescerTest, MoreReadersThanAQueryTakesShareSeveralQueries) {
  Coalescer coalescer(1, 3);
  QuerySizes sizes;
  const auto read_many = [&](const std::vector<std::string>& keys) {
    sizes.Record(keys.size());
    return ManyAnswers(keys);
  };
  constexpr size_t kReaders = 7;
  const std::vector<std::string> got =
      ReadBehindHeldLane(coalescer, Keys(kReaders), Unused, read_many);
  EXPECT_EQ(sizes.Take(), (std::vector<size_t>{3, 3, 1}));
  for (size_t i = 0; i < kReaders; ++i) EXPECT_EQ(got[i], "many:k" + std::to_string(i));
}

// A reader that asks while a query is in flight is answered by a later query, never by that one
// (which may have read before what the reader must see was written).
TEST(ReadCoalescerTest, AReaderIsNeverAnsweredByAQueryThatStartedBeforeItAsked) {
  Coalescer coalescer(1, 64);
  std::atomic<int> queries{0};
  Gate in_flight;
  const auto read_many = [&](const std::vector<std::string>& keys) {
    const int number = ++queries;
    if (number == 1) in_flight.WaitOpen();
    Coalescer::Batch out;
    for (const auto& key : keys) out[key] = "query " + std::to_string(number);
    return out;
  };
  std::string early;
  std::thread early_reader([&] { early = coalescer.Read("k", Unused, read_many); });
  in_flight.AwaitEntered();
  std::string late;
  std::thread late_reader([&] { late = coalescer.Read("k", Unused, read_many); });
  AwaitQueued(coalescer, 1);
  in_flight.Open();
  early_reader.join();
  late_reader.join();
  EXPECT_EQ(early, "query 1");
  EXPECT_EQ(late, "query 2");
}

TEST(ReadCoalescerTest, AFailedReadInTheLaneLeavesEachOfItsReadersToReadAlone) {
  Coalescer coalescer(1, 64);
  std::atomic<int> shared_attempts{0};
  std::atomic<int> lone_reads{0};
  const auto read_one = [&](const std::string& key) {
    ++lone_reads;
    if (key == "bad") throw std::runtime_error("bad key");
    return "one:" + key;
  };
  const auto read_many = [&](const std::vector<std::string>&) -> Coalescer::Batch {
    ++shared_attempts;
    throw std::runtime_error("shared query failed");
  };
  Gate gate;
  HeldLane held(coalescer, gate);
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
  AwaitQueued(coalescer, 2);
  held.Release();
  good_reader.join();
  bad_reader.join();
  EXPECT_EQ(shared_attempts.load(), 1);  // one attempt in the lane for both, then each alone
  EXPECT_EQ(lone_reads.load(), 2);
  EXPECT_EQ(good, "one:good");
  EXPECT_EQ(bad_error, "bad key");
  EXPECT_EQ(coalescer.SharedReads(), 0u);
}

// A shared query that fails (a statement timeout, say) may fail for its size: the next ones take
// half as many readers, and the limit grows back as full batches succeed.
TEST(ReadCoalescerTest, AfterASharedQueryFailsTheNextOnesTakeHalfAsMany) {
  Coalescer coalescer(1, 8);
  QuerySizes sizes;
  const auto read_many = [&](const std::vector<std::string>& keys) {
    sizes.Record(keys.size());
    if (keys.size() > 4) throw std::runtime_error("too many at once");
    return ManyAnswers(keys);
  };
  const auto read_one = [](const std::string& key) { return "one:" + key; };
  const auto round = [&](size_t readers) {
    return ReadBehindHeldLane(coalescer, Keys(readers), read_one, read_many);
  };
  const auto first = round(8);  // one query of 8 fails: each reads alone
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i], "one:k" + std::to_string(i));
  EXPECT_EQ(coalescer.Limit(), 4u);
  sizes.Take();
  const auto second = round(5);  // 4 (succeeds: the limit doubles), then 1
  EXPECT_EQ(sizes.Take(), (std::vector<size_t>{4, 1}));
  for (size_t i = 0; i < second.size(); ++i) EXPECT_EQ(second[i], "many:k" + std::to_string(i));
  EXPECT_EQ(coalescer.Limit(), 8u);
}

TEST(ReadCoalescerTest, ALoneReadThatFailsInTheLaneReadsAgainAloneAndKeepsItsOwnError) {
  Coalescer coalescer(1, 8);
  int lone_reads = 0;
  const auto fail_in_lane = [](const std::vector<std::string>&) -> Coalescer::Batch {
    throw std::runtime_error("in the lane");
  };
  EXPECT_EQ(coalescer.Read(
                "k",
                [&](const std::string&) {
                  ++lone_reads;
                  return std::string("alone");
                },
                fail_in_lane),
            "alone");
  EXPECT_EQ(lone_reads, 1);
  EXPECT_THROW(coalescer.Read(
                   "k", [](const std::string&) -> std::string { throw std::runtime_error("own"); },
                   fail_in_lane),
               std::runtime_error);
  // The lane is free again.
  EXPECT_EQ(coalescer.Read("k", Unused,
                           [](const std::vector<std::string>&) {
                             return Coalescer::Batch{{"k", "ok"}};
                           }),
            "ok");
}

}  // namespace
}  // namespace dbos::sysdb::core
