// Rounds over a long list checked a chunk per query, where a chunk may fail (a statement timeout, a
// database that goes away). After a failure later chunks are half as large; a round that meets
// failures in a row stops and the next resumes there; after a failed round the chunks move against
// the list by a varying amount, so an item that keeps failing spoils a different part of the list
// each time and starves no other item. A round in which nothing succeeded anywhere (the caller
// knows: other queries failed too) says nothing about sizes, and Forget undoes what it changed; a
// smaller size grows back after a run of clean rounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace dbos::util {

class AdaptiveChunks {
 public:
  enum class Outcome {
    kClean,       ///< Every chunk succeeded.
    kSomeFailed,  ///< Every item was offered, and some chunk failed.
    kCutShort,    ///< Failures in a row ended the round (or it was stopped) before every item.
  };

  /// Chunks start at `largest` items and never shrink below `smallest`; a round stops after
  /// `failures_in_a_row` chunks failed one after the other.
  AdaptiveChunks(size_t largest, size_t smallest, int failures_in_a_row);

  /// `check(indices)` checks one chunk, the indices of its items in [0, count); false means it
  /// failed. Runs chunks until all `count` items were offered, `stopping()` turns true, or too
  /// many chunks failed in a row.
  Outcome Round(size_t count, const std::function<bool(const std::vector<size_t>&)>& check,
                const std::function<bool()>& stopping);
  /// Undoes the last round's changes to the size, the start and the clean-round count (its
  /// failures were the database's, not the chunks'); does nothing when no round ran since the
  /// last Forget.
  void Forget();

  /// The size of the next chunk.
  size_t ChunkSize() const noexcept { return size_; }

  /// Clean rounds in a row (each with at least a chunk's worth of items) after which a reduced
  /// size doubles.
  static constexpr int kCleanRoundsToGrow = 10;

 private:
  size_t largest_;
  size_t smallest_;
  int failures_in_a_row_;
  size_t size_;
  size_t next_start_ = 0;  ///< Where the next round starts (modulo its count).
  int clean_rounds_ = 0;   ///< Clean rounds in a row.
  uint64_t shift_state_ = 0x9e3779b97f4a7c15ULL;  ///< Varies the shift after a failed round.
  size_t size_before_;                            ///< For Forget.
  size_t next_start_before_ = 0;                  ///< For Forget.
  int clean_rounds_before_ = 0;                   ///< For Forget.
  bool round_ran_ = false;                        ///< A round ran since the last Forget.
};

}  // namespace dbos::util
