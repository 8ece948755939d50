// Command line and environment knobs of dbos_bench: which backend, which measurements, how many
// workflows, and the hidden child modes the recovery measurement re-executes the binary in.
#pragma once

#include <set>
#include <string>

namespace bench {

/// Everything dbos_bench was asked to do.
struct Options {
  std::string backend;  ///< "sqlite" or "postgres".
  std::string url;      ///< PostgreSQL URL; for SQLite an optional folder for the temp files.
  std::set<std::string> only{"seq",  "conc",  "msg", "recovery",
                             "wait", "queue", "list"};  ///< Measurements.
  std::string json_file;  ///< Where to write the RESULT JSON too ("" = nowhere).

  int seq_n = 500;             ///< SEQ_N: timed workflows per sequential series.
  int warmup = 50;             ///< WARMUP: untimed workflows before each sequential series.
  int conc_n = 2000;           ///< CONC_N: workflows started at once per concurrent run.
  int conc_runs = 3;           ///< CONC_RUNS: concurrent runs (the median is reported).
  int rec_n = 1000;            ///< REC_N: workflows left PENDING for the recovery measurement.
  int rec_timeout_s = 300;     ///< REC_TIMEOUT_S: give up on a recovery child after this long.
  int wait_n = 100000;         ///< WAIT_N or --wait-n: workflows waiting at once.
  int wait_sleep_s = 30;       ///< WAIT_SLEEP_S: the sleep of the sleeping round.
  int wait_timeout_s = 900;    ///< WAIT_TIMEOUT_S: give up when not all wait after this long.
  int wait_threads = 1;        ///< WAIT_THREADS: threads starting (and releasing) the waiters.
  int queue_n = 5000;          ///< QUEUE_N: workflows enqueued for the queue drain.
  int queue_wc = 50;           ///< QUEUE_WC: the queue's worker concurrency.
  int queue_lat_n = 200;       ///< QUEUE_LAT_N: single enqueues timed to their start.
  int queue_runs = 3;          ///< QUEUE_RUNS: rounds of QUEUE_N (the median is reported).
  int queue_enq_threads = 10;  ///< QUEUE_ENQ_THREADS: threads enqueuing the QUEUE_N at once.
  int queue_backlog_n =
      20000;              ///< QUEUE_BACKLOG_N: enqueued before Launch, then drained (0: skipped).
  int conc_threads = 10;  ///< CONC_START_THREADS: threads starting the CONC_N at once.
  /// WAIT_ROUNDS: which rounds of 'wait' run ("recv,sleep", "recv" or "sleep").
  std::string wait_rounds = "recv,sleep";

  // Child modes (recovery): --child rec-setup|rec-check|rec-run --db-url U --db-schema S --n N.
  std::string child;      ///< "" in the driver process.
  std::string db_url;     ///< The exact database the child opens.
  std::string db_schema;  ///< PostgreSQL schema of that database.
};

/// Parses argv and the environment knobs; prints usage and exits on a bad command line.
Options ParseOptions(int argc, char** argv);

}  // namespace bench
