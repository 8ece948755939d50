// Parsing of dbos_bench's command line and environment knobs; see bench_options.hpp.
#include "bench_options.hpp"

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string_view>

namespace bench {
namespace {

[[noreturn]] void Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "dbos_bench: " << problem << "\n";
  std::cerr
      << "usage: dbos_bench --backend sqlite|postgres [--url URL]"
         " [--only seq,conc,msg,recovery,wait,queue,list] [--wait-n N] [--json FILE]\n"
         "  --url   PostgreSQL URL (required for postgres); for sqlite an optional folder\n"
         "          in which fresh database files are created (default $TMPDIR or /tmp)\n"
         "  --wait-n  workflows waiting at once for 'wait' (default 100000; env WAIT_N)\n"
         "  env     SEQ_N WARMUP CONC_N CONC_RUNS REC_N REC_TIMEOUT_S WAIT_N WAIT_SLEEP_S\n"
         "          WAIT_THREADS WAIT_TIMEOUT_S WAIT_ROUNDS (recv,sleep)\n"
         "          QUEUE_N QUEUE_WC QUEUE_LAT_N QUEUE_RUNS QUEUE_ENQ_THREADS QUEUE_BACKLOG_N "
         "CONC_START_THREADS\n";
  std::exit(2);
}

int EnvInt(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0 || value > 10'000'000) {
    Usage(std::string("environment variable ") + name + " must be a non-negative integer");
  }
  return static_cast<int>(value);
}

std::set<std::string> SplitList(const std::string& text) {
  std::set<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) continue;
    if (item != "seq" && item != "conc" && item != "msg" && item != "recovery" && item != "wait" &&
        item != "queue" && item != "list") {
      Usage("--only takes seq, conc, msg, recovery, wait, queue and list, not '" + item + "'");
    }
    out.insert(item);
  }
  return out;
}

}  // namespace

Options ParseOptions(int argc, char** argv) {
  Options o;
  o.seq_n = EnvInt("SEQ_N", o.seq_n);
  o.warmup = EnvInt("WARMUP", o.warmup);
  o.conc_n = EnvInt("CONC_N", o.conc_n);
  o.conc_runs = EnvInt("CONC_RUNS", o.conc_runs);
  o.rec_n = EnvInt("REC_N", o.rec_n);
  o.rec_timeout_s = EnvInt("REC_TIMEOUT_S", o.rec_timeout_s);
  o.wait_n = EnvInt("WAIT_N", o.wait_n);
  o.wait_sleep_s = EnvInt("WAIT_SLEEP_S", o.wait_sleep_s);
  o.wait_timeout_s = EnvInt("WAIT_TIMEOUT_S", o.wait_timeout_s);
  o.wait_threads = EnvInt("WAIT_THREADS", o.wait_threads);
  if (const char* rounds = std::getenv("WAIT_ROUNDS")) o.wait_rounds = rounds;
  o.queue_n = EnvInt("QUEUE_N", o.queue_n);
  o.queue_wc = EnvInt("QUEUE_WC", o.queue_wc);
  o.queue_lat_n = EnvInt("QUEUE_LAT_N", o.queue_lat_n);
  o.queue_runs = EnvInt("QUEUE_RUNS", o.queue_runs);
  o.queue_enq_threads = EnvInt("QUEUE_ENQ_THREADS", o.queue_enq_threads);
  o.queue_backlog_n = EnvInt("QUEUE_BACKLOG_N", o.queue_backlog_n);
  o.conc_threads = EnvInt("CONC_START_THREADS", o.conc_threads);

  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") Usage("");
    if (i + 1 >= argc) Usage("missing value after " + std::string(flag));
    const std::string value = argv[++i];
    if (flag == "--backend") {
      o.backend = value;
    } else if (flag == "--url") {
      o.url = value;
    } else if (flag == "--only") {
      o.only = SplitList(value);
    } else if (flag == "--json") {
      o.json_file = value;
    } else if (flag == "--child") {
      o.child = value;
    } else if (flag == "--db-url") {
      o.db_url = value;
    } else if (flag == "--db-schema") {
      o.db_schema = value;
    } else if (flag == "--wait-n") {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || n < 1 || n > 10'000'000) Usage("--wait-n takes a positive integer");
      o.wait_n = static_cast<int>(n);
    } else if (flag == "--n") {
      o.rec_n = std::atoi(value.c_str());
    } else {
      Usage("unknown option " + std::string(flag));
    }
  }
  if (o.backend != "sqlite" && o.backend != "postgres") Usage("--backend sqlite|postgres");
  if (o.child.empty() && o.backend == "postgres" && o.url.empty()) {
    Usage("--url is required with --backend postgres");
  }
  if (o.seq_n < 1 || o.conc_n < 1 || o.conc_runs < 1 || o.rec_n < 1 || o.wait_n < 1 ||
      o.queue_n < 1 || o.queue_wc < 1 || o.queue_lat_n < 1 || o.queue_runs < 1 ||
      o.queue_enq_threads < 1 || o.queue_backlog_n < 0 || o.conc_threads < 1 ||
      o.wait_threads < 1) {
    Usage(
        "SEQ_N, CONC_N, CONC_RUNS, REC_N, WAIT_N, WAIT_THREADS, CONC_START_THREADS and the QUEUE_ "
        "knobs must be at least 1 (QUEUE_BACKLOG_N at least 0)");
  }
  // The sleeping round carries the sleep and the workflow's index in one int input.
  if (o.wait_n >= 1'000'000 || o.wait_sleep_s < 0 || o.wait_sleep_s > 2000) {
    Usage("WAIT_N must be below 1000000 and WAIT_SLEEP_S between 0 and 2000");
  }
  if (o.wait_rounds != "recv,sleep" && o.wait_rounds != "recv" && o.wait_rounds != "sleep") {
    Usage("WAIT_ROUNDS takes recv,sleep (the default), recv or sleep");
  }
  return o;
}

}  // namespace bench
