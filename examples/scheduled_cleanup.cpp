// A scheduled cleanup job: every two seconds (cron with a seconds field) a workflow removes the
// files of a scratch folder older than its scheduled time minus a retention period. The workflow
// receives its tick's scheduled time, so a run that is late or recovered after a crash still
// cleans up exactly what that tick should have. With several copies of this program on one
// system database, each tick runs once across all of them.
//
// The program runs three ticks, then shuts down (a real service would run until stopped).
//
//   DBOS_SYSTEM_DATABASE_URL=postgresql://postgres@localhost:5432/dbos_starter ./scheduled_cleanup
//   ./scheduled_cleanup     # embedded SQLite file dbos-starter.sqlite
#include <chrono>
#include <condition_variable>
#include <dbos/dbos.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

const fs::path kScratch = "scratch-cleanup";
constexpr auto kRetention = std::chrono::seconds(30);

std::mutex g_mutex;
std::condition_variable g_ticked;
int g_runs = 0;

// Removes the scratch files last written before `cutoff`; returns how many.
int RemoveOlderThan(Clock::time_point cutoff) {
  int removed = 0;
  const auto max_age = Clock::now() - cutoff;
  for (const auto& entry : fs::directory_iterator(kScratch)) {
    const auto age = fs::file_time_type::clock::now() - entry.last_write_time();
    if (age > max_age && fs::remove(entry.path())) ++removed;
  }
  return removed;
}

int Cleanup(dbos::DBOSContext& ctx, Clock::time_point scheduled_time) {
  const int removed = dbos::RunAsStep(
      ctx, [scheduled_time] { return RemoveOlderThan(scheduled_time - kRetention); },
      dbos::WithStepName("remove-expired"));
  std::cout << "cleanup for " << dbos::FormatTimestamp(scheduled_time) << ": removed " << removed
            << " file(s)" << std::endl;
  {
    std::lock_guard lock(g_mutex);
    ++g_runs;
  }
  g_ticked.notify_all();
  return removed;
}

int main() {
  try {
    fs::create_directories(kScratch);
    for (int i = 0; i < 3; ++i) {
      std::ofstream(kScratch / ("temp-" + std::to_string(i) + ".txt")) << "scratch\n";
      fs::last_write_time(kScratch / ("temp-" + std::to_string(i) + ".txt"),
                          fs::file_time_type::clock::now() - std::chrono::minutes(i));
    }
    dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
        .app_name = "dbos-starter",
        .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
    });
    dbos::RegisterWorkflow(ctx, Cleanup, dbos::WithWorkflowName("scheduled-cleanup"),
                           dbos::WithSchedule("*/2 * * * * *"));
    dbos::Launch(ctx);
    {
      std::unique_lock lock(g_mutex);
      if (!g_ticked.wait_for(lock, std::chrono::seconds(30), [] { return g_runs >= 3; })) {
        std::cerr << "the schedule did not tick three times in 30 s" << std::endl;
        return 1;
      }
    }
    std::cout << "three cleanups done" << std::endl;
    dbos::Shutdown(ctx, std::chrono::seconds(5));
    fs::remove_all(kScratch);
  } catch (const std::exception& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}
