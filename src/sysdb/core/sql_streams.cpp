// WriteStream and ReadStream, written once for both dialects (see sql_streams.hpp). A write reads
// the probe row its script returns (written, closed, workflow, the step at the checkpoint's ID)
// and classifies it in the order every checkpointed write does: the step recorded first (a
// replay, or this call's own in-doubt commit found by a retry), then the workflow missing or
// CANCELLED, then the stream closed.
#include "sysdb/core/sql_streams.hpp"

#include <optional>
#include <stdexcept>
#include <utility>

#include "dbos/errors.hpp"
#include "sysdb/core/operations.hpp"
#include "sysdb/core/outcomes.hpp"

namespace dbos::sysdb::core {
namespace {

// A write that lost a race for its step with a concurrent writer runs again; this many passes,
// then it gives up.
constexpr int kWritePasses = 5;
// A write that lost the race for its offset (PostgreSQL: another writer of the stream committed
// the same max + 1 first) runs again with the new max. Each loss is another writer's progress,
// so many threads of one step appending at once lose many times; the bound only stops a loop.
constexpr int kOffsetPasses = 1000;

template <typename T, typename Attempt>
T Run(Backend& backend, const SystemDatabase& owner, const Operation& operation,
      const std::string& workflow_id, Attempt&& attempt) {
  std::optional<T> result;
  backend.Execute(operation, workflow_id, owner,
                  [&](Session& session, bool retry) { result.emplace(attempt(session, retry)); });
  return std::move(*result);
}

[[noreturn]] void ThrowWriteRace(const StreamWrite& write) {
  throw DBOSError(ErrorCode::ConflictingID,
                  "could not append to stream '" + write.key + "' of workflow " +
                      write.workflow_uuid +
                      ": other writers kept taking the same offset or step; another executor may "
                      "be running this workflow",
                  write.workflow_uuid);
}

}  // namespace

StreamWriteResult WriteStreamOn(Backend& backend, const Statements& statements,
                                const SystemDatabase& owner, const StreamWrite& write) {
  Params params;
  params.Text(write.workflow_uuid)
      .Text(write.key)
      .Text(write.value)
      .Bool(write.checkpoint.has_value());
  if (write.checkpoint) {
    AddCheckpoint(params, *write.checkpoint);
  } else {
    params.Nulls(9);
  }
  params.Int(write.function_id);
  const int function_id = write.checkpoint ? write.checkpoint->function_id : 0;
  const Script& script = statements.write_stream;
  const StreamWriteResult result = Run<StreamWriteResult>(
      backend, owner, op::kWriteStream, write.workflow_uuid, [&](Session& s, bool retry) {
        int step_races = 0;
        int offset_races = 0;
        for (;;) {
          Rows rows;
          try {
            rows = s.Run(script, params);
          } catch (const ConstraintViolation& e) {
            // Another writer took this offset between our read of the last one and our insert.
            if (e.GetKind() != ConstraintViolation::Kind::kUnique) throw;
            if (++offset_races >= kOffsetPasses) ThrowWriteRace(write);
            continue;
          }
          if (rows.Empty()) throw std::logic_error("statement write_stream returned no row");
          const Rows::Row r = rows[0];
          StreamWriteResult out;
          if (r.Bool(0)) return out;  // written
          StepProbe probe;
          probe.workflow_exists = r.Bool(2);
          probe.cancelled = probe.workflow_exists && r.Text(3) == "CANCELLED";
          if (!r.IsNull(4)) probe.step = ReadStepColumns(r, 4, function_id);
          if (retry && probe.step && write.checkpoint && SameStep(*probe.step, *write.checkpoint)) {
            return out;  // our own in-doubt commit
          }
          if (auto blocked = Blocked(std::move(probe))) {
            out.step = std::move(*blocked);
            return out;
          }
          if (r.Bool(1)) {
            out.stream_closed = true;
            return out;
          }
          // The step was free and the workflow live, yet nothing was written: a concurrent
          // writer of the same step committed during the statement. Look again.
          if (++step_races >= kWritePasses) ThrowWriteRace(write);
        }
      });
  if (result.step.kind == StepWriteResult::Kind::Inserted && !result.stream_closed) {
    backend.Announce(kStreamsChannel, write.workflow_uuid + "::" + write.key);
  }
  return result;
}

StreamChunk ReadStreamOn(Backend& backend, const Statements& statements,
                         const SystemDatabase& owner, const std::string& workflow_uuid,
                         const std::string& key, int64_t from_offset, int limit) {
  Params params;
  params.Text(workflow_uuid).Text(key).Int(from_offset).Int(limit);
  return Run<StreamChunk>(backend, owner, op::kReadStream, workflow_uuid, [&](Session& s, bool) {
    const Rows rows = s.Run(statements.read_stream, params);
    StreamChunk chunk;
    if (rows.Empty()) return chunk;  // no such workflow
    chunk.status = rows[0].Text(0);
    for (size_t i = 0; i < rows.Size(); ++i) {
      const Rows::Row r = rows[i];
      if (r.IsNull(1)) continue;
      chunk.entries.push_back(StreamEntry{r.Int64(1), StoredValue{r.Text(2), r.OptText(3)}});
    }
    return chunk;
  });
}

}  // namespace dbos::sysdb::core
