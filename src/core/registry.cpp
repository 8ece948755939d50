// Workflow registration rules: a name is required (explicit or derived from the symbol), names and
// functions are unique.
#include "core/registry.hpp"

#include "dbos/errors.hpp"

namespace dbos::detail {

void WorkflowRegistry::Add(RegistrationSpec spec) {
  std::string name = spec.explicit_name.empty() ? spec.derived_name : spec.explicit_name;
  if (name.empty()) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "cannot derive a stable name for this workflow (a lambda, a static function, "
                    "or a binary without exported symbols): register it with "
                    "dbos::WithWorkflowName(\"name\")");
  }
  auto entry = std::make_shared<RegisteredWorkflow>();
  entry->name = name;
  entry->key = spec.key;
  entry->max_retries = spec.max_retries;
  entry->input_type = spec.input_type;
  entry->output_type = spec.output_type;
  entry->fn = std::move(spec.fn);
  entry->schedule = std::move(spec.schedule);
  std::lock_guard lock(mutex_);
  if (by_name_.count(name) != 0) {
    throw DBOSError(ErrorCode::ConflictingRegistration,
                    "a workflow named '" + name + "' is already registered");
  }
  if (by_key_.count(entry->key) != 0) {
    throw DBOSError(ErrorCode::ConflictingRegistration,
                    "this function is already registered as workflow '" +
                        by_key_[entry->key]->name + "'; it cannot also be registered as '" + name +
                        "'");
  }
  by_key_[entry->key] = entry;
  by_name_[name] = entry;
}

const RegisteredWorkflow* WorkflowRegistry::FindByKey(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second.get();
}

const RegisteredWorkflow* WorkflowRegistry::FindByName(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.get();
}

std::vector<std::string> WorkflowRegistry::Names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  names.reserve(by_name_.size());
  for (const auto& entry : by_name_) names.push_back(entry.first);
  return names;
}

}  // namespace dbos::detail
