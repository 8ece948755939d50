// Durable sleep, messages and events. Inside a workflow each of these is checkpointed, so a
// workflow that crashes while sleeping or waiting resumes the same wait after recovery: a sleep
// wakes at its original time, a Recv or GetEvent times out at its original deadline, and a message
// is delivered exactly once.
//
// Text arguments (IDs, topics, keys) must be UTF-8 without NUL bytes and at most 1,000 bytes long,
// and text inside values must be UTF-8: anything else throws InvalidOption before anything is
// written, on every backend. Durations are limited to [0, 10 years]: milliseconds::max() waits
// "forever" (10 years), a negative duration does not wait.
#pragma once

#include <chrono>
#include <string>
#include <type_traits>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/serialization.hpp"

namespace dbos {

namespace detail {
std::chrono::milliseconds SleepErased(DBOSContext& ctx, std::chrono::milliseconds duration);
void SendErased(DBOSContext& ctx, const std::string& destination_id, const nlohmann::json& message,
                const std::string& topic);
/// Why `value` cannot be converted to R ("" when it can): Recv asks before it consumes a message.
template <typename R>
std::string WhyNotConvertible(const nlohmann::json& value) {
  if constexpr (std::is_same_v<R, nlohmann::json>) {
    (void)value;
    return "";
  } else {
    try {
      (void)value.template get<R>();
      return "";
    } catch (const std::exception& e) {  // nlohmann's errors, and what a from_json throws
      const std::string why = e.what();
      return why.empty() ? std::string("the conversion failed without saying why") : why;
    }
  }
}
using ConversionCheck = std::string (*)(const nlohmann::json&);
nlohmann::json RecvErased(DBOSContext& ctx, const std::string& topic,
                          std::chrono::milliseconds timeout, ConversionCheck check);
void SetEventErased(DBOSContext& ctx, const std::string& key, const nlohmann::json& value);
nlohmann::json GetEventErased(DBOSContext& ctx, const std::string& workflow_id,
                              const std::string& key, std::chrono::milliseconds timeout);
}  // namespace detail

/// Sleeps durably: the wake-up time is recorded first, so after a crash the workflow sleeps only
/// the remaining time. Returns the time slept by this execution. Workflow only (StepExecution
/// elsewhere); a cancellation wakes it at once (WorkflowCancelled).
inline std::chrono::milliseconds Sleep(DBOSContext& ctx, std::chrono::milliseconds duration) {
  return detail::SleepErased(ctx, duration);
}

/// Sends `message` to workflow `destination_id` on `topic` ("" means no topic). From a workflow
/// the message is sent exactly once (written with the step's checkpoint). Throws
/// NonExistentWorkflow when the destination does not exist; StepExecution inside a step.
template <typename T>
void Send(DBOSContext& ctx, const std::string& destination_id, const T& message,
          const std::string& topic = "") {
  static_assert(Serializable<T>, "dbos::Send: the message type must be serializable to JSON");
  detail::SendErased(ctx, destination_id, detail::EncodeAs(message, "Send's message"), topic);
}

/// Receives the oldest unconsumed message sent to this workflow on `topic`, waiting up to
/// `timeout` (a durable deadline). Throws Timeout when none arrives, ConflictingID when another
/// Recv on the same topic is already waiting, StepExecution outside a workflow or inside a step,
/// WorkflowUnexpectedType when the oldest message is not an R, InvalidOption when it was written
/// in a serialization this library cannot read; such a message is not consumed (it stays for a
/// Recv that can read it), and the error is recorded as this step's outcome, so a replay throws
/// it again.
template <typename R>
R Recv(DBOSContext& ctx, const std::string& topic, std::chrono::milliseconds timeout) {
  static_assert(Serializable<R>, "dbos::Recv: the message type must be serializable to JSON");
  return detail::DecodeAs<R>(detail::RecvErased(ctx, topic, timeout, &detail::WhyNotConvertible<R>),
                             detail::WorkflowIDOrEmpty(ctx));
}

/// Publishes `value` under `key` for this workflow (the latest value wins; history is kept).
/// Allowed inside workflows and their steps.
template <typename T>
void SetEvent(DBOSContext& ctx, const std::string& key, const T& value) {
  static_assert(Serializable<T>, "dbos::SetEvent: the value type must be serializable to JSON");
  detail::SetEventErased(ctx, key, detail::EncodeAs(value, "SetEvent's value"));
}

/// Reads event `key` of workflow `workflow_id`, waiting up to `timeout` for it to be set. Works
/// inside and outside workflows (inside, the value read is checkpointed and the deadline is
/// durable). Throws Timeout when it is not set in time.
template <typename R>
R GetEvent(DBOSContext& ctx, const std::string& workflow_id, const std::string& key,
           std::chrono::milliseconds timeout) {
  static_assert(Serializable<R>, "dbos::GetEvent: the value type must be serializable to JSON");
  return detail::DecodeAs<R>(detail::GetEventErased(ctx, workflow_id, key, timeout), workflow_id);
}

}  // namespace dbos
