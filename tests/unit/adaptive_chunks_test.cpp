// The chunked rounds of the wait watcher: every item offered once per round, smaller chunks after
// a failure and larger again after a run of clean rounds, a round cut short after failures in a
// row and resumed there, a round of the database's failures forgotten, and an item that keeps
// failing starving no other item.
#include "util/adaptive_chunks.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace dbos::util {
namespace {

using Chunk = std::vector<size_t>;
using Outcome = AdaptiveChunks::Outcome;

const auto kNeverStop = [] { return false; };
const auto kNothingFails = [](const Chunk&) { return false; };
const auto kEverythingFails = [](const Chunk&) { return true; };

// Runs one round over `count` items; `fails` decides per chunk. Returns the chunks offered.
template <typename Fails>
std::vector<Chunk> RoundOf(AdaptiveChunks& chunks, size_t count, Fails fails,
                           Outcome* outcome = nullptr) {
  std::vector<Chunk> offered;
  const Outcome result = chunks.Round(
      count,
      [&](const Chunk& chunk) {
        offered.push_back(chunk);
        return !fails(chunk);
      },
      kNeverStop);
  if (outcome) *outcome = result;
  return offered;
}

// Items of `chunks` whose chunk did not fail.
template <typename Fails>
void AddChecked(const std::vector<Chunk>& chunks, Fails fails, std::set<size_t>& checked) {
  for (const auto& chunk : chunks) {
    if (!fails(chunk)) checked.insert(chunk.begin(), chunk.end());
  }
}

TEST(AdaptiveChunksTest, ACleanRoundOffersEveryItemOnceInChunksOfTheLargestSize) {
  AdaptiveChunks chunks(4, 1, 2);
  Outcome outcome = Outcome::kCutShort;
  EXPECT_EQ(RoundOf(chunks, 10, kNothingFails, &outcome),
            (std::vector<Chunk>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  EXPECT_EQ(outcome, Outcome::kClean);
  EXPECT_TRUE(RoundOf(chunks, 0, kNothingFails, &outcome).empty());
  EXPECT_EQ(outcome, Outcome::kClean);
}

TEST(AdaptiveChunksTest, AFailedChunkHalvesTheRestAndTheSizeGrowsBackAfterARunOfCleanRounds) {
  AdaptiveChunks chunks(8, 2, 2);
  Outcome outcome = Outcome::kClean;
  const auto first = RoundOf(
      chunks, 20, [](const Chunk& c) { return c.front() == 0; }, &outcome);
  EXPECT_EQ(outcome, Outcome::kSomeFailed);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].size(), 8u);
  EXPECT_EQ(first[1].size(), 4u);
  std::multiset<size_t> seen;
  for (const auto& chunk : first) seen.insert(chunk.begin(), chunk.end());
  EXPECT_EQ(seen.size(), 20u);  // the rest of the round went on, each item offered once
  EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), 20u);
  EXPECT_EQ(chunks.ChunkSize(), 4u);
  // Not at once (a size just above a statement timeout would fail every other round).
  for (int i = 1; i < AdaptiveChunks::kCleanRoundsToGrow; ++i) {
    RoundOf(chunks, 20, kNothingFails, &outcome);
    EXPECT_EQ(outcome, Outcome::kClean);
    EXPECT_EQ(chunks.ChunkSize(), 4u);
  }
  RoundOf(chunks, 20, kNothingFails);
  EXPECT_EQ(chunks.ChunkSize(), 8u);
  // Sizes never go below the smallest.
  for (int i = 0; i < 5; ++i) RoundOf(chunks, 20, kEverythingFails);
  EXPECT_EQ(chunks.ChunkSize(), 2u);
}

TEST(AdaptiveChunksTest, FailuresInARowEndTheRoundAndTheNextBeginsWithTheChunkThatFailed) {
  AdaptiveChunks chunks(4, 1, 2);
  Outcome outcome = Outcome::kClean;
  const auto cut = RoundOf(
      chunks, 12, [](const Chunk& c) { return c.front() >= 4; }, &outcome);
  EXPECT_EQ(outcome, Outcome::kCutShort);
  EXPECT_EQ(cut, (std::vector<Chunk>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  const auto next = RoundOf(chunks, 12, kNothingFails);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next.front(), Chunk{8});  // size 1 after two halvings, from where it stopped
  std::set<size_t> seen;
  for (const auto& chunk : next) seen.insert(chunk.begin(), chunk.end());
  EXPECT_EQ(seen.size(), 12u);  // and wraps round to every item
}

// When the database is away every query fails whatever its size: the round is forgotten, so the
// first round after it comes back runs at the full size, not at the smallest.
TEST(AdaptiveChunksTest, ARoundForgottenLeavesTheSizeAndStartAsTheyWere) {
  AdaptiveChunks chunks(8, 1, 2);
  for (int i = 0; i < 3; ++i) {
    Outcome outcome = Outcome::kClean;
    RoundOf(chunks, 40, kEverythingFails, &outcome);
    EXPECT_EQ(outcome, Outcome::kCutShort);
    chunks.Forget();
  }
  EXPECT_EQ(chunks.ChunkSize(), 8u);
  EXPECT_EQ(RoundOf(chunks, 40, kNothingFails).front(), (Chunk{0, 1, 2, 3, 4, 5, 6, 7}));
}

// A round of fewer items than a chunk says nothing about the size: with a listener most watcher
// rounds check a handful of workflow ends, and they must not grow the size back before the next
// full round.
TEST(AdaptiveChunksTest, RoundsSmallerThanAChunkDoNotGrowTheSize) {
  AdaptiveChunks chunks(8, 2, 2);
  RoundOf(chunks, 20, [](const Chunk& c) { return c.front() == 0; });
  ASSERT_EQ(chunks.ChunkSize(), 4u);
  for (int i = 0; i < 3 * AdaptiveChunks::kCleanRoundsToGrow; ++i)
    RoundOf(chunks, 3, kNothingFails);
  EXPECT_EQ(chunks.ChunkSize(), 4u);
  for (int i = 0; i < AdaptiveChunks::kCleanRoundsToGrow; ++i) RoundOf(chunks, 4, kNothingFails);
  EXPECT_EQ(chunks.ChunkSize(), 8u);
}

// Forget undoes one round, once: a second Forget (a watcher round whose snapshot failed before
// any chunk ran) leaves the state of the round before alone, clean-round count included.
TEST(AdaptiveChunksTest, ForgetUndoesOnlyTheLastRoundAndOnlyOnce) {
  AdaptiveChunks chunks(8, 2, 2);
  RoundOf(chunks, 20, [](const Chunk& c) { return c.front() == 0; });
  ASSERT_EQ(chunks.ChunkSize(), 4u);
  for (int i = 1; i < AdaptiveChunks::kCleanRoundsToGrow; ++i) RoundOf(chunks, 20, kNothingFails);
  RoundOf(chunks, 20, kEverythingFails);
  chunks.Forget();
  chunks.Forget();
  EXPECT_EQ(chunks.ChunkSize(), 4u);
  RoundOf(chunks, 20, kNothingFails);  // the tenth clean round in a row, as before the outage
  EXPECT_EQ(chunks.ChunkSize(), 8u);
}

// At the smallest size, the item beside one that always fails must still land in a chunk of its
// own now and then: chunk boundaries move by a varying amount after each failed round.
TEST(AdaptiveChunksTest, AnItemThatAlwaysFailsStarvesNoOtherItem) {
  for (const size_t count : {8u, 12u, 50u, 100u}) {
    AdaptiveChunks chunks(4, 4, 2);
    const auto poisoned = [](const Chunk& c) {
      for (const size_t i : c) {
        if (i == 5) return true;
      }
      return false;
    };
    std::set<size_t> checked;
    for (int round = 0; round < 40; ++round) {
      AddChecked(RoundOf(chunks, count, poisoned), poisoned, checked);
    }
    std::set<size_t> all_but_the_poisoned;
    for (size_t i = 0; i < count; ++i) {
      if (i != 5) all_but_the_poisoned.insert(i);
    }
    EXPECT_EQ(checked, all_but_the_poisoned) << count << " items";
  }
}

TEST(AdaptiveChunksTest, StoppingEndsTheRoundAndTheNextGoesOnFromThere) {
  AdaptiveChunks chunks(2, 1, 2);
  std::vector<Chunk> offered;
  EXPECT_EQ(chunks.Round(
                10,
                [&](const Chunk& c) {
                  offered.push_back(c);
                  return true;
                },
                [&] { return offered.size() == 2; }),
            Outcome::kClean);
  EXPECT_EQ(offered.size(), 2u);
  EXPECT_EQ(RoundOf(chunks, 10, kNothingFails).front(), (Chunk{4, 5}));
}

}  // namespace
}  // namespace dbos::util
