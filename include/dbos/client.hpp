// The DBOS Client: a program that is not a DBOS application (an API server, a script, another
// service) connects to an application's system database to enqueue its workflows by name, send
// them messages, read their events, wait for their results, list, cancel, resume and fork them.
// A client executes no workflow and never creates or migrates the system database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/handle.hpp"
#include "dbos/logging.hpp"
#include "dbos/management.hpp"
#include "dbos/messaging.hpp"
#include "dbos/serialization.hpp"
#include "dbos/streams.hpp"
#include "dbos/workflow.hpp"
#include "dbos/workflow_status.hpp"

namespace dbos {

/// Configuration passed to NewClient. New fields are appended.
struct ClientConfig {
  /// The application's system database: `postgres://…`, `postgresql://…`, a libpq `key=value`
  /// string or `sqlite:PATH` (the file the application uses). Empty: env
  /// `DBOS_SYSTEM_DATABASE_URL`. Required one way or the other.
  std::string database_url{};
  /// PostgreSQL schema holding the system tables. Ignored on SQLite.
  std::string database_schema = "dbos";
  /// Where log lines go. Default: INFO and above to stdout.
  std::shared_ptr<Logger> logger{};
  /// Size of the connection pool. 0 means the default (16 on PostgreSQL, 4 on SQLite files).
  int system_db_pool_size = 0;
  /// Upper bound on connecting in NewClient.
  std::chrono::milliseconds system_db_startup_timeout = std::chrono::seconds(10);
};

namespace detail {
/// Options collected from EnqueueOption values.
struct EnqueueOptions {
  std::string workflow_id;
  bool workflow_id_given = false;
  std::string application_version;
  std::optional<std::chrono::milliseconds> timeout;
  std::string deduplication_id;
  std::optional<int> priority;
  std::string queue_partition_key;
  std::optional<std::chrono::milliseconds> delay;
};
struct ClientAccess;
}  // namespace detail

/// An option of Enqueue.
struct EnqueueOption {
  std::function<void(detail::EnqueueOptions&)> apply;
};
/// The workflow's ID (its idempotency key). Default: a random UUID.
inline EnqueueOption WithEnqueueWorkflowID(std::string id) {
  return {[id = std::move(id)](detail::EnqueueOptions& o) {
    o.workflow_id = id;
    o.workflow_id_given = true;
  }};
}
/// Only executors of this application version run the workflow. Default: none, so that
/// executors of the application's latest version run it.
inline EnqueueOption WithEnqueueApplicationVersion(std::string version) {
  return {[v = std::move(version)](detail::EnqueueOptions& o) { o.application_version = v; }};
}
/// A durable timeout (positive; at most 10 years). Its clock starts when an executor dequeues
/// the workflow, not at the enqueue; when it passes, the workflow and its children are cancelled.
inline EnqueueOption WithEnqueueTimeout(std::chrono::milliseconds timeout) {
  return {[timeout](detail::EnqueueOptions& o) { o.timeout = timeout; }};
}
/// At most one workflow with this deduplication ID is ENQUEUED or PENDING on the queue at a
/// time: another enqueue with it throws QueueDeduplicated.
inline EnqueueOption WithEnqueueDeduplicationID(std::string id) {
  return {[id = std::move(id)](detail::EnqueueOptions& o) { o.deduplication_id = id; }};
}
/// Priority on the queue, 1..2147483647: lower runs earlier, and workflows without a priority
/// run before all others.
inline EnqueueOption WithEnqueuePriority(int priority) {
  return {[priority](detail::EnqueueOptions& o) { o.priority = priority; }};
}
/// The partition of a partitioned queue.
inline EnqueueOption WithEnqueueQueuePartitionKey(std::string key) {
  return {[k = std::move(key)](detail::EnqueueOptions& o) { o.queue_partition_key = k; }};
}
/// Starts the workflow `delay` from now (DELAYED until then; at most 10 years, negative: none).
inline EnqueueOption WithEnqueueDelay(std::chrono::milliseconds delay) {
  return {[delay](detail::EnqueueOptions& o) { o.delay = delay; }};
}

/// A connection to a DBOS application's system database from outside the application. Cheap
/// to copy: copies share one connection pool, closed when the last copy goes (or by Shutdown).
/// Thread-safe. Every method throws DBOSError(Initialization) on an empty or shut-down client.
class Client {
 public:
  /// An empty client; every call on it throws Initialization.
  Client() = default;

  /// Sends `message` to workflow `destination_id` on `topic` ("" means no topic). Throws
  /// NonExistentWorkflow when the destination does not exist.
  template <typename T>
  void Send(const std::string& destination_id, const T& message,
            const std::string& topic = "") const {
    static_assert(Serializable<T>, "dbos::Client::Send: the message must be serializable to JSON");
    dbos::Send(Context(), destination_id, message, topic);
  }

  /// Reads event `key` of workflow `workflow_id`, waiting up to `timeout` for it to be set.
  /// Throws Timeout when it is not set in time. On PostgreSQL the wait is woken by the
  /// database's notification; on SQLite it re-reads the database (from every 200 ms, backing
  /// off to every 5 s while nothing changes).
  template <typename R>
  R GetEvent(const std::string& workflow_id, const std::string& key,
             std::chrono::milliseconds timeout) const {
    return dbos::GetEvent<R>(Context(), workflow_id, key, timeout);
  }

  /// A handle to workflow `workflow_id`. Its GetResult polls the workflow's status (from every
  /// 2 ms, backing off to every 500 ms) until the workflow ends; GetStatus reads it once.
  /// Throws NonExistentWorkflow for an unknown ID.
  template <typename R>
  WorkflowHandle<R> RetrieveWorkflow(const std::string& workflow_id) const {
    return dbos::RetrieveWorkflow<R>(Context(), workflow_id);
  }

  /// Reads stream `key` of workflow `workflow_id` (see dbos::ReadStream): waits, woken by each
  /// write (on PostgreSQL by the database's notification; on SQLite by re-reading), until the
  /// stream is closed or its writer ends, unless WithReadStreamSnapshot() is given.
  template <typename R, typename... Opts>
  ReadStreamResult<R> ReadStream(const std::string& workflow_id, const std::string& key,
                                 Opts&&... opts) const {
    return dbos::ReadStream<R>(Context(), workflow_id, key, std::forward<Opts>(opts)...);
  }

  /// Cancels a workflow (see dbos::CancelWorkflow): the executor running it stops it at its next
  /// step. Throws NonExistentWorkflow for an unknown ID.
  void CancelWorkflow(const std::string& workflow_id) const;

  /// The workflows matching the options (see dbos::ListWorkflows), of every application. Unlike
  /// on a DBOSContext, inputs and outputs are not loaded unless WithLoadInput(true) /
  /// WithLoadOutput(true) ask for them.
  template <typename... Opts>
  std::vector<WorkflowStatus> ListWorkflows(Opts&&... opts) const {
    static_assert((std::is_convertible_v<Opts, ListWorkflowsOption> && ...),
                  "dbos::Client::ListWorkflows: options must be ListWorkflowsOption values");
    detail::ListWorkflowsOptions options;
    (ListWorkflowsOption(std::forward<Opts>(opts)).apply(options), ...);
    return ListWorkflowsWith(options);
  }

  /// The recorded steps of a workflow, by step ID. Throws NonExistentWorkflow for an unknown ID.
  std::vector<StepInfo> GetWorkflowSteps(const std::string& workflow_id) const;

  /// Starts a CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED, PENDING, ENQUEUED or DELAYED workflow
  /// again from its last recorded step (see dbos::ResumeWorkflow); an executor of its version
  /// runs it. Throws NonExistentWorkflow for an unknown ID.
  template <typename R>
  WorkflowHandle<R> ResumeWorkflow(const std::string& workflow_id) const {
    return detail::HandleAccess::Make<R>(ResumeErased(workflow_id));
  }

  /// Starts a new workflow that reuses the original's steps below `input.start_step` (see
  /// dbos::ForkWorkflow); an executor of its version runs it. Throws NonExistentWorkflow,
  /// InvalidOption or ConflictingID as dbos::ForkWorkflow does.
  template <typename R>
  WorkflowHandle<R> ForkWorkflow(const ForkWorkflowInput& input) const {
    return detail::HandleAccess::Make<R>(ForkErased(input));
  }

  /// Shuts the client down: later calls throw Initialization, and waits in progress (GetResult)
  /// end with Initialization. The connections close when the last copy of the client goes.
  void Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  std::vector<WorkflowStatus> ListWorkflowsWith(const detail::ListWorkflowsOptions& options) const;
  std::shared_ptr<detail::HandleCore> ResumeErased(const std::string& workflow_id) const;
  std::shared_ptr<detail::HandleCore> ForkErased(const ForkWorkflowInput& input) const;
  friend struct detail::ClientAccess;
  /// The never-launched context the calls go through; throws on an empty or shut-down client.
  DBOSContext& Context() const;
  // Mutable: the calls it is passed to take a DBOSContext& but never change the handle.
  mutable DBOSContext ctx_;
};

/// Connects to an existing system database. Throws DBOSError(Initialization) when it cannot be
/// reached, or is not a DBOS system database (nothing is created or written then).
Client NewClient(const ClientConfig& config);

namespace detail {
std::shared_ptr<HandleCore> EnqueueErased(const Client& client, const std::string& queue_name,
                                          const std::string& workflow_name, nlohmann::json input,
                                          const EnqueueOptions& options);
}  // namespace detail

/// Enqueues workflow `workflow_name` with `input` on queue `queue_name`, for an executor of the
/// application to run, and returns its handle. Throws InvalidOption for an empty name ("queue
/// name is required", "workflow name is required") or a bad option, QueueDeduplicated on a
/// deduplication conflict, UnexpectedWorkflow when the ID belongs to another workflow. The
/// queue need not exist yet: the workflow waits until an executor serving the queue starts.
/// The input is stored as portable JSON ({"positionalArgs":[input],"namedArgs":{}}), which
/// executors in every DBOS language read.
template <typename P, typename R = nlohmann::json, typename... Opts>
WorkflowHandle<R> Enqueue(const Client& client, const std::string& queue_name,
                          const std::string& workflow_name, const P& input, Opts&&... opts) {
  static_assert(Serializable<P>, "dbos::Enqueue: the input type must be serializable to JSON");
  static_assert(detail::kStorable<R>,
                "dbos::Enqueue: the result type must be void or serializable to JSON");
  static_assert((std::is_convertible_v<Opts, EnqueueOption> && ...),
                "dbos::Enqueue: options must be EnqueueOption values (WithEnqueueWorkflowID, …)");
  detail::EnqueueOptions options;
  (EnqueueOption(std::forward<Opts>(opts)).apply(options), ...);
  return detail::HandleAccess::Make<R>(detail::EnqueueErased(
      client, queue_name, workflow_name, detail::EncodeAs(input, "Enqueue's input"), options));
}

}  // namespace dbos
