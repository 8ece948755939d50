// What the crash worker's source files share: the marker file every execution appends to, and the
// entry points of the queue modes (queue_worker.cpp), which run several worker processes as
// executors of the same queues.
#pragma once

#include <string>
#include <vector>

#include "dbos/dbos.hpp"

namespace crash {

/// Appends one line to the marker file (one O_APPEND write: lines of concurrent processes never
/// interleave, and a line written survives a SIGKILL right after).
void Mark(const std::string& line);
/// Steady-clock nanoseconds as text (CLOCK_MONOTONIC: comparable across processes on one host).
std::string NowNs();

/// Declares the queues and registers the workflows of the queue modes; call before Launch.
void RegisterQueueWorkflows(dbos::DBOSContext& ctx);
/// True when `mode` is a queue mode (its first argument is the process's executor ID).
bool IsQueueMode(const std::string& mode);
/// Sets what a queue mode changes in the process's configuration: the executor ID (its first
/// argument), and the application version of prio's enqueuer.
void ConfigureQueueMode(dbos::Config& config, const std::string& mode,
                        const std::vector<std::string>& args);
/// Runs queue mode `mode` with the arguments that follow it; returns the process's exit code.
int RunQueueMode(dbos::DBOSContext& ctx, const std::string& mode,
                 const std::vector<std::string>& args);

}  // namespace crash
