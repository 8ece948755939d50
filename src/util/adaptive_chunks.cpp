// Adaptive chunks; see adaptive_chunks.hpp.
#include "util/adaptive_chunks.hpp"

#include <algorithm>

namespace dbos::util {

AdaptiveChunks::AdaptiveChunks(size_t largest, size_t smallest, int failures_in_a_row)
    : largest_(std::max<size_t>(largest, 1)),
      smallest_(std::clamp<size_t>(smallest, 1, largest_)),
      failures_in_a_row_(std::max(failures_in_a_row, 1)),
      size_(largest_) {}

bool AdaptiveChunks::Round(size_t count,
                           const std::function<bool(const std::vector<size_t>&)>& check,
                           const std::function<bool()>& stopping) {
  if (count == 0) return true;
  const size_t start = next_start_ % count;
  bool any_failed = false;
  int in_a_row = 0;
  std::vector<size_t> indices;
  for (size_t done = 0; done < count && !stopping();) {
    const size_t size = std::min(size_, count - done);
    indices.clear();
    for (size_t i = 0; i < size; ++i) indices.push_back((start + done + i) % count);
    if (check(indices)) {
      in_a_row = 0;
      done += size;
      continue;
    }
    any_failed = true;
    // A chunk too large for a statement timeout fits once smaller; a database that is down
    // fails whatever the size, and the round ends after a few tries.
    size_ = std::max(smallest_, size_ / 2);
    if (++in_a_row >= failures_in_a_row_) {
      next_start_ = start + done;  // the next round begins with the chunk that failed
      return false;
    }
    done += size;
  }
  if (any_failed) {
    // Different neighbours next round: one failing item then spoils only half a chunk of the
    // items it shared a chunk with this time.
    next_start_ = start + std::max<size_t>(size_ / 2, 1);
  } else {
    size_ = std::min(largest_, size_ * 2);
  }
  return !any_failed;
}

}  // namespace dbos::util
