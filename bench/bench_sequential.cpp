// Measurement 1: sequential latency. Workflows of 0, 1 and 10 no-op steps are started with
// RunWorkflow and awaited with GetResult one after the other: WARMUP untimed, then SEQ_N timed.
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "bench_workflows.hpp"

namespace bench {
namespace {

using WorkflowFn = int (*)(dbos::DBOSContext&, int);

// Runs `fn` once and returns its latency in milliseconds; throws on a wrong result.
double RunOnce(dbos::DBOSContext& ctx, WorkflowFn fn, int expected) {
  const double start = NowMs();
  const int result = dbos::RunWorkflow(ctx, fn, expected).GetResult();
  const double elapsed = NowMs() - start;
  if (result != expected) {
    throw std::runtime_error("a " + std::to_string(expected) + "-step workflow returned " +
                             std::to_string(result));
  }
  return elapsed;
}

}  // namespace

nlohmann::json MeasureSequential(const Options& options) {
  const DatabaseTarget target = FreshDatabase(options, "seq");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  RegisterBenchWorkflows(ctx);
  dbos::Launch(ctx);

  nlohmann::json out = {{"database", target.Describe()}};
  const struct {
    const char* key;
    WorkflowFn fn;
    int steps;
  } series[] = {{"0", Wf0, 0}, {"1", Wf1, 1}, {"10", Wf10, 10}};
  for (const auto& s : series) {
    for (int i = 0; i < options.warmup; ++i) RunOnce(ctx, s.fn, s.steps);
    std::vector<double> latencies;
    latencies.reserve(static_cast<size_t>(options.seq_n));
    const double start = NowMs();
    for (int i = 0; i < options.seq_n; ++i) latencies.push_back(RunOnce(ctx, s.fn, s.steps));
    const double total = NowMs() - start;
    nlohmann::json summary = Summarize(std::move(latencies)).ToJson();
    summary["wf_per_s"] = Round3(options.seq_n / (total / 1000.0));
    out[s.key] = summary;
  }
  dbos::Shutdown(ctx);
  const double p50_0 = out["0"]["p50_ms"].get<double>();
  const double p50_10 = out["10"]["p50_ms"].get<double>();
  out["per_step_ms"] = Round3((p50_10 - p50_0) / 10.0);
  return out;
}

}  // namespace bench
