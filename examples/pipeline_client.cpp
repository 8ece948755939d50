// "Enqueueing from another application", client side: an API server that hands work to the data
// processing service (pipeline_worker). It has none of the worker's code: it connects to the
// worker's system database with a dbos::Client, enqueues the dataPipeline workflow by name on
// pipelineQueue, and waits for its result. Running it again with the same task ID returns the
// recorded result: the task ID is the workflow ID, so each task runs once.
//
//   ./pipeline_client task-123 data      # while ./pipeline_worker runs (it creates the database)
//
// Both use the embedded SQLite file dbos-pipeline.sqlite (or DBOS_SYSTEM_DATABASE_URL).
#include <chrono>
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>

// The same JSON shapes as the worker's types (only the JSON crosses between the programs).
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

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: pipeline_client TASK_ID DATA\n";
    return 2;
  }
  const std::string task_id = argv[1];
  std::string url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL");
  if (url.empty()) url = "sqlite:dbos-pipeline.sqlite";
  try {
    dbos::Client client = dbos::NewClient(dbos::ClientConfig{
        .database_url = url,
        .logger = dbos::NewConsoleLogger(dbos::LogLevel::Warn),
    });
    dbos::WorkflowHandle<ProcessOutput> handle = dbos::Enqueue<ProcessInput, ProcessOutput>(
        client, "pipelineQueue", "dataPipeline", ProcessInput{task_id, argv[2]},
        dbos::WithEnqueueWorkflowID(task_id), dbos::WithEnqueueTimeout(std::chrono::minutes(30)));
    std::cout << "[client] enqueued " << handle.GetWorkflowID() << std::endl;
    const ProcessOutput output = handle.GetResult();
    std::cout << "[client] result: " << output.result << " (" << output.status << ")" << std::endl;
    client.Shutdown(std::chrono::seconds(5));
  } catch (const dbos::DBOSError& e) {
    std::cerr << "[client] " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
