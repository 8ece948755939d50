// Wake-ups by probe in the parking lot (core/parking.hpp): the wait watcher reads the probes of
// all parked waits in one snapshot, queries the database, then wakes the waits with news. By then
// a workflow may have woken for another reason and parked again. News wakes whatever wait of the
// workflow asks for that probe now (its replay parks again in the same wait, with a new list of
// the same probes), and never a wait for something else.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/notifier.hpp"
#include "core/parking.hpp"
#include "core/workflow_state.hpp"

namespace dbos::detail {
namespace {

ParkProbe MessageProbe(const std::string& topic) {
  return {sysdb::WaitProbe::Kind::kMessage, "parked-workflow", topic};
}

template <typename Predicate>
bool Eventually(Predicate done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// One workflow that parks in a wait for the given probes, as the executor does it (the wait
// registers, the stack unwinds, the resume function is stored), and counts its resumptions.
class ParkingLotTest : public ::testing::Test {
 protected:
  ParkingLotTest() { state_.workflow_id = "parked-workflow"; }
  ~ParkingLotTest() override { lot_.Stop(); }

  void Park(std::vector<ParkProbe> probes) {
    lot_.BeginPark(state_, {}, std::move(probes), std::nullopt);
    lot_.CompletePark(state_, [this] {
      state_.ResetForReplay();
      ++resumes_;
    });
  }
  bool ResumedTimes(int n) {
    return Eventually([&] { return resumes_.load() == n; });
  }

  messaging::Notifier notifier_;
  ParkingLot lot_{notifier_, 0};
  WorkflowState state_;
  std::atomic<int> resumes_{0};
};

TEST_F(ParkingLotTest, NewsFromASnapshotWakesTheSameWaitParkedAgainSince) {
  Park({MessageProbe("a")});
  const std::vector<ParkedProbes> snapshot = lot_.Probes();
  ASSERT_EQ(snapshot.size(), 1u);
  ASSERT_EQ(snapshot[0].state, &state_);
  // Woken by something else (a notification) before the news is acted on; its replay parks
  // again in the same wait.
  lot_.WakeIfParkedFor(&state_, MessageProbe("a"));
  ASSERT_TRUE(ResumedTimes(1));
  Park({MessageProbe("a")});
  EXPECT_TRUE(lot_.Probes().at(0).probes != snapshot[0].probes);  // a new list
  lot_.WakeIfParkedFor(snapshot[0].state, snapshot[0].probes->at(0));
  EXPECT_TRUE(ResumedTimes(2));
  EXPECT_EQ(lot_.ParkedCount(), 0u);
}

TEST_F(ParkingLotTest, NewsFromASnapshotDoesNotWakeAWaitForSomethingElse) {
  Park({MessageProbe("a")});
  const std::vector<ParkedProbes> snapshot = lot_.Probes();
  ASSERT_EQ(snapshot.size(), 1u);
  lot_.WakeIfParkedFor(&state_, MessageProbe("a"));
  ASSERT_TRUE(ResumedTimes(1));
  Park({MessageProbe("b")});  // its code went on to wait for another topic
  lot_.WakeIfParkedFor(snapshot[0].state, snapshot[0].probes->at(0));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(resumes_.load(), 1);  // not replayed for news it does not wait for
  EXPECT_EQ(lot_.ParkedCount(), 1u);
  lot_.WakeIfParkedFor(&state_, MessageProbe("b"));
  EXPECT_TRUE(ResumedTimes(2));
}

TEST_F(ParkingLotTest, NewsWakesAParkedWaitOnlyOnce) {
  Park({MessageProbe("a"), MessageProbe("b")});
  lot_.WakeIfParkedFor(&state_, MessageProbe("a"));
  lot_.WakeIfParkedFor(&state_, MessageProbe("b"));
  ASSERT_TRUE(ResumedTimes(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(resumes_.load(), 1);
  EXPECT_TRUE(lot_.Probes().empty());
}

}  // namespace
}  // namespace dbos::detail
