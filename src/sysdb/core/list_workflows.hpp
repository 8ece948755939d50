// The ListWorkflows statement, assembled per call from the filters given and written once for
// both dialects. Only the conditions asked for appear in the text (no "$n IS NULL OR …"), so each
// database plans every combination with the index that fits: created_at for the plain page,
// (status, created_at) for failed workflows, the primary key for IDs and ID prefixes.
#pragma once

#include "sysdb/core/session.hpp"
#include "sysdb/core/statements.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::sysdb::core {

/// The Script listing `filter`'s rows (result columns: those of ReadWorkflowColumns); appends
/// its parameters to `params`. Throws std::invalid_argument for a status string that is not a
/// workflow status (statuses are written into the text, so that partial indexes apply).
Script ListWorkflowsScript(const Statements::Spelling& spelling, const WorkflowFilter& filter,
                           Params& params);

/// The smallest string greater than every string starting with `prefix` (byte order), or "" when
/// there is none (an empty prefix, or one of 0xFF bytes only).
std::string PrefixUpperBound(const std::string& prefix);

}  // namespace dbos::sysdb::core
