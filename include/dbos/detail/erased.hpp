// The type-erased core the public templates call into. Templates only convert between user types
// and nlohmann::json; everything else happens in src/ behind these declarations. Not public API.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <typeinfo>

#include "dbos/context.hpp"
#include "dbos/workflow_status.hpp"

namespace dbos::detail {

/// A registered workflow as the core sees it: JSON in, JSON out, exceptions out.
using ErasedWorkflowFn = std::function<nlohmann::json(DBOSContext&, const nlohmann::json&)>;

/// Everything RegisterWorkflow collected.
struct RegistrationSpec {
  std::string key;            ///< Identity of the callable (function address or callable type).
  std::string explicit_name;  ///< From WithWorkflowName; "" when not given.
  std::string derived_name;   ///< From the function's symbol; "" when none could be derived.
  int max_retries = 100;      ///< WithMaxRetries; <= 0 means unlimited.
  std::string schedule;       ///< WithSchedule cron text; "" when not scheduled.
  const std::type_info* input_type = nullptr;
  const std::type_info* output_type = nullptr;
  ErasedWorkflowFn fn;
};

/// Options collected from WorkflowOption values.
struct RunOptions {
  std::string workflow_id;
  bool workflow_id_given = false;  ///< WithWorkflowID was passed (an empty ID is an error).
  std::string queue_name;
  std::string deduplication_id;
  std::optional<int> priority;
  std::string application_version;
  std::string authenticated_user;
  std::string queue_partition_key;
  std::optional<std::chrono::milliseconds> delay;  ///< WithDelay: start DELAYED, this much later.
  // Set by Debounce only: the row is the debouncer's (its deduplication ID is the key).
  bool debounced = false;
  std::optional<int64_t> debounce_deadline_epoch_ms;
};

/// Options collected from StepOption values.
struct StepOptions {
  std::string name;
  int max_retries = 0;
  std::chrono::milliseconds base_interval{100};
  double backoff_factor = 2.0;
  std::chrono::milliseconds max_interval{5000};
  bool max_interval_set = false;
};

/// What a WorkflowHandle delegates to: an in-process run or a database poll.
class HandleCore {
 public:
  virtual ~HandleCore() = default;
  /// The workflow's ID.
  virtual const std::string& WorkflowID() const noexcept = 0;
  /// Blocks until the workflow ends; returns its output or throws its error.
  virtual nlohmann::json Result() = 0;
  /// The workflow's current status row.
  virtual WorkflowStatus Status() = 0;
};

void RegisterWorkflowErased(DBOSContext& ctx, RegistrationSpec spec);
std::shared_ptr<HandleCore> RunWorkflowErased(DBOSContext& ctx, const std::string& key,
                                              nlohmann::json input, const RunOptions& options);
std::shared_ptr<HandleCore> RetrieveWorkflowErased(DBOSContext& ctx, const std::string& workflow_id,
                                                   const std::type_info& result_type);
nlohmann::json RunStepErased(DBOSContext& ctx, const StepOptions& options,
                             const std::function<nlohmann::json(std::stop_token)>& body);

/// The ID of the workflow `ctx` runs in, or "" outside workflows.
std::string WorkflowIDOrEmpty(const DBOSContext& ctx);

/// The name of a function at `address` from the dynamic symbol table, without its parameter
/// list and ABI tags ("ns::Workflow"); "" when it cannot be found (static function, no symbols).
std::string SymbolNameAt(const void* address);
/// The demangled name of a type, without ABI tags or the standard library's inline namespaces.
std::string DemangledTypeName(const std::type_info& type);
/// The default name of a step: the function's name when `function_address` is set ("<function>"
/// when it has no exported symbol), else the type's name ("<lambda>" for lambdas and other
/// unnamed types, whose compiler-given names differ between compilers and shift with edits).
std::string DefaultStepName(const void* function_address, const std::type_info& type);
/// Throws DBOSError(WorkflowUnexpectedType) explaining that `json` is not a `type`.
[[noreturn]] void ThrowUnexpectedType(const std::string& workflow_id, const std::type_info& type,
                                      const std::string& detail);

/// The address of a function pointer as an object pointer (for dladdr and registry keys).
template <typename Fn>
const void* FunctionAddress(Fn* fn) {
  static_assert(sizeof(fn) == sizeof(void*));
  const void* address = nullptr;
  std::memcpy(&address, &fn, sizeof(address));
  return address;
}

/// Registry key of a callable: the function's address for function pointers, else its type.
template <typename F>
std::string CallableKey(const F& fn) {
  using D = std::decay_t<F>;
  if constexpr (std::is_pointer_v<D> && std::is_function_v<std::remove_pointer_t<D>>) {
    return "fn:" + std::to_string(reinterpret_cast<std::uintptr_t>(FunctionAddress(fn)));
  } else {
    (void)fn;
    return std::string("ty:") + typeid(D).name();
  }
}

/// Throws DBOSError(InvalidOption) explaining that a `type` value could not be converted to JSON.
[[noreturn]] void ThrowUnencodable(const char* what, const std::type_info& type,
                                   const std::string& detail);

/// Converts `value` to JSON, turning conversion failures into InvalidOption.
template <typename T>
nlohmann::json EncodeAs(const T& value, const char* what) {
  try {
    return nlohmann::json(value);
  } catch (const nlohmann::json::exception& e) {
    ThrowUnencodable(what, typeid(T), e.what());
  }
}

/// Converts `value` to R, turning conversion failures into WorkflowUnexpectedType.
template <typename R>
R DecodeAs(const nlohmann::json& value, const std::string& workflow_id) {
  if constexpr (std::is_void_v<R>) {
    (void)value;
    (void)workflow_id;
  } else if constexpr (std::is_same_v<R, nlohmann::json>) {
    (void)workflow_id;
    return value;
  } else {
    try {
      return value.template get<R>();
    } catch (const std::exception& e) {  // nlohmann's errors, and what a from_json throws
      ThrowUnexpectedType(workflow_id, typeid(R), e.what());
    }
  }
}

}  // namespace dbos::detail
