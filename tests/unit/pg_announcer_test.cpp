// The announcer of queue work (sysdb/postgres/pg_announcer.hpp): announcements are sent by a
// background thread in batches, one per (channel, payload) per batch, a batch no sooner than
// kBatchSpacing after the one before; none is lost while the announcer runs.
#include "sysdb/postgres/pg_announcer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dbos::sysdb::pg {
namespace {

using Clock = std::chrono::steady_clock;

// Records each batch the announcer sends, with the time it was sent.
struct SentBatches {
  std::mutex mutex;
  std::vector<std::pair<Clock::time_point, PgAnnouncer::Batch>> batches;

  PgAnnouncer::Sender Sender() {
    return [this](const PgAnnouncer::Batch& batch) {
      std::lock_guard lock(mutex);
      batches.emplace_back(Clock::now(), batch);
    };
  }
  std::set<std::string> Payloads() {
    std::lock_guard lock(mutex);
    std::set<std::string> out;
    for (const auto& [at, batch] : batches) {
      for (const auto& [channel, payload] : batch) out.insert(payload);
    }
    return out;
  }
  size_t Count() {
    std::lock_guard lock(mutex);
    return batches.size();
  }
};

template <typename Predicate>
bool Eventually(Predicate done) {
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(PgAnnouncerTest, EveryAnnouncementIsSentAndABurstSharesFewBatches) {
  SentBatches sent;
  PgAnnouncer announcer(sent.Sender(), [](const std::string&) {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&announcer, t] {
      for (int i = 0; i < 250; ++i) {
        announcer.Announce("dbos_queue_channel", std::to_string(t) + "-" + std::to_string(i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(Eventually([&] { return sent.Payloads().size() == 1000; }));
  EXPECT_LE(sent.Count(), 100u);  // 1,000 announcements in a burst, not 1,000 NOTIFYs
}

TEST(PgAnnouncerTest, OneChannelAndPayloadIsSentOncePerBatch) {
  SentBatches sent;
  PgAnnouncer announcer(sent.Sender(), [](const std::string&) {});
  announcer.Announce("dbos_queue_channel", "first");
  ASSERT_TRUE(Eventually([&] { return sent.Count() == 1; }));
  // Announced while the next batch waits out its spacing: coalesced into it.
  for (int i = 0; i < 50; ++i) announcer.Announce("dbos_queue_channel", "q");
  ASSERT_TRUE(Eventually([&] { return sent.Count() >= 2; }));
  std::lock_guard lock(sent.mutex);
  size_t batches_with_q = 0;
  for (const auto& [at, batch] : sent.batches) {
    size_t in_batch = 0;
    for (const auto& [channel, payload] : batch) in_batch += payload == "q" ? 1 : 0;
    EXPECT_LE(in_batch, 1u);
    batches_with_q += in_batch;
  }
  EXPECT_GE(batches_with_q, 1u);
  EXPECT_LT(batches_with_q, 50u);
}

TEST(PgAnnouncerTest, BatchesAreSpacedApart) {
  SentBatches sent;
  PgAnnouncer announcer(sent.Sender(), [](const std::string&) {});
  // One announcement every 200 µs: sent as they come, batches would be 200 µs apart.
  for (int i = 0; i < 20; ++i) {
    announcer.Announce("dbos_queue_channel", std::to_string(i));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(Eventually([&] { return sent.Payloads().size() == 20; }));
  std::lock_guard lock(sent.mutex);
  EXPECT_GE(sent.batches.size(), 2u);
  for (size_t i = 1; i < sent.batches.size(); ++i) {
    EXPECT_GE(sent.batches[i].first - sent.batches[i - 1].first, PgAnnouncer::kBatchSpacing);
  }
}

TEST(PgAnnouncerTest, AFailedBatchIsReportedAndLaterOnesAreSent) {
  std::mutex mutex;
  std::vector<std::string> failures;
  std::set<std::string> sent;
  PgAnnouncer announcer(
      [&](const PgAnnouncer::Batch& batch) {
        std::lock_guard lock(mutex);
        if (batch.front().second == "fails") throw std::runtime_error("connection lost");
        for (const auto& [channel, payload] : batch) sent.insert(payload);
      },
      [&](const std::string& why) {
        std::lock_guard lock(mutex);
        failures.push_back(why);
      });
  announcer.Announce("dbos_queue_channel", "fails");
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(mutex);
    return !failures.empty();
  }));
  announcer.Announce("dbos_queue_channel", "later");
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(mutex);
    return sent.count("later") == 1;
  }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(failures, (std::vector<std::string>{"connection lost"}));
}

}  // namespace
}  // namespace dbos::sysdb::pg
