#include "osprey/query/ui_api.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "osprey/log/log.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/ui_assets.hpp"
#include "osprey/query/views.hpp"
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
    Key(w, "id");
    Str(w, EncodeGlobalId(kProjectType, p.id));
    Key(w, "name");
    Str(w, p.name);
    Key(w, "description");
    if (p.description) {
      Str(w, *p.description);
    } else {
      w.Null();
    }
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
    Key(w, "token_count_prompt");
    w.Int64(s.token_count_prompt);
    Key(w, "token_count_completion");
    w.Int64(s.token_count_completion);
    Key(w, "token_count_total");
    w.Int64(s.token_count_total);
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

http::Response UiApi::Traces(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return Rejected(std::move(*r));
  const int64_t project_id = std::get<store::ProjectRecord>(project).id;

  std::vector<ValidationIssue> issues;
  store::TraceQuery query;
  query.project_id = project_id;
  query.start_time_ns = ParseTimeParam(request, "start_time", issues);
  query.end_time_ns = ParseTimeParam(request, "end_time", issues);
  std::string sort = ParseLiteralParam(request, "sort", {"start_time", "latency_ms"}, "start_time", issues);
  std::string order = ParseLiteralParam(request, "order", {"asc", "desc"}, "desc", issues);
  query.limit = ParseLimit(request, 100, 1000, issues);
  if (!issues.empty()) return Rejected(ValidationRejection(issues));
  query.sort = sort == "latency_ms" ? store::TraceSort::kLatency : store::TraceSort::kStartTime;
  query.order = order == "asc" ? store::Order::kAsc : store::Order::kDesc;
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
    auto listed = store_.ListTraces(query);
    if (!listed.ok()) {
      if (listed.status().code() == absl::StatusCode::kInvalidArgument) {
        return http::Response::Text(422, std::string(listed.status().message()));
      }
      return StoreFailure(listed.status());
    }
    page = std::move(*listed);
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
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/traces",
             [api](const http::Request& r) { return api->Traces(r); });
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/traces/{trace_identifier}/spans",
             [api](const http::Request& r) { return api->TraceOutline(r); });
  router.Add("GET", "/osprey/v1/projects/{project_identifier}/spans/{span_identifier}",
             [api](const http::Request& r) { return api->Span(r); });
  RegisterUiAssets(router);
}

}  // namespace osprey::query
