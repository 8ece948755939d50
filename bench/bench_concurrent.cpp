// Measurement 2: concurrent throughput. CONC_N workflows of 3 no-op steps are started at once
// by CONC_START_THREADS threads (RunWorkflow in a loop on each; a service starts workflows from
// many request threads, and the TypeScript peer starts all of them at once over its pool), then
// all are awaited; CONC_RUNS runs after a 100-workflow warm-up, the median run is reported. Peak
// RSS (VmHWM) is read at the end. With one starter thread the rate is bounded by one durable
// commit per start: RunWorkflow returns only once its workflow's row is committed.
#include <optional>
#include <stdexcept>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "bench_threads.hpp"
#include "bench_workflows.hpp"

namespace bench {
namespace {

// Starts `n` 3-step workflows from `threads` threads, awaits them all; returns the run's figures.
nlohmann::json OneRun(dbos::DBOSContext& ctx, int n, int threads) {
  std::vector<std::optional<dbos::WorkflowHandle<int>>> handles(static_cast<size_t>(n));
  const double start = NowMs();
  OnThreads(n, threads,
            [&](int i) { handles[static_cast<size_t>(i)] = dbos::RunWorkflow(ctx, Wf3, i); });
  const double started = NowMs();
  for (const auto& handle : handles) {
    if (handle->GetResult() != 3)
      throw std::runtime_error("a 3-step workflow returned another value");
  }
  const double seconds = (NowMs() - start) / 1000.0;
  return {{"n", n},
          {"start_all_ms", Round3(started - start)},
          {"total_ms", Round3(seconds * 1000.0)},
          {"wf_per_s", Round3(n / seconds)},
          {"steps_per_s", Round3(3 * n / seconds)}};
}

}  // namespace

nlohmann::json MeasureConcurrent(const Options& options) {
  const DatabaseTarget target = FreshDatabase(options, "conc");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  RegisterBenchWorkflows(ctx);
  dbos::Launch(ctx);

  OneRun(ctx, 100,
         options.conc_threads);  // warm-up: connections, prepared statements, worker threads
  nlohmann::json runs = nlohmann::json::array();
  std::vector<double> wf_per_s;
  std::vector<double> steps_per_s;
  for (int r = 0; r < options.conc_runs; ++r) {
    runs.push_back(OneRun(ctx, options.conc_n, options.conc_threads));
    wf_per_s.push_back(runs.back()["wf_per_s"].get<double>());
    steps_per_s.push_back(runs.back()["steps_per_s"].get<double>());
  }
  const double peak_rss = PeakRssMb();
  dbos::Shutdown(ctx);
  return {{"database", target.Describe()},         {"n", options.conc_n},
          {"start_threads", options.conc_threads}, {"runs", runs},
          {"median_wf_per_s", Median(wf_per_s)},   {"median_steps_per_s", Median(steps_per_s)},
          {"peak_rss_mb", Round3(peak_rss)}};
}

}  // namespace bench
