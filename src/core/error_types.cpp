// Replaying recorded errors as exceptions.
#include "core/error_types.hpp"

#include "dbos/detail/erased.hpp"

namespace dbos::detail {

void ErrorTypeRegistry::Add(const std::type_info& type, ErrorThrower thrower) {
  std::lock_guard lock(mutex_);
  throwers_[DemangledTypeName(type)] = thrower;
}

void ErrorTypeRegistry::Throw(const serialization::ErrorRecord& record, ErrorCode wrap_code,
                              const std::string& workflow_id) const {
  ErrorThrower thrower = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = throwers_.find(record.name);
    if (it != throwers_.end()) thrower = it->second;
  }
  if (thrower != nullptr) {
    thrower(record.message);
    throw DBOSError(wrap_code, record.message, workflow_id, record.name);  // unreachable
  }
  if (record.dbos_code) {
    throw DBOSError(static_cast<ErrorCode>(*record.dbos_code), record.message, workflow_id);
  }
  throw DBOSError(wrap_code, record.message, workflow_id, record.name);
}

}  // namespace dbos::detail
