// Notifier implementation; see notifier.hpp.
#include "messaging/notifier.hpp"

#include <utility>

#include "sysdb/system_database.hpp"

namespace dbos::messaging {

std::string MessageKey(const std::string& workflow_id, const std::string& stored_topic) {
  return "msg:" + workflow_id + "::" + stored_topic;
}

std::string EventKey(const std::string& workflow_id, const std::string& key) {
  return "evt:" + workflow_id + "::" + key;
}

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
  } else {
    NotifyAll();
  }
}

bool Notifier::ClaimReceiver(const std::string& key, int step_id) {
  std::lock_guard lock(mutex_);
  return receivers_.emplace(key, Receiver{step_id, std::nullopt}).second;
}

std::optional<int> Notifier::WaitingReceiver(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = receivers_.find(key);
  if (it == receivers_.end()) return std::nullopt;
  return it->second.step_id;
}

void Notifier::HandOver(const std::string& key, int step_id, const std::string& message) {
  std::lock_guard lock(mutex_);
  auto it = receivers_.find(key);
  if (it != receivers_.end() && it->second.step_id == step_id) it->second.handed_over = message;
}

std::optional<std::string> Notifier::TakeHandedOver(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = receivers_.find(key);
  if (it == receivers_.end()) return std::nullopt;
  return std::exchange(it->second.handed_over, std::nullopt);
}

void Notifier::ReleaseReceiver(const std::string& key) {
  std::lock_guard lock(mutex_);
  receivers_.erase(key);
}

}  // namespace dbos::messaging
