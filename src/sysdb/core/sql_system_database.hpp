// The SystemDatabase, written once: every operation's parameters, its flow of Scripts, how its
// result rows are read and classified, and its retry class, over a dialect's Backend (statement
// text, connections, error classification). See session.hpp and statements.hpp.
#pragma once

#include <memory>

#include "sysdb/core/session.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::sysdb::core {

/// Wraps `backend` in the SystemDatabase interface.
std::unique_ptr<SystemDatabase> MakeSystemDatabase(std::unique_ptr<Backend> backend);

}  // namespace dbos::sysdb::core
