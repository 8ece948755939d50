// Names derived from C++ symbols and types, made identical for GCC and Clang, Debug and Release:
// the parts the compiler or the standard library's ABI adds are removed, and callables without a
// name of their own get a fixed one.
#pragma once

#include <string>

namespace dbos::detail {

/// Default name of a step whose callable is a lambda or another unnamed type.
inline constexpr const char* kUnnamedStepName = "<lambda>";
/// Default name of a step whose function has no exported symbol (static, anonymous namespace).
inline constexpr const char* kUnnamedFunctionStepName = "<function>";

/// `demangled` without ABI tags ("[abi:cxx11]") and without the standard library's inline
/// namespaces ("std::__cxx11::", "std::__1::").
std::string CanonicalName(std::string demangled);

/// True when a demangled type name is a lambda's or another unnamed type's, in the spelling of
/// either compiler ("{lambda()#1}", "$_0", "'lambda'()", "{unnamed type#1}").
bool IsUnnamedType(const std::string& demangled);

}  // namespace dbos::detail
