// Routes wake-ups to waiters by key: "msg:<workflow>::<topic>" for messages,
// "evt:<workflow>::<key>" for events, "run:<workflow>" for a local execution's start,
// "stm:<workflow>::<key>" for stream values and "stm-end:<workflow>" for a writer's end. Fed by
// this process's own writes (signalled right after commit) and, on PostgreSQL, by LISTEN/NOTIFY for
// writes made by other processes. Also enforces one receiver per (workflow, topic).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/waiter.hpp"

namespace dbos::messaging {

/// Key of the messages of `workflow_id` on `stored_topic` (already mapped from "").
std::string MessageKey(const std::string& workflow_id, const std::string& stored_topic);
/// Key of event `key` of `workflow_id`.
std::string EventKey(const std::string& workflow_id, const std::string& key);
/// Key signalled when an execution of `workflow_id` begins in this process (a handle polling the
/// database for it then waits on the execution instead).
std::string ExecutionKey(const std::string& workflow_id);
/// Key of stream `key` of `workflow_id` (a value was written).
std::string StreamKey(const std::string& workflow_id, const std::string& key);
/// Key signalled when `workflow_id` ends (finished, cancelled, dead-lettered): the readers of its
/// streams stop waiting for values.
std::string StreamEndKey(const std::string& workflow_id);

class Notifier {
 public:
  /// Keeps `waiter` registered on `key` while alive.
  class Registration {
   public:
    Registration(Notifier& notifier, std::string key, Waiter& waiter);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    Notifier& notifier_;
    std::string key_;
    Waiter& waiter_;
  };

  /// Wakes every waiter on `key`.
  void Notify(const std::string& key);
  /// Wakes every waiter, parked ones included (at shutdown).
  void NotifyAll();
  /// Delivers a PostgreSQL notification; an empty channel (the listener reconnected) wakes every
  /// waiter that is not parked.
  void OnDatabaseNotification(const std::string& channel, const std::string& payload);

  // A Recv in this process and the local senders that record its receipt directly (one commit
  // instead of two). The receiver claims the topic, records its deadline, then opens itself to
  // senders; a sender that begins a delivery is waited for when the receiver leaves, so a receipt
  // committed as the receiver leaves (with an error) is never lost to the live run. A Recv that
  // parks stays open: the claim waits for its replay, whose Recv at the same step takes it over
  // (or, when a sender recorded the receipt, finds its step recorded and leaves the claim).

  /// Says whether a receiver can read a message (decoded JSON) as the type it asked for.
  using Accepts = std::function<bool(const nlohmann::json&)>;
  /// Claims the right to receive on `key` for the Recv at step `step_id` (not yet visible to
  /// senders); false when another receiver holds it. Senders hand over only messages `accepts`
  /// (when set) says it can read; the others are left for its own Recv to refuse. A claim left by
  /// a parked Recv at the same step is taken over as it is (still open, with what was handed
  /// over); `accepts` must then not refer to the parked execution's stack.
  bool ClaimReceiver(const std::string& key, int step_id, Accepts accepts = nullptr);
  /// Makes the claimed receiver visible to senders (after its deadline row is committed).
  void OpenReceiver(const std::string& key);
  /// A sender about to record the receipt of `message` by the open receiver on `key`: its step
  /// ID, or nullopt when none waits or it cannot read the message. Every delivery begun must be
  /// ended with EndDelivery.
  std::optional<int> BeginDelivery(const std::string& key, const nlohmann::json& message);
  /// Ends a delivery; `message` is set when the receipt was committed (it is handed over).
  void EndDelivery(const std::string& key, int step_id, const std::optional<std::string>& message);
  /// The message handed over to the Recv waiting on `key`, if any (taken once).
  std::optional<std::string> TakeHandedOver(const std::string& key);
  /// Closes the receiver on `key` to senders, waits for deliveries under way, releases the claim
  /// and returns a message handed over meanwhile (its receipt is committed).
  std::optional<std::string> LeaveReceiver(const std::string& key);
  /// The receiver on `key` parks (its execution unwinds; see core/parking.hpp): it stays open
  /// to senders (its Accepts must not refer to the unwound stack) until its replay claims it
  /// again or LeaveParkedReceiver. Returns instead, and releases the claim, the message handed
  /// over meanwhile (its receipt is committed: the Recv returns it rather than park).
  std::optional<std::string> ParkReceiver(const std::string& key);
  /// Releases the claim a parked Recv at `step_id` left on `key` (its replay found the step
  /// recorded, or the execution ended without reaching it), after deliveries under way.
  void LeaveParkedReceiver(const std::string& key, int step_id);
  /// True while a Recv on `key` is open to senders (parked or not).
  bool IsReceiving(const std::string& key);
  /// Number of Recv calls waiting open to senders on a thread in this process, parked ones not
  /// counted (O(receivers)).
  size_t ReceiverCount();

  /// Test seam: hooks called outside the notifier's lock. `on_receiver_open` runs when a Recv
  /// becomes visible to local senders; `before_delivery` runs when a sender has found a waiting
  /// receiver and is about to record its receipt.
  struct TestHooks {
    std::function<void(const std::string& key, int step_id)> on_receiver_open;
    std::function<void(const std::string& key, int step_id)> before_delivery;
  };
  /// Installs hooks (tests only; set before the workflows they observe start).
  void SetTestHooks(TestHooks hooks) { hooks_ = std::move(hooks); }
  const TestHooks& Hooks() const { return hooks_; }

 private:
  struct Receiver {
    int step_id = 0;
    Accepts accepts;
    bool open = false;     ///< Visible to senders.
    bool leaving = false;  ///< Closed again: no new deliveries.
    bool parked = false;   ///< Its Recv parked: open, waiting to be claimed by its replay.
    int deliveries_in_flight = 0;
    std::optional<std::string> handed_over;
  };
  std::mutex mutex_;
  std::condition_variable deliveries_done_;
  std::unordered_multimap<std::string, Waiter*> waiters_;
  /// Under mutex_ (released while waiting): closes the receiver on `key` to senders, waits for
  /// deliveries under way, releases the claim and returns a message handed over meanwhile.
  std::optional<std::string> LeaveLocked(std::unique_lock<std::mutex>& lock,
                                         const std::string& key);

  std::unordered_map<std::string, Receiver> receivers_;
  TestHooks hooks_;
};

}  // namespace dbos::messaging
