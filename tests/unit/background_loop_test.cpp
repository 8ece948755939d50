// The background loop every service of the runtime runs on (queue runner, delay promoter, wait
// watcher, scheduler): its pauses, wake-ups and stop, and its backoff after failures.
#include "util/background_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace dbos::util {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Polls `done` for up to 5 s (the loop runs on its own thread).
template <typename F>
bool Eventually(F done) {
  const auto deadline = Clock::now() + 5s;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// In each test the loop is declared after what its rounds use: it is destroyed (stopped) first,
// also when an assertion ends the test early.

TEST(BackgroundLoopTest, AWakeEndsAWakeablePauseAndTellsTheNextRound) {
  std::atomic<int> rounds{0};
  std::atomic<int> woken_rounds{0};
  BackgroundLoop loop;
  loop.Start([&](bool woken) {
    ++rounds;
    if (woken) ++woken_rounds;
    return BackgroundLoop::Pause{1h};
  });
  ASSERT_TRUE(Eventually([&] { return rounds == 1; }));
  EXPECT_EQ(woken_rounds, 0);  // the first round runs at start, not woken
  loop.Wake();
  ASSERT_TRUE(Eventually([&] { return rounds == 2; }));
  EXPECT_EQ(woken_rounds, 1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rounds, 2);  // no wake, no round: the pause is an hour
  const auto before = Clock::now();
  loop.Stop();
  EXPECT_LT(Clock::now() - before, 1s);  // Stop ends the pause
}

TEST(BackgroundLoopTest, AWakeDuringARoundRunsTheNextRoundAtOnce) {
  std::atomic<int> rounds{0};
  BackgroundLoop loop;
  loop.Start([&](bool) {
    if (++rounds == 1) loop.Wake();  // e.g. the queue runner after a full batch
    return BackgroundLoop::Pause{1h};
  });
  EXPECT_TRUE(Eventually([&] { return rounds == 2; }));
  loop.Stop();
}

TEST(BackgroundLoopTest, APauseThatIsNotWakeableEndsOnlyAtItsTimeOrAtStop) {
  std::atomic<bool> first_done{false};
  std::atomic<bool> release_first{false};
  std::atomic<Clock::rep> first_ended_at{0};
  std::atomic<Clock::rep> second_at{0};
  std::atomic<bool> second_woken{false};
  BackgroundLoop loop;
  loop.Start([&](bool woken) {
    if (!first_done) {
      // The first round "fails": it asks for a pause no wake-up may cut short. It returns only
      // once the test has woken the loop, so the wake surely falls before that pause.
      while (!release_first) std::this_thread::sleep_for(1ms);
      first_done = true;
      first_ended_at = Clock::now().time_since_epoch().count();
      return BackgroundLoop::Pause{300ms, /*wakeable=*/false};
    }
    if (second_at == 0) {
      second_woken = woken;
      second_at = Clock::now().time_since_epoch().count();
    }
    return BackgroundLoop::Pause{1h};
  });
  loop.Wake();
  release_first = true;
  ASSERT_TRUE(Eventually([&] { return second_at != 0; }));
  // The wake did not cut the pause short (a wakeable one would have ended at once)...
  EXPECT_GE(Clock::duration(second_at - first_ended_at), 300ms);
  EXPECT_TRUE(second_woken);  // ...but the round after it learns of it
  loop.Stop();
}

TEST(BackgroundLoopTest, StopIsIdempotentAndStoppingIsSeenByARound) {
  BackgroundLoop never_started;
  never_started.Stop();  // no thread: a no-op
  std::atomic<bool> in_round{false};
  std::atomic<bool> saw_stop{false};
  BackgroundLoop loop;
  loop.Start([&](bool) {
    in_round = true;
    // A long round checks Stopping between its parts.
    while (!loop.Stopping()) std::this_thread::sleep_for(1ms);
    saw_stop = true;
    return BackgroundLoop::Pause{1h};
  });
  ASSERT_TRUE(Eventually([&] { return in_round.load(); }));
  loop.Stop();
  EXPECT_TRUE(saw_stop);
  loop.Stop();
}

TEST(BackgroundLoopTest, APauseBeyondTheLongestIsCutAndStillEndsAtAWake) {
  std::atomic<int> rounds{0};
  BackgroundLoop loop;
  loop.Start([&](bool) {
    ++rounds;
    return BackgroundLoop::Pause{BackgroundLoop::Duration::max()};  // no overflow, no spin
  });
  ASSERT_TRUE(Eventually([&] { return rounds == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rounds, 1);
  loop.Wake();
  EXPECT_TRUE(Eventually([&] { return rounds == 2; }));
  loop.Stop();
}

TEST(FailureBackoffTest, DoublesWhileRoundsFailUpToAMinuteAndResetsOnSuccess) {
  FailureBackoff backoff(1000ms);
  EXPECT_EQ(backoff.After(false), 1000ms);
  EXPECT_EQ(backoff.After(true), 2000ms);
  EXPECT_EQ(backoff.After(true), 4000ms);
  for (int i = 0; i < 10; ++i) backoff.After(true);
  EXPECT_EQ(backoff.After(true), 60000ms);
  EXPECT_EQ(backoff.After(false), 1000ms);
}

TEST(FailureBackoffTest, AFailureNeverShortensThePauseNorLeavesItAtZero) {
  FailureBackoff hourly(3600000ms);  // a poll interval above the cap
  EXPECT_EQ(hourly.After(true), 3600000ms);
  FailureBackoff immediate(0ms);
  EXPECT_EQ(immediate.After(false), 0ms);
  EXPECT_EQ(immediate.After(true), 1ms);
  EXPECT_EQ(immediate.After(true), 2ms);
}

}  // namespace
}  // namespace dbos::util
