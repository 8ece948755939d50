// The seed's queue example: a workflow fans out ten tasks on a queue and gathers their results.
// Each task is a workflow of its own, enqueued with WithQueue and run by the queue runner at most
// three at a time; the parent waits on the handles in order. Interrupt it and run it again: the
// parent resumes, finds its ten children already enqueued (or finished), and gathers the same
// results.
//
//   DBOS_SYSTEM_DATABASE_URL=postgresql://postgres@localhost:5432/dbos_starter ./queue
//   ./queue                # embedded SQLite file dbos-starter.sqlite
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>
#include <vector>

int Task(dbos::DBOSContext& ctx, int n) {
  return dbos::RunAsStep(ctx, [n] {
    std::cout << "Task " << n << " completed" << std::endl;
    return n * n;
  });
}

int FanOut(dbos::DBOSContext& ctx, int count) {
  std::vector<dbos::WorkflowHandle<int>> handles;
  for (int i = 0; i < count; ++i) {
    handles.push_back(dbos::RunWorkflow(ctx, Task, i, dbos::WithQueue("example-queue")));
  }
  int sum = 0;
  for (auto& handle : handles) sum += handle.GetResult();
  return sum;
}

int main() {
  try {
    dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
        .app_name = "dbos-starter",
        .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
    });
    dbos::WorkflowQueue queue =
        dbos::NewWorkflowQueue(ctx, "example-queue", dbos::WithWorkerConcurrency(3));
    dbos::RegisterWorkflow(ctx, Task);
    dbos::RegisterWorkflow(ctx, FanOut);
    dbos::Launch(ctx);
    auto handle = dbos::RunWorkflow(ctx, FanOut, 10, dbos::WithWorkflowID("fan-out-example"));
    const int sum = handle.GetResult();
    std::cout << "Sum of squares from queue '" << queue.name << "': " << sum << std::endl;
    dbos::Shutdown(ctx, std::chrono::seconds(5));
  } catch (const dbos::DBOSError& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}
