// Names of functions and types: workflow names derived from a function's own symbol (dladdr on
// the executable's dynamic symbol table, exported by the target's --export-dynamic link option),
// and demangled type names for recorded exceptions and step names. Every name goes through
// CanonicalName, so that GCC and Clang, Debug and Release record the same names.
#include "runtime/symbols.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cctype>
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
  return CanonicalName(status == 0 && out ? std::string(out.get()) : std::string(mangled));
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

void EraseAll(std::string& text, const std::string& what) {
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at)) {
    text.erase(at, what.size());
  }
}

}  // namespace

std::string CanonicalName(std::string demangled) {
  // ABI tags: GCC and Clang add "[abi:cxx11]" to functions returning std::string and the like.
  for (size_t at = demangled.find("[abi:"); at != std::string::npos;
       at = demangled.find("[abi:", at)) {
    const size_t end = demangled.find(']', at);
    if (end == std::string::npos) break;
    demangled.erase(at, end - at + 1);
  }
  EraseAll(demangled, "__cxx11::");  // libstdc++'s inline namespace
  for (size_t at = demangled.find("std::__1::"); at != std::string::npos;
       at = demangled.find("std::__1::", at)) {
    demangled.erase(at + 5, 5);  // libc++'s inline namespace: std::__1::x -> std::x
  }
  return demangled;
}

bool IsUnnamedType(const std::string& demangled) {
  for (const char* marker : {"{lambda(", "'lambda", "{unnamed type#", "'unnamed"}) {
    if (demangled.find(marker) != std::string::npos) return true;
  }
  // Clang's "$_0" for closures and unnamed classes of functions with internal linkage.
  for (size_t at = demangled.find("$_"); at != std::string::npos;
       at = demangled.find("$_", at + 1)) {
    if (at + 2 < demangled.size() && std::isdigit(static_cast<unsigned char>(demangled[at + 2]))) {
      return true;
    }
  }
  return false;
}

std::string SymbolNameAt(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_sname == nullptr || info.dli_saddr != address) {
    return "";
  }
  return StripParameters(Demangle(info.dli_sname));
}

std::string DemangledTypeName(const std::type_info& type) { return Demangle(type.name()); }

std::string DefaultStepName(const void* function_address, const std::type_info& type) {
  if (function_address != nullptr) {
    std::string name = SymbolNameAt(function_address);
    return name.empty() ? kUnnamedFunctionStepName : name;
  }
  std::string name = DemangledTypeName(type);
  return IsUnnamedType(name) ? kUnnamedStepName : name;
}

void ThrowUnencodable(const char* what, const std::type_info& type, const std::string& detail) {
  throw DBOSError(ErrorCode::InvalidOption, std::string(what) + " (a " + DemangledTypeName(type) +
                                                ") cannot be converted to JSON: " + detail);
}

void ThrowUnexpectedType(const std::string& workflow_id, const std::type_info& type,
                         const std::string& detail) {
  throw DBOSError(ErrorCode::WorkflowUnexpectedType,
                  "recorded value cannot be read as " + DemangledTypeName(type) + ": " + detail,
                  workflow_id);
}

}  // namespace dbos::detail
