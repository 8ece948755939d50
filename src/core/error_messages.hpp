// Texts of errors raised in several places, written once so that each says the same thing and
// how to fix it.
#pragma once

#include <string>

namespace dbos::detail {

/// The message of UnexpectedStep: at `step_id` of `workflow_id` a replay expected `expected` but
/// the recorded run has `recorded` there. `is_workflow` when the position holds a child workflow.
std::string UnexpectedStepMessage(const std::string& workflow_id, int step_id,
                                  const std::string& recorded, const std::string& expected,
                                  bool is_workflow);

}  // namespace dbos::detail
