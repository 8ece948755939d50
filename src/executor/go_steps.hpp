// dbos::Go and dbos::Select (reference §2.4): steps that run concurrently with their workflow on
// the runtime's step workers, and a durable choice among them. See go_steps.cpp.
#pragma once

#include "dbos/detail/erased.hpp"

namespace dbos::executor {

/// Wraps a registered workflow so that its execution ends (records its outcome, or stays
/// PENDING) only once every step it started with dbos::Go is done, however its code returns,
/// throws or unwinds: no step of a workflow runs, or records, after the workflow's end.
detail::ErasedWorkflowFn WaitingForGoSteps(detail::ErasedWorkflowFn fn);

}  // namespace dbos::executor
