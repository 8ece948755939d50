// The workflows registered in this process, found by callable identity (RunWorkflow) or by name
// (dequeue, recovery, retrieval). Written before Launch, read-only afterwards.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dbos/detail/erased.hpp"

namespace dbos::detail {

struct RegisteredWorkflow {
  std::string name;
  std::string key;
  int max_retries = 100;
  const std::type_info* input_type = nullptr;
  const std::type_info* output_type = nullptr;
  ErasedWorkflowFn fn;
  std::string schedule;  ///< WithSchedule's cron expression; "" when none.
};

class WorkflowRegistry {
 public:
  /// Adds a workflow; throws ConflictingRegistration / InvalidOption.
  void Add(RegistrationSpec spec);
  /// By callable key; nullptr when absent.
  const RegisteredWorkflow* FindByKey(const std::string& key) const;
  /// By registered name; nullptr when absent.
  const RegisteredWorkflow* FindByName(const std::string& name) const;
  /// Every registered name.
  std::vector<std::string> Names() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<RegisteredWorkflow>> by_key_;
  std::unordered_map<std::string, std::shared_ptr<RegisteredWorkflow>> by_name_;
};

}  // namespace dbos::detail
