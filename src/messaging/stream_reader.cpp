// The stream reader; see stream_reader.hpp.
#include "messaging/stream_reader.hpp"

#include <algorithm>
#include <optional>

#include "core/validation.hpp"
#include "dbos/errors.hpp"
#include "serialization/codec.hpp"

namespace dbos::messaging {
namespace {

/// Rows read per query; a longer stream is read in several.
constexpr int kPageSize = 1000;

/// True while the writer may still append: it runs, waits on a queue or for its start time.
bool WriterActive(const std::string& status) {
  return status == "PENDING" || status == "ENQUEUED" || status == "DELAYED";
}

}  // namespace

bool IsStreamClosedMarker(const sysdb::StoredValue& stored) {
  if (stored.text == sysdb::kStreamClosedSentinel) return true;  // bare, as older SDKs wrote it
  if (stored.text == sysdb::kStreamClosedStored) return true;
  // Another format (another SDK's serializer): compare the decoded value.
  if (stored.serialization && *stored.serialization != sysdb::kPortableJson) {
    try {
      const nlohmann::json value =
          serialization::DecodeValue(stored.text, stored.serialization, "stream value");
      return value.is_string() &&
             value.get_ref<const std::string&>() == sysdb::kStreamClosedSentinel;
    } catch (const std::exception&) {
      return false;  // the reader reports it when it decodes the value
    }
  }
  return false;
}

StreamValues ReadStreamValues(const StreamReaderEnv& env, const StreamReadRequest& request) {
  detail::ValidateName("ReadStream's workflow ID", request.workflow_id, false);
  detail::ValidateName("ReadStream's key", request.key, true);
  if (request.from_offset < 0) {
    throw DBOSError(ErrorCode::InvalidOption,
                    "ReadStream's offset must be 0 or more (the first value is at 0), not " +
                        std::to_string(request.from_offset));
  }
  Waiter own_waiter;
  Waiter& waiter = env.waiter != nullptr ? *env.waiter : own_waiter;
  // Registered before the first read: a write committed after it wakes this reader.
  Notifier::Registration on_value(env.notifier, StreamKey(request.workflow_id, request.key),
                                  waiter);
  Notifier::Registration on_end(env.notifier, StreamEndKey(request.workflow_id), waiter);
  StreamValues out;
  int64_t offset = request.from_offset;
  bool final_read = false;
  std::chrono::milliseconds interval = env.poll_interval;
  for (;;) {
    waiter.Arm();
    const sysdb::StreamChunk chunk =
        env.db.ReadStream(request.workflow_id, request.key, offset, kPageSize);
    if (!chunk.status) {
      throw DBOSError(ErrorCode::NonExistentWorkflow,
                      "cannot read stream '" + request.key + "' of workflow " +
                          request.workflow_id + ": the workflow does not exist",
                      request.workflow_id);
    }
    size_t taken = 0;
    for (const sysdb::StreamEntry& entry : chunk.entries) {
      if (entry.offset != offset) break;  // not committed yet below this one: read again later
      if (IsStreamClosedMarker(entry.value)) {
        out.closed = true;
        return out;
      }
      out.values.push_back(
          serialization::DecodeValue(entry.value.text, entry.value.serialization, "stream value"));
      ++offset;
      ++taken;
    }
    if (taken == static_cast<size_t>(kPageSize)) continue;  // more may be there already
    if (request.snapshot) return out;
    if (final_read) {
      out.closed = true;
      return out;
    }
    if (!WriterActive(*chunk.status)) {
      // A write committed just before the end (a step still writing when the workflow was
      // cancelled, say) may have missed this snapshot: one more read.
      final_read = true;
      continue;
    }
    if (env.stopped && env.stopped()) {
      throw DBOSError(ErrorCode::Initialization,
                      "ReadStream of stream '" + request.key + "' of workflow " +
                          request.workflow_id + " stopped waiting: DBOS was shut down",
                      request.workflow_id);
    }
    if (taken > 0) interval = env.poll_interval;
    const auto wake = waiter.WaitUntil(std::chrono::steady_clock::now() + interval);
    if (wake == Waiter::Wake::Interrupted) {
      if (env.on_interrupted) env.on_interrupted();
      throw DBOSError(ErrorCode::Initialization,
                      "ReadStream of stream '" + request.key + "' of workflow " +
                          request.workflow_id + " was interrupted",
                      request.workflow_id);
    }
    if (wake == Waiter::Wake::Deadline) interval = std::min(interval * 2, env.poll_cap);
  }
}

}  // namespace dbos::messaging
