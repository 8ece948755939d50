// The chunked rounds of the wait watcher: every item offered once per round, smaller chunks after
// a failure, a round cut short after failures in a row and resumed there, and a chunk that keeps
// failing starving nothing but itself.
#include "util/adaptive_chunks.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace dbos::util {
namespace {

using Chunk = std::vector<size_t>;

const auto kNeverStop = [] { return false; };

// Runs one round over `count` items; `fails` decides per chunk. Returns the chunks offered.
template <typename Fails>
std::vector<Chunk> RoundOf(AdaptiveChunks& chunks, size_t count, Fails fails, bool* ok = nullptr) {
  std::vector<Chunk> offered;
  const bool result = chunks.Round(
      count,
      [&](const Chunk& chunk) {
        offered.push_back(chunk);
        return !fails(chunk);
      },
      kNeverStop);
  if (ok) *ok = result;
  return offered;
}

const auto kNothingFails = [](const Chunk&) { return false; };

TEST(AdaptiveChunksTest, ACleanRoundOffersEveryItemOnceInChunksOfTheLargestSize) {
  AdaptiveChunks chunks(4, 1, 2);
  bool ok = false;
  EXPECT_EQ(RoundOf(chunks, 10, kNothingFails, &ok),
            (std::vector<Chunk>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  EXPECT_TRUE(ok);
  EXPECT_TRUE(RoundOf(chunks, 0, kNothingFails, &ok).empty());
  EXPECT_TRUE(ok);
}

TEST(AdaptiveChunksTest, AFailedChunkHalvesTheRestAndTheSizeGrowsBackAfterACleanRound) {
  AdaptiveChunks chunks(8, 2, 2);
  bool ok = true;
  const auto first = RoundOf(
      chunks, 20, [](const Chunk& c) { return c.front() == 0; }, &ok);
  EXPECT_FALSE(ok);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].size(), 8u);
  EXPECT_EQ(first[1].size(), 4u);
  std::multiset<size_t> seen;
  for (const auto& chunk : first) seen.insert(chunk.begin(), chunk.end());
  EXPECT_EQ(seen.size(), 20u);  // the rest of the round went on, each item offered once
  EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), 20u);
  EXPECT_EQ(chunks.ChunkSize(), 4u);
  EXPECT_TRUE(RoundOf(chunks, 20, kNothingFails, &ok).size() == 5u && ok);
  EXPECT_EQ(chunks.ChunkSize(), 8u);
  chunks.Round(
      20, [](const Chunk&) { return false; }, kNeverStop);  // everything fails
  EXPECT_EQ(chunks.ChunkSize(), 2u);                        // halved to the floor
}

TEST(AdaptiveChunksTest, FailuresInARowEndTheRoundAndTheNextBeginsWithTheChunkThatFailed) {
  AdaptiveChunks chunks(4, 1, 2);
  bool ok = true;
  const auto cut = RoundOf(
      chunks, 12, [](const Chunk& c) { return c.front() >= 4; }, &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(cut, (std::vector<Chunk>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  const auto next = RoundOf(chunks, 12, kNothingFails);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next.front(), Chunk{8});  // size 1 after two halvings, from where it stopped
  std::set<size_t> seen;
  for (const auto& chunk : next) seen.insert(chunk.begin(), chunk.end());
  EXPECT_EQ(seen.size(), 12u);  // and wraps round to every item
}

TEST(AdaptiveChunksTest, AnItemThatAlwaysFailsStarvesNoOtherItem) {
  AdaptiveChunks chunks(4, 1, 2);
  const auto poisoned = [](const Chunk& c) {
    for (const size_t i : c) {
      if (i == 5) return true;
    }
    return false;
  };
  std::set<size_t> checked;  // items of chunks that succeeded
  for (int round = 0; round < 3; ++round) {
    for (const auto& chunk : RoundOf(chunks, 12, poisoned)) {
      if (!poisoned(chunk)) checked.insert(chunk.begin(), chunk.end());
    }
  }
  EXPECT_EQ(checked, (std::set<size_t>{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11}));
}

TEST(AdaptiveChunksTest, StoppingEndsTheRound) {
  AdaptiveChunks chunks(2, 1, 2);
  int offered = 0;
  EXPECT_TRUE(chunks.Round(
      10,
      [&](const Chunk&) {
        ++offered;
        return true;
      },
      [&] { return offered == 2; }));
  EXPECT_EQ(offered, 2);
}

}  // namespace
}  // namespace dbos::util
