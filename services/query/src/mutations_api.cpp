#include "osprey/query/mutations_api.hpp"

#include <cctype>
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "osprey/http/json.hpp"
#include "osprey/otlp/otlp.hpp"
#include "osprey/query/attributes.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/params.hpp"
#include "osprey/query/views.hpp"

namespace osprey::query {
namespace {

using Reply = Parsed<http::Response>;
using rapidjson::Value;
namespace otel = opentelemetry::proto;

constexpr const char* kProjectsRoute = "/v1/projects";
constexpr const char* kProjectRoute = "/v1/projects/{project_identifier}";
constexpr const char* kProjectSpansRoute = "/v1/projects/{project_identifier}/spans";
constexpr const char* kSpanRoute = "/v1/spans/{span_identifier}";
constexpr const char* kTraceRoute = "/v1/traces/{trace_identifier}";
constexpr const char* kTransferRoute = "/v1/traces/transfer";
constexpr const char* kSessionRoute = "/v1/sessions/{session_identifier}";
constexpr const char* kSessionsDeleteRoute = "/v1/sessions/delete";

std::string Json(const Value& value) { return http::ToString(value); }

void WriteStr(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

http::Response JsonReply(int status, const rapidjson::StringBuffer& buffer) {
  return http::Response::Json(status, std::string(buffer.GetString(), buffer.GetSize()));
}

// ---------------------------------------------------------------- request bodies (FastAPI's 422s)

// Field checks that append pydantic-style issues; each returns the value when it is well typed.
class Fields final {
 public:
  Fields(const Value& object, std::vector<std::string> loc, std::vector<BodyIssue>& issues)
      : object_(object), loc_(std::move(loc)), issues_(issues) {}

  const Value* Get(const char* key) const {
    auto it = object_.FindMember(key);
    return it == object_.MemberEnd() ? nullptr : &it->value;
  }
  // A required (or, with `optional`, possibly absent or null) string of at least `min_length`.
  std::optional<std::string> String(const char* key, bool optional = false, size_t min_length = 0) {
    const Value* value = Get(key);
    if (value == nullptr || (optional && value->IsNull())) {
      if (!optional) Issue(key, "missing", "Field required", value == nullptr ? "null" : Json(*value));
      return std::nullopt;
    }
    if (!value->IsString()) {
      Issue(key, "string_type", "Input should be a valid string", Json(*value));
      return std::nullopt;
    }
    std::string text(value->GetString(), value->GetStringLength());
    if (text.size() < min_length) {
      Issue(key, "string_too_short", "String should have at least " + std::to_string(min_length) + " character",
            Json(*value), "{\"min_length\":" + std::to_string(min_length) + "}");
      return std::nullopt;
    }
    return text;
  }
  // A required list of strings.
  std::optional<std::vector<std::string>> StringList(const char* key) {
    const Value* value = Get(key);
    if (value == nullptr) {
      Issue(key, "missing", "Field required", "null");
      return std::nullopt;
    }
    if (!value->IsArray()) {
      Issue(key, "list_type", "Input should be a valid list", Json(*value));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (rapidjson::SizeType i = 0; i < value->Size(); ++i) {
      const Value& item = (*value)[i];
      if (!item.IsString()) {
        issues_.push_back(
            BodyIssue{Loc(key, std::to_string(i)), "string_type", "Input should be a valid string", Json(item), ""});
        ok = false;
        continue;
      }
      out.emplace_back(item.GetString(), item.GetStringLength());
    }
    if (!ok) return std::nullopt;
    return out;
  }
  // A required timezone-aware datetime (ISO-8601 text, or Unix seconds/milliseconds as a number).
  std::optional<int64_t> AwareTime(const char* key) {
    const Value* value = Get(key);
    if (value == nullptr) {
      Issue(key, "missing", "Field required", "null");
      return std::nullopt;
    }
    if (value->IsNumber()) {
      double seconds = value->GetDouble();
      if (std::fabs(seconds) > 2e10) seconds /= 1000;  // pydantic reads large numbers as milliseconds
      if (!std::isfinite(seconds) || seconds < 0 || seconds > 9e9) {
        Issue(key, "datetime_parsing", "Input should be a valid datetime", Json(*value));
        return std::nullopt;
      }
      return static_cast<int64_t>(std::llround(seconds * 1e9));
    }
    if (!value->IsString()) {
      Issue(key, "datetime_type", "Input should be a valid datetime", Json(*value));
      return std::nullopt;
    }
    std::string_view text(value->GetString(), value->GetStringLength());
    std::optional<int64_t> ns = base::ParseIsoTime(text);
    if (!ns) {
      Issue(key, "datetime_from_date_parsing", "Input should be a valid datetime or date", Json(*value));
      return std::nullopt;
    }
    if (!HasOffset(text)) {
      Issue(key, "timezone_aware", "Input should have timezone info", Json(*value));
      return std::nullopt;
    }
    return ns;
  }
  void Issue(const char* key, std::string type, std::string msg, std::string input, std::string ctx = "") {
    issues_.push_back(BodyIssue{Loc(key), std::move(type), std::move(msg), std::move(input), std::move(ctx)});
  }

 private:
  // True when the date-time part carries "Z" or a "+hh:mm" / "-hh:mm" offset.
  static bool HasOffset(std::string_view text) {
    if (text.size() <= 10) return false;  // a bare date is naive
    std::string_view time = text.substr(10);
    if (time.back() == 'Z' || time.back() == 'z') return true;
    return time.find('+') != std::string_view::npos || time.find('-') != std::string_view::npos;
  }
  std::vector<std::string> Loc(const char* key, std::string extra = "") const {
    std::vector<std::string> loc = loc_;
    loc.emplace_back(key);
    if (!extra.empty()) loc.push_back(std::move(extra));
    return loc;
  }

  const Value& object_;
  std::vector<std::string> loc_;
  std::vector<BodyIssue>& issues_;
};

// ---------------------------------------------------------------- identifiers

// A path or body identifier that is a GlobalID of `type` (row id) or an OTel hex id of
// `hex_digits` digits. A GlobalID of another type, or text that is neither: 422 naming the problem.
Parsed<store::RowKey> OtelKey(const std::string& identifier, std::string_view type, size_t hex_digits,
                              const char* what) {
  if (std::optional<GlobalId> gid = DecodeGlobalId(identifier)) {
    if (gid->type == type) return store::RowKey(gid->id);
    if (identifier.size() != hex_digits) {
      return TextRejection(422, "invalid_identifier",
                           "Invalid " + std::string(what) + " identifier " + identifier + ": a " + gid->type +
                               " GlobalID where a " + std::string(type) + " GlobalID was expected");
    }
  }
  if (identifier.size() == hex_digits && base::HexDecode(identifier).has_value()) return store::RowKey(identifier);
  return TextRejection(422, "invalid_identifier",
                       "Invalid " + std::string(what) + " identifier " + identifier + ": expected a " +
                           std::string(type) + " GlobalID or a " + std::to_string(hex_digits) +
                           "-hex-digit OpenTelemetry " + what + "_id");
}

std::string NotFoundText(const char* what, const std::string& identifier) {
  return std::string(what) + " with identifier " + identifier + " not found";
}

// ---------------------------------------------------------------- JSON spans -> OTLP

void SetAnyValue(const Value& value, otel::common::v1::AnyValue* out) {
  if (value.IsString()) {
    out->set_string_value(value.GetString(), value.GetStringLength());
  } else if (value.IsBool()) {
    out->set_bool_value(value.GetBool());
  } else if (value.IsInt64()) {
    out->set_int_value(value.GetInt64());
  } else if (value.IsNumber()) {
    out->set_double_value(value.GetDouble());
  } else if (value.IsArray()) {
    auto* array = out->mutable_array_value();
    for (const Value& item : value.GetArray()) {
      if (!item.IsNull()) SetAnyValue(item, array->add_values());
    }
  } else if (value.IsObject()) {  // only inside lists: kept as its JSON text
    out->set_string_value(Json(value));
  }
}

// Nested or dotted attributes, flattened the way Phoenix flattens them, as OTLP key-values; the
// normalizer un-flattens them again.
void AddAttributes(const Value& attributes, google::protobuf::RepeatedPtrField<otel::common::v1::KeyValue>* out) {
  for (const auto& [key, value] : FlattenAttributes(attributes)) {
    auto* kv = out->Add();
    kv->set_key(key);
    SetAnyValue(*value, kv->mutable_value());
  }
}

struct SpanIds {
  std::string trace_id;  // as sent (for error reports)
  std::string span_id;
};

// One JSON span as an OTLP span. Type errors go to `issues` (the batch is then a 422); id problems
// are returned (the span is then reported in invalid_spans).
std::optional<std::string> ToOtlpSpan(const Value& json, size_t index, std::vector<BodyIssue>& issues,
                                      otel::trace::v1::Span* span, SpanIds& ids) {
  const std::vector<std::string> loc = {"data", std::to_string(index)};
  if (!json.IsObject()) {
    issues.push_back(BodyIssue{loc, "model_attributes_type",
                               "Input should be a valid dictionary or object to extract fields from", Json(json), ""});
    return std::nullopt;
  }
  Fields f(json, loc, issues);
  const size_t before = issues.size();
  std::optional<std::string> name = f.String("name");
  std::optional<std::string> kind = f.String("span_kind");
  std::optional<std::string> status = f.String("status_code");
  std::optional<std::string> status_message = f.String("status_message", /*optional=*/true);
  std::optional<std::string> parent = f.String("parent_id", /*optional=*/true);
  std::optional<int64_t> start = f.AwareTime("start_time");
  std::optional<int64_t> end = f.AwareTime("end_time");
  std::optional<std::string> trace_id, span_id;
  const Value* context = f.Get("context");
  if (context == nullptr) {
    f.Issue("context", "missing", "Field required", "null");
  } else if (!context->IsObject()) {
    f.Issue("context", "model_attributes_type", "Input should be a valid dictionary or object to extract fields from",
            Json(*context));
  } else {
    std::vector<std::string> context_loc = loc;
    context_loc.emplace_back("context");
    Fields c(*context, context_loc, issues);
    trace_id = c.String("trace_id");
    span_id = c.String("span_id");
  }
  const Value* attributes = f.Get("attributes");
  if (attributes != nullptr && !attributes->IsObject() && !attributes->IsNull()) {
    f.Issue("attributes", "dict_type", "Input should be a valid dictionary", Json(*attributes));
  }
  const Value* events = f.Get("events");
  std::vector<std::tuple<std::string, int64_t, const Value*>> parsed_events;
  if (events != nullptr && !events->IsNull()) {
    if (!events->IsArray()) {
      f.Issue("events", "list_type", "Input should be a valid list", Json(*events));
    } else {
      for (rapidjson::SizeType i = 0; i < events->Size(); ++i) {
        const Value& event = (*events)[i];
        std::vector<std::string> event_loc = loc;
        event_loc.emplace_back("events");
        event_loc.push_back(std::to_string(i));
        if (!event.IsObject()) {
          issues.push_back(BodyIssue{event_loc, "model_attributes_type",
                                     "Input should be a valid dictionary or object to extract fields from", Json(event),
                                     ""});
          continue;
        }
        Fields e(event, event_loc, issues);
        std::optional<std::string> event_name = e.String("name");
        std::optional<int64_t> timestamp = e.AwareTime("timestamp");
        const Value* event_attributes = e.Get("attributes");
        if (event_attributes != nullptr && !event_attributes->IsObject() && !event_attributes->IsNull()) {
          e.Issue("attributes", "dict_type", "Input should be a valid dictionary", Json(*event_attributes));
        }
        if (event_name && timestamp) parsed_events.emplace_back(*event_name, *timestamp, event_attributes);
      }
    }
  }
  if (issues.size() != before) return std::nullopt;

  ids = SpanIds{*trace_id, *span_id};
  std::optional<std::string> trace_bytes = trace_id->size() == 32 ? base::HexDecode(*trace_id) : std::nullopt;
  if (!trace_bytes) return "trace_id must be 32 hexadecimal characters, got \"" + *trace_id + "\"";
  std::optional<std::string> span_bytes = span_id->size() == 16 ? base::HexDecode(*span_id) : std::nullopt;
  if (!span_bytes) return "span_id must be 16 hexadecimal characters, got \"" + *span_id + "\"";
  span->set_trace_id(*trace_bytes);
  span->set_span_id(*span_bytes);
  if (parent && !parent->empty()) {
    std::optional<std::string> parent_bytes = parent->size() == 16 ? base::HexDecode(*parent) : std::nullopt;
    if (!parent_bytes) return "parent_id must be 16 hexadecimal characters, got \"" + *parent + "\"";
    span->set_parent_span_id(*parent_bytes);
  }
  span->set_name(*name);
  span->set_start_time_unix_nano(static_cast<uint64_t>(*start));
  span->set_end_time_unix_nano(static_cast<uint64_t>(*end));
  std::string upper_status = absl::AsciiStrToUpper(*status);
  span->mutable_status()->set_code(upper_status == "OK"      ? otel::trace::v1::Status::STATUS_CODE_OK
                                   : upper_status == "ERROR" ? otel::trace::v1::Status::STATUS_CODE_ERROR
                                                             : otel::trace::v1::Status::STATUS_CODE_UNSET);
  if (status_message) span->mutable_status()->set_message(*status_message);
  if (attributes != nullptr && attributes->IsObject()) AddAttributes(*attributes, span->mutable_attributes());
  // span_kind wins over an openinference.span.kind attribute, as in Phoenix.
  for (auto& kv : *span->mutable_attributes()) {
    if (kv.key() == "openinference.span.kind") kv.mutable_value()->set_string_value(absl::AsciiStrToUpper(*kind));
  }
  auto* kind_kv = span->add_attributes();
  kind_kv->set_key("openinference.span.kind");
  kind_kv->mutable_value()->set_string_value(absl::AsciiStrToUpper(*kind));
  for (const auto& [event_name, timestamp, event_attributes] : parsed_events) {
    auto* event = span->add_events();
    event->set_name(event_name);
    event->set_time_unix_nano(static_cast<uint64_t>(timestamp));
    if (event_attributes != nullptr && event_attributes->IsObject()) {
      AddAttributes(*event_attributes, event->mutable_attributes());
    }
  }
  return std::nullopt;
}

struct InvalidSpan {
  SpanIds ids;
  std::string error;
};

// Phoenix's 400 for POST spans: a JSON document sent as the text/plain detail.
Rejection CreateSpansRefused(size_t received, const std::vector<SpanIds>& duplicates,
                             const std::vector<InvalidSpan>& invalid, const std::string& error) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("error");
  WriteStr(w, error);
  w.Key("total_received");
  w.Uint64(received);
  w.Key("total_queued");
  w.Int(0);
  w.Key("total_duplicates");
  w.Uint64(duplicates.size());
  w.Key("total_invalid");
  w.Uint64(invalid.size());
  w.Key("duplicate_spans");
  w.StartArray();
  for (const SpanIds& ids : duplicates) {
    w.StartObject();
    w.Key("span_id");
    WriteStr(w, ids.span_id);
    w.Key("trace_id");
    WriteStr(w, ids.trace_id);
    w.EndObject();
  }
  w.EndArray();
  w.Key("invalid_spans");
  w.StartArray();
  for (const InvalidSpan& span : invalid) {
    w.StartObject();
    w.Key("span_id");
    WriteStr(w, span.ids.span_id);
    w.Key("trace_id");
    WriteStr(w, span.ids.trace_id);
    w.Key("error");
    WriteStr(w, span.error);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return TextRejection(400, invalid.empty() ? "duplicate_spans" : "invalid_spans",
                       std::string(buffer.GetString(), buffer.GetSize()));
}

}  // namespace

// ---------------------------------------------------------------- handlers

class MutationsApi::Impl final {
 public:
  Impl(store::Store& store, metrics::Registry* metrics, std::shared_ptr<const costs::PriceTable> prices)
      : store_(store), metrics_(metrics), prices_(std::move(prices)) {
    if (prices_ == nullptr) {
      auto builtin = costs::PriceTable::Create({}, /*include_builtin=*/true);
      if (builtin.ok()) prices_ = *std::move(builtin);
    }
  }

  Reply CreateProject(const http::Request& request);
  Reply UpdateProject(const http::Request& request);
  Reply PatchProject(const http::Request& request);
  Reply DeleteProject(const http::Request& request);
  Reply CreateSpans(const http::Request& request);
  Reply DeleteSpan(const http::Request& request);
  Reply DeleteTrace(const http::Request& request);
  Reply TransferTraces(const http::Request& request);
  Reply DeleteSession(const http::Request& request);
  Reply DeleteSessions(const http::Request& request);

  const RouteMetrics& metrics() const { return metrics_; }

 private:
  Reply ProjectReply(int64_t id);

  store::Store& store_;
  RouteMetrics metrics_;
  std::shared_ptr<const costs::PriceTable> prices_;  // shared with whoever configured it; may be null
};

MutationsApi::MutationsApi(store::Store& store, metrics::Registry* metrics,
                           std::shared_ptr<const costs::PriceTable> prices)
    : impl_(std::make_shared<Impl>(store, metrics, std::move(prices))) {}

MutationsApi::~MutationsApi() = default;

void MutationsApi::Register(http::Router& router) {
  auto add = [&](const char* method, const char* route, Reply (Impl::*handler)(const http::Request&)) {
    std::shared_ptr<Impl> impl = impl_;
    router.Add(method, route,
               impl->metrics().Wrap(route, [impl, handler](const http::Request& r) { return (*impl.*handler)(r); }));
  };
  add("POST", kProjectsRoute, &Impl::CreateProject);
  add("PUT", kProjectRoute, &Impl::UpdateProject);
  add("PATCH", "/osprey/v1/projects/{project_identifier}", &Impl::PatchProject);
  add("DELETE", kProjectRoute, &Impl::DeleteProject);
  add("POST", kProjectSpansRoute, &Impl::CreateSpans);
  add("DELETE", kSpanRoute, &Impl::DeleteSpan);
  add("POST", kTransferRoute, &Impl::TransferTraces);  // before the {trace_identifier} pattern
  add("DELETE", kTraceRoute, &Impl::DeleteTrace);
  add("POST", kSessionsDeleteRoute, &Impl::DeleteSessions);
  add("DELETE", kSessionRoute, &Impl::DeleteSession);
}

Reply MutationsApi::Impl::ProjectReply(int64_t id) {
  auto project = store_.GetProjectById(id);
  if (!project.ok()) return StoreErrorRejection(project.status());
  if (!project->has_value())
    return TextRejection(404, "not_found", "Project with ID " + EncodeGlobalId(kProjectType, id) + " not found");
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  WriteProject(w, **project);
  w.EndObject();
  return JsonReply(200, buffer);
}

Reply MutationsApi::Impl::CreateProject(const http::Request& request) {
  auto body = ParseObjectBody(request);
  if (auto* r = std::get_if<Rejection>(&body)) return std::move(*r);
  const Value& object = *std::get<std::unique_ptr<rapidjson::Document>>(body);
  std::vector<BodyIssue> issues;
  Fields f(object, {}, issues);
  std::optional<std::string> name = f.String("name", /*optional=*/false, /*min_length=*/1);
  std::optional<std::string> description = f.String("description", /*optional=*/true);
  if (!issues.empty()) return BodyValidationRejection(issues);

  auto created = store_.CreateProject(*name, description);
  if (created.status().code() == absl::StatusCode::kAlreadyExists) {
    return TextRejection(409, "conflict", "Project with name " + *name + " already exists");
  }
  if (created.status().code() == absl::StatusCode::kInvalidArgument) {
    return TextRejection(422, "invalid_project", std::string(created.status().message()));
  }
  if (!created.ok()) return StoreErrorRejection(created.status());
  return ProjectReply(created->id);
}

Reply MutationsApi::Impl::UpdateProject(const http::Request& request) {
  auto project = ResolveProjectIdentifier(store_, PathValue(request, "project_identifier"));
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  auto body = ParseObjectBody(request);
  if (auto* r = std::get_if<Rejection>(&body)) return std::move(*r);
  std::vector<BodyIssue> issues;
  Fields f(*std::get<std::unique_ptr<rapidjson::Document>>(body), {}, issues);
  std::optional<std::string> description = f.String("description", /*optional=*/true);
  if (!issues.empty()) return BodyValidationRejection(issues);

  const int64_t id = std::get<store::ProjectRecord>(project).id;
  // As in Phoenix, a null or absent description leaves the project unchanged.
  if (description) {
    absl::Status st = store_.UpdateProjectDescription(id, description);
    if (st.code() == absl::StatusCode::kNotFound) {
      return TextRejection(404, "not_found", "Project with ID " + EncodeGlobalId(kProjectType, id) + " not found");
    }
    if (!st.ok()) return StoreErrorRejection(st);
  }
  return ProjectReply(id);
}

// Osprey's own: rename and/or describe ({"name"?, "description"?}); Phoenix's PUT only describes.
Reply MutationsApi::Impl::PatchProject(const http::Request& request) {
  auto project = ResolveProjectIdentifier(store_, PathValue(request, "project_identifier"));
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  auto body = ParseObjectBody(request);
  if (auto* r = std::get_if<Rejection>(&body)) return std::move(*r);
  std::vector<BodyIssue> issues;
  Fields f(*std::get<std::unique_ptr<rapidjson::Document>>(body), {}, issues);
  std::optional<std::string> name = f.String("name", /*optional=*/true, /*min_length=*/1);
  std::optional<std::string> description = f.String("description", /*optional=*/true);
  if (!issues.empty()) return BodyValidationRejection(issues);

  const int64_t id = std::get<store::ProjectRecord>(project).id;
  if (name) {
    absl::Status st = store_.RenameProject(id, *name);
    switch (st.code()) {
      case absl::StatusCode::kOk:
        break;
      case absl::StatusCode::kAlreadyExists:
        return TextRejection(409, "conflict", "Project with name " + *name + " already exists");
      case absl::StatusCode::kFailedPrecondition:
        return TextRejection(403, "default_project", "The default project cannot be renamed");
      case absl::StatusCode::kInvalidArgument:
        return TextRejection(422, "invalid_project", std::string(st.message()));
      case absl::StatusCode::kNotFound:
        return TextRejection(404, "not_found", "Project with ID " + EncodeGlobalId(kProjectType, id) + " not found");
      default:
        return StoreErrorRejection(st);
    }
  }
  if (description) {
    absl::Status st = store_.UpdateProjectDescription(id, description);
    if (!st.ok()) return StoreErrorRejection(st);
  }
  return ProjectReply(id);
}

Reply MutationsApi::Impl::DeleteProject(const http::Request& request) {
  const std::string identifier = PathValue(request, "project_identifier");
  auto project = ResolveProjectIdentifier(store_, identifier);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  absl::Status st = store_.DeleteProject(std::get<store::ProjectRecord>(project).id);
  if (st.code() == absl::StatusCode::kFailedPrecondition) {
    return TextRejection(403, "default_project", "The default project cannot be deleted");
  }
  if (st.code() == absl::StatusCode::kNotFound) {
    return TextRejection(404, "not_found", "Project with identifier " + identifier + " not found");
  }
  if (!st.ok()) return StoreErrorRejection(st);
  return http::Response::NoContent();
}

Reply MutationsApi::Impl::CreateSpans(const http::Request& request) {
  // A GlobalID must name an existing project; a name may be new (created with the first span).
  const std::string identifier = PathValue(request, "project_identifier");
  std::string project_name = identifier;
  if (DecodeGlobalIdOfType(identifier, kProjectType)) {
    auto project = ResolveProjectIdentifier(store_, identifier);
    if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
    project_name = std::get<store::ProjectRecord>(project).name;
  }
  auto body = ParseObjectBody(request);
  if (auto* r = std::get_if<Rejection>(&body)) return std::move(*r);
  const Value& object = *std::get<std::unique_ptr<rapidjson::Document>>(body);
  auto data = object.FindMember("data");
  if (data == object.MemberEnd()) {
    return BodyValidationRejection({BodyIssue{{"data"}, "missing", "Field required", "null", ""}});
  }
  if (!data->value.IsArray()) {
    return BodyValidationRejection(
        {BodyIssue{{"data"}, "list_type", "Input should be a valid list", Json(data->value), ""}});
  }

  // 1. Shapes and types (422, the client maps loc[2] back to its spans), then ids (400).
  otlp::ExportRequest export_request;
  auto* scope = export_request.add_resource_spans()->add_scope_spans();
  std::vector<BodyIssue> issues;
  std::vector<SpanIds> ids(data->value.Size());
  std::vector<InvalidSpan> invalid;
  for (rapidjson::SizeType i = 0; i < data->value.Size(); ++i) {
    otel::trace::v1::Span span;
    std::optional<std::string> problem = ToOtlpSpan(data->value[i], i, issues, &span, ids[i]);
    if (problem) {
      invalid.push_back(InvalidSpan{ids[i], *problem});
    } else {
      *scope->add_spans() = std::move(span);
    }
  }
  if (!issues.empty()) return BodyValidationRejection(issues);
  const size_t received = data->value.Size();

  // 2. The OTLP validation and normalization every span goes through.
  otlp::NormalizeOptions options;
  options.project_override = project_name;
  options.prices = prices_.get();
  otlp::NormalizeResult normalized = otlp::Normalize(export_request, options);
  for (const otlp::RejectedSpan& rejected : normalized.rejected) {
    invalid.push_back(InvalidSpan{SpanIds{rejected.trace_id_hex, rejected.span_id_hex}, rejected.reason});
  }

  // 3. Duplicates: span ids already stored, or repeated in the request.
  std::vector<std::string> span_ids;
  for (const model::v1::Span& span : normalized.spans) span_ids.push_back(base::HexEncode(span.span_id()));
  auto stored = store_.StoredSpanIds(span_ids);
  if (!stored.ok()) return StoreErrorRejection(stored.status());
  std::set<std::string> taken(stored->begin(), stored->end());
  std::vector<SpanIds> duplicates;
  std::set<std::string> seen;
  for (const model::v1::Span& span : normalized.spans) {
    std::string span_id = base::HexEncode(span.span_id());
    if (taken.count(span_id) != 0 || !seen.insert(span_id).second) {
      duplicates.push_back(SpanIds{base::HexEncode(span.trace_id()), span_id});
    }
  }
  if (!invalid.empty() || !duplicates.empty()) {
    return CreateSpansRefused(received, duplicates, invalid,
                              "Failed to queue spans: " + std::to_string(invalid.size()) + " invalid, " +
                                  std::to_string(duplicates.size()) + " duplicate");
  }

  // 4. The writer's store call: one transaction, idempotent, rollups included.
  std::vector<const model::v1::Span*> pointers;
  for (const model::v1::Span& span : normalized.spans) pointers.push_back(&span);
  auto written = store_.WriteSpans(pointers);
  if (written.status().code() == absl::StatusCode::kInvalidArgument) {
    return CreateSpansRefused(received, {}, {}, std::string(written.status().message()));
  }
  if (!written.ok()) return StoreErrorRejection(written.status());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("total_received");
  w.Uint64(received);
  w.Key("total_queued");
  w.Uint64(received);
  w.EndObject();
  return JsonReply(202, buffer);
}

Reply MutationsApi::Impl::DeleteSpan(const http::Request& request) {
  const std::string identifier = PathValue(request, "span_identifier");
  auto key = OtelKey(identifier, kSpanType, 16, "span");
  if (auto* r = std::get_if<Rejection>(&key)) return std::move(*r);
  absl::Status st = store_.DeleteSpan(std::get<store::RowKey>(key));
  if (st.code() == absl::StatusCode::kNotFound)
    return TextRejection(404, "not_found", NotFoundText("Span", identifier));
  if (!st.ok()) return StoreErrorRejection(st);
  return http::Response::NoContent();
}

Reply MutationsApi::Impl::DeleteTrace(const http::Request& request) {
  const std::string identifier = PathValue(request, "trace_identifier");
  auto key = OtelKey(identifier, kTraceType, 32, "trace");
  if (auto* r = std::get_if<Rejection>(&key)) return std::move(*r);
  absl::Status st = store_.DeleteTrace(std::get<store::RowKey>(key));
  if (st.code() == absl::StatusCode::kNotFound) {
    return TextRejection(404, "not_found", NotFoundText("Trace", identifier));
  }
  if (!st.ok()) return StoreErrorRejection(st);
  return http::Response::NoContent();
}

Reply MutationsApi::Impl::TransferTraces(const http::Request& request) {
  auto body = ParseObjectBody(request);
  if (auto* r = std::get_if<Rejection>(&body)) return std::move(*r);
  std::vector<BodyIssue> issues;
  Fields f(*std::get<std::unique_ptr<rapidjson::Document>>(body), {}, issues);
  std::optional<std::vector<std::string>> traces = f.StringList("trace_identifiers");
  std::optional<std::string> destination = f.String("destination_project_identifier");
  if (!issues.empty()) return BodyValidationRejection(issues);
  if (traces->empty()) return TextRejection(422, "empty_transfer", "trace_identifiers must not be empty");

  std::vector<store::RowKey> keys;
  for (const std::string& identifier : *traces) {
    auto key = OtelKey(identifier, kTraceType, 32, "trace");
    if (auto* r = std::get_if<Rejection>(&key)) return std::move(*r);
    // Resolved here as well, so a 404 names the identifier the client sent.
    const store::RowKey& k = std::get<store::RowKey>(key);
    auto found = std::holds_alternative<int64_t>(k) ? store_.GetTraceById(std::get<int64_t>(k))
                                                    : store_.GetTraceByTraceId(std::get<std::string>(k));
    if (!found.ok()) return StoreErrorRejection(found.status());
    if (!found->has_value()) return TextRejection(404, "not_found", NotFoundText("Trace", identifier));
    keys.push_back(k);
  }
  auto project = ResolveProjectIdentifier(store_, *destination);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  const int64_t destination_id = std::get<store::ProjectRecord>(project).id;

  auto moved = store_.TransferTraces(keys, destination_id);
  if (moved.status().code() == absl::StatusCode::kInvalidArgument) {
    return TextRejection(422, "several_sources", std::string(moved.status().message()));
  }
  if (moved.status().code() == absl::StatusCode::kNotFound) {  // deleted between the checks and the move
    return TextRejection(404, "not_found", std::string(moved.status().message()));
  }
  if (!moved.ok()) return StoreErrorRejection(moved.status());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  w.StartObject();
  w.Key("transferred_trace_count");
  w.Int64(moved->transferred);
  w.Key("destination_project_id");
  WriteStr(w, EncodeGlobalId(kProjectType, destination_id));
  w.EndObject();
  w.EndObject();
  return JsonReply(200, buffer);
}

Reply MutationsApi::Impl::DeleteSession(const http::Request& request) {
  const std::string identifier = PathValue(request, "session_identifier");
  std::optional<int64_t> rowid = DecodeGlobalIdOfType(identifier, kSessionType);
  auto deleted = store_.DeleteSessions({rowid ? store::RowKey(*rowid) : store::RowKey(identifier)});
  if (!deleted.ok()) return StoreErrorRejection(deleted.status());
  if (*deleted == 0) {
    return TextRejection(404, "not_found",
                         (rowid ? "Session with ID " : "Session with session_id ") + identifier + " not found");
  }
  return http::Response::NoContent();
}

Reply MutationsApi::Impl::DeleteSessions(const http::Request& request) {
  auto body = ParseObjectBody(request);
  if (auto* r = std::get_if<Rejection>(&body)) return std::move(*r);
  std::vector<BodyIssue> issues;
  Fields f(*std::get<std::unique_ptr<rapidjson::Document>>(body), {}, issues);
  std::optional<std::vector<std::string>> identifiers = f.StringList("session_identifiers");
  if (!issues.empty()) return BodyValidationRejection(issues);

  std::vector<store::RowKey> keys;
  size_t global_ids = 0;
  for (const std::string& identifier : *identifiers) {
    if (std::optional<int64_t> rowid = DecodeGlobalIdOfType(identifier, kSessionType)) {
      keys.emplace_back(*rowid);
      ++global_ids;
    } else {
      keys.emplace_back(identifier);
    }
  }
  if (global_ids != 0 && global_ids != keys.size()) {
    return TextRejection(422, "mixed_identifiers",
                         "All session identifiers must be the same type: either all GlobalIDs or all session_id "
                         "strings");
  }
  auto deleted = store_.DeleteSessions(keys);
  if (!deleted.ok()) return StoreErrorRejection(deleted.status());
  return http::Response::NoContent();
}

}  // namespace osprey::query
