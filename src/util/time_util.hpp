// Wall-clock helpers: the system database stores every time as epoch milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace dbos::util {

/// Milliseconds since the Unix epoch, now.
inline int64_t NowEpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Converts epoch milliseconds to a time_point.
inline std::chrono::system_clock::time_point FromEpochMs(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

/// Converts a time_point to epoch milliseconds.
inline int64_t ToEpochMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace dbos::util
