// The benchmark's workflows and the recovery workflow's counters; see bench_workflows.hpp.
#include "bench_workflows.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <utility>

namespace bench {
namespace {

std::atomic<bool> block_recovery_step{false};

// Counts RecWf executions that reached the blocking step and that finished their body.
struct Counters {
  std::mutex mutex;
  std::condition_variable_any changed;
  int blocked = 0;
  int finished = 0;
};
Counters& RecCounters() {
  static Counters counters;
  return counters;
}

int NoopSteps(dbos::DBOSContext& ctx, int steps) {
  for (int i = 0; i < steps; ++i) {
    dbos::RunAsStep(
        ctx, [] { return 0; }, dbos::WithStepName("noop"));
  }
  return steps;
}

// RecWf's middle step: in the setup child it reports itself and waits for a stop that never
// comes before the SIGKILL; otherwise it returns at once.
int BlockingStep(std::stop_token stop) {
  if (!block_recovery_step.load()) return 2;
  auto& c = RecCounters();
  std::unique_lock lock(c.mutex);
  ++c.blocked;
  c.changed.notify_all();
  c.changed.wait(lock, std::move(stop), [] { return false; });
  return 2;
}

}  // namespace

int Wf0(dbos::DBOSContext& ctx, int /*input*/) { return NoopSteps(ctx, 0); }
int Wf1(dbos::DBOSContext& ctx, int /*input*/) { return NoopSteps(ctx, 1); }
int Wf3(dbos::DBOSContext& ctx, int /*input*/) { return NoopSteps(ctx, 3); }
int Wf10(dbos::DBOSContext& ctx, int /*input*/) { return NoopSteps(ctx, 10); }

int RecWf(dbos::DBOSContext& ctx, int /*input*/) {
  dbos::RunAsStep(
      ctx, [] { return 1; }, dbos::WithStepName("step1"));
  dbos::RunAsStep(ctx, BlockingStep, dbos::WithStepName("blockingStep"));
  dbos::RunAsStep(
      ctx, [] { return 3; }, dbos::WithStepName("step3"));
  auto& c = RecCounters();
  {
    std::lock_guard lock(c.mutex);
    ++c.finished;
  }
  c.changed.notify_all();
  return 3;
}

void RegisterBenchWorkflows(dbos::DBOSContext& ctx) {
  dbos::RegisterWorkflow(ctx, Wf0, dbos::WithWorkflowName("wf0"));
  dbos::RegisterWorkflow(ctx, Wf1, dbos::WithWorkflowName("wf1"));
  dbos::RegisterWorkflow(ctx, Wf3, dbos::WithWorkflowName("wf3"));
  dbos::RegisterWorkflow(ctx, Wf10, dbos::WithWorkflowName("wf10"));
  dbos::RegisterWorkflow(ctx, RecWf, dbos::WithWorkflowName("recWf"));
}

void BlockRecoveryStep(bool block) { block_recovery_step.store(block); }

void WaitUntilBlocked(int n) {
  auto& c = RecCounters();
  std::unique_lock lock(c.mutex);
  c.changed.wait(lock, [&] { return c.blocked >= n; });
}

bool WaitUntilFinished(int n, double timeout_ms) {
  auto& c = RecCounters();
  std::unique_lock lock(c.mutex);
  return c.changed.wait_for(lock, std::chrono::duration<double, std::milli>(timeout_ms),
                            [&] { return c.finished >= n; });
}

}  // namespace bench
