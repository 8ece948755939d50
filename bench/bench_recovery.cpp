// Measurement 3, the driver: a "setup" child starts REC_N workflows that block in their second
// step and is SIGKILLed once all are written and the first 100 blocked (bench_recovery_child.cpp);
// a "check" child confirms the rows are PENDING; a "run" child launches DBOS (which recovers
// them) and times until all REC_N have completed.
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_process.hpp"
#include "bench_stats.hpp"

namespace bench {
namespace {

// Reads lines until one starts with `prefix`; returns the rest of it. Throws on EOF or timeout.
std::string AwaitLine(ChildProcess& child, const std::string& prefix, const std::string& what,
                      double timeout_ms) {
  const double deadline = NowMs() + timeout_ms;
  for (;;) {
    const double left = deadline - NowMs();
    auto line = left > 0 ? child.ReadLine(left) : std::nullopt;
    if (!line) {
      child.Kill();
      std::string message = "the " + what;
      message += " child did not print '" + prefix + "' within ";
      message += std::to_string(static_cast<int>(timeout_ms / 1000)) + " s (it ended with ";
      message += child.Wait() + ")";
      throw std::runtime_error(message);
    }
    if (line->rfind(prefix, 0) == 0) return line->substr(prefix.size());
  }
}

}  // namespace

nlohmann::json MeasureRecovery(const Options& options) {
  const DatabaseTarget target = FreshDatabase(options, "rec");
  const std::vector<std::string> common{
      "--backend",   options.backend, "--db-url", target.url,
      "--db-schema", target.schema,   "--n",      std::to_string(options.rec_n)};
  auto args = [&](const char* mode) {
    std::vector<std::string> out{"--child", mode};
    out.insert(out.end(), common.begin(), common.end());
    return out;
  };
  const double timeout_ms = options.rec_timeout_s * 1000.0;
  nlohmann::json out = {{"database", target.Describe()}, {"n", options.rec_n}};

  {
    ChildProcess setup(args("rec-setup"));
    out["setup_ms"] = std::stod(AwaitLine(setup, "READY ", "rec-setup", timeout_ms));
    setup.Kill();
    out["setup_child"] = setup.Wait();
  }
  {
    ChildProcess check(args("rec-check"));
    out["status_after_kill"] =
        nlohmann::json::parse(AwaitLine(check, "STATUS ", "rec-check", timeout_ms));
    check.Wait();
  }
  const double spawned = NowMs();
  ChildProcess run(args("rec-run"));
  nlohmann::json result = nlohmann::json::parse(AwaitLine(run, "RESULT ", "rec-run", timeout_ms));
  out["run_child"] = run.Wait();
  out.update(result);
  // Until the child saw every result stored; its handle check after that is not counted.
  if (!result.contains("all_done_at_ms")) {
    throw std::runtime_error("the rec-run child's RESULT has no all_done_at_ms");
  }
  // Linux's steady clock (CLOCK_MONOTONIC) is one clock for every process of the machine.
  out["spawn_to_all_done_ms"] = Round3(result["all_done_at_ms"].get<double>() - spawned);
  return out;
}

}  // namespace bench
