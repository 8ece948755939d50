// The stream reader behind dbos::ReadStream, written against what a DBOSContext and a Client
// both have (the system database, a Notifier fed by the database listener, the polling
// intervals), so that either is a thin call.
//
// A reader reads pages of the stream and the writer's status in one query. It stops at the close
// marker; when the writer is no longer active it reads once more (values committed just before
// the end) and reports closed. Otherwise it sleeps until a write or the writer's end wakes it:
// in-process through the Notifier, from other processes by NOTIFY on dbos_streams_channel
// (PostgreSQL); a re-read after a quiet interval (doubling up to a cap) is the safety net.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/notifier.hpp"
#include "core/waiter.hpp"
#include "sysdb/system_database.hpp"

namespace dbos::messaging {

/// What a reader reads with.
struct StreamReaderEnv {
  sysdb::SystemDatabase& db;
  Notifier& notifier;
  /// First re-read without a wake-up, and its cap (each quiet re-read doubles the interval).
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds poll_cap{5000};
  /// The waiter to block on (a workflow's, so that cancellation and shutdown interrupt it); a
  /// reader's own when null.
  Waiter* waiter = nullptr;
  /// Called (and expected to throw) when `waiter` is interrupted; without it the read throws
  /// DBOSError(Initialization) saying it was interrupted.
  std::function<void()> on_interrupted;
  /// True once the reader must stop waiting (DBOS shut down): a reader on its own waiter, which
  /// nothing interrupts, then throws DBOSError(Initialization) instead of waiting on. Checked
  /// before each wait; whoever makes it true wakes the reader (Notifier::NotifyAll).
  std::function<bool()> stopped;
};

/// What to read.
struct StreamReadRequest {
  std::string workflow_id;
  std::string key;
  bool snapshot = false;    ///< Return once the values available now are read.
  int64_t from_offset = 0;  ///< 0-based.
};

/// The values read (decoded JSON, in offset order) and whether the stream will not grow.
struct StreamValues {
  std::vector<nlohmann::json> values;
  bool closed = false;
};

/// Reads a stream as dbos::ReadStream describes. Throws InvalidOption for bad arguments or a value
/// in a format this library cannot read, NonExistentWorkflow when the workflow does not exist.
StreamValues ReadStreamValues(const StreamReaderEnv& env, const StreamReadRequest& request);

/// True when a stored stream value is the close marker (as stored now, or bare as older SDKs
/// stored it).
bool IsStreamClosedMarker(const sysdb::StoredValue& stored);

}  // namespace dbos::messaging
