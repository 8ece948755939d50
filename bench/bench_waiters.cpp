// Measurement 5: many waiting workflows. WAIT_N workflows (default 100,000; --wait-n N) are
// started by WAIT_THREADS threads (default 1: one after the other, as DBOS Transact TypeScript's
// waiters.js starts them; more threads stand for a service starting workflows from many request
// threads), each waiting, in two rounds:
//   recv:  each waits in Recv; then one Send to each (from as many threads) releases it.
//   sleep: each sleeps 30 s (WAIT_SLEEP_S); the timers release them.
// Reported per round: the start rate (from the first RunWorkflow until every workflow waits,
// parked or on a thread), the release rate (recv: from the first Send until every handle
// returned; sleep: from the first workflow's wake-up time until every handle returned), the
// peak RSS of the round and the peak number of threads of the process.
#include <atomic>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "bench_threads.hpp"
#include "core/context_access.hpp"
#include "core/notifier.hpp"
#include "core/runtime.hpp"

namespace bench {

int WaitForRelease(dbos::DBOSContext& ctx, int input) {
  return input + dbos::Recv<int>(ctx, "release", std::chrono::minutes(60));
}

// The sleep, in whole seconds, rides in the input above the workflow's index (below 1,000,000).
constexpr int kSleepUnit = 1'000'000;

int SleepThenReturn(dbos::DBOSContext& ctx, int input) {
  dbos::Sleep(ctx, std::chrono::seconds(input / kSleepUnit));
  return input % kSleepUnit + 1;
}

namespace {

int ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return 0;
}

// Samples the process's thread count until destroyed; keeps the peak.
class ThreadSampler {
 public:
  ThreadSampler()
      : thread_([this] {
          while (!stop_) {
            const int now = ThreadCount();
            if (now > peak_) peak_ = now;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }) {}
  ~ThreadSampler() {
    stop_ = true;
    thread_.join();
  }
  int Peak() const { return peak_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> peak_{0};
  std::thread thread_;
};

// Resets the process's peak RSS (VmHWM), so that each round reports its own.
void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

// Waits until `n` workflows wait (parked, or on a thread); returns false after `give_up`.
bool AwaitAllWaiting(dbos::detail::Runtime& runtime, size_t n, bool in_recv, double give_up) {
  for (;;) {
    auto& lot = runtime.Parking();
    const size_t on_threads =
        in_recv ? runtime.Notifications().ReceiverCount() : lot.ResidentCount();
    if (lot.ParkedCount() + on_threads >= n) return true;
    if (NowMs() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

nlohmann::json RunRound(const Options& options, bool recv) {
  const int n = options.wait_n;
  const int sleep_s = options.wait_sleep_s;
  const DatabaseTarget target = FreshDatabase(options, recv ? "wait" : "sleep");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  dbos::RegisterWorkflow(ctx, WaitForRelease, dbos::WithWorkflowName("bench-waiter"));
  dbos::RegisterWorkflow(ctx, SleepThenReturn, dbos::WithWorkflowName("bench-sleeper"));
  dbos::Launch(ctx);
  auto& runtime = dbos::detail::RuntimeOf(ctx);
  const std::string prefix = std::string(recv ? "waiter-" : "sleeper-") +
                             std::to_string(static_cast<int64_t>(NowMs())) + "-";
  ResetPeakRss();
  ThreadSampler threads;

  std::vector<dbos::WorkflowHandle<int>> handles(static_cast<size_t>(n));
  const double start = NowMs();
  OnThreads(n, options.wait_threads, [&](int i) {
    const std::string id = prefix + std::to_string(i);
    handles[static_cast<size_t>(i)] =
        recv ? dbos::RunWorkflow(ctx, WaitForRelease, i, dbos::WithWorkflowID(id))
             : dbos::RunWorkflow(ctx, SleepThenReturn, sleep_s * kSleepUnit + i,
                                 dbos::WithWorkflowID(id));
  });
  const double submitted = NowMs();
  // Sleepers that wake before the last one starts were never all waiting at once.
  const bool sleep_ends_first = !recv && sleep_s < options.wait_timeout_s;
  const double give_up = start + 1000.0 * (sleep_ends_first ? sleep_s : options.wait_timeout_s);
  if (!AwaitAllWaiting(runtime, static_cast<size_t>(n), recv, give_up)) {
    dbos::Shutdown(ctx);
    throw std::runtime_error("not all " + std::to_string(n) + " workflows waiting after " +
                             std::to_string(static_cast<int>((give_up - start) / 1000)) + " s" +
                             (sleep_ends_first
                                  ? ": the first sleepers woke first (raise WAIT_SLEEP_S)"
                                  : " (WAIT_TIMEOUT_S)"));
  }
  const double all_waiting = NowMs();
  const double rss_waiting = PeakRssMb();
  const size_t parked = runtime.Parking().ParkedCount();

  double released_from = all_waiting;
  double sent = all_waiting;
  if (recv) {
    OnThreads(n, options.wait_threads,
              [&](int i) { dbos::Send(ctx, prefix + std::to_string(i), 1, "release"); });
    sent = NowMs();
  } else {
    released_from = start + sleep_s * 1000.0;  // the first sleeper's wake-up time
  }
  int wrong = 0;
  for (int i = 0; i < n; ++i) {
    if (handles[static_cast<size_t>(i)].GetResult() != i + 1) ++wrong;
  }
  const double released = NowMs();
  const double rss = PeakRssMb();
  const int peak_threads = threads.Peak();
  dbos::Shutdown(ctx);

  const auto per_s = [n](double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };
  return {{"database", target.Describe()},
          {"n", n},
          {"wait", recv ? "recv" : "sleep " + std::to_string(sleep_s) + " s"},
          {"threads", options.wait_threads},
          {"run_calls_ms", submitted - start},
          {"start_ms", all_waiting - start},
          {"start_per_s", per_s(all_waiting - start)},
          {"parked_when_all_waiting", parked},
          {"send_calls_ms", sent - all_waiting},
          {"release_ms", released - released_from},
          {"release_per_s", per_s(released - released_from)},
          {"peak_rss_mb_waiting", rss_waiting},
          {"peak_rss_mb", rss},
          {"peak_threads", peak_threads},
          {"wrong_results", wrong}};
}

}  // namespace

nlohmann::json MeasureWaiters(const Options& options) {
  nlohmann::json out = nlohmann::json::object();
  if (options.wait_rounds.find("recv") != std::string::npos) out["recv"] = RunRound(options, true);
  if (options.wait_rounds.find("sleep") != std::string::npos) {
    out["sleep"] = RunRound(options, false);
  }
  return out;
}

}  // namespace bench
