// Small measuring helpers: a monotonic clock in milliseconds, latency percentiles (same rule as
// the TypeScript peer: the ceil(p·n)-th smallest sample), medians, and the process's peak RSS.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

namespace bench {

/// Milliseconds on the monotonic clock since an arbitrary start.
double NowMs();

/// Percentiles of a series of latencies in milliseconds.
struct LatencySummary {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, max = 0;
  nlohmann::json ToJson() const;
};

/// Summarizes `samples` (milliseconds); an empty series gives zeros.
LatencySummary Summarize(std::vector<double> samples);

/// The median of `values` (the lower middle one for an even count, as the peer does).
double Median(std::vector<double> values);

/// VmHWM of this process from /proc/self/status in MB (0 when unreadable).
double PeakRssMb();

/// Rounds to three decimals, for JSON output.
double Round3(double value);

}  // namespace bench
