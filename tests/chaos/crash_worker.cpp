// A DBOS executor process for crash tests. It runs workflows whose steps log every execution to a
// marker file (an O_APPEND write survives SIGKILL), and it can SIGKILL itself at a chosen point:
//
//   dbos_crash_worker URL SCHEMA MARKER_FILE run WORKFLOW_ID [KILL_POINT]
//       starts the three-step workflow WORKFLOW_ID and prints "RESULT <value>"
//       KILL_POINT: inside-step-2      (step 2's side effect done, its checkpoint not written)
//                   after-checkpoint-2 (step 2 recorded, step 3 not started)
//                   before-finish      (all steps recorded, the outcome not written)
//   dbos_crash_worker URL SCHEMA MARKER_FILE many COUNT
//       starts COUNT workflows crash-0 … whose step 2 takes 50 ms, prints READY, runs forever
//   dbos_crash_worker URL SCHEMA MARKER_FILE recover ID…
//       launches (recovering PENDING workflows) and prints "RESULT <id> <value>" for each ID
//   dbos_crash_worker URL SCHEMA MARKER_FILE sleep ID MS | recv ID MS
//       starts a workflow that sleeps MS (or waits MS for a message), prints READY, runs forever
//   dbos_crash_worker URL SCHEMA MARKER_FILE waiters PREFIX COUNT
//       starts COUNT workflows PREFIX0 … (a step, a Recv, a step), prints READY, runs forever
//   dbos_crash_worker URL SCHEMA MARKER_FILE release PREFIX COUNT
//       recovers them, sends each one message and prints "RELEASED <number returned right>"
//   dbos_crash_worker URL SCHEMA MARKER_FILE send
//       starts workflow "inbox" (waits for one message) and workflow "sender", which sends it one
//       message and SIGKILLs the process right after the send is recorded
//   dbos_crash_worker URL SCHEMA MARKER_FILE poison ID
//       runs (or recovers) workflow ID, registered WithMaxRetries(2), whose step kills the
//       process every time; prints the workflow's final status if it is dead-lettered
//   dbos_crash_worker URL SCHEMA MARKER_FILE queue|prio|dedup|drain EXECUTOR_ID …
//       an executor of shared queues (queue_worker.cpp)
//   dbos_crash_worker URL SCHEMA MARKER_FILE poke DESTINATION | publish ID
//       sends "ping" on topic "topic" to DESTINATION from outside a workflow, or runs workflow
//       ID, which sets event "key" to "value"; then exits
#include "chaos/crash_worker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "dbos/dbos.hpp"

namespace crash {

std::string g_marker_file;
std::string g_kill_point;
int g_step_sleep_ms = 0;

void Mark(const std::string& line) {
  const int fd = open(g_marker_file.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  const std::string text = line + "\n";
  if (fd >= 0) {
    const auto written = write(fd, text.data(), text.size());
    (void)written;
    close(fd);
  }
}

std::string NowNs() {
  return std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count());
}

void MaybeDie(const std::string& point) {
  if (g_kill_point == point) raise(SIGKILL);
}

int Step(dbos::DBOSContext& ctx, int n) {
  const std::string id = dbos::GetWorkflowID(ctx);
  return dbos::RunAsStep(
      ctx,
      [&] {
        if (n == 2 && g_step_sleep_ms > 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(g_step_sleep_ms));
        }
        Mark(id + " step-" + std::to_string(n));
        if (n == 2) MaybeDie("inside-step-2");
        return n * 10;
      },
      dbos::WithStepName("step-" + std::to_string(n)));
}

std::string ThreeSteps(dbos::DBOSContext& ctx, std::string input) {
  int sum = Step(ctx, 1);
  sum += Step(ctx, 2);
  MaybeDie("after-checkpoint-2");
  sum += Step(ctx, 3);
  MaybeDie("before-finish");
  return input + ":" + std::to_string(sum);
}

std::string SleepWorkflow(dbos::DBOSContext& ctx, int ms) {
  dbos::Sleep(ctx, std::chrono::milliseconds(ms));
  return "woke";
}

std::string RecvWorkflow(dbos::DBOSContext& ctx, int ms) {
  try {
    return dbos::Recv<std::string>(ctx, "topic", std::chrono::milliseconds(ms));
  } catch (const dbos::DBOSError& e) {
    if (e.Code() == dbos::ErrorCode::Timeout) return "timeout";
    throw;
  }
}

std::string Sender(dbos::DBOSContext& ctx, std::string destination) {
  Mark("sender body");
  dbos::Send(ctx, destination, std::string("paid"), "topic");
  MaybeDie("after-send");
  return "sent";
}

int PoisonStep(dbos::DBOSContext& ctx, int) {
  return dbos::RunAsStep(
      ctx,
      [] {
        Mark("poison step");
        raise(SIGKILL);
        return 0;
      },
      dbos::WithStepName("poison"));
}

// Step 1 (marked), then a wait for a message, then step 3 (marked): many of these wait at once,
// most of them parked.
std::string MarkRecvMark(dbos::DBOSContext& ctx, int) {
  Step(ctx, 1);
  auto message = dbos::Recv<std::string>(ctx, "topic", std::chrono::minutes(5));
  Step(ctx, 3);
  return message;
}

int Publish(dbos::DBOSContext& ctx, int) {
  dbos::SetEvent(ctx, "key", std::string("value"));
  return 0;
}

}  // namespace crash

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: dbos_crash_worker URL SCHEMA MARKER_FILE MODE ARGS… (see above)\n";
    return 2;
  }
  alarm(120);  // a stuck worker must never outlive the test that started it
  const std::string url = argv[1];
  const std::string schema = argv[2];
  crash::g_marker_file = argv[3];
  const std::string mode = argv[4];
  try {
    dbos::Config config;
    config.app_name = "crash-worker";
    config.database_url = url;
    config.database_schema = schema;
    config.application_version = "crash-v1";
    config.logger = dbos::NewConsoleLogger(dbos::LogLevel::Warn);
    const std::vector<std::string> rest(argv + 5, argv + argc);
    if (crash::IsQueueMode(mode)) crash::ConfigureQueueMode(config, mode, rest);
    dbos::DBOSContext ctx = dbos::NewDBOSContext(config);
    crash::RegisterQueueWorkflows(ctx);
    dbos::RegisterWorkflow(ctx, crash::ThreeSteps);
    dbos::RegisterWorkflow(ctx, crash::SleepWorkflow);
    dbos::RegisterWorkflow(ctx, crash::RecvWorkflow);
    dbos::RegisterWorkflow(ctx, crash::Sender);
    dbos::RegisterWorkflow(ctx, crash::PoisonStep, dbos::WithMaxRetries(2));
    dbos::RegisterWorkflow(ctx, crash::Publish);
    dbos::RegisterWorkflow(ctx, crash::MarkRecvMark);
    dbos::Launch(ctx);
    if (crash::IsQueueMode(mode)) {
      const int code = crash::RunQueueMode(ctx, mode, rest);
      dbos::Shutdown(ctx, std::chrono::seconds(5));
      return code;
    }
    if (mode == "run" && argc >= 6) {
      if (argc >= 7) crash::g_kill_point = argv[6];
      auto handle = dbos::RunWorkflow(ctx, crash::ThreeSteps, std::string("in"),
                                      dbos::WithWorkflowID(argv[5]));
      std::cout << "RESULT " << handle.GetResult() << std::endl;
    } else if (mode == "many" && argc >= 6) {
      crash::g_step_sleep_ms = 50;
      const int count = std::stoi(argv[5]);
      for (int i = 0; i < count; ++i) {
        dbos::RunWorkflow(ctx, crash::ThreeSteps, std::string("in"),
                          dbos::WithWorkflowID("crash-" + std::to_string(i)));
      }
      std::cout << "READY" << std::endl;
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    } else if ((mode == "sleep" || mode == "recv") && argc >= 7) {
      const int ms = std::stoi(argv[6]);
      if (mode == "sleep") {
        dbos::RunWorkflow(ctx, crash::SleepWorkflow, ms, dbos::WithWorkflowID(argv[5]));
      } else {
        dbos::RunWorkflow(ctx, crash::RecvWorkflow, ms, dbos::WithWorkflowID(argv[5]));
      }
      std::cout << "READY" << std::endl;
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    } else if (mode == "race-recv" && argc >= 7) {
      // Receivers start waiting while this process's sends race with their registration.
      const std::string prefix = argv[5];
      const int count = std::stoi(argv[6]);
      for (int i = 0; i < count; ++i) {
        const std::string id = prefix + std::to_string(i);
        dbos::RunWorkflow(ctx, crash::RecvWorkflow, 30000, dbos::WithWorkflowID(id));
        dbos::Send(ctx, id, std::string("ping"), "topic");
      }
      std::cout << "READY" << std::endl;
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    } else if (mode == "send") {
      crash::g_kill_point = "after-send";
      dbos::RunWorkflow(ctx, crash::RecvWorkflow, 60000, dbos::WithWorkflowID("inbox"));
      dbos::RunWorkflow(ctx, crash::Sender, std::string("inbox"), dbos::WithWorkflowID("sender"))
          .GetResult();
      std::cout << "NOT KILLED" << std::endl;
    } else if (mode == "poison" && argc >= 6) {
      dbos::WorkflowHandle<int> handle;
      try {
        handle = dbos::RetrieveWorkflow<int>(ctx, argv[5]);  // recovered by Launch
      } catch (const dbos::DBOSError& e) {
        if (e.Code() != dbos::ErrorCode::NonExistentWorkflow) throw;
        handle = dbos::RunWorkflow(ctx, crash::PoisonStep, 0, dbos::WithWorkflowID(argv[5]));
      }
      try {
        handle.GetResult();
      } catch (const dbos::DBOSError& e) {
        std::cout << "STATUS " << dbos::ToString(handle.GetStatus().status) << " "
                  << dbos::ErrorCodeName(e.Code()) << std::endl;
      }
    } else if (mode == "poke" && argc >= 6) {
      dbos::Send(ctx, argv[5], std::string("ping"), "topic");
    } else if (mode == "publish" && argc >= 6) {
      dbos::RunWorkflow(ctx, crash::Publish, 0, dbos::WithWorkflowID(argv[5])).GetResult();
    } else if (mode == "waiters" && argc >= 7) {
      const std::string prefix = argv[5];
      const int count = std::stoi(argv[6]);
      for (int i = 0; i < count; ++i) {
        dbos::RunWorkflow(ctx, crash::MarkRecvMark, i,
                          dbos::WithWorkflowID(prefix + std::to_string(i)));
      }
      std::cout << "READY" << std::endl;
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    } else if (mode == "release" && argc >= 7) {
      // Recovers the waiters (at Launch), sends each its message and prints how many returned it.
      const std::string prefix = argv[5];
      const int count = std::stoi(argv[6]);
      for (int i = 0; i < count; ++i) {
        dbos::Send(ctx, prefix + std::to_string(i), "m" + std::to_string(i), "topic");
      }
      int right = 0;
      for (int i = 0; i < count; ++i) {
        auto handle = dbos::RetrieveWorkflow<std::string>(ctx, prefix + std::to_string(i));
        if (handle.GetResult() == "m" + std::to_string(i)) ++right;
      }
      std::cout << "RELEASED " << right << std::endl;
    } else if (mode == "recover") {
      for (int i = 5; i < argc; ++i) {
        auto handle = dbos::RetrieveWorkflow<std::string>(ctx, argv[i]);
        std::cout << "RESULT " << argv[i] << " " << handle.GetResult() << std::endl;
      }
    } else {
      std::cerr << "unknown mode " << mode << "\n";
      return 2;
    }
    dbos::Shutdown(ctx, std::chrono::seconds(5));
  } catch (const std::exception& e) {
    std::cerr << "crash worker failed: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
