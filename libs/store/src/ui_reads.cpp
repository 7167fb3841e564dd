#include "osprey/store/ui_reads.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <variant>

#include "osprey/base/status.hpp"

namespace osprey::store {
namespace {

// SQL text with positional parameters in the reader's dialect (`?` or `$N::bigint`).
class Sql final {
 public:
  explicit Sql(Dialect dialect) : dialect_(dialect) {}
  Sql& Text(std::string_view fragment) {
    query_.sql += fragment;
    return *this;
  }
  Sql& Int(int64_t value) {
    query_.params.emplace_back(value);
    query_.sql += dialect_ == Dialect::kPostgres ? "$" + std::to_string(query_.params.size()) + "::bigint" : "?";
    return *this;
  }
  SqlQuery Take() { return std::move(query_); }

 private:
  Dialect dialect_;
  SqlQuery query_;
};

int64_t AsInt(const SqlValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  if (const auto* d = std::get_if<double>(&value)) return static_cast<int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&value)) return std::strtoll(s->c_str(), nullptr, 10);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? 1 : 0;
  return 0;
}

double AsDouble(const SqlValue& value) {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* s = std::get_if<std::string>(&value)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

std::optional<int64_t> AsOptionalInt(const SqlValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return std::nullopt;
  return AsInt(value);
}

std::string AsText(const SqlValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  return std::string();
}

std::optional<std::string> AsOptionalText(const SqlValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return std::nullopt;
  return AsText(value);
}

bool Windowed(const SummaryWindow& window) { return window.start_time_ns || window.end_time_ns; }

void AppendWindow(Sql& sql, const SummaryWindow& window) {
  if (window.start_time_ns) sql.Text(" AND start_time >= ").Int(*window.start_time_ns);
  if (window.end_time_ns) sql.Text(" AND start_time < ").Int(*window.end_time_ns);
}

}  // namespace

absl::StatusOr<std::vector<ProjectSummary>> ReadProjectSummaries(SqlReader& db, const SummaryWindow& window) {
  Sql totals(db.dialect());
  if (Windowed(window)) {
    totals.Text(
        "SELECT project_id, COUNT(*), SUM(CASE WHEN error_count > 0 THEN 1 ELSE 0 END), SUM(token_count_prompt), "
        "SUM(token_count_completion), SUM(token_count_total), MAX(start_time), SUM(cost_total) FROM traces "
        "WHERE 1 = 1");
    AppendWindow(totals, window);
    totals.Text(" GROUP BY project_id ORDER BY project_id");
  } else {
    // The rollups of the project rows; the latest start is one probe of traces_project_start.
    totals.Text(
        "SELECT id, trace_count, error_trace_count, token_count_prompt, token_count_completion, token_count_total, "
        "(SELECT MAX(start_time) FROM traces WHERE project_id = projects.id), cost_total FROM projects "
        "WHERE trace_count > 0 ORDER BY id");
  }
  OSPREY_ASSIGN_OR_RETURN(SqlRows rows, db.RunReadQuery(totals.Take()));

  std::vector<ProjectSummary> summaries;
  summaries.reserve(rows.rows.size());
  for (const auto& row : rows.rows) {
    ProjectSummary s;
    s.project_id = AsInt(row[0]);
    s.trace_count = AsInt(row[1]);
    s.error_trace_count = AsInt(row[2]);
    s.token_count_prompt = AsInt(row[3]);
    s.token_count_completion = AsInt(row[4]);
    s.token_count_total = AsInt(row[5]);
    s.last_trace_start_ns = AsOptionalInt(row[6]);
    s.cost_total = AsDouble(row[7]);
    summaries.push_back(s);
  }

  // Nearest rank: the ceil(p * n)-th smallest latency, 1-based, read from whichever end of the project's
  // latency index (project_id, end_time - start_time, id) is nearer, so p99 walks 1% of the traces
  // instead of 99%. The percentiles of up to kProjectsPerStatement projects are one statement of scalar
  // subqueries: one round trip, where a statement per percentile cost two per project (each a
  // transaction of its own on Postgres).
  constexpr size_t kProjectsPerStatement = 50;
  for (size_t first = 0; first < summaries.size(); first += kProjectsPerStatement) {
    const size_t last = std::min(summaries.size(), first + kProjectsPerStatement);
    Sql sql(db.dialect());
    sql.Text("SELECT ");
    for (size_t i = first; i < last; ++i) {
      for (int64_t percent : {50, 99}) {
        const int64_t n = summaries[i].trace_count;
        const int64_t rank = std::max<int64_t>(1, (percent * n + 99) / 100);
        const bool from_top = n - rank < rank - 1;
        if (i > first || percent != 50) sql.Text(", ");
        sql.Text("(SELECT end_time - start_time FROM traces WHERE project_id = ").Int(summaries[i].project_id);
        AppendWindow(sql, window);
        sql.Text(from_top ? " ORDER BY end_time - start_time DESC LIMIT 1 OFFSET "
                          : " ORDER BY end_time - start_time LIMIT 1 OFFSET ")
            .Int(from_top ? n - rank : rank - 1)
            .Text(")");
      }
    }
    OSPREY_ASSIGN_OR_RETURN(SqlRows r, db.RunReadQuery(sql.Take()));
    if (r.rows.empty()) continue;
    for (size_t i = first; i < last; ++i) {
      summaries[i].latency_p50_ns = AsOptionalInt(r.rows[0][2 * (i - first)]);
      summaries[i].latency_p99_ns = AsOptionalInt(r.rows[0][2 * (i - first) + 1]);
    }
  }
  return summaries;
}

absl::StatusOr<std::vector<ProjectRollup>> ReadProjectRollups(SqlReader& db) {
  SqlQuery query;
  query.sql =
      "SELECT id, name, description, trace_count, span_count, error_trace_count, token_count_prompt, "
      "token_count_completion, token_count_total, cost_total FROM projects ORDER BY id";
  query.max_rows = std::numeric_limits<int64_t>::max();
  OSPREY_ASSIGN_OR_RETURN(SqlRows rows, db.RunReadQuery(query));
  std::vector<ProjectRollup> rollups;
  rollups.reserve(rows.rows.size());
  for (const auto& row : rows.rows) {
    ProjectRollup r;
    r.project_id = AsInt(row[0]);
    r.name = AsText(row[1]);
    r.description = AsOptionalText(row[2]);
    r.trace_count = AsInt(row[3]);
    r.span_count = AsInt(row[4]);
    r.error_trace_count = AsInt(row[5]);
    r.token_count_prompt = AsInt(row[6]);
    r.token_count_completion = AsInt(row[7]);
    r.token_count_total = AsInt(row[8]);
    r.cost_total = AsDouble(row[9]);
    rollups.push_back(std::move(r));
  }
  return rollups;
}

absl::StatusOr<OutlinePage> ReadTraceOutline(SqlReader& db, int64_t trace_rowid,
                                             const std::optional<OutlineCursor>& after, int limit) {
  if (limit < 1) {
    return base::Permanent(absl::StatusCode::kInvalidArgument,
                           "limit must be at least 1, got " + std::to_string(limit));
  }
  Sql sql(db.dialect());
  sql.Text(
         "SELECT id, span_id, parent_id, name, span_kind, status_code, start_time, end_time, llm_token_count_total "
         "FROM spans WHERE trace_rowid = ")
      .Int(trace_rowid);
  if (after) {
    sql.Text(" AND (start_time > ").Int(after->start_time_ns);
    sql.Text(" OR (start_time = ").Int(after->start_time_ns).Text(" AND id > ").Int(after->id).Text("))");
  }
  sql.Text(" ORDER BY start_time, id LIMIT ").Int(static_cast<int64_t>(limit) + 1);
  SqlQuery query = sql.Take();
  query.max_rows = static_cast<int64_t>(limit) + 1;
  OSPREY_ASSIGN_OR_RETURN(SqlRows rows, db.RunReadQuery(query));

  OutlinePage page;
  for (const auto& row : rows.rows) {
    OutlineSpan s;
    s.id = AsInt(row[0]);
    s.span_id = AsText(row[1]);
    s.parent_id = AsText(row[2]);
    s.name = AsText(row[3]);
    s.span_kind = AsText(row[4]);
    s.status_code = AsText(row[5]);
    s.start_time_ns = AsInt(row[6]);
    s.end_time_ns = AsInt(row[7]);
    s.llm_token_count_total = AsInt(row[8]);
    if (static_cast<int>(page.items.size()) == limit) {
      const OutlineSpan& last = page.items.back();
      page.next = OutlineCursor{last.start_time_ns, last.id};
      break;
    }
    page.items.push_back(std::move(s));
  }
  return page;
}

}  // namespace osprey::store
