// Splitting a long list into the parts one query carries.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace dbos::util {

/// The [begin, end) index ranges that cut `count` items into parts of at most `size` (at least 1).
inline std::vector<std::pair<size_t, size_t>> Chunks(size_t count, size_t size) {
  size = std::max<size_t>(size, 1);
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve((count + size - 1) / size);
  for (size_t begin = 0; begin < count; begin += size) {
    out.emplace_back(begin, std::min(count, begin + size));
  }
  return out;
}

}  // namespace dbos::util
