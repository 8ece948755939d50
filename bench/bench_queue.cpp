// Measurement 6: a queue. QUEUE_N workflows of one no-op step are enqueued on a queue with worker
// concurrency QUEUE_WC by QUEUE_ENQ_THREADS threads at once (RunWorkflow with WithQueue; a service
// enqueues from many request threads, and the TypeScript peer starts all of its enqueues at once
// over its connection pool), then awaited: the enqueue rate and the drain rate (all QUEUE_N from
// the first enqueue to the last result), QUEUE_RUNS rounds (default 3; the median is reported).
// Then, on the idle runner,
// QUEUE_LAT_N single enqueues one after the other: the time from the enqueue call to the
// workflow's first line (p50/p99). Last, a standing backlog: QUEUE_BACKLOG_N workflows enqueued by
// a Client before the application launches (as after an outage, or a burst larger than the
// workers), then the time from Launch until all have run: the drain rate of a deep queue, where
// each claim must find its few rows without walking the backlog.
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "bench_threads.hpp"
#include "bench_workflows.hpp"

namespace bench {
namespace {

constexpr const char* kQueueName = "bench_queue";

// When the latency workflow's body started (steady clock, ms); 0 until it has.
std::atomic<double> g_started_ms{0.0};
// Backlog workflow bodies that have returned.
std::atomic<int> g_backlog_done{0};

int MarkStart(dbos::DBOSContext& ctx, int input) {
  g_started_ms.store(NowMs());
  dbos::RunAsStep(
      ctx, [] { return 0; }, dbos::WithStepName("noop"));
  return input;
}

int CountDone(dbos::DBOSContext& ctx, int input) {
  dbos::RunAsStep(
      ctx, [] { return 0; }, dbos::WithStepName("noop"));
  ++g_backlog_done;
  return input;
}

// The drain of QUEUE_BACKLOG_N workflows enqueued before Launch; workflows/s from Launch.
nlohmann::json MeasureBacklog(const Options& options) {
  const DatabaseTarget target = FreshDatabase(options, "qbacklog");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  dbos::RegisterWorkflow(ctx, CountDone, dbos::WithWorkflowName("countDone"));
  const dbos::WorkflowQueue queue =
      dbos::NewWorkflowQueue(ctx, kQueueName, dbos::WithWorkerConcurrency(options.queue_wc));
  {
    dbos::ClientConfig config;
    config.database_url = target.url;
    config.database_schema = target.schema;
    const dbos::Client client = dbos::NewClient(config);
    OnThreads(options.queue_backlog_n, options.queue_enq_threads,
              [&](int i) { dbos::Enqueue<int>(client, queue.name, "countDone", i); });
  }
  g_backlog_done.store(0);
  const double start = NowMs();
  dbos::Launch(ctx);
  const auto check_time = [&] {
    if (NowMs() - start > 600000.0) throw std::runtime_error("the backlog did not drain in 600 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  while (g_backlog_done.load() < options.queue_backlog_n) check_time();
  // Every body has returned; done when the last end is committed too.
  while (!dbos::ListWorkflows(ctx,
                              dbos::WithStatus({dbos::WorkflowStatusType::Pending,
                                                dbos::WorkflowStatusType::Enqueued}),
                              dbos::WithLimit(1))
              .empty()) {
    check_time();
  }
  const double drained = NowMs();
  dbos::Shutdown(ctx);
  return {{"n", options.queue_backlog_n},
          {"drain_ms", Round3(drained - start)},
          {"drain_per_s", Round3(options.queue_backlog_n / ((drained - start) / 1000.0))}};
}

// The backlog stage, unless QUEUE_BACKLOG_N is 0; its failure is reported in its place, not
// instead of the stages before it.
nlohmann::json MeasureBacklogOrError(const Options& options) {
  if (options.queue_backlog_n == 0) return {{"skipped", "QUEUE_BACKLOG_N=0"}};
  try {
    return MeasureBacklog(options);
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

}  // namespace

nlohmann::json MeasureQueue(const Options& options) {
  const DatabaseTarget target = FreshDatabase(options, "queue");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  RegisterBenchWorkflows(ctx);
  dbos::RegisterWorkflow(ctx, MarkStart, dbos::WithWorkflowName("markStart"));
  const dbos::WorkflowQueue queue =
      dbos::NewWorkflowQueue(ctx, kQueueName, dbos::WithWorkerConcurrency(options.queue_wc));
  dbos::Launch(ctx);

  // Warm-up: connections, prepared statements, worker threads.
  for (int i = 0; i < 100; ++i) dbos::RunWorkflow(ctx, Wf1, i, dbos::WithQueue(queue.name));

  // QUEUE_RUNS rounds of QUEUE_N (the median round is reported): one round decides little on a
  // shared machine.
  std::vector<double> enqueue_ms;
  std::vector<double> drain_ms;
  for (int round = 0; round < options.queue_runs; ++round) {
    std::vector<std::optional<dbos::WorkflowHandle<int>>> handles(
        static_cast<size_t>(options.queue_n));
    const int base = (round + 1) * options.queue_n;  // fresh workflow inputs per round
    const double start = NowMs();
    OnThreads(options.queue_n, options.queue_enq_threads, [&](int i) {
      handles[static_cast<size_t>(i)] =
          dbos::RunWorkflow(ctx, Wf1, base + i, dbos::WithQueue(queue.name));
    });
    const double enqueued = NowMs();
    for (const auto& handle : handles) {
      if (handle->GetResult() != 1)
        throw std::runtime_error("a queued workflow returned another value");
    }
    const double drained = NowMs();
    enqueue_ms.push_back(enqueued - start);
    drain_ms.push_back(drained - start);
  }

  // Enqueue -> start on an idle runner, one at a time.
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(options.queue_lat_n));
  for (int i = 0; i < options.queue_lat_n; ++i) {
    g_started_ms.store(0.0);
    const double t0 = NowMs();
    auto handle = dbos::RunWorkflow(ctx, MarkStart, i, dbos::WithQueue(queue.name));
    handle.GetResult();
    latencies.push_back(g_started_ms.load() - t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the runner go idle
  }
  dbos::Shutdown(ctx);
  // A round's rate is N over its time: the median time gives the median rate.
  const double enqueue_median = Median(enqueue_ms);
  const double drain_median = Median(drain_ms);
  const auto per_s = [&](double ms) { return Round3(options.queue_n / (ms / 1000.0)); };
  nlohmann::json rounds = nlohmann::json::array();
  for (size_t r = 0; r < enqueue_ms.size(); ++r) {
    rounds.push_back(
        {{"enqueue_per_s", per_s(enqueue_ms[r])}, {"drain_per_s", per_s(drain_ms[r])}});
  }
  return {{"database", target.Describe()},
          {"n", options.queue_n},
          {"worker_concurrency", options.queue_wc},
          {"enqueue_threads", options.queue_enq_threads},
          {"runs", rounds},
          {"enqueue_ms", Round3(enqueue_median)},
          {"enqueue_per_s", per_s(enqueue_median)},
          {"drain_ms", Round3(drain_median)},
          {"drain_per_s", per_s(drain_median)},
          {"enqueue_to_start", Summarize(std::move(latencies)).ToJson()},
          {"backlog", MeasureBacklogOrError(options)}};
}

}  // namespace bench
