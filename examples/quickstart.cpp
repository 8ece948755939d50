// Quickstart: a durable workflow of five steps with pauses between them. Stop it with Ctrl+C in
// the middle and run it again: it resumes from the last completed step, and steps that already
// completed do not run again.
//
//   ./quickstart                      # embedded SQLite file dbos-quickstart.sqlite, no server
//   DBOS_SYSTEM_DATABASE_URL=postgresql://postgres@localhost:5432/quickstart ./quickstart
#include <chrono>
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>
#include <thread>

namespace {
constexpr int kSteps = 5;
}

std::string QuickstartWorkflow(dbos::DBOSContext& ctx, int run_number) {
  for (int i = 1; i <= kSteps; ++i) {
    dbos::RunAsStep(
        ctx,
        [i] {
          std::this_thread::sleep_for(std::chrono::seconds(1));  // pretend to work
          std::cout << "  step " << i << " of " << kSteps << " completed" << std::endl;
          return i;
        },
        dbos::WithStepName("step-" + std::to_string(i)));
  }
  return "workflow " + std::to_string(run_number) + " done";
}

int main() {
  dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
      .app_name = "dbos-quickstart",
      .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
      .logger = dbos::NewConsoleLogger(dbos::LogLevel::Warn),
      .application_version = "quickstart-v1",  // keep resuming across rebuilds
  });
  dbos::RegisterWorkflow(ctx, QuickstartWorkflow);
  dbos::Launch(ctx);  // resumes any workflow a previous run left unfinished

  // Workflow IDs quickstart-1, quickstart-2, …: reuse the first one that has not finished.
  for (int n = 1;; ++n) {
    const std::string id = "quickstart-" + std::to_string(n);
    dbos::WorkflowHandle<std::string> handle;
    try {
      handle = dbos::RetrieveWorkflow<std::string>(ctx, id);
      if (handle.GetStatus().status == dbos::WorkflowStatusType::Success) continue;
      std::cout << "Resuming " << id << " from its last completed step" << std::endl;
    } catch (const dbos::DBOSError& e) {
      if (e.Code() != dbos::ErrorCode::NonExistentWorkflow) throw;
      std::cout << "Starting " << id << " (press Ctrl+C to stop it, then run again)" << std::endl;
      handle = dbos::RunWorkflow(ctx, QuickstartWorkflow, n, dbos::WithWorkflowID(id));
    }
    const std::string result = handle.GetResult();
    std::cout << "Result: " << result << std::endl;
    break;
  }
  dbos::Shutdown(ctx, std::chrono::seconds(5));
  return 0;
}
