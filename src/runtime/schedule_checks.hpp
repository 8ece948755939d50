// Checks of WithSchedule at registration (implemented in schedules.cpp).
#pragma once

#include "dbos/detail/erased.hpp"

namespace dbos::detail {

/// Throws InvalidOption when the cron expression of `spec` is invalid (naming the field) or the
/// workflow's input is not a time point or ScheduledWorkflowInput.
void ValidateScheduledWorkflow(const RegistrationSpec& spec);

}  // namespace dbos::detail
