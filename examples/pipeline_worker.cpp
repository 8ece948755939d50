// "Enqueueing from another application", worker side: the data processing service. It runs the
// durable dataPipeline workflow, served from the pipelineQueue queue; it never starts a pipeline
// itself: pipeline_client (another program, which has none of this code) enqueues them by name.
//
//   ./pipeline_worker      # runs until Ctrl+C; then run ./pipeline_client task-123 data
//
// Both use the embedded SQLite file dbos-pipeline.sqlite (or DBOS_SYSTEM_DATABASE_URL).
#include <atomic>
#include <chrono>
#include <csignal>
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>
#include <thread>

struct ProcessInput {
  std::string task_id;
  std::string data;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(ProcessInput, task_id, data)
};

struct ProcessOutput {
  std::string result;
  std::string status;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(ProcessOutput, result, status)
};

ProcessOutput DataPipeline(dbos::DBOSContext& ctx, ProcessInput input) {
  const std::string cleaned = dbos::RunAsStep(
      ctx,
      [&] {
        std::cout << "[worker] " << input.task_id << ": cleaning " << input.data << std::endl;
        return "clean(" + input.data + ")";
      },
      dbos::WithStepName("clean"));
  const std::string stored = dbos::RunAsStep(
      ctx,
      [&] {
        std::cout << "[worker] " << input.task_id << ": storing " << cleaned << std::endl;
        return "stored " + cleaned;
      },
      dbos::WithStepName("store"));
  return {stored, "done"};
}

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }
}  // namespace

int main() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  try {
    dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
        .app_name = "dbos-pipeline",
        .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
        .logger = dbos::NewConsoleLogger(dbos::LogLevel::Warn),
    });
    // The name and the queue are what a client spells: keep them stable.
    dbos::RegisterWorkflow(ctx, DataPipeline, dbos::WithWorkflowName("dataPipeline"));
    dbos::NewWorkflowQueue(ctx, "pipelineQueue", dbos::WithWorkerConcurrency(4));
    dbos::Launch(ctx);
    std::cout << "[worker] ready: serving pipelineQueue" << std::endl;
    while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cout << "[worker] stopping" << std::endl;
    dbos::Shutdown(ctx, std::chrono::seconds(5));
  } catch (const dbos::DBOSError& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}
