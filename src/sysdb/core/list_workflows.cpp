// ListWorkflows' statement; see list_workflows.hpp.
#include "sysdb/core/list_workflows.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "sysdb/core/workflow_rows.hpp"

namespace dbos::sysdb::core {
namespace {

constexpr std::array<std::string_view, 7> kStatuses = {"PENDING",
                                                       "ENQUEUED",
                                                       "DELAYED",
                                                       "SUCCESS",
                                                       "ERROR",
                                                       "CANCELLED",
                                                       "MAX_RECOVERY_ATTEMPTS_EXCEEDED"};

/// Writes conditions and numbers their parameters in the dialect's spelling.
class Builder {
 public:
  Builder(const Statements::Spelling& spelling, Params& params)
      : spelling_(spelling), params_(params) {}

  /// The next parameter, holding a copy of `value`.
  std::string Text(std::string value) {
    params_.Copy(std::move(value));
    return Placeholder("text");
  }
  std::string Int(int64_t value) {
    params_.Int(value);
    return Placeholder("bigint");
  }

  /// `column` equal to one of `values` (one value: a plain comparison, which every planner
  /// matches with an index; more: a JSON array parameter, so the text does not grow with them).
  std::string OneOf(const std::string& column, const std::vector<std::string>& values) {
    if (values.size() == 1) return column + " = " + Text(values.front());
    const std::string list = Text(nlohmann::json(values).dump());
    if (spelling_.postgres) {
      return column + " IN (SELECT json_array_elements_text(" + list.substr(0, list.find(':')) +
             "::json))";
    }
    return column + " IN (SELECT value FROM json_each(" + list + "))";
  }

  /// The workflow ID starts with `prefix`. PostgreSQL: starts_with (correct under any collation);
  /// SQLite compares bytes, so a range on the primary key is exact and indexed.
  std::string StartsWith(const std::string& prefix) {
    if (spelling_.postgres) return "starts_with(ws.workflow_uuid, " + Text(prefix) + ")";
    std::string cond = "(ws.workflow_uuid >= " + Text(prefix);
    const std::string upper = PrefixUpperBound(prefix);
    if (!upper.empty()) cond += " AND ws.workflow_uuid < " + Text(upper);
    return cond + ")";
  }

 private:
  std::string Placeholder(const char* type) {
    const std::string n = std::to_string(params_.Values().size());
    return spelling_.postgres ? "$" + n + "::" + type : "?" + n;
  }

  const Statements::Spelling& spelling_;
  Params& params_;
};

std::string StatusList(const std::vector<std::string>& statuses) {
  std::vector<std::string> sorted = statuses;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (const std::string& status : sorted) {
    if (std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end()) {
      throw std::invalid_argument("not a workflow status: " + status);
    }
    out += (out.empty() ? "'" : ", '") + status + "'";
  }
  std::string cond = sorted.size() == 1 ? "ws.status = " + out : "ws.status IN (" + out + ")";
  // SQLite uses a partial index only when the query repeats its predicate: failed workflows
  // then come from idx_workflow_status_failed (status, created_at), not from a scan.
  if (std::all_of(sorted.begin(), sorted.end(), [](const std::string& status) {
        return status == "ERROR" || status == "CANCELLED" ||
               status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED";
      })) {
    cond += " AND ws.status IN ('ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')";
  }
  return cond;
}

}  // namespace

std::string PrefixUpperBound(const std::string& prefix) {
  std::string upper = prefix;
  while (!upper.empty()) {
    auto last = static_cast<unsigned char>(upper.back());
    if (last != 0xFF) {
      upper.back() = static_cast<char>(last + 1);
      return upper;
    }
    upper.pop_back();
  }
  return upper;
}

Script ListWorkflowsScript(const Statements::Spelling& spelling, const WorkflowFilter& filter,
                           Params& params) {
  Builder b(spelling, params);
  const std::string& t = spelling.table_prefix;
  std::vector<std::string> where;
  if (!filter.statuses.empty()) where.push_back(StatusList(filter.statuses));
  if (filter.created_after_ms)
    where.push_back("ws.created_at >= " + b.Int(*filter.created_after_ms));
  if (filter.created_before_ms) {
    where.push_back("ws.created_at <= " + b.Int(*filter.created_before_ms));
  }
  if (!filter.names.empty()) where.push_back(b.OneOf("ws.name", filter.names));
  if (!filter.application_versions.empty()) {
    where.push_back(b.OneOf("ws.application_version", filter.application_versions));
  }
  if (!filter.authenticated_users.empty()) {
    where.push_back(b.OneOf("ws.authenticated_user", filter.authenticated_users));
  }
  if (!filter.workflow_ids.empty())
    where.push_back(b.OneOf("ws.workflow_uuid", filter.workflow_ids));
  if (!filter.workflow_id_prefixes.empty()) {
    std::string any;
    for (const std::string& prefix : filter.workflow_id_prefixes) {
      any += (any.empty() ? "(" : " OR ") + b.StartsWith(prefix);
    }
    where.push_back(any + ")");
  }
  if (!filter.queue_names.empty()) where.push_back(b.OneOf("ws.queue_name", filter.queue_names));
  if (!filter.executor_ids.empty()) where.push_back(b.OneOf("ws.executor_id", filter.executor_ids));
  if (filter.queues_only) where.push_back("ws.queue_name IS NOT NULL");
  if (filter.application_name) {
    where.push_back("(ws.application_name = " + b.Text(*filter.application_name) +
                    " OR ws.application_name IS NULL)");
  }

  std::string sql = SelectWorkflowFromSql(t, filter.load_input, filter.load_output);
  for (size_t i = 0; i < where.size(); ++i) {
    sql += (i == 0 ? "\nWHERE " : "\n  AND ") + where[i];
  }
  // Workflows created in one millisecond tie on created_at: the ID breaks the tie, so that
  // LIMIT/OFFSET pages neither repeat nor skip rows (both planners sort only within the ties).
  sql += filter.sort_desc ? "\nORDER BY ws.created_at DESC, ws.workflow_uuid DESC"
                          : "\nORDER BY ws.created_at, ws.workflow_uuid";
  if (filter.limit) {
    sql += "\nLIMIT " + b.Int(std::max<int64_t>(*filter.limit, 0));
  } else if (filter.offset > 0 && !spelling.postgres) {
    sql += "\nLIMIT -1";  // SQLite has no OFFSET without LIMIT
  }
  if (filter.offset > 0) sql += " OFFSET " + b.Int(filter.offset);

  Script script;
  script.name = "list_workflows";
  script.access = Script::Access::kRead;
  script.parts.push_back(Part{std::move(sql), true, false});
  script.custom_plan = true;
  return script;
}

}  // namespace dbos::sysdb::core
