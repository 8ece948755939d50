// The stream operations of the system database (reference §4.7), written once over a dialect's
// Backend like the rest of sql_system_database.cpp, which forwards to them.
#pragma once

#include <cstdint>
#include <string>

#include "sysdb/core/session.hpp"
#include "sysdb/core/statements.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::sysdb::core {

/// SystemDatabase::WriteStream over `backend` (`owner` says when retrying has been stopped).
StreamWriteResult WriteStreamOn(Backend& backend, const Statements& statements,
                                const SystemDatabase& owner, const StreamWrite& write);

/// SystemDatabase::ReadStream over `backend`.
StreamChunk ReadStreamOn(Backend& backend, const Statements& statements,
                         const SystemDatabase& owner, const std::string& workflow_uuid,
                         const std::string& key, int64_t from_offset, int limit);

}  // namespace dbos::sysdb::core
