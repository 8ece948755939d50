// dbos_bench: measures DBOS Transact C++ on one backend (sequential latency, concurrent
// throughput, messaging, recovery after a crash, many workflows waiting in Recv, peak RSS,
// ListWorkflows over a large table),
// prints a table and a final `RESULT <json>` line.
//
//   dbos_bench --backend sqlite|postgres [--url URL] [--only seq,conc,msg,recovery,wait,queue,list]
//              [--wait-n N] [--json FILE]
//
// See docs/benchmarks.md and bench/run.sh, which runs it side by side with the TypeScript peer.
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <utility>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_options.hpp"

int main(int argc, char** argv) {
  const bench::Options options = bench::ParseOptions(argc, argv);
  if (!options.child.empty()) {
    try {
      return bench::RunRecoveryChild(options);
    } catch (const std::exception& e) {
      std::cerr << "dbos_bench " << options.child << ": " << e.what() << std::endl;
      return 1;
    }
  }

  nlohmann::json result = {{"backend", options.backend},
                           {"knobs",
                            {{"SEQ_N", options.seq_n},
                             {"WARMUP", options.warmup},
                             {"CONC_N", options.conc_n},
                             {"CONC_RUNS", options.conc_runs},
                             {"REC_N", options.rec_n},
                             {"WAIT_N", options.wait_n},
                             {"WAIT_THREADS", options.wait_threads},
                             {"QUEUE_N", options.queue_n},
                             {"QUEUE_WC", options.queue_wc},
                             {"QUEUE_LAT_N", options.queue_lat_n},
                             {"QUEUE_RUNS", options.queue_runs},
                             {"QUEUE_ENQ_THREADS", options.queue_enq_threads},
                             {"QUEUE_BACKLOG_N", options.queue_backlog_n},
                             {"CONC_START_THREADS", options.conc_threads}}}};
  const std::pair<const char*, std::function<nlohmann::json(const bench::Options&)>> steps[] = {
      {"seq", bench::MeasureSequential}, {"conc", bench::MeasureConcurrent},
      {"msg", bench::MeasureMessaging},  {"recovery", bench::MeasureRecovery},
      {"wait", bench::MeasureWaiters},   {"queue", bench::MeasureQueue},
      {"list", bench::MeasureList}};
  bool failed = false;
  for (const auto& [name, measure] : steps) {
    if (!options.only.contains(name)) continue;
    std::cerr << "dbos_bench: " << options.backend << ": measuring " << name << std::endl;
    try {
      result[name] = measure(options);
    } catch (const std::exception& e) {
      result[name] = {{"error", e.what()}};
      failed = true;
    }
    bench::DropSchemas(options);  // the next measurement must not pay for this one's vacuum
  }
  bench::RemoveTempFiles();

  bench::PrintReport(result);
  if (!options.json_file.empty()) std::ofstream(options.json_file) << result.dump(1) << "\n";
  std::cout << "RESULT " << result.dump() << std::endl;
  return failed ? 1 : 0;
}
