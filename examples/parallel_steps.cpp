// Concurrent steps in one workflow: dbos::Go fans out five slow lookups, which run at the same
// time, and dbos::Select records which of two mirrors answered first, so that a recovery takes
// the same one. Each step is checkpointed as if it had run with RunAsStep.
//
//   ./parallel_steps            # embedded SQLite file parallel-steps.sqlite
#include <chrono>
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

int Lookup(int item) {
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a slow remote call
  return item * item;
}

std::string Mirror(const std::string& name, std::chrono::milliseconds latency) {
  std::this_thread::sleep_for(latency);
  return "from " + name;
}

std::string Gather(dbos::DBOSContext& ctx, int count) {
  std::vector<dbos::StepFuture<int>> lookups;
  for (int item = 0; item < count; ++item) {
    lookups.push_back(dbos::Go(
        ctx, [item] { return Lookup(item); }, dbos::WithStepName("lookup")));
  }
  int total = 0;
  for (auto& lookup : lookups) total += lookup.Get();  // about 500 ms in all, not count × 500

  auto east = dbos::Go(
      ctx, [] { return Mirror("east", std::chrono::milliseconds(300)); },
      dbos::WithStepName("east"));
  auto west = dbos::Go(
      ctx, [] { return Mirror("west", std::chrono::milliseconds(100)); },
      dbos::WithStepName("west"));
  const std::size_t first = dbos::Select(ctx, {&east, &west});
  const std::string answer = first == 0 ? east.Get() : west.Get();
  return "total " + std::to_string(total) + ", first answer " + answer;
}

int main() {
  try {
    dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
        .app_name = "parallel-steps",
        .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
    });
    dbos::RegisterWorkflow(ctx, Gather);
    dbos::Launch(ctx);
    const auto start = std::chrono::steady_clock::now();
    const std::string result = dbos::RunWorkflow(ctx, Gather, 5).GetResult();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::cout << result << " (" << ms.count() << " ms)" << std::endl;
    dbos::Shutdown(ctx, std::chrono::seconds(5));
  } catch (const dbos::DBOSError& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}
