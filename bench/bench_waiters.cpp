// Measurement 5: many waiting workflows. WAIT_N workflows (default 20,000; --wait-n N) are
// started one after the other, each waiting in Recv. Reported: the start rate (from the first
// RunWorkflow until every Recv is waiting, i.e. open to senders) and the release rate (from the
// first Send, one to each workflow, until every handle has returned), plus the time the
// RunWorkflow and Send calls alone took and the process's peak RSS once all were waiting.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "core/context_access.hpp"
#include "core/notifier.hpp"
#include "core/runtime.hpp"

namespace bench {

int WaitForRelease(dbos::DBOSContext& ctx, int input) {
  return input + dbos::Recv<int>(ctx, "release", std::chrono::minutes(60));
}

nlohmann::json MeasureWaiters(const Options& options) {
  const int n = options.wait_n;
  const DatabaseTarget target = FreshDatabase(options, "wait");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  dbos::RegisterWorkflow(ctx, WaitForRelease, dbos::WithWorkflowName("bench-waiter"));
  dbos::Launch(ctx);
  auto& notifier = dbos::detail::RuntimeOf(ctx).Notifications();
  const std::string prefix = "waiter-" + std::to_string(static_cast<int64_t>(NowMs())) + "-";

  std::vector<dbos::WorkflowHandle<int>> handles;
  handles.reserve(static_cast<size_t>(n));
  const double start = NowMs();
  for (int i = 0; i < n; ++i) {
    handles.push_back(dbos::RunWorkflow(ctx, WaitForRelease, i,
                                        dbos::WithWorkflowID(prefix + std::to_string(i))));
  }
  const double submitted = NowMs();
  const double give_up = start + options.wait_timeout_s * 1000.0;
  size_t waiting = 0;
  while ((waiting = notifier.ReceiverCount()) < static_cast<size_t>(n)) {
    if (NowMs() > give_up) {
      dbos::Shutdown(ctx);
      throw std::runtime_error(std::to_string(waiting) + " of " + std::to_string(n) +
                               " workflows waiting in Recv after " +
                               std::to_string(options.wait_timeout_s) + " s (WAIT_TIMEOUT_S)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double all_waiting = NowMs();
  const double rss_waiting = PeakRssMb();

  for (int i = 0; i < n; ++i) dbos::Send(ctx, prefix + std::to_string(i), 1, "release");
  const double sent = NowMs();
  int wrong = 0;
  for (int i = 0; i < n; ++i) {
    if (handles[static_cast<size_t>(i)].GetResult() != i + 1) ++wrong;
  }
  const double released = NowMs();
  dbos::Shutdown(ctx);

  const auto per_s = [n](double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };
  return {{"database", target.Describe()},
          {"n", n},
          {"run_calls_ms", submitted - start},
          {"start_ms", all_waiting - start},
          {"start_per_s", per_s(all_waiting - start)},
          {"send_calls_ms", sent - all_waiting},
          {"release_ms", released - all_waiting},
          {"release_per_s", per_s(released - all_waiting)},
          {"peak_rss_mb", rss_waiting},
          {"wrong_results", wrong}};
}

}  // namespace bench
