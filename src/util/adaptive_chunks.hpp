// Rounds over a long list checked a chunk per query, where a chunk may fail (a database that
// times out or goes away): later chunks shrink after a failure, a round that meets failure after
// failure stops early and the next resumes there, and chunks move against the list after a
// failed round, so that a chunk that keeps failing neither stalls the round nor starves the same
// items forever.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace dbos::util {

class AdaptiveChunks {
 public:
  /// Chunks start at `largest` items and never shrink below `smallest`; a round stops after
  /// `failures_in_a_row` chunks failed one after the other.
  AdaptiveChunks(size_t largest, size_t smallest, int failures_in_a_row);

  /// `check(indices)` checks one chunk, the indices of its items in [0, count); false means it
  /// failed. Runs chunks until all `count` items were offered, `stopping()` turns true, or too
  /// many chunks failed in a row. Returns false when a chunk failed.
  bool Round(size_t count, const std::function<bool(const std::vector<size_t>&)>& check,
             const std::function<bool()>& stopping);

  /// The size of the next chunk.
  size_t ChunkSize() const noexcept { return size_; }

 private:
  size_t largest_;
  size_t smallest_;
  int failures_in_a_row_;
  size_t size_;
  size_t next_start_ = 0;  ///< Where the next round starts (modulo its count).
};

}  // namespace dbos::util
