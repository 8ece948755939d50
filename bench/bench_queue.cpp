// Measurement 6: queues. QUEUE_N workflows of one no-op step are enqueued on a queue with worker
// concurrency 50: the enqueue rate (RunWorkflow calls per second) and the drain rate (workflows
// finished per second, from the first enqueue to the last result; the runner starts work while
// the enqueues go on). Then enqueue -> start latency on an idle runner: QUEUE_LAT_N workflows
// enqueued one at a time, each returning the moment its body began.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "bench_workflows.hpp"

namespace bench {
namespace {

constexpr const char* kQueue = "bench-queue";

// Returns the monotonic time its body started, in milliseconds.
double StartedAt(dbos::DBOSContext&, int) { return NowMs(); }

}  // namespace

nlohmann::json MeasureQueue(const Options& options) {
  const DatabaseTarget target = FreshDatabase(options, "queue");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  RegisterBenchWorkflows(ctx);
  dbos::RegisterWorkflow(ctx, StartedAt, dbos::WithWorkflowName("queueStartedAt"));
  dbos::NewWorkflowQueue(ctx, kQueue, dbos::WithWorkerConcurrency(50));
  dbos::Launch(ctx);

  // Warm-up: connections, prepared statements, worker threads.
  for (int i = 0; i < 50; ++i) dbos::RunWorkflow(ctx, Wf1, i, dbos::WithQueue(kQueue)).GetResult();

  const int n = options.queue_n;
  std::vector<dbos::WorkflowHandle<int>> handles;
  handles.reserve(static_cast<size_t>(n));
  const double start = NowMs();
  for (int i = 0; i < n; ++i)
    handles.push_back(dbos::RunWorkflow(ctx, Wf1, i, dbos::WithQueue(kQueue)));
  const double enqueued = NowMs();
  for (const auto& handle : handles) {
    if (handle.GetResult() != 1)
      throw std::runtime_error("a 1-step workflow returned another value");
  }
  const double drained = NowMs();

  std::vector<double> latencies;
  for (int i = 0; i < options.queue_lat_n; ++i) {
    const double before = NowMs();
    const double began = dbos::RunWorkflow(ctx, StartedAt, i, dbos::WithQueue(kQueue)).GetResult();
    latencies.push_back(began - before);
  }
  dbos::Shutdown(ctx);
  return {{"database", target.Describe()},
          {"n", n},
          {"worker_concurrency", 50},
          {"enqueue_ms", Round3(enqueued - start)},
          {"enqueue_per_s", Round3(n / ((enqueued - start) / 1000.0))},
          {"drain_ms", Round3(drained - start)},
          {"drain_per_s", Round3(n / ((drained - start) / 1000.0))},
          {"enqueue_to_start_ms", Summarize(latencies).ToJson()}};
}

}  // namespace bench
