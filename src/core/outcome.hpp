// The in-process outcome of a workflow execution: what an in-memory handle waits on. Completed
// once with the output, the recorded error, an error saying the outcome could not be recorded, or
// a note that the execution stopped without a result (shutdown, or another executor owns it), in
// which case waiters fall back to the database.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "serialization/codec.hpp"

namespace dbos::detail {

class WorkflowOutcome {
 public:
  /// Unrecorded: the execution ended but its outcome could not be recorded (Error() says why);
  /// the row stays PENDING for recovery, so waiters get that error without recording it.
  enum class Kind { Running, Success, Error, Unrecorded, NoResultHere };

  /// Completes the outcome; later calls are ignored.
  void Complete(Kind kind, nlohmann::json output = nullptr,
                std::optional<serialization::ErrorRecord> error = std::nullopt) {
    {
      std::lock_guard lock(mutex_);
      if (kind_ != Kind::Running) return;
      kind_ = kind;
      output_ = std::move(output);
      error_ = std::move(error);
    }
    done_.notify_all();
  }

  /// Blocks until completed; returns the kind.
  Kind Wait() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return kind_ != Kind::Running; });
    return kind_;
  }

  /// Blocks up to `timeout`; returns the kind (Running when still running).
  Kind WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    done_.wait_for(lock, timeout, [&] { return kind_ != Kind::Running; });
    return kind_;
  }

  const nlohmann::json& Output() const { return output_; }
  const std::optional<serialization::ErrorRecord>& Error() const { return error_; }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  Kind kind_ = Kind::Running;
  nlohmann::json output_;
  std::optional<serialization::ErrorRecord> error_;
};

}  // namespace dbos::detail
