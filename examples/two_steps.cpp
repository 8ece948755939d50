// The seed's first example: a workflow of two steps, each checkpointed in the system database.
//
//   DBOS_SYSTEM_DATABASE_URL=postgresql://postgres@localhost:5432/dbos_starter ./two_steps
//   ./two_steps            # embedded SQLite file dbos-starter.sqlite
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>

std::string StepOne() {
  std::cout << "Step one completed" << std::endl;
  return "success";
}

std::string StepTwo() {
  std::cout << "Step two completed" << std::endl;
  return "success";
}

std::string Workflow(dbos::DBOSContext& ctx, std::string /*input*/) {
  dbos::RunAsStep(ctx, StepOne);
  dbos::RunAsStep(ctx, StepTwo);
  return "success";
}

int main() {
  try {
    dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
        .app_name = "dbos-starter",
        .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
    });
    dbos::RegisterWorkflow(ctx, Workflow);
    dbos::Launch(ctx);
    auto handle = dbos::RunWorkflow(ctx, Workflow, std::string(""));
    const std::string result = handle.GetResult();
    std::cout << "Workflow result: " << result << std::endl;
    dbos::Shutdown(ctx, std::chrono::seconds(5));
  } catch (const dbos::DBOSError& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}
