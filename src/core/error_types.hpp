// Exception types registered with RegisterErrorType, and the one place where a recorded error is
// turned back into an exception, so that the first run and every replay throw the same thing.
#pragma once

#include <mutex>
#include <string>
#include <typeinfo>
#include <unordered_map>

#include "dbos/context.hpp"
#include "serialization/codec.hpp"

namespace dbos::detail {

class ErrorTypeRegistry {
 public:
  /// Registers `type` (by its demangled name).
  void Add(const std::type_info& type, ErrorThrower thrower);

  /// Throws the exception a recorded error stands for: the registered type if its name is known,
  /// a DBOSError with the recorded code for DBOS errors, else DBOSError(`wrap_code`) carrying the
  /// original type name and message.
  [[noreturn]] void Throw(const serialization::ErrorRecord& record, ErrorCode wrap_code,
                          const std::string& workflow_id) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, ErrorThrower> throwers_;
};

}  // namespace dbos::detail
