// Measurement 3, the children (this binary re-executed with --child):
//   rec-setup  starts rec-0..rec-{N-1}, prints "READY <ms>" once every row is written and the
//              first ones block in step 2, then waits for its SIGKILL (the workflow pool keeps a
//              bounded number of threads, so 1000 blocking steps cannot all run at once: the
//              rest are PENDING rows not started yet, which recovery runs from their start);
//   rec-check  opens the database without launching and prints "STATUS {status: count}";
//   rec-run    NewDBOSContext + register + Launch (which recovers the PENDING rows), waits until
//              every workflow body finished and every handle returned 3, prints "RESULT {…}".
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
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
  int wrong = 0;
  for (int i = 0; i < options.rec_n; ++i) {
    if (dbos::RetrieveWorkflow<int>(ctx, RecId(i)).GetResult() != 3) ++wrong;
  }
  const double all_done = NowMs();
  const nlohmann::json result = {{"new_context_ms", Round3(launch_start - start)},
                                 {"launch_call_ms", Round3(launched - launch_start)},
                                 {"launch_ms", Round3(launched - start)},
                                 {"launch_to_bodies_done_ms", Round3(bodies_done - start)},
                                 {"launch_to_all_done_ms", Round3(all_done - start)},
                                 {"verify_handles_ms", Round3(all_done - bodies_done)},
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
