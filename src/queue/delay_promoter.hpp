// The delay promoter: one background thread that turns DELAYED workflows ENQUEUED when their time
// comes (any process may promote any row; the update is idempotent) and then wakes the queue
// runner. It sleeps until the earliest delay it knows of, so a delayed workflow starts on time
// rather than at the next poll; a delayed start in this process wakes it to re-read that time, so
// does (on PostgreSQL) a NOTIFY from another process that delayed a workflow or moved a delay, and
// a poll every second finds the rows nobody announced.
#pragma once

#include <chrono>

#include "core/runtime.hpp"
#include "util/background_loop.hpp"

namespace dbos::queue {

class DelayPromoter final : public detail::BackgroundService {
 public:
  explicit DelayPromoter(detail::Runtime& runtime);
  ~DelayPromoter() override;
  DelayPromoter(const DelayPromoter&) = delete;
  DelayPromoter& operator=(const DelayPromoter&) = delete;

  /// Starts the background thread.
  void Start();
  /// Stops and joins the background thread.
  void Stop() override;
  /// Re-reads the next due time now.
  void Wake() override;

 private:
  /// Promotes what is due; returns when to look again.
  std::chrono::system_clock::time_point Round();

  detail::Runtime& runtime_;
  const std::chrono::milliseconds poll_interval_;  ///< Runtime::BackgroundPollInterval()
  util::FailureBackoff backoff_;                   ///< Only the loop's thread.
  util::BackgroundLoop loop_;  ///< Last: stopped first, before the members its rounds use.
};

}  // namespace dbos::queue
