// Notifier implementation; see notifier.hpp.
#include "core/notifier.hpp"

#include <utility>

#include "sysdb/system_database.hpp"

namespace dbos::messaging {

std::string MessageKey(const std::string& workflow_id, const std::string& stored_topic) {
  return "msg:" + workflow_id + "::" + stored_topic;
}

std::string EventKey(const std::string& workflow_id, const std::string& key) {
  return "evt:" + workflow_id + "::" + key;
}

std::string ExecutionKey(const std::string& workflow_id) { return "run:" + workflow_id; }

std::string StreamKey(const std::string& workflow_id, const std::string& key) {
  return "stm:" + workflow_id + "::" + key;
}

std::string StreamEndKey(const std::string& workflow_id) { return "stm-end:" + workflow_id; }

Notifier::Registration::Registration(Notifier& notifier, std::string key, Waiter& waiter)
    : notifier_(notifier), key_(std::move(key)), waiter_(waiter) {
  std::lock_guard lock(notifier_.mutex_);
  notifier_.waiters_.emplace(key_, &waiter_);
}

Notifier::Registration::~Registration() {
  std::lock_guard lock(notifier_.mutex_);
  auto [begin, end] = notifier_.waiters_.equal_range(key_);
  for (auto it = begin; it != end; ++it) {
    if (it->second == &waiter_) {
      notifier_.waiters_.erase(it);
      break;
    }
  }
}

void Notifier::Notify(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = waiters_.equal_range(key);
  for (auto it = begin; it != end; ++it) it->second->Signal();
}

void Notifier::NotifyAll() {
  std::lock_guard lock(mutex_);
  for (auto& [key, waiter] : waiters_) waiter->Signal();
}

void Notifier::OnDatabaseNotification(const std::string& channel, const std::string& payload) {
  if (channel == sysdb::kNotificationsChannel) {
    Notify("msg:" + payload);
  } else if (channel == sysdb::kWorkflowEventsChannel) {
    Notify("evt:" + payload);
  } else if (channel == sysdb::kStreamsChannel) {
    // "<workflow>::<key>" (a value) or "<workflow>" (its end): the payload cannot say which when
    // IDs contain "::", so both kinds of waiter are tried; a stray wake-up costs one re-read.
    Notify("stm:" + payload);
    Notify(StreamEndKey(payload));
  } else {
    // The listener reconnected: waits on a thread re-check now; parked waits are left to the
    // wait watcher, which wakes only those with news (waking them all would replay every one).
    std::lock_guard lock(mutex_);
    for (auto& [key, waiter] : waiters_) waiter->SignalUnlessParked();
  }
}

bool Notifier::ClaimReceiver(const std::string& key, int step_id, Accepts accepts) {
  std::lock_guard lock(mutex_);
  if (auto it = receivers_.find(key); it != receivers_.end()) {
    Receiver& parked = it->second;
    if (!parked.parked || parked.step_id != step_id) return false;
    parked.parked = false;  // its replay's Recv: open already, with anything handed over
    parked.accepts = std::move(accepts);
    return true;
  }
  Receiver receiver;
  receiver.step_id = step_id;
  receiver.accepts = std::move(accepts);
  return receivers_.emplace(key, std::move(receiver)).second;
}

void Notifier::OpenReceiver(const std::string& key) {
  int step_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = receivers_.find(key);
    if (it == receivers_.end()) return;
    it->second.open = true;
    step_id = it->second.step_id;
  }
  if (hooks_.on_receiver_open) hooks_.on_receiver_open(key, step_id);
}

std::optional<int> Notifier::BeginDelivery(const std::string& key, const nlohmann::json& message) {
  int step_id = 0;
  Accepts accepts;
  {
    std::lock_guard lock(mutex_);
    auto it = receivers_.find(key);
    if (it == receivers_.end() || !it->second.open || it->second.leaving) return std::nullopt;
    ++it->second.deliveries_in_flight;
    step_id = it->second.step_id;
    accepts = it->second.accepts;
  }
  // Outside the lock: the check runs the receiver type's conversion (user code). The receiver
  // cannot leave meanwhile: it waits for deliveries in flight.
  if (accepts && !accepts(message)) {
    EndDelivery(key, step_id, std::nullopt);
    return std::nullopt;
  }
  return step_id;
}

void Notifier::EndDelivery(const std::string& key, int step_id,
                           const std::optional<std::string>& message) {
  {
    std::lock_guard lock(mutex_);
    auto it = receivers_.find(key);
    if (it == receivers_.end() || it->second.step_id != step_id) return;
    --it->second.deliveries_in_flight;
    if (message) it->second.handed_over = message;
  }
  deliveries_done_.notify_all();
}

std::optional<std::string> Notifier::TakeHandedOver(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = receivers_.find(key);
  if (it == receivers_.end()) return std::nullopt;
  return std::exchange(it->second.handed_over, std::nullopt);
}

std::optional<std::string> Notifier::LeaveLocked(std::unique_lock<std::mutex>& lock,
                                                 const std::string& key) {
  auto it = receivers_.find(key);
  if (it == receivers_.end()) return std::nullopt;
  it->second.leaving = true;
  // A delivery under way is one database write: wait for its outcome.
  deliveries_done_.wait(lock, [&] {
    it = receivers_.find(key);
    return it == receivers_.end() || it->second.deliveries_in_flight == 0;
  });
  if (it == receivers_.end()) return std::nullopt;
  auto message = std::move(it->second.handed_over);
  receivers_.erase(it);
  return message;
}

std::optional<std::string> Notifier::LeaveReceiver(const std::string& key) {
  std::unique_lock lock(mutex_);
  return LeaveLocked(lock, key);
}

std::optional<std::string> Notifier::ParkReceiver(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = receivers_.find(key);
  if (it == receivers_.end()) return std::nullopt;
  Receiver& receiver = it->second;
  if (receiver.handed_over) {
    // Only one receipt of this step can commit: deliveries still under way will not.
    auto message = std::move(receiver.handed_over);
    receivers_.erase(it);
    return message;
  }
  receiver.parked = true;  // deliveries under way end into the parked claim
  return std::nullopt;
}

void Notifier::LeaveParkedReceiver(const std::string& key, int step_id) {
  std::unique_lock lock(mutex_);
  auto it = receivers_.find(key);
  if (it == receivers_.end() || !it->second.parked || it->second.step_id != step_id) return;
  LeaveLocked(lock, key);  // what was handed over is the step its replay reads
}

bool Notifier::IsReceiving(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = receivers_.find(key);
  return it != receivers_.end() && it->second.open && !it->second.leaving;
}

size_t Notifier::ReceiverCount() {
  std::lock_guard lock(mutex_);
  size_t open = 0;
  for (const auto& [key, receiver] : receivers_) {
    if (receiver.open && !receiver.leaving && !receiver.parked) ++open;
  }
  return open;
}

}  // namespace dbos::messaging
