// The crash worker's queue modes: each process is one executor (its first argument is its
// executor ID) of queues that several processes share through the system database. Every process
// declares the same queues:
//
//   shared  worker concurrency 2, global concurrency 3
//   rated   at most 5 starts in any 1 s window (WithRateLimiter)
//   prio    priorities enabled, global concurrency 1
//   dedup   no limits (the deduplication test)
//   drain   worker concurrency 2
//
// Marks are "<kind> <workflow id> <steady ns> <executor id>". The modes:
//
//   queue EXECUTOR_ID EXECUTORS COUNT [QUEUE]
//       enqueues COUNT workflows q-<EXECUTOR_ID>-<i> on QUEUE (default "shared"), each marking
//       "start" and "end" around 30 ms of work; exits once every workflow of every executor in the
//       comma-separated EXECUTORS list has finished
//   prio EXECUTOR_ID COUNT [PRIORITIES]
//       exits once prio-gate and w<99-i> (i < COUNT) have finished. Given PRIORITIES (COUNT
//       comma-separated numbers, 0 for none), it first enqueues prio-gate, a held workflow (below)
//       that keeps the queue's only slot, then w<99-i> (marking as in "queue") with priority
//       PRIORITIES[i], in order of i, then releases prio-gate; it runs application version
//       crash-enqueuer and pins these workflows to crash-v1, so that it runs none of them
//   dedup EXECUTOR_ID THREADS
//       prints READY and waits for a line on stdin; then THREADS threads at once enqueue held
//       workflow dd-<EXECUTOR_ID>-<t> on "dedup" with deduplication ID "same"; prints
//       "ENQUEUED <id>" for each enqueue that succeeded, "DEDUPLICATED <n>", "FAILED <error>" for
//       any other outcome, and DONE. A later line "release <id>" releases held workflow <id>;
//       exits at the end of stdin
//
// A held workflow marks "start", waits for a message on topic "release", marks "end": it stays
// PENDING, in its queue slot and with its deduplication ID, until it is released.
//   drain EXECUTOR_ID EXECUTORS COUNT
//       prints READY and waits for a line on stdin; enqueues COUNT workflows d-<EXECUTOR_ID>-<i>
//       on "drain" and prints ENQUEUED. Each marks "begin", runs a step that works 150 ms then
//       marks "step", marks "finish" and returns "<id>:<7*i>". Exits (printing DONE) once every
//       workflow of every executor in EXECUTORS has finished
#include <iostream>
#include <latch>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chaos/crash_worker.hpp"

namespace crash {
namespace {

std::string QueuedWork(dbos::DBOSContext& ctx, int) {
  const std::string who = dbos::GetWorkflowID(ctx) + " ";
  const std::string executor = " " + dbos::GetExecutorID(ctx);
  Mark("start " + who + NowNs() + executor);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  Mark("end " + who + NowNs() + executor);
  return dbos::GetWorkflowID(ctx);
}

// Runs until it receives a message on topic "release" (holding its queue slot meanwhile).
std::string Held(dbos::DBOSContext& ctx, int) {
  const std::string who = dbos::GetWorkflowID(ctx) + " ";
  const std::string executor = " " + dbos::GetExecutorID(ctx);
  Mark("start " + who + NowNs() + executor);
  const auto message = dbos::Recv<std::string>(ctx, "release", std::chrono::seconds(60));
  Mark("end " + who + NowNs() + executor);
  return message;
}

std::string DrainWork(dbos::DBOSContext& ctx, int i) {
  const std::string who = dbos::GetWorkflowID(ctx) + " ";
  const std::string executor = " " + dbos::GetExecutorID(ctx);
  Mark("begin " + who + NowNs() + executor);
  const int value = dbos::RunAsStep(
      ctx,
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        Mark("step " + who + NowNs() + executor);
        return 7 * i;
      },
      dbos::WithStepName("slow"));
  Mark("finish " + who + NowNs() + executor);
  return dbos::GetWorkflowID(ctx) + ":" + std::to_string(value);
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

// Waits until each workflow has finished; one another process has not enqueued yet is waited for.
void WaitAll(dbos::DBOSContext& ctx, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    for (;;) {
      try {
        dbos::RetrieveWorkflow<std::string>(ctx, id).GetResult();
        break;
      } catch (const dbos::DBOSError& e) {
        if (e.Code() != dbos::ErrorCode::NonExistentWorkflow) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
}

std::vector<std::string> IdsOf(const std::string& prefix, const std::string& executors, int count) {
  std::vector<std::string> ids;
  for (const auto& executor : Split(executors)) {
    for (int i = 0; i < count; ++i) ids.push_back(prefix + executor + "-" + std::to_string(i));
  }
  return ids;
}

int QueueMode(dbos::DBOSContext& ctx, const std::vector<std::string>& args) {
  const std::string& executor = args.at(0);
  const int count = std::stoi(args.at(2));
  const std::string queue = args.size() > 3 ? args[3] : "shared";
  for (int i = 0; i < count; ++i) {
    dbos::RunWorkflow(ctx, QueuedWork, i, dbos::WithQueue(queue),
                      dbos::WithWorkflowID("q-" + executor + "-" + std::to_string(i)));
  }
  WaitAll(ctx, IdsOf("q-", args.at(1), count));
  std::cout << "DONE" << std::endl;
  return 0;
}

std::string PrioId(int i) { return "w" + std::to_string(99 - i); }

// prio's enqueuer runs another application version than the workflows it enqueues, so that only
// the other processes run them.
constexpr const char* kEnqueuerVersion = "crash-enqueuer";
constexpr const char* kWorkerVersion = "crash-v1";

int PrioMode(dbos::DBOSContext& ctx, const std::vector<std::string>& args) {
  const int count = std::stoi(args.at(1));
  if (args.size() > 2) {
    const auto priorities = Split(args[2]);
    dbos::RunWorkflow(ctx, Held, 0, dbos::WithQueue("prio"), dbos::WithWorkflowID("prio-gate"),
                      dbos::WithApplicationVersion(kWorkerVersion));
    for (int i = 0; i < count; ++i) {
      // FIFO is by created_at, in milliseconds: distinct times make the enqueue order the
      // expected one.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const int priority = std::stoi(priorities.at(static_cast<size_t>(i)));
      if (priority > 0) {
        dbos::RunWorkflow(ctx, QueuedWork, i, dbos::WithQueue("prio"),
                          dbos::WithWorkflowID(PrioId(i)), dbos::WithPriority(priority),
                          dbos::WithApplicationVersion(kWorkerVersion));
      } else {
        dbos::RunWorkflow(ctx, QueuedWork, i, dbos::WithQueue("prio"),
                          dbos::WithWorkflowID(PrioId(i)),
                          dbos::WithApplicationVersion(kWorkerVersion));
      }
    }
    dbos::Send(ctx, "prio-gate", std::string("go"), "release");
  }
  std::vector<std::string> ids = {"prio-gate"};
  for (int i = 0; i < count; ++i) ids.push_back(PrioId(i));
  WaitAll(ctx, ids);
  std::cout << "DONE" << std::endl;
  return 0;
}

int DedupMode(dbos::DBOSContext& ctx, const std::vector<std::string>& args) {
  const std::string& executor = args.at(0);
  const int threads = std::stoi(args.at(1));
  std::latch go(1);
  std::mutex mutex;
  std::vector<std::string> lines;
  int deduplicated = 0;
  std::vector<std::thread> enqueuers;
  for (int t = 0; t < threads; ++t) {
    enqueuers.emplace_back([&, t] {
      const std::string id = "dd-" + executor + "-" + std::to_string(t);
      go.wait();
      std::string line;
      try {
        dbos::RunWorkflow(ctx, Held, t, dbos::WithQueue("dedup"), dbos::WithWorkflowID(id),
                          dbos::WithDeduplicationID("same"));
        line = "ENQUEUED " + id;
      } catch (const dbos::DBOSError& e) {
        if (e.Code() != dbos::ErrorCode::QueueDeduplicated) {
          line = "FAILED " + std::string(dbos::ErrorCodeName(e.Code())) + " " + e.what();
        }
      } catch (const std::exception& e) {
        line = std::string("FAILED ") + e.what();
      }
      std::lock_guard lock(mutex);
      if (line.empty()) {
        ++deduplicated;
      } else {
        lines.push_back(line);
      }
    });
  }
  std::cout << "READY" << std::endl;
  std::string line;
  std::getline(std::cin, line);
  go.count_down();
  for (auto& thread : enqueuers) thread.join();
  for (const auto& out : lines) std::cout << out << "\n";
  std::cout << "DEDUPLICATED " << deduplicated << "\nDONE" << std::endl;
  // Stays an executor until told to go: the enqueued workflow may be running here.
  while (std::getline(std::cin, line)) {
    const std::string release = "release ";
    if (line.rfind(release, 0) == 0) {
      dbos::Send(ctx, line.substr(release.size()), std::string("go"), "release");
    }
  }
  return 0;
}

int DrainMode(dbos::DBOSContext& ctx, const std::vector<std::string>& args) {
  const std::string& executor = args.at(0);
  const int count = std::stoi(args.at(2));
  std::cout << "READY" << std::endl;
  std::string line;
  std::getline(std::cin, line);
  for (int i = 0; i < count; ++i) {
    dbos::RunWorkflow(ctx, DrainWork, i, dbos::WithQueue("drain"),
                      dbos::WithWorkflowID("d-" + executor + "-" + std::to_string(i)));
  }
  std::cout << "ENQUEUED" << std::endl;
  WaitAll(ctx, IdsOf("d-", args.at(1), count));
  std::cout << "DONE" << std::endl;
  return 0;
}

}  // namespace

void RegisterQueueWorkflows(dbos::DBOSContext& ctx) {
  dbos::RegisterWorkflow(ctx, QueuedWork, dbos::WithWorkflowName("queued-work"));
  dbos::RegisterWorkflow(ctx, Held, dbos::WithWorkflowName("held"));
  dbos::RegisterWorkflow(ctx, DrainWork, dbos::WithWorkflowName("drain-work"));
  dbos::NewWorkflowQueue(ctx, "shared", dbos::WithWorkerConcurrency(2),
                         dbos::WithGlobalConcurrency(3));
  dbos::NewWorkflowQueue(
      ctx, "rated",
      dbos::WithRateLimiter(dbos::RateLimiter{.limit = 5, .period = std::chrono::seconds(1)}));
  dbos::NewWorkflowQueue(ctx, "prio", dbos::WithPriorityEnabled(), dbos::WithGlobalConcurrency(1));
  dbos::NewWorkflowQueue(ctx, "dedup");
  dbos::NewWorkflowQueue(ctx, "drain", dbos::WithWorkerConcurrency(2));
}

void ConfigureQueueMode(dbos::Config& config, const std::string& mode,
                        const std::vector<std::string>& args) {
  if (!args.empty()) config.executor_id = args[0];
  if (mode == "prio" && args.size() > 2) config.application_version = kEnqueuerVersion;
}

bool IsQueueMode(const std::string& mode) {
  return mode == "queue" || mode == "prio" || mode == "dedup" || mode == "drain";
}

int RunQueueMode(dbos::DBOSContext& ctx, const std::string& mode,
                 const std::vector<std::string>& args) {
  const size_t needed = mode == "queue" || mode == "drain" ? 3 : 2;
  if (args.size() < needed) {
    std::cerr << "mode " << mode << " needs " << needed << " arguments\n";
    return 2;
  }
  if (mode == "queue") return QueueMode(ctx, args);
  if (mode == "prio") return PrioMode(ctx, args);
  if (mode == "dedup") return DedupMode(ctx, args);
  return DrainMode(ctx, args);
}

}  // namespace crash
