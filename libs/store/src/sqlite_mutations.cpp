#include "sqlite_mutations.hpp"

#include <map>
#include <set>
#include <utility>

#include "mutation_common.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "osprey/store/sql_reader.hpp"

namespace osprey::store::internal {
namespace {

using sqlite::Connection;
using sqlite::ResetGuard;
using sqlite::Statement;

using Value = std::variant<std::nullptr_t, int64_t, std::string>;

// A cached statement with `args` bound, reset when the guard goes out of scope.
class Bound final {
 public:
  static absl::StatusOr<Bound> Make(Connection& db, const std::string& sql, const std::vector<Value>& args) {
    OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db.Cached(sql));
    for (size_t i = 0; i < args.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      if (const int64_t* v = std::get_if<int64_t>(&args[i])) {
        stmt->BindInt(index, *v);
      } else if (const std::string* s = std::get_if<std::string>(&args[i])) {
        stmt->BindText(index, *s);
      } else {
        stmt->BindNull(index);
      }
    }
    return Bound(stmt);
  }
  Bound(Bound&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Bound& operator=(Bound&&) = delete;
  ~Bound() {
    if (stmt_ != nullptr) stmt_->Reset();
  }
  Statement& operator*() { return *stmt_; }
  Statement* operator->() { return stmt_; }

 private:
  explicit Bound(Statement* stmt) : stmt_(stmt) {}
  Statement* stmt_;
};

absl::Status Exec(Connection& db, const std::string& sql, const std::vector<Value>& args) {
  OSPREY_ASSIGN_OR_RETURN(Bound stmt, Bound::Make(db, sql, args));
  return stmt->Run();
}

// Runs `body` in one write transaction; rolls back when it fails.
template <typename T, typename Body>
absl::StatusOr<T> InTransaction(Connection& db, Body&& body) {
  OSPREY_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  absl::StatusOr<T> result = body();
  if (result.ok()) {
    absl::Status commit = db.Exec("COMMIT");
    if (commit.ok()) return result;
    result = commit;
  }
  (void)db.Exec("ROLLBACK");
  return result;
}

struct TraceRow {
  int64_t rowid = 0;
  int64_t project_id = 0;
  std::optional<int64_t> session_rowid;
};

absl::StatusOr<std::optional<TraceRow>> FindTrace(Connection& db, const RowKey& key) {
  const bool by_rowid = std::holds_alternative<int64_t>(key);
  OSPREY_ASSIGN_OR_RETURN(
      Bound stmt,
      Bound::Make(db,
                  by_rowid ? "SELECT id, project_id, session_rowid FROM traces WHERE id = ?"
                           : "SELECT id, project_id, session_rowid FROM traces WHERE trace_id = ?",
                  {by_rowid ? Value(std::get<int64_t>(key)) : Value(LowerHex(std::get<std::string>(key)))}));
  OSPREY_ASSIGN_OR_RETURN(bool found, stmt->Step());
  if (!found) return std::optional<TraceRow>();
  return std::optional<TraceRow>(TraceRow{stmt->Int(0), stmt->Int(1), stmt->OptionalInt(2)});
}

// Adds `sign` times the per-project totals of the traces matching `condition` to `deltas`.
absl::Status CollectTotals(Connection& db, const std::string& condition, const std::vector<Value>& args, int sign,
                           ProjectDeltas& deltas) {
  OSPREY_ASSIGN_OR_RETURN(Bound stmt, Bound::Make(db, TraceTotalsSql(condition), args));
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return absl::OkStatus();
    deltas.Add(stmt->Int(0),
               ProjectTotals{stmt->Int(1), stmt->Int(2), stmt->Int(3), stmt->Int(4), stmt->Int(5), stmt->Int(6),
                             stmt->Double(7)},
               sign);
  }
}

// The collected deltas added to the projects' rollups, in project id order.
absl::Status ApplyDeltas(Connection& db, const ProjectDeltas& deltas) {
  OSPREY_ASSIGN_OR_RETURN(Statement * update, db.Cached(AddProjectTotalsSql(/*postgres=*/false)));
  for (const auto& [project_id, d] : deltas.by_project()) {
    if (d.Zero()) continue;
    ResetGuard reset(update);
    update->BindInt(1, d.traces);
    update->BindInt(2, d.spans);
    update->BindInt(3, d.error_traces);
    update->BindInt(4, d.tokens_prompt);
    update->BindInt(5, d.tokens_completion);
    update->BindInt(6, d.tokens_total);
    update->BindDouble(7, d.cost);
    update->BindInt(8, project_id);
    OSPREY_RETURN_IF_ERROR(update->Run());
  }
  return absl::OkStatus();
}

// A session's rollups from its traces, or the session deleted when it has none left.
absl::Status RecomputeSession(Connection& db, int64_t session_rowid) {
  OSPREY_RETURN_IF_ERROR(
      Exec(db,
           "UPDATE sessions SET (trace_count, token_count_prompt, token_count_completion, token_count_total, "
           "start_time, end_time) = (SELECT count(*), coalesce(sum(token_count_prompt), 0), "
           "coalesce(sum(token_count_completion), 0), coalesce(sum(token_count_total), 0), "
           "coalesce(min(start_time), sessions.start_time), coalesce(max(end_time), sessions.end_time) "
           "FROM traces WHERE session_rowid = sessions.id) WHERE id = ?",
           {session_rowid}));
  return Exec(db, "DELETE FROM sessions WHERE id = ? AND trace_count = 0", {session_rowid});
}

// A trace's summary from its remaining spans; the trace is deleted when none is left. Returns
// whether the trace still exists.
absl::StatusOr<bool> RecomputeTrace(Connection& db, int64_t trace_rowid) {
  OSPREY_RETURN_IF_ERROR(Exec(db,
                              "UPDATE traces SET (span_count, error_count, token_count_prompt, token_count_completion, "
                              "token_count_total, cost_total, start_time, end_time) = (SELECT count(*), "
                              "coalesce(sum(status_code = 'ERROR'), 0), coalesce(sum(llm_token_count_prompt), 0), "
                              "coalesce(sum(llm_token_count_completion), 0), coalesce(sum(llm_token_count_total), 0), "
                              "coalesce(sum(cost_total), 0), "
                              "coalesce(min(start_time), traces.start_time), coalesce(max(end_time), traces.end_time) "
                              "FROM spans WHERE trace_rowid = traces.id), "
                              "(root_span_id, root_span_name) = (SELECT span_id, name FROM spans "
                              "WHERE trace_rowid = traces.id AND parent_id IS NULL ORDER BY span_id LIMIT 1) "
                              "WHERE id = ?",
                              {trace_rowid}));
  OSPREY_RETURN_IF_ERROR(Exec(db, "DELETE FROM traces WHERE id = ? AND span_count = 0", {trace_rowid}));
  return db.Changes() == 0;
}

// Every bucket is probed (migration 0006: spans are unique per trace bucket, not by span id alone).
const std::string kFindSpanById =
    "SELECT id, trace_rowid FROM spans s WHERE s.span_id = ? AND " + SpanIdProbe(Dialect::kSqlite, "s");

absl::Status DeleteSpanLocked(Connection& db, const RowKey& key) {
  const bool by_rowid = std::holds_alternative<int64_t>(key);
  int64_t span_rowid = 0;
  int64_t trace_rowid = 0;
  {
    OSPREY_ASSIGN_OR_RETURN(
        Bound find,
        Bound::Make(db, by_rowid ? "SELECT id, trace_rowid FROM spans WHERE id = ?" : kFindSpanById,
                    {by_rowid ? Value(std::get<int64_t>(key)) : Value(LowerHex(std::get<std::string>(key)))}));
    OSPREY_ASSIGN_OR_RETURN(bool found, find->Step());
    if (!found) return NotFound("span", key);
    span_rowid = find->Int(0);
    trace_rowid = find->Int(1);
  }
  OSPREY_ASSIGN_OR_RETURN(std::optional<TraceRow> trace, FindTrace(db, RowKey(trace_rowid)));
  ProjectDeltas deltas;
  OSPREY_RETURN_IF_ERROR(CollectTotals(db, "id = ?", {trace_rowid}, -1, deltas));
  OSPREY_RETURN_IF_ERROR(Exec(db, "DELETE FROM spans WHERE id = ?", {span_rowid}));
  OSPREY_RETURN_IF_ERROR(RecomputeTrace(db, trace_rowid).status());
  OSPREY_RETURN_IF_ERROR(CollectTotals(db, "id = ?", {trace_rowid}, +1, deltas));
  if (trace && trace->session_rowid) OSPREY_RETURN_IF_ERROR(RecomputeSession(db, *trace->session_rowid));
  return ApplyDeltas(db, deltas);
}

absl::Status DeleteTraceLocked(Connection& db, const RowKey& key) {
  OSPREY_ASSIGN_OR_RETURN(std::optional<TraceRow> trace, FindTrace(db, key));
  if (!trace) return NotFound("trace", key);
  ProjectDeltas deltas;
  OSPREY_RETURN_IF_ERROR(CollectTotals(db, "id = ?", {trace->rowid}, -1, deltas));
  // Spans (and whatever references them) go with the trace through ON DELETE CASCADE.
  OSPREY_RETURN_IF_ERROR(Exec(db, "DELETE FROM traces WHERE id = ?", {trace->rowid}));
  if (trace->session_rowid) OSPREY_RETURN_IF_ERROR(RecomputeSession(db, *trace->session_rowid));
  return ApplyDeltas(db, deltas);
}

}  // namespace

absl::Status SqliteUpdateProjectDescription(Connection& db, int64_t id, const std::optional<std::string>& description) {
  return InTransaction<bool>(
             db,
             [&]() -> absl::StatusOr<bool> {
               OSPREY_RETURN_IF_ERROR(Exec(db, "UPDATE projects SET description = ?, updated_at = ? WHERE id = ?",
                                           {description ? Value(*description) : Value(nullptr),
                                            static_cast<int64_t>(base::NowUnixNanos()), id}));
               if (db.Changes() == 0) return ProjectNotFound(id);
               return true;
             })
      .status();
}

absl::Status SqliteRenameProject(Connection& db, int64_t id, const std::string& name) {
  if (name.empty()) return base::Permanent(absl::StatusCode::kInvalidArgument, "project name must not be empty");
  return InTransaction<bool>(
             db,
             [&]() -> absl::StatusOr<bool> {
               OSPREY_ASSIGN_OR_RETURN(Bound find, Bound::Make(db, "SELECT name FROM projects WHERE id = ?", {id}));
               OSPREY_ASSIGN_OR_RETURN(bool found, find->Step());
               if (!found) return ProjectNotFound(id);
               const std::string current = find->Text(0);
               if (current == name) return true;
               if (current == "default") return DefaultProjectUnrenamable();
               OSPREY_ASSIGN_OR_RETURN(Bound taken, Bound::Make(db, "SELECT 1 FROM projects WHERE name = ?", {name}));
               OSPREY_ASSIGN_OR_RETURN(bool exists, taken->Step());
               if (exists) {
                 return base::Permanent(absl::StatusCode::kAlreadyExists, "project \"" + name + "\" already exists");
               }
               OSPREY_RETURN_IF_ERROR(Exec(db, "UPDATE projects SET name = ?, updated_at = ? WHERE id = ?",
                                           {Value(name), static_cast<int64_t>(base::NowUnixNanos()), id}));
               return true;
             })
      .status();
}

absl::Status SqliteDeleteProject(Connection& db, int64_t id) {
  return InTransaction<bool>(
             db,
             [&]() -> absl::StatusOr<bool> {
               OSPREY_ASSIGN_OR_RETURN(Bound find, Bound::Make(db, "SELECT name FROM projects WHERE id = ?", {id}));
               OSPREY_ASSIGN_OR_RETURN(bool found, find->Step());
               if (!found) return ProjectNotFound(id);
               if (find->Text(0) == "default") return DefaultProjectUndeletable();
               // Sessions of other projects that hold traces of this one (after a
               // partial transfer) lose those traces: their rollups follow.
               std::vector<int64_t> foreign_sessions;
               {
                 OSPREY_ASSIGN_OR_RETURN(Bound foreign,
                                         Bound::Make(db,
                                                     "SELECT DISTINCT t.session_rowid FROM traces t JOIN sessions s "
                                                     "ON s.id = t.session_rowid WHERE t.project_id = ?1 AND "
                                                     "s.project_id <> ?1",
                                                     {id}));
                 while (true) {
                   OSPREY_ASSIGN_OR_RETURN(bool row, foreign->Step());
                   if (!row) break;
                   foreign_sessions.push_back(foreign->Int(0));
                 }
               }
               // Traces of other projects (moved out of a session that stayed here) go with this
               // project's sessions: their projects lose them.
               ProjectDeltas deltas;
               OSPREY_RETURN_IF_ERROR(CollectTotals(
                   db, "project_id <> ?1 AND session_rowid IN (SELECT id FROM sessions WHERE project_id = ?1)", {id},
                   -1, deltas));
               // Sessions, traces, spans and their dependents follow by ON DELETE CASCADE.
               OSPREY_RETURN_IF_ERROR(Exec(db, "DELETE FROM projects WHERE id = ?", {id}));
               for (int64_t session : foreign_sessions) {
                 OSPREY_RETURN_IF_ERROR(RecomputeSession(db, session));
               }
               OSPREY_RETURN_IF_ERROR(ApplyDeltas(db, deltas));
               return true;
             })
      .status();
}

absl::StatusOr<std::vector<std::string>> SqliteStoredSpanIds(Connection& db, const std::vector<std::string>& span_ids) {
  std::vector<std::string> stored;
  for (const std::string& span_id : span_ids) {
    OSPREY_ASSIGN_OR_RETURN(Bound find, Bound::Make(db, kFindSpanById, {LowerHex(span_id)}));
    OSPREY_ASSIGN_OR_RETURN(bool found, find->Step());
    if (found) stored.push_back(LowerHex(span_id));
  }
  return stored;
}

absl::Status SqliteDeleteSpan(Connection& db, const RowKey& span) {
  return InTransaction<bool>(db,
                             [&]() -> absl::StatusOr<bool> {
                               OSPREY_RETURN_IF_ERROR(DeleteSpanLocked(db, span));
                               return true;
                             })
      .status();
}

absl::Status SqliteDeleteTrace(Connection& db, const RowKey& trace) {
  return InTransaction<bool>(db,
                             [&]() -> absl::StatusOr<bool> {
                               OSPREY_RETURN_IF_ERROR(DeleteTraceLocked(db, trace));
                               return true;
                             })
      .status();
}

absl::StatusOr<int64_t> SqliteDeleteSessions(Connection& db, const std::vector<RowKey>& sessions) {
  return InTransaction<int64_t>(db, [&]() -> absl::StatusOr<int64_t> {
    int64_t deleted = 0;
    ProjectDeltas deltas;
    for (const RowKey& key : sessions) {
      // Traces and spans of the session follow by ON DELETE CASCADE.
      if (const int64_t* rowid = std::get_if<int64_t>(&key)) {
        OSPREY_RETURN_IF_ERROR(CollectTotals(db, "session_rowid = ?", {*rowid}, -1, deltas));
        OSPREY_RETURN_IF_ERROR(Exec(db, "DELETE FROM sessions WHERE id = ?", {*rowid}));
      } else {
        const std::string& session_id = std::get<std::string>(key);
        OSPREY_RETURN_IF_ERROR(CollectTotals(db, "session_rowid = (SELECT id FROM sessions WHERE session_id = ?)",
                                             {session_id}, -1, deltas));
        OSPREY_RETURN_IF_ERROR(Exec(db, "DELETE FROM sessions WHERE session_id = ?", {session_id}));
      }
      deleted += db.Changes();
    }
    OSPREY_RETURN_IF_ERROR(ApplyDeltas(db, deltas));
    return deleted;
  });
}

absl::StatusOr<TransferResult> SqliteTransferTraces(Connection& db, const std::vector<RowKey>& traces,
                                                    int64_t destination_project_id) {
  return InTransaction<TransferResult>(db, [&]() -> absl::StatusOr<TransferResult> {
    std::map<int64_t, TraceRow> moving;  // by row id: a trace named twice moves once
    std::set<int64_t> sources;
    for (const RowKey& key : traces) {
      OSPREY_ASSIGN_OR_RETURN(std::optional<TraceRow> trace, FindTrace(db, key));
      if (!trace) return NotFound("trace", key);
      sources.insert(trace->project_id);
      moving.emplace(trace->rowid, *trace);
    }
    if (sources.size() > 1) return SeveralSourceProjects();
    {
      OSPREY_ASSIGN_OR_RETURN(Bound find,
                              Bound::Make(db, "SELECT 1 FROM projects WHERE id = ?", {destination_project_id}));
      OSPREY_ASSIGN_OR_RETURN(bool found, find->Step());
      if (!found) return ProjectNotFound(destination_project_id);
    }
    std::set<int64_t> sessions;
    ProjectDeltas deltas;
    for (const auto& [rowid, trace] : moving) {
      OSPREY_RETURN_IF_ERROR(CollectTotals(db, "id = ?", {rowid}, -1, deltas));
      OSPREY_RETURN_IF_ERROR(
          Exec(db, "UPDATE traces SET project_id = ? WHERE id = ?", {destination_project_id, rowid}));
      OSPREY_RETURN_IF_ERROR(CollectTotals(db, "id = ?", {rowid}, +1, deltas));
      OSPREY_RETURN_IF_ERROR(
          Exec(db, "UPDATE spans SET project_id = ? WHERE trace_rowid = ?", {destination_project_id, rowid}));
      OSPREY_RETURN_IF_ERROR(Exec(db,
                                  "UPDATE projects SET last_span_at = max(coalesce(last_span_at, m), m) "
                                  "FROM (SELECT max(start_time) AS m FROM spans WHERE trace_rowid = ?) "
                                  "WHERE id = ? AND m IS NOT NULL",
                                  {rowid, destination_project_id}));
      if (trace.session_rowid) sessions.insert(*trace.session_rowid);
    }
    for (int64_t session : sessions) {
      OSPREY_RETURN_IF_ERROR(Exec(db,
                                  "UPDATE sessions SET project_id = ?1 WHERE id = ?2 AND NOT EXISTS "
                                  "(SELECT 1 FROM traces WHERE session_rowid = ?2 AND project_id <> ?1)",
                                  {destination_project_id, session}));
    }
    OSPREY_RETURN_IF_ERROR(ApplyDeltas(db, deltas));
    return TransferResult{static_cast<int64_t>(moving.size())};
  });
}

}  // namespace osprey::store::internal
