#include "postgres_mutations.hpp"

#include <map>
#include <set>
#include <string>

#include "mutation_common.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"

namespace osprey::store::internal {
namespace {

// A bigint[] parameter literal ("{1,2,3}"); bound, never spliced.
std::string Ints(const std::set<int64_t>& values) {
  std::string out = "{";
  for (int64_t value : values) {
    if (out.size() > 1) out += ',';
    out += std::to_string(value);
  }
  return out + "}";
}

// Text keys that Postgres text cannot hold (NUL) name no stored row.
bool Storable(const RowKey& key) {
  const std::string* text = std::get_if<std::string>(&key);
  return text == nullptr || text->find('\0') == std::string::npos;
}

// `SELECT <columns> FROM <table> WHERE id = $1` or `WHERE <natural> = $1`.
pqxx::result FindByKey(pqxx::work& tx, const std::string& select, const char* natural, const RowKey& key, bool lower) {
  if (const int64_t* rowid = std::get_if<int64_t>(&key)) return tx.exec_params(select + " WHERE id = $1", *rowid);
  const std::string& text = std::get<std::string>(key);
  return tx.exec_params(select + " WHERE " + natural + " = $1", lower ? LowerHex(text) : text);
}

// The session row locked, its rollups recomputed from its traces, deleted when none is left.
void RecomputeSession(pqxx::work& tx, int64_t session_rowid) {
  tx.exec_params("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", session_rowid);
  tx.exec_params(
      "UPDATE sessions s SET trace_count = a.n, token_count_prompt = a.p, token_count_completion = a.c, "
      "token_count_total = a.t, start_time = coalesce(a.lo, s.start_time), end_time = coalesce(a.hi, s.end_time) "
      "FROM (SELECT count(*) AS n, coalesce(sum(token_count_prompt), 0) AS p, "
      "coalesce(sum(token_count_completion), 0) AS c, coalesce(sum(token_count_total), 0) AS t, "
      "min(start_time) AS lo, max(end_time) AS hi FROM traces WHERE session_rowid = $1) a WHERE s.id = $1",
      session_rowid);
  tx.exec_params("DELETE FROM sessions WHERE id = $1 AND trace_count = 0", session_rowid);
}

// The (locked) trace's summary recomputed from its remaining spans; deleted when none is left.
void RecomputeTrace(pqxx::work& tx, int64_t trace_rowid) {
  tx.exec_params(
      "UPDATE traces t SET span_count = a.n, error_count = a.e, token_count_prompt = a.p, "
      "token_count_completion = a.c, token_count_total = a.t, cost_total = a.cost, "
      "start_time = coalesce(a.lo, t.start_time), "
      "end_time = coalesce(a.hi, t.end_time), root_span_id = r.span_id, root_span_name = r.name "
      "FROM (SELECT count(*) AS n, count(*) FILTER (WHERE status_code = 'ERROR') AS e, "
      "coalesce(sum(llm_token_count_prompt), 0) AS p, coalesce(sum(llm_token_count_completion), 0) AS c, "
      "coalesce(sum(llm_token_count_total), 0) AS t, coalesce(sum(cost_total), 0) AS cost, "
      "min(start_time) AS lo, max(end_time) AS hi "
      "FROM spans WHERE trace_rowid = $1) a "
      "LEFT JOIN LATERAL (SELECT span_id, name FROM spans WHERE trace_rowid = $1 AND parent_id IS NULL "
      "ORDER BY span_id LIMIT 1) r ON true WHERE t.id = $1",
      trace_rowid);
  tx.exec_params("DELETE FROM traces WHERE id = $1 AND span_count = 0", trace_rowid);
}

std::optional<int64_t> OptionalInt(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<int64_t>();
}

// Adds `sign` times the per-project totals of the traces matching `condition` to `deltas`.
template <typename... Args>
void CollectTotals(pqxx::work& tx, ProjectDeltas& deltas, int sign, const std::string& condition, Args&&... args) {
  for (const pqxx::row& row : tx.exec_params(TraceTotalsSql(condition), std::forward<Args>(args)...)) {
    deltas.Add(row[0].as<int64_t>(),
               ProjectTotals{row[1].as<int64_t>(), row[2].as<int64_t>(), row[3].as<int64_t>(), row[4].as<int64_t>(),
                             row[5].as<int64_t>(), row[6].as<int64_t>(), row[7].as<double>()},
               sign);
  }
}

// The collected deltas added to the projects' rollups, in project id order: projects are the last rows
// a mutation locks, as in the writer.
void ApplyDeltas(pqxx::work& tx, const ProjectDeltas& deltas) {
  for (const auto& [project_id, d] : deltas.by_project()) {
    if (d.Zero()) continue;
    tx.exec_params(AddProjectTotalsSql(/*postgres=*/true), d.traces, d.spans, d.error_traces, d.tokens_prompt,
                   d.tokens_completion, d.tokens_total, d.cost, project_id);
  }
}

}  // namespace

absl::Status PgUpdateProjectDescription(pqxx::work& tx, int64_t id, const std::optional<std::string>& description) {
  const int64_t now = static_cast<int64_t>(base::NowUnixNanos());
  pqxx::result updated =
      description ? tx.exec_params("UPDATE projects SET description = $1, updated_at = $2 WHERE id = $3 RETURNING 1",
                                   *description, now, id)
                  : tx.exec_params("UPDATE projects SET description = NULL, updated_at = $1 WHERE id = $2 RETURNING 1",
                                   now, id);
  if (updated.empty()) return ProjectNotFound(id);
  return absl::OkStatus();
}

absl::Status PgRenameProject(pqxx::work& tx, int64_t id, const std::string& name) {
  if (name.empty()) return base::Permanent(absl::StatusCode::kInvalidArgument, "project name must not be empty");
  if (name.find('\0') != std::string::npos) {
    return base::Permanent(absl::StatusCode::kInvalidArgument, "project name must not contain NUL");
  }
  pqxx::result project = tx.exec_params("SELECT name FROM projects WHERE id = $1 FOR UPDATE", id);
  if (project.empty()) return ProjectNotFound(id);
  const std::string current = project[0][0].as<std::string>();
  if (current == name) return absl::OkStatus();
  if (current == "default") return DefaultProjectUnrenamable();
  pqxx::result renamed = tx.exec_params(
      "UPDATE projects SET name = $1, updated_at = $2 WHERE id = $3 "
      "AND NOT EXISTS (SELECT 1 FROM projects WHERE name = $1) RETURNING 1",
      name, static_cast<int64_t>(base::NowUnixNanos()), id);
  if (renamed.empty())
    return base::Permanent(absl::StatusCode::kAlreadyExists, "project \"" + name + "\" already exists");
  return absl::OkStatus();
}

absl::Status PgDeleteProject(pqxx::work& tx, int64_t id) {
  pqxx::result project = tx.exec_params("SELECT name FROM projects WHERE id = $1", id);
  if (project.empty()) return ProjectNotFound(id);
  if (project[0][0].as<std::string>() == "default") return DefaultProjectUndeletable();
  // Lock order as the writer's: the traces that go (the project's, and those of other projects in its
  // sessions) by trace_id, then sessions by session_id, then projects.
  tx.exec_params(
      "SELECT 1 FROM traces WHERE project_id = $1 OR session_rowid IN (SELECT id FROM sessions WHERE project_id = $1) "
      "ORDER BY trace_id FOR UPDATE",
      id);
  std::set<int64_t> foreign_sessions;  // sessions of other projects holding traces of this one
  for (const pqxx::row& row :
       tx.exec_params("SELECT DISTINCT t.session_rowid FROM traces t JOIN sessions s ON s.id = t.session_rowid "
                      "WHERE t.project_id = $1 AND s.project_id <> $1",
                      id)) {
    foreign_sessions.insert(row[0].as<int64_t>());
  }
  tx.exec_params("SELECT 1 FROM sessions WHERE project_id = $1 ORDER BY session_id FOR UPDATE", id);
  // Traces of other projects (moved out of a session that stayed here) go with this project's
  // sessions: their projects lose them.
  ProjectDeltas deltas;
  CollectTotals(tx, deltas, -1, "project_id <> $1 AND session_rowid IN (SELECT id FROM sessions WHERE project_id = $1)",
                id);
  // Sessions, traces, spans and their dependents follow by ON DELETE CASCADE.
  pqxx::result deleted = tx.exec_params("DELETE FROM projects WHERE id = $1 RETURNING 1", id);
  if (deleted.empty()) return ProjectNotFound(id);
  for (int64_t session : foreign_sessions) RecomputeSession(tx, session);
  ApplyDeltas(tx, deltas);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PgStoredSpanIds(pqxx::work& tx, const std::vector<std::string>& span_ids) {
  std::vector<std::string> stored;
  for (const std::string& span_id : span_ids) {
    if (span_id.find('\0') != std::string::npos) continue;
    pqxx::result found = tx.exec_params("SELECT span_id FROM spans WHERE span_id = $1", LowerHex(span_id));
    if (!found.empty()) stored.push_back(found[0][0].as<std::string>());
  }
  return stored;
}

absl::Status PgDeleteSpan(pqxx::work& tx, const RowKey& key) {
  if (!Storable(key)) return NotFound("span", key);
  pqxx::result span = FindByKey(tx, "SELECT id, trace_rowid FROM spans", "span_id", key, /*lower=*/true);
  if (span.empty()) return NotFound("span", key);
  const int64_t span_rowid = span[0][0].as<int64_t>();
  const int64_t trace_rowid = span[0][1].as<int64_t>();
  pqxx::result trace = tx.exec_params("SELECT session_rowid FROM traces WHERE id = $1 FOR UPDATE", trace_rowid);
  // Under the trace lock: the span may have gone with a concurrent delete.
  if (trace.empty()) return NotFound("span", key);
  ProjectDeltas deltas;
  CollectTotals(tx, deltas, -1, "id = $1", trace_rowid);
  if (tx.exec_params("DELETE FROM spans WHERE id = $1 RETURNING 1", span_rowid).empty()) return NotFound("span", key);
  RecomputeTrace(tx, trace_rowid);
  CollectTotals(tx, deltas, +1, "id = $1", trace_rowid);
  if (std::optional<int64_t> session = OptionalInt(trace[0][0])) RecomputeSession(tx, *session);
  ApplyDeltas(tx, deltas);
  return absl::OkStatus();
}

absl::Status PgDeleteTrace(pqxx::work& tx, const RowKey& key) {
  if (!Storable(key)) return NotFound("trace", key);
  pqxx::result trace = FindByKey(tx, "SELECT id, session_rowid FROM traces", "trace_id", key, /*lower=*/true);
  if (trace.empty()) return NotFound("trace", key);
  const int64_t trace_rowid = trace[0][0].as<int64_t>();
  // Spans (and whatever references them) go with the trace through ON DELETE CASCADE. The deleted row
  // carries the totals its project loses (read under the delete's row lock, so no writer adds to it).
  pqxx::result deleted = tx.exec_params(
      "DELETE FROM traces WHERE id = $1 RETURNING session_rowid, project_id, 1, span_count, "
      "CASE WHEN error_count > 0 THEN 1 ELSE 0 END, token_count_prompt, token_count_completion, token_count_total, "
      "cost_total",
      trace_rowid);
  if (deleted.empty()) return NotFound("trace", key);
  const pqxx::row& row = deleted[0];
  if (std::optional<int64_t> session = OptionalInt(row[0])) RecomputeSession(tx, *session);
  ProjectDeltas deltas;
  deltas.Add(row[1].as<int64_t>(),
             ProjectTotals{row[2].as<int64_t>(), row[3].as<int64_t>(), row[4].as<int64_t>(), row[5].as<int64_t>(),
                           row[6].as<int64_t>(), row[7].as<int64_t>(), row[8].as<double>()},
             -1);
  ApplyDeltas(tx, deltas);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PgDeleteSessions(pqxx::work& tx, const std::vector<RowKey>& sessions) {
  std::set<int64_t> rowids;
  for (const RowKey& key : sessions) {
    if (!Storable(key)) continue;
    pqxx::result found = FindByKey(tx, "SELECT id FROM sessions", "session_id", key, /*lower=*/false);
    if (!found.empty()) rowids.insert(found[0][0].as<int64_t>());
  }
  if (rowids.empty()) return 0;
  const std::string ids = Ints(rowids);
  tx.exec_params("SELECT 1 FROM traces WHERE session_rowid = ANY($1::bigint[]) ORDER BY trace_id FOR UPDATE", ids);
  tx.exec_params("SELECT 1 FROM sessions WHERE id = ANY($1::bigint[]) ORDER BY session_id FOR UPDATE", ids);
  ProjectDeltas deltas;
  CollectTotals(tx, deltas, -1, "session_rowid = ANY($1::bigint[])", ids);
  // Traces and spans of the sessions follow by ON DELETE CASCADE.
  pqxx::result deleted = tx.exec_params("DELETE FROM sessions WHERE id = ANY($1::bigint[]) RETURNING 1", ids);
  ApplyDeltas(tx, deltas);
  return static_cast<int64_t>(deleted.size());
}

absl::StatusOr<TransferResult> PgTransferTraces(pqxx::work& tx, const std::vector<RowKey>& traces,
                                                int64_t destination_project_id) {
  std::set<int64_t> rowids;
  std::map<int64_t, const RowKey*> key_of;
  for (const RowKey& key : traces) {
    if (!Storable(key)) return NotFound("trace", key);
    pqxx::result found = FindByKey(tx, "SELECT id FROM traces", "trace_id", key, /*lower=*/true);
    if (found.empty()) return NotFound("trace", key);
    rowids.insert(found[0][0].as<int64_t>());
    key_of.emplace(found[0][0].as<int64_t>(), &key);
  }
  const std::string ids = Ints(rowids);
  std::set<int64_t> sources;
  std::set<int64_t> sessions;
  std::set<int64_t> locked;
  for (const pqxx::row& row : tx.exec_params(
           "SELECT id, project_id, session_rowid FROM traces WHERE id = ANY($1::bigint[]) ORDER BY trace_id FOR UPDATE",
           ids)) {
    locked.insert(row[0].as<int64_t>());
    sources.insert(row[1].as<int64_t>());
    if (std::optional<int64_t> session = OptionalInt(row[2])) sessions.insert(*session);
  }
  for (int64_t rowid : rowids) {
    if (locked.count(rowid) == 0) return NotFound("trace", *key_of.at(rowid));  // deleted meanwhile
  }
  if (sources.size() > 1) return SeveralSourceProjects();
  if (tx.exec_params("SELECT 1 FROM projects WHERE id = $1", destination_project_id).empty()) {
    return ProjectNotFound(destination_project_id);
  }
  if (!sessions.empty()) {
    tx.exec_params("SELECT 1 FROM sessions WHERE id = ANY($1::bigint[]) ORDER BY session_id FOR UPDATE",
                   Ints(sessions));
  }
  ProjectDeltas deltas;
  CollectTotals(tx, deltas, -1, "id = ANY($1::bigint[])", ids);
  tx.exec_params("UPDATE traces SET project_id = $1 WHERE id = ANY($2::bigint[])", destination_project_id, ids);
  CollectTotals(tx, deltas, +1, "id = ANY($1::bigint[])", ids);
  ApplyDeltas(tx, deltas);  // locks both projects in id order before last_span_at below
  tx.exec_params("UPDATE spans SET project_id = $1 WHERE trace_rowid = ANY($2::bigint[])", destination_project_id, ids);
  if (!sessions.empty()) {
    tx.exec_params(
        "UPDATE sessions s SET project_id = $1 WHERE s.id = ANY($2::bigint[]) AND NOT EXISTS "
        "(SELECT 1 FROM traces t WHERE t.session_rowid = s.id AND t.project_id <> $1)",
        destination_project_id, Ints(sessions));
  }
  tx.exec_params(
      "UPDATE projects p SET last_span_at = greatest(p.last_span_at, m.hi) "
      "FROM (SELECT max(start_time) AS hi FROM spans WHERE trace_rowid = ANY($2::bigint[])) m "
      "WHERE p.id = $1 AND m.hi IS NOT NULL",
      destination_project_id, ids);
  return TransferResult{static_cast<int64_t>(rowids.size())};
}

}  // namespace osprey::store::internal
