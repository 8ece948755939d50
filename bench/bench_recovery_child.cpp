// Measurement 3, the children (this binary re-executed with --child):
//   rec-setup  starts rec-0..rec-{N-1}, prints "READY <ms>" once every row is written and the
//              first ones block in step 2, then waits for its SIGKILL (the workflow pool keeps a
//              bounded number of threads, so 1000 blocking steps cannot all run at once: the
//              rest are PENDING rows not started yet, which recovery runs from their start);
//   rec-check  opens the database without launching and prints "STATUS {status: count}";
//   rec-run    NewDBOSContext + register + Launch (which recovers the PENDING rows), waits until
//              every workflow body finished and the database holds every result (timed), checks
//              every handle returns 3 (not timed), prints "RESULT {…}".
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"
#include "bench_workflows.hpp"

namespace bench {
namespace {

std::string RecId(int i) { return "rec-" + std::to_string(i); }

// Workflows blocked in step 2 (so mid-execution) when the setup child is killed: fewer than the
// workflow pool's threads.
constexpr int kBlockedBeforeKill = 100;

int Setup(const Options& options) {
  BlockRecoveryStep(true);
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(ChildDatabase(options)));
  RegisterBenchWorkflows(ctx);
  dbos::Launch(ctx);
  const double start = NowMs();
  std::vector<dbos::WorkflowHandle<int>> handles;
  handles.reserve(static_cast<size_t>(options.rec_n));
  for (int i = 0; i < options.rec_n; ++i) {
    handles.push_back(dbos::RunWorkflow(ctx, RecWf, i, dbos::WithWorkflowID(RecId(i))));
  }
  WaitUntilBlocked(std::min(options.rec_n, kBlockedBeforeKill));
  std::cout << "READY " << Round3(NowMs() - start) << std::endl;
  for (;;) pause();  // the parent SIGKILLs this process
}

// Counts the rows of rec-0..rec-{N-1} by status ("MISSING" for absent ones).
nlohmann::json CountStatuses(dbos::DBOSContext& ctx, int n) {
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) {
    try {
      auto status = dbos::RetrieveWorkflow<nlohmann::json>(ctx, RecId(i)).GetStatus();
      ++counts[std::string(dbos::ToString(status.status))];
    } catch (const dbos::DBOSError& e) {
      if (e.Code() != dbos::ErrorCode::NonExistentWorkflow) throw;
      ++counts["MISSING"];
    }
  }
  return counts;
}

int Check(const Options& options) {
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(ChildDatabase(options)));
  std::cout << "STATUS " << CountStatuses(ctx, options.rec_n).dump() << std::endl;
  return 0;
}

// Polls one listing of the rec-* rows that are SUCCESS with result 3 every 2 ms until there are
// `n` of them or the timeout passes; returns how many there were at the end.
int WaitUntilStored(dbos::DBOSContext& ctx, int n, double timeout_ms) {
  const double deadline = NowMs() + timeout_ms;
  for (;;) {
    const auto rows = dbos::ListWorkflows(ctx, dbos::WithWorkflowIDPrefix("rec-"),
                                          dbos::WithStatus({dbos::WorkflowStatusType::Success}),
                                          dbos::WithLoadInput(false));
    const auto stored = std::count_if(
        rows.begin(), rows.end(), [](const dbos::WorkflowStatus& row) { return row.output == 3; });
    if (stored >= n || NowMs() > deadline) return static_cast<int>(stored);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int Run(const Options& options) {
  BlockRecoveryStep(false);
  const double start = NowMs();
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(ChildDatabase(options)));
  RegisterBenchWorkflows(ctx);
  const double launch_start = NowMs();
  dbos::Launch(ctx);
  const double launched = NowMs();
  const double timeout_ms = options.rec_timeout_s * 1000.0;
  if (!WaitUntilFinished(options.rec_n, timeout_ms)) {
    std::cerr << "rec-run: not all workflows finished; statuses: "
              << CountStatuses(ctx, options.rec_n).dump() << std::endl;
    return 1;
  }
  const double bodies_done = NowMs();
  // "All done" is when the database holds every row as SUCCESS with its result, read the way the
  // peer's benchmark reads it (one query, polled every 2 ms); a body's return precedes its
  // status's commit. The handle check below is not timed.
  const int stored = WaitUntilStored(ctx, options.rec_n, timeout_ms);
  const double all_done = NowMs();
  if (stored < options.rec_n) {
    std::cerr << "rec-run: only " << stored << " of " << options.rec_n
              << " results stored as SUCCESS with 3; statuses: "
              << CountStatuses(ctx, options.rec_n).dump() << std::endl;
    return 1;
  }
  int wrong = 0;
  for (int i = 0; i < options.rec_n; ++i) {
    if (dbos::RetrieveWorkflow<int>(ctx, RecId(i)).GetResult() != 3) ++wrong;
  }
  const double verified = NowMs();
  const nlohmann::json result = {{"new_context_ms", Round3(launch_start - start)},
                                 {"launch_call_ms", Round3(launched - launch_start)},
                                 {"launch_ms", Round3(launched - start)},
                                 {"launch_to_bodies_done_ms", Round3(bodies_done - start)},
                                 {"launch_to_all_done_ms", Round3(all_done - start)},
                                 {"bodies_done_to_all_stored_ms", Round3(all_done - bodies_done)},
                                 {"verify_handles_ms", Round3(verified - all_done)},
                                 {"all_done_at_ms", all_done},
                                 {"wrong_results", wrong},
                                 {"peak_rss_mb", Round3(PeakRssMb())}};
  std::cout << "RESULT " << result.dump() << std::endl;
  dbos::Shutdown(ctx);
  return wrong == 0 ? 0 : 1;
}

}  // namespace

int RunRecoveryChild(const Options& options) {
  if (options.child == "rec-setup") return Setup(options);
  if (options.child == "rec-check") return Check(options);
  if (options.child == "rec-run") return Run(options);
  std::cerr << "dbos_bench: unknown child mode " << options.child << std::endl;
  return 2;
}

}  // namespace bench
