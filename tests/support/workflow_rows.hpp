// Workflow rows written straight into the system database, the way another process, an earlier
// run, a client or another SDK leaves them: one builder with sensible defaults, so that a test
// states only what matters to it.
#pragma once

#include <string>

#include "sysdb/system_database.hpp"

namespace dbos::testing {

/// A row for SystemDatabase::InsertWorkflow: workflow `id` running `name` with `status`
/// ("PENDING" or "ENQUEUED"). Defaults: executor "local" at version "test-v1" (what
/// DbTest::MakeConfig runs, so a launch recovers or dequeues it), an ENQUEUED row on the
/// internal queue, one null input argument, a creator_xid of its own, created now.
sysdb::WorkflowInsert WorkflowRow(const std::string& id, const std::string& name,
                                  const std::string& status = "PENDING");

}  // namespace dbos::testing
