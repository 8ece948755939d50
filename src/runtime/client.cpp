// The Client: a never-launched runtime on an existing system database. Its messages, events,
// handles and cancellations go through the same code as a DBOSContext's (called outside any
// workflow); only enqueueing by name is its own (executor/enqueue_by_name.cpp).
#include "dbos/client.hpp"

#include "core/config_resolution.hpp"
#include "core/context_access.hpp"
#include "core/runtime.hpp"
#include "dbos/errors.hpp"
#include "executor/enqueue_by_name.hpp"
#include "executor/handles.hpp"

namespace dbos {
namespace detail {

/// How the library reads a Client.
struct ClientAccess {
  static Client Make(DBOSContext ctx) {
    Client client;
    client.ctx_ = std::move(ctx);
    return client;
  }
  static DBOSContext& Context(const Client& client) { return client.Context(); }
};

namespace {

// The executor's configuration rules (URL forms, schema name, pool size) with a client's
// defaults: no application, hence no default SQLite file and no version to compute.
ResolvedConfig ResolveClientConfig(const ClientConfig& config) {
  Config as_executor;
  as_executor.app_name = "dbos-client";  // the PostgreSQL application_name of its connections
  as_executor.database_url = config.database_url;
  if (as_executor.database_url.empty()) {
    as_executor.database_url = GetEnv("DBOS_SYSTEM_DATABASE_URL");
  }
  if (as_executor.database_url.empty()) {
    throw DBOSError(ErrorCode::Initialization,
                    "ClientConfig.database_url is required (or env DBOS_SYSTEM_DATABASE_URL): "
                    "give the URL of the application's system database");
  }
  as_executor.database_schema = config.database_schema;
  as_executor.system_db_pool_size = config.system_db_pool_size;
  as_executor.system_db_startup_timeout = config.system_db_startup_timeout;
  as_executor.application_version = "client";  // never written: a client enqueues unversioned
  try {
    return ResolveConfig(as_executor);
  } catch (const DBOSError& e) {
    const std::string& message = e.Message();
    if (message.rfind("Config.", 0) != 0) throw;
    throw DBOSError(e.Code(), "Client" + message);
  }
}

}  // namespace

std::shared_ptr<HandleCore> EnqueueErased(const Client& client, const std::string& queue_name,
                                          const std::string& workflow_name, nlohmann::json input,
                                          const EnqueueOptions& options) {
  Runtime& runtime = RuntimeOf(ClientAccess::Context(client));
  const std::string id =
      executor::EnqueueByName(runtime, queue_name, workflow_name, input, options);
  return executor::MakePollingHandle(runtime.shared_from_this(), id);
}

}  // namespace detail

Client NewClient(const ClientConfig& config) {
  detail::ResolvedConfig resolved = detail::ResolveClientConfig(config);
  std::shared_ptr<Logger> logger = config.logger ? config.logger : NewConsoleLogger(LogLevel::Info);
  sysdb::Options options;
  options.url = resolved.database_url;
  options.schema = resolved.database_schema;
  options.app_name = resolved.app_name;
  options.pool_size = config.system_db_pool_size;
  options.startup_timeout = config.system_db_startup_timeout;
  auto runtime =
      std::make_shared<detail::Runtime>(std::move(resolved), std::move(logger), std::move(options));
  return detail::ClientAccess::Make(detail::MakeOwningContext(std::move(runtime)));
}

DBOSContext& Client::Context() const {
  if (detail::ContextAccess::Impl(ctx_) == nullptr) {
    throw DBOSError(ErrorCode::Initialization,
                    "this Client is empty: create one with dbos::NewClient");
  }
  if (detail::RuntimeOf(ctx_).ShuttingDown()) {
    throw DBOSError(ErrorCode::Initialization,
                    "this Client was shut down; create a new one with dbos::NewClient");
  }
  return ctx_;
}

void Client::CancelWorkflow(const std::string& workflow_id) const {
  dbos::CancelWorkflow(Context(), workflow_id);
}

void Client::Shutdown(std::chrono::milliseconds timeout) const {
  if (detail::ContextAccess::Impl(ctx_) == nullptr) {
    throw DBOSError(ErrorCode::Initialization,
                    "this Client is empty: create one with dbos::NewClient");
  }
  dbos::Shutdown(ctx_, timeout);
}

}  // namespace dbos
