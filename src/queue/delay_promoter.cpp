// Delay promoter loop; see delay_promoter.hpp. Database errors are logged and retried with backoff:
// an outage delays promotions, it loses none (the rows stay DELAYED until a round succeeds).
#include "queue/delay_promoter.hpp"

#include <algorithm>
#include <string>

#include "util/time_util.hpp"

namespace dbos::queue {

using SystemClock = std::chrono::system_clock;

DelayPromoter::DelayPromoter(detail::Runtime& runtime)
    : runtime_(runtime), poll_interval_(runtime.BackgroundPollInterval()) {}

DelayPromoter::~DelayPromoter() { Stop(); }

void DelayPromoter::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DelayPromoter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DelayPromoter::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void DelayPromoter::Run() {
  auto backoff = poll_interval_;
  for (;;) {
    SystemClock::time_point next;
    bool failed = false;
    try {
      next = Round();
      backoff = poll_interval_;
    } catch (const std::exception& e) {
      failed = true;
      runtime_.Log().Log(LogLevel::Error, std::string("delay promoter: ") + e.what());
      backoff = std::min(backoff * 2, std::chrono::milliseconds(60000));
      next = SystemClock::now() + backoff;
    }
    std::unique_lock lock(mutex_);
    // Delays are wall-clock times (epoch ms in the database): wait on the system clock.
    wake_.wait_until(lock, next, [&] { return stop_ || (woken_ && !failed); });
    if (stop_) return;
    woken_ = false;
  }
}

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
