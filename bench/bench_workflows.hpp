// The workflows every benchmark process registers: 0, 1, 3 and 10 no-op steps, and the recovery
// workflow (step 1, a step that blocks in the "setup" child, step 3). Registering the same set
// under fixed names in every process is what lets the "run" child recover the "setup" child's rows.
#pragma once

#include <dbos/dbos.hpp>

namespace bench {

int Wf0(dbos::DBOSContext& ctx, int input);
int Wf1(dbos::DBOSContext& ctx, int input);
int Wf3(dbos::DBOSContext& ctx, int input);
int Wf10(dbos::DBOSContext& ctx, int input);
/// Returns 3 after its three steps; the middle one blocks while BlockRecoveryStep(true) is in
/// force.
int RecWf(dbos::DBOSContext& ctx, int input);

/// Registers all of the above (names wf0, wf1, wf3, wf10, recWf). Call before Launch.
void RegisterBenchWorkflows(dbos::DBOSContext& ctx);

/// True: RecWf's middle step blocks until its stop token fires (the setup child, then SIGKILL).
/// False (default): it returns at once (the recovering child).
void BlockRecoveryStep(bool block);

/// Blocks until `n` RecWf executions are inside the blocking step.
void WaitUntilBlocked(int n);

/// Waits until `n` RecWf bodies have returned, at most `timeout_ms`; false on timeout.
bool WaitUntilFinished(int n, double timeout_ms);

}  // namespace bench
