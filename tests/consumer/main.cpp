// The smallest program a user writes against the installed package: one free-function workflow
// registered without WithWorkflowName (its name is derived from the symbol, which needs the
// --export-dynamic link option that dbos::dbos carries), one step, an in-memory SQLite database.
// Exits 0 only when the workflow ran and returned what the step recorded.
#include <dbos/dbos.hpp>
#include <exception>
#include <iostream>
#include <string>

// A workflow takes its input by value: it is decoded from the database for each run.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
std::string ConsumerWorkflow(dbos::DBOSContext& ctx, std::string in) {
  std::string step = dbos::RunAsStep(
      ctx, [] { return std::string("ok"); }, dbos::WithStepName("s"));
  return in + "-" + step;
}

int main() {
  try {
    dbos::DBOSContext ctx = dbos::NewDBOSContext(
        dbos::Config{.app_name = "consumer", .database_url = "sqlite::memory:"});
    dbos::RegisterWorkflow(ctx, ConsumerWorkflow);
    dbos::Launch(ctx);
    auto handle = dbos::RunWorkflow(ctx, ConsumerWorkflow, std::string("x"));
    std::string result = handle.GetResult();
    dbos::Shutdown(ctx);
    if (result != "x-ok") {
      std::cerr << "consumer: expected \"x-ok\", got \"" << result << "\"\n";
      return 1;
    }
    std::cout << "consumer: workflow returned \"" << result << "\"\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}
