#include "osprey/query/rest_api.hpp"

#include <chrono>
#include <map>
#include <utility>

#include "osprey/base/status.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/views.hpp"

namespace osprey::query {
namespace {

constexpr const char* kProjectsRoute = "/v1/projects";
constexpr const char* kProjectRoute = "/v1/projects/{project_identifier}";
constexpr const char* kSpansRoute = "/v1/projects/{project_identifier}/spans";
constexpr const char* kTracesRoute = "/v1/projects/{project_identifier}/traces";
constexpr const char* kSessionsRoute = "/v1/projects/{project_identifier}/sessions";
constexpr const char* kSessionRoute = "/v1/sessions/{session_identifier}";
constexpr const char* kVersionRoute = "/arize_phoenix_version";

void WriteNextCursor(JsonWriter& w, std::string_view type, const std::optional<int64_t>& next) {
  w.Key("next_cursor");
  if (next) {
    std::string gid = EncodeGlobalId(type, *next);
    w.String(gid.data(), static_cast<rapidjson::SizeType>(gid.size()));
  } else {
    w.Null();
  }
}

http::Response JsonOk(const rapidjson::StringBuffer& buffer) {
  return http::Response::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

// This handler thread's page buffer, empty, kept between requests: a fresh 200 KB span-page buffer comes from
// mmap and the kernel zeroes it page by page on every request (with its growth, ~5 % of osprey-query's CPU on
// the spans_kind page). A buffer grown past kKeptBytes is given back after its reply.
rapidjson::StringBuffer& PageBuffer() {
  thread_local rapidjson::StringBuffer buffer;
  buffer.Clear();
  return buffer;
}
constexpr size_t kKeptBytes = 4 << 20;

// `{"data": [...], "next_cursor": ...}` for one page; `write_item(w, item)` renders an item and may
// fail (a store read for nested data), which turns the whole reply into a store failure. `expected_bytes`
// sizes the buffer up front (a 200 KB span page otherwise grows it ~17 times, copying it each time).
template <typename T, typename WriteItem>
Parsed<http::Response> PageReply(const store::Page<T>& page, std::string_view type, WriteItem write_item,
                                 size_t expected_bytes = 0) {
  rapidjson::StringBuffer& buffer = PageBuffer();
  buffer.Reserve(expected_bytes);
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  w.StartArray();
  for (const auto& item : page.items) {
    if (absl::Status st = write_item(w, item); !st.ok()) return StoreErrorRejection(st);
  }
  w.EndArray();
  WriteNextCursor(w, type, page.next_cursor);
  w.EndObject();
  http::Response reply = JsonOk(buffer);
  if (buffer.GetSize() > kKeptBytes) {
    buffer.Clear();
    buffer.ShrinkToFit();
  }
  return reply;
}

}  // namespace

RestApi::RestApi(store::ProjectStore& projects, store::SpanReader& spans, metrics::Registry* metrics)
    : projects_(projects), spans_(spans), metrics_(metrics) {}

void RestApi::Register(http::Router& router) {
  router.Add("GET", kProjectsRoute, Instrument(kProjectsRoute, &RestApi::ListProjects));
  router.Add("GET", kProjectRoute, Instrument(kProjectRoute, &RestApi::GetProject));
  router.Add("GET", kSpansRoute, Instrument(kSpansRoute, &RestApi::ListSpans));
  router.Add("GET", kTracesRoute, Instrument(kTracesRoute, &RestApi::ListTraces));
  router.Add("GET", kSessionsRoute, Instrument(kSessionsRoute, &RestApi::ListSessions));
  router.Add("GET", kSessionRoute, Instrument(kSessionRoute, &RestApi::GetSession));
  router.Add("GET", kVersionRoute, [](const http::Request&) { return http::Response::Text(200, kPhoenixVersion); });
}

http::Handler RestApi::Instrument(std::string route, Reply (RestApi::*handler)(const http::Request&)) {
  return metrics_.Wrap(std::move(route),
                       [this, handler](const http::Request& request) { return (this->*handler)(request); });
}

Parsed<store::ProjectRecord> RestApi::ResolveProject(const http::Request& request) {
  return ResolveProjectIdentifier(projects_, PathValue(request, "project_identifier"));
}

RestApi::Reply RestApi::ListProjects(const http::Request& request) {
  auto cursor = ParseCursor(request, kProjectType);
  std::vector<ValidationIssue> issues;
  store::ProjectQuery query;
  query.limit = ParseLimit(request, 100, std::nullopt, issues);
  ParseBoolParam(request, "include_experiment_projects", false, issues);
  ParseBoolParam(request, "include_dataset_evaluator_projects", false, issues);
  if (!issues.empty()) return ValidationRejection(issues);
  if (auto* r = std::get_if<Rejection>(&cursor)) return std::move(*r);
  query.cursor_id = std::get<std::optional<int64_t>>(cursor);
  query.name_contains = LastQueryValue(request, "name_contains");

  auto page = projects_.ListProjects(query);
  if (!page.ok()) return StoreErrorRejection(page.status());
  return PageReply(*page, kProjectType, [](JsonWriter& w, const store::ProjectRecord& project) {
    WriteProject(w, project);
    return absl::OkStatus();
  });
}

RestApi::Reply RestApi::GetProject(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  WriteProject(w, std::get<store::ProjectRecord>(project));
  w.EndObject();
  return JsonOk(buffer);
}

RestApi::Reply RestApi::ListSpans(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  auto parsed = ParseSpanQuery(request);
  if (auto* r = std::get_if<Rejection>(&parsed)) return std::move(*r);
  store::SpanQuery query = std::get<store::SpanQuery>(std::move(parsed));
  query.project_id = std::get<store::ProjectRecord>(project).id;

  auto page = spans_.ListSpans(query);
  if (!page.ok()) return StoreErrorRejection(page.status());
  // Flattened keys repeat their prefixes: a span's JSON is about 1.2x its stored attributes plus ~400 bytes.
  size_t expected_bytes = 64;
  for (const store::SpanRecord& span : page->items) {
    expected_bytes += span.attributes_json.size() * 5 / 4 + span.events_json.size() + 512;
  }
  return PageReply(
      *page, kSpanType,
      [](JsonWriter& w, const store::SpanRecord& span) {
        WriteSpan(w, span);
        return absl::OkStatus();
      },
      expected_bytes);
}

RestApi::Reply RestApi::ListTraces(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  const int64_t project_id = std::get<store::ProjectRecord>(project).id;

  store::TraceQuery query;
  query.project_id = project_id;
  std::vector<ValidationIssue> issues;
  query.start_time_ns = ParseTimeParam(request, "start_time", issues);
  query.end_time_ns = ParseTimeParam(request, "end_time", issues);
  std::string sort = ParseLiteralParam(request, "sort", {"start_time", "latency_ms"}, "start_time", issues);
  std::string order = ParseLiteralParam(request, "order", {"asc", "desc"}, "desc", issues);
  query.limit = ParseLimit(request, 100, 1000, issues);
  bool include_spans = ParseBoolParam(request, "include_spans", false, issues);
  if (!issues.empty()) return ValidationRejection(issues);
  query.sort = sort == "latency_ms" ? store::TraceSort::kLatency : store::TraceSort::kStartTime;
  query.order = order == "asc" ? store::Order::kAsc : store::Order::kDesc;

  auto cursor = ParseCursor(request, kTraceType);
  if (auto* r = std::get_if<Rejection>(&cursor)) return std::move(*r);
  query.cursor_id = std::get<std::optional<int64_t>>(cursor);

  // Session GlobalIDs or session.id strings, ORed; when none resolves the answer is empty.
  std::vector<std::string> sessions = request.QueryAll("session_identifier");
  if (!sessions.empty()) {
    query.require_session = true;
    for (const std::string& identifier : sessions) {
      if (std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kSessionType)) {
        query.session_rowids.push_back(*id);
        continue;
      }
      auto session = spans_.GetSessionBySessionId(identifier);
      if (!session.ok()) return StoreErrorRejection(session.status());
      if (session->has_value() && (*session)->project_id == project_id) query.session_rowids.push_back((*session)->id);
    }
  }

  auto page = spans_.ListTraces(query);
  if (!page.ok()) return StoreErrorRejection(page.status());

  std::map<int64_t, std::vector<store::SpanRecord>> spans_by_trace;
  if (include_spans && !page->items.empty()) {
    std::vector<int64_t> rowids;
    rowids.reserve(page->items.size());
    for (const auto& trace : page->items) rowids.push_back(trace.id);
    auto spans = spans_.SpansOfTraces(rowids);
    if (!spans.ok()) return StoreErrorRejection(spans.status());
    for (auto& span : *spans) spans_by_trace[span.trace_rowid].push_back(std::move(span));
  }

  static const std::vector<store::SpanRecord> kNoSpans;
  return PageReply(*page, kTraceType, [&](JsonWriter& w, const store::TraceRecord& trace) {
    const std::vector<store::SpanRecord>* spans = nullptr;
    if (include_spans) {
      auto it = spans_by_trace.find(trace.id);
      spans = it == spans_by_trace.end() ? &kNoSpans : &it->second;
    }
    WriteTrace(w, trace, spans);
    return absl::OkStatus();
  });
}

RestApi::Reply RestApi::ListSessions(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);

  store::SessionQuery query;
  query.project_id = std::get<store::ProjectRecord>(project).id;
  auto cursor = ParseCursor(request, kSessionType);
  std::vector<ValidationIssue> issues;
  query.limit = ParseLimit(request, 100, std::nullopt, issues);
  std::string order = ParseLiteralParam(request, "order", {"asc", "desc"}, "asc", issues);
  if (!issues.empty()) return ValidationRejection(issues);
  if (auto* r = std::get_if<Rejection>(&cursor)) return std::move(*r);
  query.cursor_id = std::get<std::optional<int64_t>>(cursor);
  query.order = order == "desc" ? store::Order::kDesc : store::Order::kAsc;

  auto page = spans_.ListSessions(query);
  if (!page.ok()) return StoreErrorRejection(page.status());
  return PageReply(*page, kSessionType, [this](JsonWriter& w, const store::SessionRecord& session) {
    auto traces = spans_.TracesOfSession(session.id);
    if (!traces.ok()) return traces.status();
    WriteSession(w, session, *traces);
    return absl::OkStatus();
  });
}

RestApi::Reply RestApi::GetSession(const http::Request& request) {
  std::string identifier = PathValue(request, "session_identifier");
  std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kSessionType);
  auto session = id ? spans_.GetSessionById(*id) : spans_.GetSessionBySessionId(identifier);
  if (!session.ok()) return StoreErrorRejection(session.status());
  if (!session->has_value()) {
    return TextRejection(404, "not_found",
                         (id ? "Session with ID " : "Session with session_id ") + identifier + " not found");
  }

  auto traces = spans_.TracesOfSession((*session)->id);
  if (!traces.ok()) return StoreErrorRejection(traces.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  WriteSession(w, **session, *traces);
  w.EndObject();
  return JsonOk(buffer);
}

}  // namespace osprey::query
