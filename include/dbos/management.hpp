// Managing workflows by ID from the application.
#pragma once

#include <string>

#include "dbos/context.hpp"

namespace dbos {

/// Cancels a workflow: its status becomes CANCELLED (unless it already ended), it stops at the
/// start of its next step or at once when sleeping or waiting, a running step sees its
/// std::stop_token requested and its outcome is not recorded, and GetResult throws
/// AwaitedWorkflowCancelled. Throws NonExistentWorkflow for an unknown ID.
void CancelWorkflow(DBOSContext& ctx, const std::string& workflow_id);

}  // namespace dbos
