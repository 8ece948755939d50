// Measurement 4: messaging latency, the ping-pong of the DBOS Transact TypeScript peer. One
// workflow loops: Recv("ping") then SetEvent("pong-i"). The driver waits until the workflow is
// about to call Recv (+5 ms so it is waiting), Sends, then GetEvents the pong. Reported: the Send
// call, send -> Recv returns (one way), SetEvent -> the waiting GetEvent returns, the round trip,
// and GetEvent of an event already set.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_database.hpp"
#include "bench_measurements.hpp"
#include "bench_stats.hpp"

namespace bench {
namespace {

// Timestamps the workflow records, read by the driver (same clock).
struct Marks {
  std::mutex mutex;
  std::condition_variable changed;
  int waiting_for = -1;  // index of the ping the workflow is about to Recv
  std::vector<double> recv_at;
  std::vector<double> set_start;
};
Marks g_marks;

}  // namespace

int PingPong(dbos::DBOSContext& ctx, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    {
      std::lock_guard lock(g_marks.mutex);
      g_marks.waiting_for = i;
    }
    g_marks.changed.notify_all();
    const int ping = dbos::Recv<int>(ctx, "ping", std::chrono::seconds(60));
    {
      // Recorded before SetEvent: the driver reads them as soon as its GetEvent returns.
      std::lock_guard lock(g_marks.mutex);
      const double received = NowMs();
      g_marks.recv_at[static_cast<size_t>(i)] = received;
      g_marks.set_start[static_cast<size_t>(i)] = received;
    }
    dbos::SetEvent(ctx, "pong-" + std::to_string(i), ping);
  }
  return rounds;
}

nlohmann::json MeasureMessaging(const Options& options) {
  const char* env = std::getenv("MSG_N");
  const int rounds = env != nullptr ? std::atoi(env) : 200;
  const DatabaseTarget target = FreshDatabase(options, "msg");
  dbos::DBOSContext ctx = dbos::NewDBOSContext(MakeConfig(target));
  dbos::RegisterWorkflow(ctx, PingPong, dbos::WithWorkflowName("bench-ping-pong"));
  dbos::Launch(ctx);
  g_marks.waiting_for = -1;
  g_marks.recv_at.assign(static_cast<size_t>(rounds), 0);
  g_marks.set_start.assign(static_cast<size_t>(rounds), 0);

  const std::string id = "ping-pong-" + std::to_string(static_cast<int64_t>(NowMs()));
  auto handle = dbos::RunWorkflow(ctx, PingPong, rounds, dbos::WithWorkflowID(id));
  std::vector<double> send_call, one_way, round_trip, event_notify, get_existing;
  for (int i = 0; i < rounds; ++i) {
    {
      std::unique_lock lock(g_marks.mutex);
      g_marks.changed.wait(lock, [&] { return g_marks.waiting_for >= i; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the Recv is now waiting
    const double t0 = NowMs();
    dbos::Send(ctx, id, i, "ping");
    const double sent = NowMs();
    const int pong =
        dbos::GetEvent<int>(ctx, id, "pong-" + std::to_string(i), std::chrono::seconds(60));
    const double t1 = NowMs();
    if (pong != i)
      throw std::runtime_error("pong " + std::to_string(pong) + " for ping " + std::to_string(i));
    std::lock_guard lock(g_marks.mutex);
    send_call.push_back(sent - t0);
    one_way.push_back(g_marks.recv_at[static_cast<size_t>(i)] - t0);
    round_trip.push_back(t1 - t0);
    event_notify.push_back(t1 - g_marks.set_start[static_cast<size_t>(i)]);
  }
  if (handle.GetResult() != rounds) throw std::runtime_error("ping-pong returned early");
  for (int i = 0; i < rounds; ++i) {
    const double start = NowMs();
    dbos::GetEvent<int>(ctx, id, "pong-" + std::to_string(i), std::chrono::seconds(5));
    get_existing.push_back(NowMs() - start);
  }
  dbos::Shutdown(ctx);
  return {{"database", target.Describe()},
          {"n", rounds},
          {"send_call", Summarize(std::move(send_call)).ToJson()},
          {"send_to_recv_oneway", Summarize(std::move(one_way)).ToJson()},
          {"roundtrip_send_recv_setEvent_getEvent", Summarize(std::move(round_trip)).ToJson()},
          {"setEvent_to_waiting_getEvent", Summarize(std::move(event_notify)).ToJson()},
          {"getEvent_existing", Summarize(std::move(get_existing)).ToJson()}};
}

}  // namespace bench
