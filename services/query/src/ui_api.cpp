#include "osprey/query/ui_api.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "osprey/log/log.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/ui_assets.hpp"
#include "osprey/query/views.hpp"
#include "osprey/spanquery/compiler.hpp"
#include "osprey/store/ui_reads.hpp"
#include "rapidjson/document.h"

namespace osprey::query {
namespace {

constexpr int kMaxTraceIds = 1000;

http::Response StoreFailure(const absl::Status& status) {
  log::Warn("store read failed", {{"module", "query-ui"}, {"error", std::string(status.message())}});
  if (base::IsRetryable(status)) return http::Response::Text(503, "Service Unavailable").WithHeader("Retry-After", "1");
  return http::Response::Text(500, "Internal Server Error");
}

http::Response Rejected(Rejection&& r) { return std::move(r.response); }

std::string Param(const http::Request& request, const char* name) {
  auto it = request.path_params.find(name);
  return it == request.path_params.end() ? std::string() : it->second;
}

void Str(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void Key(JsonWriter& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void Iso(JsonWriter& w, int64_t ns) { Str(w, base::FormatIsoTime(ns < 0 ? 0 : static_cast<uint64_t>(ns))); }
// "token_count_prompt", "token_count_completion", "token_count_total" of a trace row or a span.
void TokenCounts(JsonWriter& w, int64_t prompt, int64_t completion, int64_t total) {
  Key(w, "token_count_prompt");
  w.Int64(prompt);
  Key(w, "token_count_completion");
  w.Int64(completion);
  Key(w, "token_count_total");
  w.Int64(total);
}

// A cost in US dollars, null when unknown (or zero for a sum: nothing priced).
void Cost(JsonWriter& w, std::optional<double> dollars) {
  if (dollars && *dollars > 0) {
    w.Double(*dollars);
  } else {
    w.Null();
  }
}

// "id", "name", "description" of a project.
void ProjectIdentity(JsonWriter& w, int64_t id, const std::string& name,
                     const std::optional<std::string>& description) {
  Key(w, "id");
  Str(w, EncodeGlobalId(kProjectType, id));
  Key(w, "name");
  Str(w, name);
  Key(w, "description");
  if (description) {
    Str(w, *description);
  } else {
    w.Null();
  }
}

void StrOrNull(JsonWriter& w, const std::string& s) {
  if (s.empty()) {
    w.Null();
  } else {
    Str(w, s);
  }
}

// Embeds stored JSON text (attributes, events) as a value; unreadable text becomes `fallback`.
void RawJson(JsonWriter& w, const std::string& text, rapidjson::Type fallback) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || doc.GetType() != fallback) {
    if (fallback == rapidjson::kArrayType) {
      w.StartArray();
      w.EndArray();
    } else {
      w.StartObject();
      w.EndObject();
    }
    return;
  }
  doc.Accept(w);
}

http::Response JsonReply(const rapidjson::StringBuffer& buffer) {
  return http::Response::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

// A trace row: the summary plus its root span's status and input/output previews (when arrived).
void WriteTraceRow(JsonWriter& w, const store::TraceRecord& t, const store::SpanRecord* root) {
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(kTraceType, t.id));
  Key(w, "trace_id");
  Str(w, t.trace_id);
  Key(w, "start_time");
  Iso(w, t.start_time_ns);
  Key(w, "end_time");
  Iso(w, t.end_time_ns);
  Key(w, "latency_ms");
  w.Double(static_cast<double>(t.end_time_ns - t.start_time_ns) / 1e6);
  Key(w, "span_count");
  w.Int64(t.span_count);
  Key(w, "error_count");
  w.Int64(t.error_count);
  TokenCounts(w, t.token_count_prompt, t.token_count_completion, t.token_count_total);
  Key(w, "cost_total");
  Cost(w, t.cost_total);
  Key(w, "root_span_id");
  StrOrNull(w, t.root_span_id);
  Key(w, "root_span_name");
  StrOrNull(w, t.root_span_name);
  Key(w, "status_code");
  Str(w, root != nullptr && !root->status_code.empty() ? root->status_code
                                                       : std::string(t.error_count ? "ERROR" : "UNSET"));
  Key(w, "input_preview");
  Str(w, root != nullptr ? root->input_preview : std::string());
  Key(w, "output_preview");
  Str(w, root != nullptr ? root->output_preview : std::string());
  w.EndObject();
}

// Root spans of `traces`, by span id.
absl::StatusOr<std::map<std::string, store::SpanRecord>> RootsOf(store::SpanReader& reader, int64_t project_id,
                                                                 const std::vector<store::TraceRecord>& traces) {
  store::SpanQuery query;
  query.project_id = project_id;
  for (const auto& t : traces) {
    if (!t.root_span_id.empty()) query.span_ids.push_back(t.root_span_id);
  }
  std::map<std::string, store::SpanRecord> roots;
  if (query.span_ids.empty()) return roots;
  query.limit = static_cast<int>(query.span_ids.size());
  auto page = reader.ListSpans(query);
  if (!page.ok()) return page.status();
  for (auto& span : page->items) roots.emplace(span.span_id, std::move(span));
  return roots;
}

// A sortable column of the trace list: its key expression (the same text as the index definitions
// of migrations 0001 and 0005, so the keyset walks an index) and whether the key is a float.
struct TraceSortColumn {
  const char* name;
  const char* key;
  bool real;
};

constexpr TraceSortColumn kTraceSorts[] = {
    {"start_time", "t.start_time", false},
    {"latency_ms", "(t.end_time - t.start_time)", false},
    {"token_count_total", "t.token_count_total", false},
    {"cost_total", "t.cost_total", true},
};

// SQL text whose placeholders are numbered after the `first` ones already taken (the span-query
// condition's), in the reader's dialect: `?N` (SQLite) or `$N::type` (Postgres).
class NumberedSql final {
 public:
  NumberedSql(store::Dialect dialect, store::SqlQuery head) : dialect_(dialect), query_(std::move(head)) {}
  NumberedSql& Text(std::string_view fragment) {
    query_.sql += fragment;
    return *this;
  }
  NumberedSql& Value(store::SqlValue value, const char* pg_type) {
    query_.params.push_back(std::move(value));
    const std::string n = std::to_string(query_.params.size());
    query_.sql += dialect_ == store::Dialect::kPostgres ? "$" + n + "::" + pg_type : "?" + n;
    return *this;
  }
  NumberedSql& Int(int64_t value) { return Value(value, "bigint"); }
  store::SqlQuery Take() { return std::move(query_); }

 private:
  store::Dialect dialect_;
  store::SqlQuery query_;
};

int64_t IntOf(const store::SqlValue& v) {
  return std::visit(
      [](const auto& x) -> int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          return std::strtoll(x.c_str(), nullptr, 10);
        else if constexpr (std::is_same_v<T, std::monostate>)
          return 0;
        else
          return static_cast<int64_t>(x);
      },
      v);
}

double RealOf(const store::SqlValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return static_cast<double>(IntOf(v));
}

std::string TextOf(const store::SqlValue& v) {
  const auto* s = std::get_if<std::string>(&v);
  return s != nullptr ? *s : std::string();
}

constexpr const char* kTraceRowColumns =
    "SELECT t.id, t.project_id, t.trace_id, t.start_time, t.end_time, t.root_span_id, t.root_span_name, "
    "t.span_count, t.error_count, t.token_count_prompt, t.token_count_completion, t.token_count_total, "
    "t.session_rowid, t.cost_total FROM traces t";

store::TraceRecord TraceOfRow(const std::vector<store::SqlValue>& row) {
  store::TraceRecord t;
  t.id = IntOf(row[0]);
  t.project_id = IntOf(row[1]);
  t.trace_id = TextOf(row[2]);
  t.start_time_ns = IntOf(row[3]);
  t.end_time_ns = IntOf(row[4]);
  t.root_span_id = TextOf(row[5]);
  t.root_span_name = TextOf(row[6]);
  t.span_count = IntOf(row[7]);
  t.error_count = IntOf(row[8]);
  t.token_count_prompt = IntOf(row[9]);
  t.token_count_completion = IntOf(row[10]);
  t.token_count_total = IntOf(row[11]);
  if (!std::holds_alternative<std::monostate>(row[12])) t.session_rowid = IntOf(row[12]);
  t.cost_total = RealOf(row[13]);
  return t;
}

// One keyset-paged listing of traces or spans of a project, optionally filtered by the span query
// language, in (key, id) order.
struct Listing {
  enum class Of { kTraces, kSpans };
  Of of = Of::kTraces;
  int64_t project_id = 0;
  std::optional<int64_t> start_time_ns;  // on the row's start time, inclusive
  std::optional<int64_t> end_time_ns;    // exclusive
  const TraceSortColumn* sort = &kTraceSorts[0];
  bool descending = true;
  std::optional<int64_t> cursor_id;  // row id of the first item of the page
  std::string filter;                // span query condition; empty: every row
  bool roots_only = false;           // spans: those without a parent id
  int limit = 100;
};

constexpr const char* kSpanRowColumns =
    "SELECT s.id, s.span_id, t.trace_id, s.parent_id, s.name, s.span_kind, s.status_code, s.start_time, s.end_time, "
    "s.llm_token_count_total, s.cost_total, s.input_preview, s.output_preview "
    "FROM spans s JOIN traces t ON t.id = s.trace_rowid";

struct ListedRows {
  std::vector<std::vector<store::SqlValue>> rows;  // at most `limit`; the row id first
  std::optional<int64_t> next_cursor;
};

// Runs a listing. Traces match a filter when any of their spans does; spans when they do.
// INVALID_ARGUMENT (a 422) for a filter the span query language refuses or the database cannot
// evaluate, and for a cursor naming no row of the project.
absl::StatusOr<ListedRows> RunListing(store::SqlReader& db, const Listing& q) {
  const store::Dialect dialect = db.dialect();
  store::SqlQuery condition;
  if (!q.filter.empty()) {
    auto compiled = spanquery::CompileCondition(q.filter, dialect);
    if (!compiled.ok()) return compiled.status();
    condition = std::move(*compiled);
  }
  const bool traces = q.of == Listing::Of::kTraces;
  const std::string alias = traces ? "t" : "s";
  const std::string key = traces ? q.sort->key : "s.start_time";
  const char* key_type = traces && q.sort->real ? "double precision" : "bigint";
  std::optional<store::SqlValue> cursor_key;
  if (q.cursor_id) {
    NumberedSql lookup(dialect, {});
    lookup.Text("SELECT " + key + " FROM " + (traces ? "traces t" : "spans s") + " WHERE " + alias + ".id = ")
        .Int(*q.cursor_id);
    lookup.Text(" AND " + alias + ".project_id = ").Int(q.project_id);
    OSPREY_ASSIGN_OR_RETURN(store::SqlRows found, db.RunReadQuery(lookup.Take()));
    if (found.rows.empty()) {
      return base::Permanent(absl::StatusCode::kInvalidArgument, std::string(traces ? "trace" : "span") + " cursor " +
                                                                     std::to_string(*q.cursor_id) + " does not exist");
    }
    cursor_key = found.rows[0][0];
  }

  // The condition's SQL and parameters come first; the placeholders here are numbered after them.
  std::string match = condition.sql;
  condition.sql.clear();
  NumberedSql sql(dialect, std::move(condition));
  sql.Text(traces ? kTraceRowColumns : kSpanRowColumns).Text(" WHERE " + alias + ".project_id = ").Int(q.project_id);
  if (q.start_time_ns) sql.Text(" AND " + alias + ".start_time >= ").Int(*q.start_time_ns);
  if (q.end_time_ns) sql.Text(" AND " + alias + ".start_time < ").Int(*q.end_time_ns);
  if (!traces && q.roots_only) sql.Text(" AND s.parent_id IS NULL");
  if (!match.empty()) {
    sql.Text(traces ? " AND EXISTS (SELECT 1 FROM spans s WHERE s.trace_rowid = t.id AND (" + match + "))"
                    : " AND (" + match + ")");
  }
  if (cursor_key) {
    sql.Text(" AND (" + key + ", " + alias + ".id) " + (q.descending ? "<=" : ">=") + " (")
        .Value(*cursor_key, key_type);
    sql.Text(", ").Int(*q.cursor_id).Text(")");
  }
  const std::string direction = q.descending ? " DESC" : " ASC";
  sql.Text(" ORDER BY " + key + direction + ", " + alias + ".id" + direction + " LIMIT ")
      .Int(static_cast<int64_t>(q.limit) + 1);
  store::SqlQuery query = sql.Take();
  query.max_rows = static_cast<int64_t>(q.limit) + 1;
  OSPREY_ASSIGN_OR_RETURN(store::SqlRows rows, db.RunReadQuery(query));

  ListedRows out;
  for (auto& row : rows.rows) {
    if (static_cast<int>(out.rows.size()) == q.limit) {
      out.next_cursor = IntOf(row[0]);
      break;
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

http::Response ListingFailure(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return http::Response::Text(422, std::string(status.message()));
  }
  return StoreFailure(status);
}

// The listing parameters every list route shares (window, limit, filter); `issues` collects errors.
void ParseListing(const http::Request& request, Listing& listing, std::vector<ValidationIssue>& issues) {
  listing.start_time_ns = ParseTimeParam(request, "start_time", issues);
  listing.end_time_ns = ParseTimeParam(request, "end_time", issues);
  listing.limit = ParseLimit(request, 100, 1000, issues);
  listing.filter = LastQueryValue(request, "filter").value_or("");
  if (listing.filter.find_first_not_of(" \t\r\n") == std::string::npos) listing.filter.clear();
}

// Outline cursor "<start_ns>:<row id>".
std::optional<store::OutlineCursor> ParseOutlineCursor(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  store::OutlineCursor cursor;
  auto a = std::from_chars(text.data(), text.data() + colon, cursor.start_time_ns);
  auto b = std::from_chars(text.data() + colon + 1, text.data() + text.size(), cursor.id);
  if (a.ec != std::errc() || a.ptr != text.data() + colon || b.ec != std::errc() ||
      b.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return cursor;
}

}  // namespace

Parsed<store::ProjectRecord> UiApi::ResolveProject(const http::Request& request) {
  const std::string identifier = Param(request, "project_identifier");
  absl::StatusOr<std::optional<store::ProjectRecord>> project;
  if (std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kProjectType)) {
    project = store_.GetProjectById(*id);
  } else {
    project = store_.GetProjectByName(identifier);
  }
  if (!project.ok()) return Rejection{"store", StoreFailure(project.status())};
  if (!project->has_value()) return TextRejection(404, "not_found", "Project " + identifier + " not found");
  return **project;
}

http::Response UiApi::ProjectSummaries(const http::Request& request) {
  std::vector<ValidationIssue> issues;
  store::SummaryWindow window;
  window.start_time_ns = ParseTimeParam(request, "start_time", issues);
  window.end_time_ns = ParseTimeParam(request, "end_time", issues);
  if (!issues.empty()) return Rejected(ValidationRejection(issues));

  std::vector<store::ProjectRecord> projects;
  store::ProjectQuery query;
  query.limit = 1000;
  while (true) {
    auto page = store_.ListProjects(query);
    if (!page.ok()) return StoreFailure(page.status());
    for (auto& p : page->items) projects.push_back(std::move(p));
    if (!page->next_cursor) break;
    query.cursor_id = page->next_cursor;
  }
  auto summaries = store::ReadProjectSummaries(store_, window);
  if (!summaries.ok()) return StoreFailure(summaries.status());
  std::map<int64_t, store::ProjectSummary> by_project;
  for (const auto& s : *summaries) by_project.emplace(s.project_id, s);

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartArray();
  for (const auto& p : projects) {
    store::ProjectSummary s;
    if (auto it = by_project.find(p.id); it != by_project.end()) s = it->second;
    w.StartObject();
    ProjectIdentity(w, p.id, p.name, p.description);
    Key(w, "trace_count");
    w.Int64(s.trace_count);
    Key(w, "error_trace_count");
    w.Int64(s.error_trace_count);
    Key(w, "latency_p50_ms");
    if (s.latency_p50_ns) {
      w.Double(static_cast<double>(*s.latency_p50_ns) / 1e6);
    } else {
      w.Null();
    }
    Key(w, "latency_p99_ms");
    if (s.latency_p99_ns) {
      w.Double(static_cast<double>(*s.latency_p99_ns) / 1e6);
    } else {
      w.Null();
    }
    TokenCounts(w, s.token_count_prompt, s.token_count_completion, s.token_count_total);
    Key(w, "cost_total");
    Cost(w, s.cost_total);
    Key(w, "last_activity");
    if (s.last_trace_start_ns) {
      Iso(w, *s.last_trace_start_ns);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonReply(buffer);
}

// The fields of Phoenix's GraphQL project counts (trace, span and token counts) plus error traces and cost,
// for every project, from one read of the projects' rollups: no trace is read, so the time does not grow
// with the data (ProjectSummaries, which also has latency percentiles, reads the traces).
http::Response UiApi::ProjectTotals(const http::Request&) {
  auto rollups = store::ReadProjectRollups(store_);
  if (!rollups.ok()) return StoreFailure(rollups.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartArray();
  for (const auto& r : *rollups) {
    w.StartObject();
    ProjectIdentity(w, r.project_id, r.name, r.description);
    Key(w, "trace_count");
    w.Int64(r.trace_count);
    Key(w, "span_count");
    w.Int64(r.span_count);
    Key(w, "error_trace_count");
    w.Int64(r.error_trace_count);
    TokenCounts(w, r.token_count_prompt, r.token_count_completion, r.token_count_total);
    Key(w, "cost_total");
    Cost(w, r.cost_total);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonReply(buffer);
}

http::Response UiApi::Traces(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return Rejected(std::move(*r));
  const int64_t project_id = std::get<store::ProjectRecord>(project).id;

  std::vector<ValidationIssue> issues;
  Listing query;
  query.project_id = project_id;
  ParseListing(request, query, issues);
  std::vector<std::string> sorts;
  for (const auto& column : kTraceSorts) sorts.emplace_back(column.name);
  std::string sort = ParseLiteralParam(request, "sort", sorts, "start_time", issues);
  std::string order = ParseLiteralParam(request, "order", {"asc", "desc"}, "desc", issues);
  if (!issues.empty()) return Rejected(ValidationRejection(issues));
  for (const auto& column : kTraceSorts) {
    if (sort == column.name) query.sort = &column;
  }
  query.descending = order != "asc";
  auto cursor = ParseCursor(request, kTraceType);
  if (auto* r = std::get_if<Rejection>(&cursor)) return Rejected(std::move(*r));
  query.cursor_id = std::get<std::optional<int64_t>>(cursor);

  // Either the listing, or (trace_id=...) the named traces of this project, newest first.
  store::Page<store::TraceRecord> page;
  std::vector<std::string> trace_ids = request.QueryAll("trace_id");
  if (!trace_ids.empty()) {
    if (trace_ids.size() > kMaxTraceIds) {
      return http::Response::Text(422, "at most " + std::to_string(kMaxTraceIds) + " trace_id values");
    }
    for (const auto& id : trace_ids) {
      auto trace = store_.GetTraceByTraceId(id);
      if (!trace.ok()) return StoreFailure(trace.status());
      if (trace->has_value() && (*trace)->project_id == project_id) page.items.push_back(**trace);
    }
    std::sort(page.items.begin(), page.items.end(),
              [](const auto& a, const auto& b) { return a.start_time_ns > b.start_time_ns; });
  } else {
    auto listed = RunListing(store_, query);
    if (!listed.ok()) return ListingFailure(listed.status());
    for (const auto& row : listed->rows) page.items.push_back(TraceOfRow(row));
    page.next_cursor = listed->next_cursor;
  }
  auto roots = RootsOf(store_, project_id, page.items);
  if (!roots.ok()) return StoreFailure(roots.status());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartArray();
  for (const auto& t : page.items) {
    auto it = roots->find(t.root_span_id);
    WriteTraceRow(w, t, it == roots->end() ? nullptr : &it->second);
  }
  w.EndArray();
  Key(w, "next_cursor");
  if (page.next_cursor) {
    Str(w, EncodeGlobalId(kTraceType, *page.next_cursor));
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonReply(buffer);
}

http::Response UiApi::TraceOutline(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return Rejected(std::move(*r));
  const int64_t project_id = std::get<store::ProjectRecord>(project).id;
  std::vector<ValidationIssue> issues;
  int limit = ParseLimit(request, 1000, 10000, issues);
  if (!issues.empty()) return Rejected(ValidationRejection(issues));
  std::optional<store::OutlineCursor> cursor;
  if (auto text = LastQueryValue(request, "cursor"); text && !text->empty()) {
    cursor = ParseOutlineCursor(*text);
    if (!cursor) return http::Response::Text(422, "Invalid cursor format: " + *text);
  }

  const std::string identifier = Param(request, "trace_identifier");
  absl::StatusOr<std::optional<store::TraceRecord>> trace;
  if (std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kTraceType)) {
    trace = store_.GetTraceById(*id);
  } else {
    trace = store_.GetTraceByTraceId(identifier);
  }
  if (!trace.ok()) return StoreFailure(trace.status());
  if (!trace->has_value() || (*trace)->project_id != project_id) {
    return http::Response::Text(404, "Trace " + identifier + " not found");
  }
  auto outline = store::ReadTraceOutline(store_, (*trace)->id, cursor, limit);
  if (!outline.ok()) return StoreFailure(outline.status());
  auto roots = RootsOf(store_, project_id, {**trace});
  if (!roots.ok()) return StoreFailure(roots.status());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "trace");
  auto root = roots->find((*trace)->root_span_id);
  WriteTraceRow(w, **trace, root == roots->end() ? nullptr : &root->second);
  Key(w, "data");
  w.StartArray();
  for (const auto& s : outline->items) {
    w.StartObject();
    Key(w, "span_id");
    Str(w, s.span_id);
    Key(w, "parent_id");
    StrOrNull(w, s.parent_id);
    Key(w, "name");
    Str(w, s.name);
    Key(w, "span_kind");
    Str(w, s.span_kind.empty() ? std::string("UNKNOWN") : s.span_kind);
    Key(w, "start_ns");
    w.Int64(s.start_time_ns);
    Key(w, "end_ns");
    w.Int64(s.end_time_ns);
    Key(w, "status_code");
    Str(w, s.status_code);
    Key(w, "token_count_total");
    w.Int64(s.llm_token_count_total);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "next_cursor");
  if (outline->next) {
    Str(w, std::to_string(outline->next->start_time_ns) + ":" + std::to_string(outline->next->id));
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonReply(buffer);
}

http::Response UiApi::Spans(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return Rejected(std::move(*r));
  std::vector<ValidationIssue> issues;
  Listing query;
  query.of = Listing::Of::kSpans;
  query.project_id = std::get<store::ProjectRecord>(project).id;
  ParseListing(request, query, issues);
  query.roots_only = ParseBoolParam(request, "roots", false, issues);
  if (!issues.empty()) return Rejected(ValidationRejection(issues));
  auto cursor = ParseCursor(request, kSpanType);
  if (auto* r = std::get_if<Rejection>(&cursor)) return Rejected(std::move(*r));
  query.cursor_id = std::get<std::optional<int64_t>>(cursor);
  auto listed = RunListing(store_, query);
  if (!listed.ok()) return ListingFailure(listed.status());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartArray();
  for (const auto& row : listed->rows) {
    const int64_t start = IntOf(row[7]);
    const int64_t end = IntOf(row[8]);
    w.StartObject();
    Key(w, "id");
    Str(w, EncodeGlobalId(kSpanType, IntOf(row[0])));
    Key(w, "span_id");
    Str(w, TextOf(row[1]));
    Key(w, "trace_id");
    Str(w, TextOf(row[2]));
    Key(w, "parent_id");
    StrOrNull(w, TextOf(row[3]));
    Key(w, "name");
    Str(w, TextOf(row[4]));
    Key(w, "span_kind");
    const std::string kind = TextOf(row[5]);
    Str(w, kind.empty() ? std::string("UNKNOWN") : kind);
    Key(w, "status_code");
    Str(w, TextOf(row[6]));
    Key(w, "start_time");
    Iso(w, start);
    Key(w, "end_time");
    Iso(w, end);
    Key(w, "latency_ms");
    w.Double(static_cast<double>(end - start) / 1e6);
    Key(w, "token_count_total");
    w.Int64(IntOf(row[9]));
    Key(w, "cost_total");
    Cost(w, std::holds_alternative<std::monostate>(row[10]) ? std::nullopt : std::optional<double>(RealOf(row[10])));
    Key(w, "input_preview");
    Str(w, TextOf(row[11]));
    Key(w, "output_preview");
    Str(w, TextOf(row[12]));
    w.EndObject();
  }
  w.EndArray();
  Key(w, "next_cursor");
  if (listed->next_cursor) {
    Str(w, EncodeGlobalId(kSpanType, *listed->next_cursor));
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonReply(buffer);
}

http::Response UiApi::Span(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return Rejected(std::move(*r));
  const std::string identifier = Param(request, "span_identifier");
  store::SpanQuery query;
  query.project_id = std::get<store::ProjectRecord>(project).id;
  query.limit = 1;
  if (std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kSpanType)) {
    query.cursor_id = *id;
  } else {
    query.span_ids.push_back(identifier);
  }
  auto page = store_.ListSpans(query);
  if (!page.ok()) return StoreFailure(page.status());
  if (page->items.empty() || (query.cursor_id && page->items[0].id != *query.cursor_id)) {
    return http::Response::Text(404, "Span " + identifier + " not found");
  }
  const store::SpanRecord& s = page->items[0];

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(kSpanType, s.id));
  Key(w, "trace_id");
  Str(w, s.trace_id);
  Key(w, "span_id");
  Str(w, s.span_id);
  Key(w, "parent_id");
  StrOrNull(w, s.parent_id);
  Key(w, "name");
  Str(w, s.name);
  Key(w, "span_kind");
  Str(w, s.span_kind.empty() ? std::string("UNKNOWN") : s.span_kind);
  Key(w, "start_time");
  Iso(w, s.start_time_ns);
  Key(w, "end_time");
  Iso(w, s.end_time_ns);
  Key(w, "latency_ms");
  w.Double(static_cast<double>(s.end_time_ns - s.start_time_ns) / 1e6);
  Key(w, "status_code");
  Str(w, s.status_code.empty() ? std::string("UNSET") : s.status_code);
  Key(w, "status_message");
  Str(w, s.status_message);
  TokenCounts(w, s.llm_token_count_prompt, s.llm_token_count_completion, s.llm_token_count_total);
  Key(w, "cost_prompt");
  Cost(w, s.cost_prompt);
  Key(w, "cost_completion");
  Cost(w, s.cost_completion);
  Key(w, "cost_total");
  Cost(w, s.cost_total);
  Key(w, "cost_details");
  if (s.cost_details_json.empty()) {
    w.Null();
  } else {
    RawJson(w, s.cost_details_json, rapidjson::kObjectType);
  }
  Key(w, "attributes");
  RawJson(w, s.attributes_json, rapidjson::kObjectType);
  Key(w, "events");
  RawJson(w, s.events_json, rapidjson::kArrayType);
  w.EndObject();
  w.EndObject();
  return JsonReply(buffer);
}

void RegisterUi(http::Router& router, store::Store& store) {
  auto api = std::make_shared<UiApi>(store);
  // The routes capture the shared api so the router keeps it alive.
  router.Add("GET", "/osprey/v1/project_summaries", [api](const http::Request& r) { return api->ProjectSummaries(r); });
  router.Add("GET", "/osprey/v1/project_totals", [api](const http::Request& r) { return api->ProjectTotals(r); });
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/traces",
             [api](const http::Request& r) { return api->Traces(r); });
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/traces/{trace_identifier}/spans",
             [api](const http::Request& r) { return api->TraceOutline(r); });
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/spans",
             [api](const http::Request& r) { return api->Spans(r); });
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/spans/{span_identifier}",
             [api](const http::Request& r) { return api->Span(r); });
  RegisterUiAssets(router);
}

}  // namespace osprey::query
