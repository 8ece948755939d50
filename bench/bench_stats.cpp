// Clock, percentiles and peak RSS; see bench_stats.hpp.
#include "bench_stats.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>

namespace bench {
namespace {

// The ceil(p·n)-th smallest of `sorted` (1-based), clamped to the series.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p * static_cast<double>(sorted.size()));
  const double index = std::clamp(rank - 1, 0.0, static_cast<double>(sorted.size() - 1));
  return sorted[static_cast<size_t>(index)];
}

}  // namespace

double NowMs() {
  const auto since = std::chrono::steady_clock::now().time_since_epoch();
  return std::chrono::duration<double, std::milli>(since).count();
}

double Round3(double value) { return std::round(value * 1000.0) / 1000.0; }

nlohmann::json LatencySummary::ToJson() const {
  return {{"n", n},
          {"p50_ms", Round3(p50)},
          {"p90_ms", Round3(p90)},
          {"p99_ms", Round3(p99)},
          {"mean_ms", Round3(mean)},
          {"max_ms", Round3(max)}};
}

LatencySummary Summarize(std::vector<double> samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.n = samples.size();
  s.p50 = Percentile(samples, 0.5);
  s.p90 = Percentile(samples, 0.9);
  s.p99 = Percentile(samples, 0.99);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.n);
  s.max = samples.back();
  return s;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return Percentile(values, 0.5);
}

double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;  // the value is in kB
    }
  }
  return 0;
}

}  // namespace bench
