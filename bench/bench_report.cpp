// The human-readable summary dbos_bench prints before its RESULT line.
#include <cstdio>
#include <string>

#include "bench_measurements.hpp"

namespace bench {
namespace {

double Num(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

void PrintError(const char* name, const nlohmann::json& section) {
  std::printf("%s: FAILED: %s\n", name, section["error"].get<std::string>().c_str());
}

void PrintSequential(const nlohmann::json& seq) {
  if (seq.contains("error")) return PrintError("sequential", seq);
  std::printf("sequential latency, RunWorkflow + GetResult one after the other (%s)\n",
              seq["database"].get<std::string>().c_str());
  std::printf("  %-10s %8s %8s %8s %8s %8s %8s\n", "workflow", "n", "p50 ms", "p90 ms", "p99 ms",
              "mean ms", "wf/s");
  for (const char* key : {"0", "1", "10"}) {
    const auto& s = seq[key];
    std::printf("  %-10s %8d %8.3f %8.3f %8.3f %8.3f %8.0f\n",
                (std::string(key) + (key == std::string("1") ? " step" : " steps")).c_str(),
                static_cast<int>(Num(s, "n")), Num(s, "p50_ms"), Num(s, "p90_ms"), Num(s, "p99_ms"),
                Num(s, "mean_ms"), Num(s, "wf_per_s"));
  }
  std::printf("  per additional step (p50(10) - p50(0)) / 10: %.3f ms\n\n",
              Num(seq, "per_step_ms"));
}

void PrintConcurrent(const nlohmann::json& conc) {
  if (conc.contains("error")) return PrintError("concurrent", conc);
  std::printf("concurrent throughput, %d workflows x 3 steps started at once by %d threads (%s)\n",
              static_cast<int>(Num(conc, "n")),
              conc.contains("start_threads") ? static_cast<int>(Num(conc, "start_threads")) : 1,
              conc["database"].get<std::string>().c_str());
  int r = 1;
  for (const auto& run : conc["runs"]) {
    std::printf("  run %d: started all in %.0f ms, done in %.0f ms: %.0f wf/s, %.0f steps/s\n", r++,
                Num(run, "start_all_ms"), Num(run, "total_ms"), Num(run, "wf_per_s"),
                Num(run, "steps_per_s"));
  }
  std::printf("  median: %.0f workflows/s, %.0f steps/s; peak RSS %.1f MB\n\n",
              Num(conc, "median_wf_per_s"), Num(conc, "median_steps_per_s"),
              Num(conc, "peak_rss_mb"));
}

void PrintRecovery(const nlohmann::json& rec) {
  if (rec.contains("error")) return PrintError("recovery", rec);
  std::printf("recovery of %d workflows left PENDING by a SIGKILLed process (%s)\n",
              static_cast<int>(Num(rec, "n")), rec["database"].get<std::string>().c_str());
  std::printf("  setup: all blocked in step 2 after %.0f ms; statuses after kill: %s\n",
              Num(rec, "setup_ms"), rec["status_after_kill"].dump().c_str());
  std::printf("  NewDBOSContext %.1f ms + Launch %.1f ms = %.1f ms\n", Num(rec, "new_context_ms"),
              Num(rec, "launch_call_ms"), Num(rec, "launch_ms"));
  std::printf("  from NewDBOSContext: all bodies done %.0f ms, all results stored %.0f ms\n",
              Num(rec, "launch_to_bodies_done_ms"), Num(rec, "launch_to_all_done_ms"));
  std::printf("  then every handle checked in %.0f ms (not timed above)\n",
              Num(rec, "verify_handles_ms"));
  std::printf("  spawn to all done %.0f ms; wrong results %d; child peak RSS %.1f MB\n\n",
              Num(rec, "spawn_to_all_done_ms"), static_cast<int>(Num(rec, "wrong_results")),
              Num(rec, "peak_rss_mb"));
}

void PrintMessaging(const nlohmann::json& msg) {
  if (msg.contains("error")) return PrintError("messaging", msg);
  std::printf("messaging ping-pong, %d rounds (%s)\n", static_cast<int>(Num(msg, "n")),
              msg["database"].get<std::string>().c_str());
  for (const char* key : {"send_call", "send_to_recv_oneway", "setEvent_to_waiting_getEvent",
                          "roundtrip_send_recv_setEvent_getEvent", "getEvent_existing"}) {
    std::printf("  %-40s p50 %7.3f ms  p99 %7.3f ms\n", key, Num(msg[key], "p50_ms"),
                Num(msg[key], "p99_ms"));
  }
  std::printf("\n");
}

void PrintWaitRound(const nlohmann::json& wait) {
  if (wait.contains("error")) return PrintError("waiters", wait);
  std::printf("%d workflows waiting at once, %s, started by %d thread(s) (%s)\n",
              static_cast<int>(Num(wait, "n")), wait["wait"].get<std::string>().c_str(),
              wait.contains("threads") ? static_cast<int>(Num(wait, "threads")) : 1,
              wait["database"].get<std::string>().c_str());
  std::printf(
      "  start: all waiting after %.0f ms: %.0f workflows/s (RunWorkflow calls %.0f ms; "
      "%d parked)\n",
      Num(wait, "start_ms"), Num(wait, "start_per_s"), Num(wait, "run_calls_ms"),
      static_cast<int>(Num(wait, "parked_when_all_waiting")));
  std::printf("  release: all returned after %.0f ms: %.0f workflows/s\n", Num(wait, "release_ms"),
              Num(wait, "release_per_s"));
  std::printf("  wrong results %d; peak RSS %.1f MB (all waiting %.1f MB); peak threads %d\n\n",
              static_cast<int>(Num(wait, "wrong_results")), Num(wait, "peak_rss_mb"),
              Num(wait, "peak_rss_mb_waiting"), static_cast<int>(Num(wait, "peak_threads")));
}

void PrintWaiters(const nlohmann::json& wait) {
  if (wait.contains("error")) return PrintError("waiters", wait);
  for (const char* round : {"recv", "sleep"}) {
    if (wait.contains(round)) PrintWaitRound(wait[round]);
  }
}

void PrintList(const nlohmann::json& list) {
  if (list.contains("error")) return PrintError("list", list);
  std::printf("ListWorkflows, %d workflows in the table (inserted in %.0f ms) (%s)\n",
              static_cast<int>(Num(list, "rows")), Num(list, "insert_ms"),
              list["database"].get<std::string>().c_str());
  for (const char* key : {"first_page", "newest_page", "error_page", "name_page", "by_id"}) {
    std::printf("  %-12s p50 %.3f ms, p99 %.3f ms (n %d)\n", key, Num(list[key], "p50_ms"),
                Num(list[key], "p99_ms"), static_cast<int>(Num(list[key], "n")));
  }
  std::printf("\n");
}

void PrintQueue(const nlohmann::json& queue) {
  if (queue.contains("error")) return PrintError("queue", queue);
  std::printf("queue, %d workflows x 1 step, worker concurrency %d, enqueued by %d threads (%s)\n",
              static_cast<int>(Num(queue, "n")), static_cast<int>(Num(queue, "worker_concurrency")),
              queue.value("enqueue_threads", 1), queue["database"].get<std::string>().c_str());
  std::printf("  enqueue: %.0f ms, %.0f workflows/s\n", Num(queue, "enqueue_ms"),
              Num(queue, "enqueue_per_s"));
  std::printf("  drain (first enqueue to last result): %.0f ms, %.0f workflows/s\n",
              Num(queue, "drain_ms"), Num(queue, "drain_per_s"));
  if (queue.contains("runs")) {
    std::printf("  (medians of %zu rounds; enqueue, drain per round:", queue["runs"].size());
    for (const auto& round : queue["runs"]) {
      std::printf(" %.0f/%.0f", Num(round, "enqueue_per_s"), Num(round, "drain_per_s"));
    }
    std::printf(")\n");
  }
  const nlohmann::json& latency = queue["enqueue_to_start"];
  std::printf("  enqueue -> start on an idle runner: p50 %.3f ms, p99 %.3f ms (n %d)\n",
              Num(latency, "p50_ms"), Num(latency, "p99_ms"), static_cast<int>(Num(latency, "n")));
  const nlohmann::json& backlog = queue["backlog"];
  if (backlog.contains("n")) {
    std::printf("  a backlog of %d enqueued before Launch: drained in %.0f ms, %.0f workflows/s\n",
                static_cast<int>(Num(backlog, "n")), Num(backlog, "drain_ms"),
                Num(backlog, "drain_per_s"));
  } else {
    std::printf("  a backlog enqueued before Launch: %s\n",
                backlog.value("error", backlog.value("skipped", std::string("?"))).c_str());
  }
  std::printf("\n");
}

}  // namespace

void PrintReport(const nlohmann::json& result) {
  std::printf("\nDBOS Transact C++ benchmark: backend %s\n\n",
              result["backend"].get<std::string>().c_str());
  if (result.contains("seq")) PrintSequential(result["seq"]);
  if (result.contains("conc")) PrintConcurrent(result["conc"]);
  if (result.contains("msg")) PrintMessaging(result["msg"]);
  if (result.contains("recovery")) PrintRecovery(result["recovery"]);
  if (result.contains("wait")) PrintWaiters(result["wait"]);
  if (result.contains("queue")) PrintQueue(result["queue"]);
  if (result.contains("list")) PrintList(result["list"]);
  std::fflush(stdout);
}

}  // namespace bench
