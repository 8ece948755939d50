// Adaptive chunks; see adaptive_chunks.hpp.
#include "util/adaptive_chunks.hpp"

#include <algorithm>

namespace dbos::util {

AdaptiveChunks::AdaptiveChunks(size_t largest, size_t smallest, int failures_in_a_row)
    : largest_(std::max<size_t>(largest, 1)),
      smallest_(std::clamp<size_t>(smallest, 1, largest_)),
      failures_in_a_row_(std::max(failures_in_a_row, 1)),
      size_(largest_),
      size_before_(largest_) {}

AdaptiveChunks::Outcome AdaptiveChunks::Round(
    size_t count, const std::function<bool(const std::vector<size_t>&)>& check,
    const std::function<bool()>& stopping) {
  size_before_ = size_;
  next_start_before_ = next_start_;
  clean_rounds_before_ = clean_rounds_;
  round_ran_ = true;
  if (count == 0) return Outcome::kClean;
  const size_t start = next_start_ % count;
  bool any_failed = false;
  int in_a_row = 0;
  std::vector<size_t> indices;
  size_t done = 0;
  while (done < count && !stopping()) {
    const size_t size = std::min(size_, count - done);
    indices.clear();
    for (size_t i = 0; i < size; ++i) indices.push_back((start + done + i) % count);
    if (check(indices)) {
      in_a_row = 0;
      done += size;
      continue;
    }
    any_failed = true;
    clean_rounds_ = 0;
    // A chunk too large for a statement timeout fits once smaller.
    size_ = std::max(smallest_, size_ / 2);
    if (++in_a_row >= failures_in_a_row_) {
      next_start_ = start + done;  // the next round begins with the chunk that failed
      return Outcome::kCutShort;
    }
    done += size;
  }
  if (done < count) {  // stopped
    next_start_ = start + done;
    return any_failed ? Outcome::kCutShort : Outcome::kClean;
  }
  if (any_failed) {
    // Other neighbours next round: a shift that varies from round to round (an xorshift step),
    // so that chunk boundaries fall everywhere over the rounds, even between an item that always
    // fails and the item beside it.
    shift_state_ ^= shift_state_ << 13;
    shift_state_ ^= shift_state_ >> 7;
    shift_state_ ^= shift_state_ << 17;
    next_start_ = start + 1 + static_cast<size_t>(shift_state_ % std::max<size_t>(size_, 1));
    return Outcome::kSomeFailed;
  }
  // Only a round that ran chunks of the whole size tells that the size works.
  if (size_ < largest_ && count >= size_ && ++clean_rounds_ >= kCleanRoundsToGrow) {
    // Slowly, so that a size just above a statement timeout is not tried every other round.
    size_ = std::min(largest_, size_ * 2);
    clean_rounds_ = 0;
  }
  return Outcome::kClean;
}

void AdaptiveChunks::Forget() {
  if (!round_ran_) return;  // nothing since the last Forget
  round_ran_ = false;
  size_ = size_before_;
  next_start_ = next_start_before_;
  clean_rounds_ = clean_rounds_before_;
}

}  // namespace dbos::util
