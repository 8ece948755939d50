// Error texts shared by several callers (see error_messages.hpp).
#include "core/error_messages.hpp"

namespace dbos::detail {

std::string UnexpectedStepMessage(const std::string& workflow_id, int step_id,
                                  const std::string& recorded, const std::string& expected,
                                  bool is_workflow) {
  const std::string option = is_workflow ? "dbos::WithWorkflowName" : "dbos::WithStepName";
  return "During execution of workflow " + workflow_id + " step " + std::to_string(step_id) +
         ", function " + recorded + " was recorded when " + expected +
         " was expected. A replay must run the same steps in the same order as the recorded run. "
         "If only the name changed (a renamed function, or a name from another compiler), pass " +
         option + "(\"" + recorded +
         "\") at this call; if the code changed, let this workflow finish under the application "
         "version that started it, or give the new code a new application version.";
}

}  // namespace dbos::detail
