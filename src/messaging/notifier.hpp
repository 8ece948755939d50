// Routes wake-ups to waiters by key: "msg:<workflow>::<topic>" for messages and
// "evt:<workflow>::<key>" for events. Fed by this process's own writes (signalled right after
// commit) and, on PostgreSQL, by LISTEN/NOTIFY for writes made by other processes. Also enforces
// one receiver per (workflow, topic).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "messaging/waiter.hpp"

namespace dbos::messaging {

/// Key of the messages of `workflow_id` on `stored_topic` (already mapped from "").
std::string MessageKey(const std::string& workflow_id, const std::string& stored_topic);
/// Key of event `key` of `workflow_id`.
std::string EventKey(const std::string& workflow_id, const std::string& key);

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
  /// Wakes every waiter (after a lost listener connection: anything may have happened).
  void NotifyAll();
  /// Delivers a PostgreSQL notification.
  void OnDatabaseNotification(const std::string& channel, const std::string& payload);

  /// Claims the right to receive on `key` for the Recv at step `step_id`; false when another
  /// receiver holds it. A sender in this process may then record that step directly.
  bool ClaimReceiver(const std::string& key, int step_id);
  void ReleaseReceiver(const std::string& key);
  /// The step ID of the Recv waiting on `key` in this process, if any.
  std::optional<int> WaitingReceiver(const std::string& key);
  /// Hands `message` to the Recv at `step_id` on `key`, whose receipt the sender has committed.
  void HandOver(const std::string& key, int step_id, const std::string& message);
  /// The message handed over to the Recv waiting on `key`, if any (taken once).
  std::optional<std::string> TakeHandedOver(const std::string& key);

 private:
  struct Receiver {
    int step_id = 0;
    std::optional<std::string> handed_over;
  };
  std::mutex mutex_;
  std::unordered_multimap<std::string, Waiter*> waiters_;
  std::unordered_map<std::string, Receiver> receivers_;
};

}  // namespace dbos::messaging
