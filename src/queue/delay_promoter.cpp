// Delay promoter loop; see delay_promoter.hpp. Database errors are logged and retried with backoff:
// an outage delays promotions, it loses none (the rows stay DELAYED until a round succeeds).
#include "queue/delay_promoter.hpp"

#include <algorithm>
#include <string>

#include "util/time_util.hpp"

namespace dbos::queue {

using SystemClock = std::chrono::system_clock;

DelayPromoter::DelayPromoter(detail::Runtime& runtime)
    : runtime_(runtime),
      poll_interval_(runtime.BackgroundPollInterval()),
      backoff_(poll_interval_) {}

DelayPromoter::~DelayPromoter() { Stop(); }

void DelayPromoter::Start() {
  loop_.Start([this](bool) {
    try {
      const SystemClock::time_point next = Round();
      backoff_.After(false);
      // Delays are wall-clock times (epoch ms in the database); Round caps the pause at a poll
      // interval, so a jump of the wall clock delays a promotion by at most that.
      return util::BackgroundLoop::Pause{
          std::max(next - SystemClock::now(), SystemClock::duration{})};
    } catch (const std::exception& e) {
      runtime_.Log().Log(LogLevel::Error, std::string("delay promoter: ") + e.what());
      return util::BackgroundLoop::Pause{backoff_.After(true), /*wakeable=*/false};
    }
  });
}

void DelayPromoter::Stop() { loop_.Stop(); }

void DelayPromoter::Wake() { loop_.Wake(); }

SystemClock::time_point DelayPromoter::Round() {
  const int64_t now_ms = util::NowEpochMs();
  const sysdb::DelayedPromotion promoted = runtime_.Db().PromoteDueDelayed(now_ms);
  if (!promoted.queues.empty()) runtime_.WakeQueueRunner();
  // Compared in epoch ms: any time may be stored (another SDK, the SQL function), and one past
  // the year 2262 overflows the clock's nanoseconds.
  const int64_t poll_ms = util::NowEpochMs() + poll_interval_.count();
  const int64_t due_ms = std::clamp<int64_t>(promoted.next_due_ms.value_or(poll_ms), 0, poll_ms);
  return SystemClock::time_point(std::chrono::milliseconds(due_ms));
}

}  // namespace dbos::queue
