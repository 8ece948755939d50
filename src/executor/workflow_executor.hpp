// Starting workflows: the direct path (RunWorkflow), the child path (RunWorkflow inside a
// workflow) and the dequeue path (queue runner, recovery), and the execution thread that runs the
// function and records its outcome.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "core/registry.hpp"
#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::detail {
class Runtime;
}

namespace dbos::executor {

/// RunWorkflow: records the workflow (idempotent on its ID) and executes it on a pool thread
/// unless it already ran or runs elsewhere. Returns a handle at once. When `inserted` is given,
/// it tells whether this call wrote the row (false: the ID named an existing workflow).
std::shared_ptr<detail::HandleCore> StartWorkflow(
    detail::Runtime& runtime, const DBOSContext& caller, const detail::RegisteredWorkflow& workflow,
    nlohmann::json input, const detail::RunOptions& options, bool* inserted = nullptr);

/// What became of a workflow the queue runner claimed.
enum class DequeuedStart {
  kDone,        ///< Executing here, or ended (finished, dead-lettered): nothing left to do.
  kRetryLater,  ///< Not started (e.g. its ID still executes here): still PENDING under this
                ///< executor, so the caller must start it again later.
};

/// Executes a workflow the queue runner claimed (it is PENDING with this executor's ID). Throws
/// when it could not be started (nothing of it is left running here); the caller then starts it
/// again later, as for kRetryLater.
DequeuedStart StartDequeued(detail::Runtime& runtime, const sysdb::DequeuedWorkflow& claimed);

}  // namespace dbos::executor
