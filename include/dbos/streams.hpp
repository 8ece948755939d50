// Streams: a workflow appends values under a key (WriteStream) and ends the stream
// (CloseStream); anyone reads them in order (ReadStream), from this process, another process or
// a Client. Values are stored as portable_json, so the readers and writers of other DBOS
// languages share them.
//
// - WriteStream works in a workflow (a checkpointed step "DBOS.writeStream": the value and its
//   checkpoint commit together, so a replay never writes it again) and inside a step (written
//   directly as part of the step, which is at-least-once: a step that runs again writes again,
//   and a write whose commit reply was lost is retried and may be stored twice).
// - CloseStream works in a workflow only (step "DBOS.closeStream"). After it, writing to the
//   stream throws InvalidOption "stream 'k' is already closed (workflow W)…".
// - ReadStream returns the values from offset 0 (or WithReadStreamFromOffset(n)) and whether
//   the stream is closed. It waits, woken by each write, until the stream is closed or its
//   writer is no longer active (not PENDING, ENQUEUED or DELAYED: finished, failed, cancelled or
//   dead-lettered); then it returns the values written until the end with closed = true. A
//   writer that crashed stays PENDING: its stream is still open, since recovery resumes the
//   writer where it stopped (recorded writes are not repeated), so a reader keeps waiting until
//   the recovered writer ends, or until CancelWorkflow ends it at once. WithReadStreamSnapshot()
//   returns the values available now without waiting (closed only when the close marker was
//   read). Inside a workflow a ReadStream is a checkpointed step ("DBOS.readStream") whose
//   result a replay returns as recorded; inside a step it is a plain read.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dbos/context.hpp"
#include "dbos/detail/erased.hpp"
#include "dbos/serialization.hpp"

namespace dbos {

namespace detail {
/// What the ReadStream options ask for.
struct ReadStreamSettings {
  bool snapshot = false;
  int64_t from_offset = 0;
};
/// The values read, decoded as JSON.
struct ErasedStreamRead {
  std::vector<nlohmann::json> values;
  bool closed = false;
};
void WriteStreamErased(DBOSContext& ctx, const std::string& key, const nlohmann::json& value);
void CloseStreamErased(DBOSContext& ctx, const std::string& key);
ErasedStreamRead ReadStreamErased(DBOSContext& ctx, const std::string& workflow_id,
                                  const std::string& key, const ReadStreamSettings& settings);
}  // namespace detail

/// An option of ReadStream.
struct ReadStreamOption {
  std::function<void(detail::ReadStreamSettings&)> apply;
};
/// Returns once the values available now are read, without waiting for more.
inline ReadStreamOption WithReadStreamSnapshot() {
  return {[](detail::ReadStreamSettings& s) { s.snapshot = true; }};
}
/// Starts at offset `offset` (0-based; the first value written is at 0). Negative offsets throw
/// InvalidOption.
inline ReadStreamOption WithReadStreamFromOffset(int64_t offset) {
  return {[offset](detail::ReadStreamSettings& s) { s.from_offset = offset; }};
}

/// What ReadStream returns: `auto [values, closed] = dbos::ReadStream<T>(...)`.
template <typename T>
struct ReadStreamResult {
  std::vector<T> values;
  /// True when the stream was closed, or its writer is no longer active (it will not grow).
  bool closed = false;
};

/// Appends `value` to this workflow's stream `key`. In a workflow or one of its steps
/// (StepExecution elsewhere); InvalidOption when the stream is closed, or for the reserved
/// value "__DBOS_STREAM_CLOSED__".
template <typename T>
void WriteStream(DBOSContext& ctx, const std::string& key, const T& value) {
  static_assert(Serializable<T>, "dbos::WriteStream: the value type must be serializable to JSON");
  detail::WriteStreamErased(ctx, key, detail::EncodeAs(value, "WriteStream's value"));
}

/// Closes this workflow's stream `key`: readers get closed = true after its last value.
/// Workflow only (StepExecution in a step or outside workflows).
inline void CloseStream(DBOSContext& ctx, const std::string& key) {
  detail::CloseStreamErased(ctx, key);
}

/// Reads stream `key` of workflow `workflow_id` (see the file comment for when it returns).
/// Throws NonExistentWorkflow for an unknown workflow, WorkflowUnexpectedType when a value is
/// not an R.
template <typename R, typename... Opts>
ReadStreamResult<R> ReadStream(DBOSContext& ctx, const std::string& workflow_id,
                               const std::string& key, Opts&&... opts) {
  static_assert(Serializable<R>, "dbos::ReadStream: the value type must be serializable to JSON");
  static_assert(
      (std::is_convertible_v<Opts, ReadStreamOption> && ...),
      "dbos::ReadStream: options must be WithReadStreamSnapshot or WithReadStreamFromOffset");
  detail::ReadStreamSettings settings;
  (ReadStreamOption(std::forward<Opts>(opts)).apply(settings), ...);
  detail::ErasedStreamRead read = detail::ReadStreamErased(ctx, workflow_id, key, settings);
  ReadStreamResult<R> out;
  out.closed = read.closed;
  out.values.reserve(read.values.size());
  for (const auto& value : read.values) {
    out.values.push_back(detail::DecodeAs<R>(value, workflow_id));
  }
  return out;
}

}  // namespace dbos
