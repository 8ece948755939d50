// Names of functions and types: workflow names derived from a function's own symbol (dladdr on
// the executable's dynamic symbol table, exported by the target's --export-dynamic link option),
// and demangled type names for recorded exceptions and step names.
#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "dbos/detail/erased.hpp"
#include "dbos/errors.hpp"

namespace dbos::detail {
namespace {

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

// "ns::Workflow(dbos::DBOSContext&, std::string)" -> "ns::Workflow": cut at the '(' that opens
// the parameter list (the first '(' outside template brackets).
std::string StripParameters(const std::string& name) {
  int depth = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    if (name[i] == '>') --depth;
    if (name[i] == '(' && depth == 0) return name.substr(0, i);
  }
  return name;
}

}  // namespace

std::string SymbolNameAt(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_sname == nullptr || info.dli_saddr != address) {
    return "";
  }
  return StripParameters(Demangle(info.dli_sname));
}

std::string DemangledTypeName(const std::type_info& type) { return Demangle(type.name()); }

void ThrowUnexpectedType(const std::string& workflow_id, const std::type_info& type,
                         const std::string& detail) {
  throw DBOSError(ErrorCode::WorkflowUnexpectedType,
                  "recorded value cannot be read as " + DemangledTypeName(type) + ": " + detail,
                  workflow_id);
}

}  // namespace dbos::detail
