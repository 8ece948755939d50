// The measurements and the recovery child modes. Each measurement opens its own fresh
// database, runs, shuts DBOS down and returns its figures as JSON (the keys of `RESULT`).
#pragma once

#include <nlohmann/json.hpp>

#include "bench_options.hpp"

namespace bench {

/// Sequential latency of 0-, 1- and 10-step workflows, and the derived cost per extra step.
nlohmann::json MeasureSequential(const Options& options);

/// Throughput of CONC_N 3-step workflows started at once (median of CONC_RUNS), and peak RSS.
nlohmann::json MeasureConcurrent(const Options& options);

/// Send -> Recv and SetEvent -> GetEvent latency (MSG_N ping-pong rounds, default 200).
nlohmann::json MeasureMessaging(const Options& options);

/// Recovery of REC_N workflows left PENDING by a SIGKILLed child, driven from this process.
nlohmann::json MeasureRecovery(const Options& options);

/// WAIT_N workflows waiting in Recv at once: start rate (all waiting) and release rate (a Send
/// to each, all returned).
nlohmann::json MeasureWaiters(const Options& options);

/// QUEUE_N one-step workflows through a queue of worker concurrency QUEUE_WC: enqueue and drain
/// rates; then enqueue -> start latency of QUEUE_LAT_N single enqueues on the idle runner.
nlohmann::json MeasureQueue(const Options& options);

/// ListWorkflows latency with LIST_ROWS (default 100,000) workflows in the table: first page,
/// newest page, a page filtered by status and one by name (100 each), one by ID.
nlohmann::json MeasureList(const Options& options);

/// The body of a child process (--child rec-setup|rec-check|rec-run); returns the exit code.
int RunRecoveryChild(const Options& options);

/// Prints the human-readable table of `result` (the RESULT JSON) to stdout.
void PrintReport(const nlohmann::json& result);

}  // namespace bench
