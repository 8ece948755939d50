// Notifier implementation; see notifier.hpp.
#include "messaging/notifier.hpp"

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

bool Notifier::ClaimReceiver(const std::string& key) {
  std::lock_guard lock(mutex_);
  return receivers_.insert(key).second;
}

void Notifier::ReleaseReceiver(const std::string& key) {
  std::lock_guard lock(mutex_);
  receivers_.erase(key);
}

}  // namespace dbos::messaging
