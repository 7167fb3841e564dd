#include "osprey/query/annotations_api.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "osprey/base/status.hpp"
#include "osprey/http/json.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/views.hpp"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace osprey::query {
namespace {

using store::AnnotationKind;
using Value = rapidjson::Value;

// Nesting a request body may have; deeper bodies are refused before any recursive walk (rendering a
// value in an error message, serializing metadata).
constexpr int kMaxBodyDepth = 256;
// Ids per list request and items per annotation request, as in Phoenix.
constexpr size_t kMaxListIds = 1000;

struct KindNames {
  const char* id_type;     // GlobalID type of the annotation
  const char* target_key;  // body and response field naming the target
  const char* list_param;  // GET filter parameter
  const char* plural;      // "Spans", for messages
  const char* note_prefix;
};

const KindNames& Names(AnnotationKind kind) {
  static const KindNames kSpan{"SpanAnnotation", "span_id", "span_ids", "Spans", "px-span-note:"};
  static const KindNames kTrace{"TraceAnnotation", "trace_id", "trace_ids", "Traces", "px-trace-note:"};
  static const KindNames kSession{"ProjectSessionAnnotation", "session_id", "session_ids", "Sessions",
                                  "px-session-note:"};
  static const KindNames kDocument{"DocumentAnnotation", "span_id", "span_ids", "Spans", ""};
  switch (kind) {
    case AnnotationKind::kTrace:
      return kTrace;
    case AnnotationKind::kSession:
      return kSession;
    case AnnotationKind::kDocument:
      return kDocument;
    case AnnotationKind::kSpan:
      break;
  }
  return kSpan;
}

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += values[i];
  }
  return out;
}

std::string UuidV4() {
  thread_local std::mt19937_64 random(std::random_device{}());
  uint64_t hi = random();
  uint64_t lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buffer;
}

http::Response JsonOk(const rapidjson::StringBuffer& buffer) {
  return http::Response::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

// {"data": <one item>}.
template <typename WriteItem>
http::Response DataReply(WriteItem write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  write(w);
  w.EndObject();
  return JsonOk(buffer);
}

// {"data": [...], "next_cursor": <GlobalID or null>}.
template <typename T, typename WriteItem>
http::Response PageJson(const std::vector<T>& items, const std::optional<std::string>& next_cursor, WriteItem write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  w.StartArray();
  for (const T& item : items) write(w, item);
  w.EndArray();
  w.Key("next_cursor");
  if (next_cursor) {
    w.String(next_cursor->data(), static_cast<rapidjson::SizeType>(next_cursor->size()));
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonOk(buffer);
}

// ---------------------------------------------------------------- request bodies

// Deepest nesting of arrays and objects in a parsed document, walked without recursion; stops past
// `limit`.
int DocumentDepth(const Value& root, int limit) {
  std::vector<std::pair<const Value*, int>> stack = {{&root, 1}};
  int max_depth = 0;
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    if (value->IsArray()) {
      for (const Value& child : value->GetArray()) stack.emplace_back(&child, depth + 1);
    } else if (value->IsObject()) {
      for (const auto& member : value->GetObject()) stack.emplace_back(&member.value, depth + 1);
    } else {
      continue;
    }
    max_depth = std::max(max_depth, depth);
    if (max_depth > limit) break;
  }
  return max_depth;
}

// Parses the body into `doc`, or the 422 FastAPI answers for a body that is not JSON.
std::optional<Rejection> ParseBody(const http::Request& request, rapidjson::Document& doc) {
  auto invalid = [](size_t offset, const std::string& error) {
    BodyIssue issue;
    issue.loc = {std::to_string(offset)};
    issue.type = "json_invalid";
    issue.msg = "JSON decode error";
    issue.input_json = "{}";
    rapidjson::StringBuffer ctx;
    JsonWriter w(ctx);
    w.StartObject();
    w.Key("error");
    w.String(error.data(), static_cast<rapidjson::SizeType>(error.size()));
    w.EndObject();
    issue.ctx_json = ctx.GetString();
    return BodyValidationRejection({issue});
  };
  // Iterative parsing, and a depth check before anything walks the document recursively.
  doc.Parse<rapidjson::kParseIterativeFlag>(request.body.data(), request.body.size());
  if (doc.HasParseError()) return invalid(doc.GetErrorOffset(), rapidjson::GetParseError_En(doc.GetParseError()));
  if (DocumentDepth(doc, kMaxBodyDepth) > kMaxBodyDepth) {
    return invalid(0, "nesting deeper than " + std::to_string(kMaxBodyDepth) + " levels");
  }
  return std::nullopt;
}

// Field-by-field validation of a parsed body, collecting pydantic-style issues.
class BodyCheck final {
 public:
  // The member `key` of `object` (an object), or nullptr. A missing required member is an issue.
  const Value* Member(const Value& object, const char* key, const std::vector<std::string>& loc, bool required) {
    auto it = object.FindMember(key);
    if (it != object.MemberEnd()) return &it->value;
    if (required) Add(Append(loc, key), "missing", "Field required", object);
    return nullptr;
  }
  // `value` as an object; an issue otherwise. `model` picks pydantic's wording for a model.
  bool Object(const Value& value, const std::vector<std::string>& loc, bool model) {
    if (value.IsObject()) return true;
    if (model) {
      Add(loc, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from", value);
    } else {
      Add(loc, "dict_type", "Input should be a valid dictionary", value);
    }
    return false;
  }
  bool Array(const Value& value, const std::vector<std::string>& loc) {
    if (value.IsArray()) return true;
    Add(loc, "list_type", "Input should be a valid list", value);
    return false;
  }
  std::optional<std::string> String(const Value* value, const std::vector<std::string>& loc, size_t min_length = 0) {
    if (value == nullptr) return std::nullopt;
    if (!value->IsString()) {
      Add(loc, "string_type", "Input should be a valid string", *value);
      return std::nullopt;
    }
    std::string text(value->GetString(), value->GetStringLength());
    if (text.size() < min_length) {
      Add(loc, "string_too_short", "String should have at least " + std::to_string(min_length) + " character", *value,
          "{\"min_length\":" + std::to_string(min_length) + "}");
      return std::nullopt;
    }
    return text;
  }
  // A string or null (nullopt for both; `present` tells a string apart).
  std::optional<std::string> NullableString(const Value* value, const std::vector<std::string>& loc) {
    if (value == nullptr || value->IsNull()) return std::nullopt;
    return String(value, loc);
  }
  std::optional<double> NullableNumber(const Value* value, const std::vector<std::string>& loc) {
    if (value == nullptr || value->IsNull()) return std::nullopt;
    if (!value->IsNumber()) {
      Add(loc, "float_type", "Input should be a valid number", *value);
      return std::nullopt;
    }
    return value->GetDouble();
  }
  std::optional<int64_t> Integer(const Value* value, const std::vector<std::string>& loc) {
    if (value == nullptr) return std::nullopt;
    if (value->IsInt64()) return value->GetInt64();
    if (value->IsDouble() && std::trunc(value->GetDouble()) == value->GetDouble() &&
        std::fabs(value->GetDouble()) < 9e18) {
      return static_cast<int64_t>(value->GetDouble());
    }
    Add(loc, "int_type", "Input should be a valid integer", *value);
    return std::nullopt;
  }
  std::optional<std::string> Literal(const Value* value, const std::vector<std::string>& loc,
                                     const std::vector<std::string>& allowed) {
    if (value == nullptr) return std::nullopt;
    if (value->IsString()) {
      std::string text(value->GetString(), value->GetStringLength());
      if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return text;
    }
    std::string expected;
    for (size_t i = 0; i < allowed.size(); ++i) {
      if (i > 0) expected += (i + 1 == allowed.size()) ? " or " : ", ";
      expected += "'" + allowed[i] + "'";
    }
    rapidjson::StringBuffer ctx;
    JsonWriter w(ctx);
    w.StartObject();
    w.Key("expected");
    w.String(expected.data(), static_cast<rapidjson::SizeType>(expected.size()));
    w.EndObject();
    Add(loc, "literal_error", "Input should be " + expected, *value, ctx.GetString());
    return std::nullopt;
  }
  // A JSON object or null, as compact JSON text ("{}" for null or absent).
  std::string NullableObjectJson(const Value* value, const std::vector<std::string>& loc) {
    if (value == nullptr || value->IsNull()) return "{}";
    if (!Object(*value, loc, false)) return "{}";
    return http::ToString(*value);
  }

  static std::vector<std::string> Append(std::vector<std::string> loc, std::string part) {
    loc.push_back(std::move(part));
    return loc;
  }
  void Add(std::vector<std::string> loc, std::string type, std::string msg, const Value& input,
           std::string ctx_json = "") {
    issues_.push_back(BodyIssue{std::move(loc), std::move(type), std::move(msg), http::ToString(input),
                                std::move(ctx_json)});
  }
  bool ok() const { return issues_.empty(); }
  Rejection Reject() const { return BodyValidationRejection(issues_); }

 private:
  std::vector<BodyIssue> issues_;
};

const std::vector<std::string>& AnnotatorKinds() {
  static const std::vector<std::string> kinds = {"LLM", "CODE", "HUMAN"};
  return kinds;
}

// One SpanAnnotationData / TraceAnnotationData / SessionAnnotationData / SpanDocumentAnnotationData.
store::AnnotationInput ReadAnnotation(BodyCheck& check, AnnotationKind kind, const Value& item,
                                      const std::vector<std::string>& loc) {
  store::AnnotationInput input;
  if (!check.Object(item, loc, true)) return input;
  input.name = check.String(check.Member(item, "name", loc, true), BodyCheck::Append(loc, "name")).value_or("");
  input.annotator_kind = check
                             .Literal(check.Member(item, "annotator_kind", loc, true),
                                      BodyCheck::Append(loc, "annotator_kind"), AnnotatorKinds())
                             .value_or("");
  if (const Value* result = check.Member(item, "result", loc, false); result != nullptr && !result->IsNull()) {
    std::vector<std::string> rloc = BodyCheck::Append(loc, "result");
    if (check.Object(*result, rloc, true)) {
      input.label = check.NullableString(check.Member(*result, "label", rloc, false), BodyCheck::Append(rloc, "label"));
      input.score = check.NullableNumber(check.Member(*result, "score", rloc, false), BodyCheck::Append(rloc, "score"));
      input.explanation = check.NullableString(check.Member(*result, "explanation", rloc, false),
                                               BodyCheck::Append(rloc, "explanation"));
    }
  }
  input.metadata_json = check.NullableObjectJson(check.Member(item, "metadata", loc, false),
                                                 BodyCheck::Append(loc, "metadata"));
  input.identifier =
      check.String(check.Member(item, "identifier", loc, false), BodyCheck::Append(loc, "identifier")).value_or("");
  const char* key = Names(kind).target_key;
  input.target = check.String(check.Member(item, key, loc, true), BodyCheck::Append(loc, key)).value_or("");
  if (kind == AnnotationKind::kDocument) {
    input.document_position =
        check.Integer(check.Member(item, "document_position", loc, true), BodyCheck::Append(loc, "document_position"))
            .value_or(0);
  }
  return input;
}

}  // namespace

// ---------------------------------------------------------------- lifecycle and routes

AnnotationsApi::AnnotationsApi(store::AnnotationStore& annotations, store::ProjectStore& projects,
                               metrics::Registry* metrics, AnnotationsApiOptions options)
    : annotations_(annotations),
      projects_(projects),
      options_(options),
      route_metrics_(metrics),
      metrics_(metrics),
      retry_thread_([this] { RunRetries(); }) {}

AnnotationsApi::~AnnotationsApi() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (retry_thread_.joinable()) retry_thread_.join();
}

void AnnotationsApi::Register(http::Router& router) {
  std::shared_ptr<AnnotationsApi> self = shared_from_this();
  auto add = [&](const char* method, const char* route, auto member) {
    router.Add(method, route,
               route_metrics_.Wrap(route, [self, member](const http::Request& request) {
                 return member(*self, request);
               }));
  };
  using K = AnnotationKind;
  struct KindRoutes {
    K kind;
    const char* post;
    const char* note;
    const char* list;
  };
  for (const KindRoutes& r : {KindRoutes{K::kSpan, "/v1/span_annotations", "/v1/span_notes",
                                         "/v1/projects/{project_identifier}/span_annotations"},
                              KindRoutes{K::kTrace, "/v1/trace_annotations", "/v1/trace_notes",
                                         "/v1/projects/{project_identifier}/trace_annotations"},
                              KindRoutes{K::kSession, "/v1/session_annotations", "/v1/session_notes",
                                         "/v1/projects/{project_identifier}/session_annotations"}}) {
    const K kind = r.kind;
    add("POST", r.post, [kind](AnnotationsApi& api, const http::Request& q) { return api.Annotate(kind, q); });
    add("POST", r.note, [kind](AnnotationsApi& api, const http::Request& q) { return api.CreateNote(kind, q); });
    add("GET", r.list, [kind](AnnotationsApi& api, const http::Request& q) { return api.ListAnnotations(kind, q); });
    add("DELETE", r.list,
        [kind](AnnotationsApi& api, const http::Request& q) { return api.DeleteAnnotations(kind, q); });
  }
  add("POST", "/v1/document_annotations",
      [](AnnotationsApi& api, const http::Request& q) { return api.Annotate(K::kDocument, q); });

  struct ConfigRoute {
    const char* method;
    const char* path;
    Reply (AnnotationsApi::*handler)(const http::Request&);
  };
  const char* kConfigs = "/v1/annotation_configs";
  const char* kConfig = "/v1/annotation_configs/{config_identifier}";
  const char* kProjectConfigs = "/v1/projects/{project_identifier}/annotation_configs";
  const char* kProjectConfig = "/v1/projects/{project_identifier}/annotation_configs/{config_identifier}";
  for (const ConfigRoute& route : {ConfigRoute{"GET", kConfigs, &AnnotationsApi::ListConfigs},
                                   ConfigRoute{"POST", kConfigs, &AnnotationsApi::CreateConfig},
                                   ConfigRoute{"GET", kConfig, &AnnotationsApi::GetConfig},
                                   ConfigRoute{"PUT", kConfig, &AnnotationsApi::UpdateConfig},
                                   ConfigRoute{"DELETE", kConfig, &AnnotationsApi::DeleteConfig},
                                   ConfigRoute{"GET", kProjectConfigs, &AnnotationsApi::ListProjectConfigs},
                                   ConfigRoute{"PUT", kProjectConfigs, &AnnotationsApi::SetProjectConfigs},
                                   ConfigRoute{"PUT", kProjectConfig, &AnnotationsApi::AssignProjectConfig},
                                   ConfigRoute{"DELETE", kProjectConfig, &AnnotationsApi::UnassignProjectConfig}}) {
    auto handler = route.handler;
    add(route.method, route.path,
        [handler](AnnotationsApi& api, const http::Request& q) { return (api.*handler)(q); });
  }
}

// ---------------------------------------------------------------- postponed async annotations

bool AnnotationsApi::Postpone(AnnotationKind kind, std::vector<store::AnnotationInput> items) {
  std::lock_guard lock(mu_);
  if (postponed_.size() + items.size() > options_.max_postponed) return false;
  for (auto& item : items) postponed_.push_back(Postponed{kind, std::move(item), 0});
  return true;
}

size_t AnnotationsApi::postponed() const {
  std::lock_guard lock(mu_);
  return postponed_.size();
}

void AnnotationsApi::RetryPostponed() {
  std::vector<Postponed> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(postponed_);
  }
  if (pending.empty()) return;
  std::map<AnnotationKind, std::vector<size_t>> by_kind;
  for (size_t i = 0; i < pending.size(); ++i) by_kind[pending[i].kind].push_back(i);
  std::vector<Postponed> again;
  int64_t written = 0;
  int64_t dropped = 0;
  for (const auto& [kind, indexes] : by_kind) {
    std::vector<store::AnnotationInput> items;
    for (size_t i : indexes) items.push_back(pending[i].item);
    auto result = annotations_.UpsertAnnotations(kind, items, /*require_all_targets=*/false);
    for (size_t j = 0; j < indexes.size(); ++j) {
      Postponed& p = pending[indexes[j]];
      if (result.ok() && result->ids[j].has_value()) {
        ++written;
        continue;
      }
      if (!result.ok() && !base::IsRetryable(result.status())) {
        ++dropped;  // the store refuses it for good
        continue;
      }
      if (++p.attempts >= options_.max_retries) {
        ++dropped;
        continue;
      }
      again.push_back(std::move(p));
    }
  }
  if (metrics_ != nullptr) {
    auto& family = metrics_->CounterFamily("osprey_query_postponed_annotations_total",
                                           "Async annotations whose target was missing, by outcome.", {"outcome"});
    if (written > 0) family.With({"written"}).Inc(static_cast<double>(written));
    if (dropped > 0) family.With({"dropped"}).Inc(static_cast<double>(dropped));
  }
  if (dropped > 0) log::Warn("postponed annotations dropped", {{"module", "query"}, {"count", std::to_string(dropped)}});
  std::lock_guard lock(mu_);
  for (auto& p : again) postponed_.push_back(std::move(p));
}

void AnnotationsApi::RunRetries() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.retry_interval);
    if (stop_) break;
    if (postponed_.empty()) continue;
    lock.unlock();
    RetryPostponed();
    lock.lock();
  }
}

// ---------------------------------------------------------------- annotations

AnnotationsApi::Reply AnnotationsApi::Annotate(AnnotationKind kind, const http::Request& request) {
  std::vector<ValidationIssue> query_issues;
  const bool sync = ParseBoolParam(request, "sync", false, query_issues);
  if (!query_issues.empty()) return ValidationRejection(query_issues);

  rapidjson::Document doc;
  if (auto rejection = ParseBody(request, doc)) return std::move(*rejection);
  BodyCheck check;
  std::vector<store::AnnotationInput> items;
  if (check.Object(doc, {}, true)) {
    if (const Value* data = check.Member(doc, "data", {}, true); data != nullptr && check.Array(*data, {"data"})) {
      for (rapidjson::SizeType i = 0; i < data->Size(); ++i) {
        items.push_back(ReadAnnotation(check, kind, (*data)[i], {"data", std::to_string(i)}));
      }
    }
  }
  if (!check.ok()) return check.Reject();

  for (const auto& item : items) {
    if (item.name == "note" && kind != AnnotationKind::kDocument) {
      const std::string noun = std::string(AnnotationKindName(kind));
      return TextRejection(400, "reserved_name",
                           "The name 'note' is reserved for " + noun + " notes; use POST /v1/" + noun + "_notes");
    }
    if (kind == AnnotationKind::kDocument && !item.identifier.empty()) {
      return TextRejection(422, "document_identifier",
                           "Document annotations with a non-empty identifier are not supported");
    }
  }
  if (items.empty()) return DataReply([](JsonWriter& w) {
    w.StartArray();
    w.EndArray();
  });

  auto result = annotations_.UpsertAnnotations(kind, items, /*require_all_targets=*/sync);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInvalidArgument) {
      return TextRejection(422, "invalid_annotation", std::string(result.status().message()));
    }
    return StoreErrorRejection(result.status());
  }
  const KindNames& names = Names(kind);
  if (sync && !result->missing_targets.empty()) {
    return TextRejection(404, "not_found",
                         std::string(names.plural) + " with IDs " + Join(result->missing_targets) + " do not exist.");
  }
  if (!sync) {
    std::vector<store::AnnotationInput> missing;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!result->ids[i].has_value()) missing.push_back(items[i]);
    }
    if (!missing.empty() && !Postpone(kind, std::move(missing))) {
      return TextRejection(503, "postponed_full", "Server is at capacity and cannot process more requests");
    }
  }
  return DataReply([&](JsonWriter& w) {
    w.StartArray();
    if (sync) {
      for (const auto& id : result->ids) {
        w.StartObject();
        w.Key("id");
        std::string gid = EncodeGlobalId(names.id_type, *id);
        w.String(gid.data(), static_cast<rapidjson::SizeType>(gid.size()));
        w.EndObject();
      }
    }
    w.EndArray();
  });
}

AnnotationsApi::Reply AnnotationsApi::CreateNote(AnnotationKind kind, const http::Request& request) {
  rapidjson::Document doc;
  if (auto rejection = ParseBody(request, doc)) return std::move(*rejection);
  const KindNames& names = Names(kind);
  BodyCheck check;
  store::AnnotationInput note;
  note.name = "note";
  note.annotator_kind = "HUMAN";
  if (check.Object(doc, {}, true)) {
    const Value* data = check.Member(doc, "data", {}, true);
    if (data != nullptr && check.Object(*data, {"data"}, true)) {
      note.target = check.String(check.Member(*data, names.target_key, {"data"}, true), {"data", names.target_key}, 1)
                        .value_or("");
      note.explanation = check.String(check.Member(*data, "note", {"data"}, true), {"data", "note"}, 1);
      note.identifier = check.String(check.Member(*data, "identifier", {"data"}, false), {"data", "identifier"})
                            .value_or("");
    }
  }
  if (!check.ok()) return check.Reject();
  if (note.identifier.empty()) note.identifier = names.note_prefix + UuidV4();

  auto result = annotations_.UpsertAnnotations(kind, {note}, /*require_all_targets=*/true);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInvalidArgument) {
      return TextRejection(422, "invalid_annotation", std::string(result.status().message()));
    }
    return StoreErrorRejection(result.status());
  }
  if (!result->missing_targets.empty()) {
    std::string noun(AnnotationKindName(kind));
    noun[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(noun[0])));
    return TextRejection(404, "not_found", noun + " with ID " + note.target + " not found");
  }
  const int64_t id = *result->ids[0];
  return DataReply([&](JsonWriter& w) {
    w.StartObject();
    w.Key("id");
    std::string gid = EncodeGlobalId(names.id_type, id);
    w.String(gid.data(), static_cast<rapidjson::SizeType>(gid.size()));
    w.EndObject();
  });
}

Parsed<store::ProjectRecord> AnnotationsApi::ResolveProject(const http::Request& request) {
  std::string identifier = PathValue(request, "project_identifier");
  std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kProjectType);
  auto project = id ? projects_.GetProjectById(*id) : projects_.GetProjectByName(identifier);
  if (!project.ok()) return StoreErrorRejection(project.status());
  if (!project->has_value()) {
    return TextRejection(404, "not_found", "Project with identifier " + identifier + " not found");
  }
  return **project;
}

AnnotationsApi::Reply AnnotationsApi::ListAnnotations(AnnotationKind kind, const http::Request& request) {
  const KindNames& names = Names(kind);
  std::vector<ValidationIssue> issues;
  store::AnnotationQuery query;
  query.kind = kind;
  query.limit = ParseLimit(request, 10, 10000, issues);
  for (const std::string& identifier : request.QueryAll("identifier")) {
    if (identifier.empty()) {
      issues.push_back({"identifier", "string_too_short", "String should have at least 1 character", identifier,
                        "{\"min_length\":1}"});
    }
  }
  if (!issues.empty()) return ValidationRejection(issues);

  std::set<std::string> targets;
  for (const std::string& target : request.QueryAll(names.list_param)) targets.insert(target);
  std::set<std::string> identifiers;
  for (const std::string& identifier : request.QueryAll("identifier")) identifiers.insert(identifier);
  if (targets.size() > kMaxListIds) {
    return TextRejection(422, "too_many_ids",
                         "Too many " + std::string(names.list_param) + " supplied: " + std::to_string(targets.size()) +
                             " (max " + std::to_string(kMaxListIds) + ")");
  }
  if (identifiers.size() > kMaxListIds) {
    return TextRejection(422, "too_many_ids",
                         "Too many identifiers supplied: " + std::to_string(identifiers.size()) + " (max " +
                             std::to_string(kMaxListIds) + ")");
  }
  if (targets.empty() && identifiers.empty()) {
    return TextRejection(422, "missing_filter",
                         "At least one of " + std::string(names.list_param) + " or identifier must be supplied");
  }
  query.targets.assign(targets.begin(), targets.end());
  query.identifiers.assign(identifiers.begin(), identifiers.end());
  query.include_names = request.QueryAll("include_annotation_names");
  query.exclude_names = request.QueryAll("exclude_annotation_names");

  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  query.project_id = std::get<store::ProjectRecord>(project).id;
  if (std::optional<std::string> cursor = LastQueryValue(request, "cursor")) {
    std::optional<GlobalId> gid = DecodeGlobalId(*cursor);
    if (!gid) return TextRejection(422, "invalid_cursor", "Invalid cursor value");
    query.cursor_id = gid->id;
  }

  auto page = annotations_.ListAnnotations(query);
  if (!page.ok()) return StoreErrorRejection(page.status());
  if (page->items.empty() && !query.targets.empty() && query.identifiers.empty()) {
    auto exists = annotations_.AnyAnnotationTargetExists(kind, query.project_id, query.targets);
    if (!exists.ok()) return StoreErrorRejection(exists.status());
    if (!*exists) {
      return TextRejection(404, "not_found",
                           "None of the supplied " + std::string(names.list_param) + " exist in this project");
    }
  }
  std::optional<std::string> next;
  if (page->next_cursor) next = EncodeGlobalId(names.id_type, *page->next_cursor);
  return PageJson(page->items, next, [&](JsonWriter& w, const store::AnnotationRecord& annotation) {
    WriteAnnotation(w, annotation, names.id_type, names.target_key);
  });
}

AnnotationsApi::Reply AnnotationsApi::DeleteAnnotations(AnnotationKind kind, const http::Request& request) {
  std::vector<ValidationIssue> issues;
  store::AnnotationDeleteFilter filter;
  filter.kind = kind;
  for (const char* param : {"name", "identifier"}) {
    std::optional<std::string> value = LastQueryValue(request, param);
    if (value && value->empty()) {
      issues.push_back(
          {param, "string_too_short", "String should have at least 1 character", *value, "{\"min_length\":1}"});
    }
  }
  filter.name = LastQueryValue(request, "name");
  filter.identifier = LastQueryValue(request, "identifier");
  if (LastQueryValue(request, "annotator_kind")) {
    filter.annotator_kind = ParseLiteralParam(request, "annotator_kind", AnnotatorKinds(), "", issues);
  }
  filter.created_from_ns = ParseTimeParam(request, "start_time", issues);
  filter.created_before_ns = ParseTimeParam(request, "end_time", issues);
  const bool delete_all = ParseBoolParam(request, "delete_all", false, issues);
  if (!issues.empty()) return ValidationRejection(issues);
  if (!delete_all && !(filter.created_from_ns && filter.created_before_ns)) {
    return TextRejection(422, "unbounded_delete",
                         "Delete is unbounded. Set delete_all=true to acknowledge, or supply both start_time and "
                         "end_time to bound the time range.");
  }
  if (filter.created_from_ns && filter.created_before_ns && *filter.created_from_ns >= *filter.created_before_ns) {
    return TextRejection(422, "bad_time_range", "`start_time` must be strictly earlier than `end_time`.");
  }
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  filter.project_id = std::get<store::ProjectRecord>(project).id;
  auto deleted = annotations_.DeleteAnnotations(filter);
  if (!deleted.ok()) return StoreErrorRejection(deleted.status());
  return http::Response::NoContent();
}

// ---------------------------------------------------------------- annotation configs

namespace {

const std::vector<std::string>& OptimizationDirections() {
  static const std::vector<std::string> directions = {"MINIMIZE", "MAXIMIZE", "NONE"};
  return directions;
}

// CreateAnnotationConfigData (discriminated by `type`) into a config record; issues in `check`.
store::AnnotationConfigRecord ReadConfig(BodyCheck& check, const Value& body) {
  store::AnnotationConfigRecord config;
  if (!check.Object(body, {}, true)) return config;
  const Value* type = check.Member(body, "type", {}, false);
  static const std::vector<std::string> kTypes = {"CATEGORICAL", "CONTINUOUS", "FREEFORM"};
  if (type == nullptr) {
    check.Add({}, "union_tag_not_found", "Unable to extract tag using discriminator 'type'", body,
              "{\"discriminator\":\"'type'\"}");
    return config;
  }
  if (!type->IsString() || std::find(kTypes.begin(), kTypes.end(), type->GetString()) == kTypes.end()) {
    check.Add({}, "union_tag_invalid",
              "Input tag '" + http::ToString(*type) +
                  "' found using 'type' does not match any of the expected tags: 'CATEGORICAL', 'CONTINUOUS', "
                  "'FREEFORM'",
              body);
    return config;
  }
  config.type = type->GetString();
  const std::vector<std::string> loc = {config.type};
  config.name = check.String(check.Member(body, "name", loc, true), BodyCheck::Append(loc, "name")).value_or("");

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("description");
  if (auto d = check.NullableString(check.Member(body, "description", loc, false), BodyCheck::Append(loc, "description"))) {
    w.String(d->data(), static_cast<rapidjson::SizeType>(d->size()));
  } else {
    w.Null();
  }
  w.Key("optimization_direction");
  const Value* direction = check.Member(body, "optimization_direction", loc, config.type != "FREEFORM");
  if (direction != nullptr && !(direction->IsNull() && config.type == "FREEFORM")) {
    auto d = check.Literal(direction, BodyCheck::Append(loc, "optimization_direction"), OptimizationDirections());
    d ? (void)w.String(d->data(), static_cast<rapidjson::SizeType>(d->size())) : (void)w.Null();
  } else {
    w.Null();
  }
  auto number = [&](const char* key) {
    w.Key(key);
    auto value = check.NullableNumber(check.Member(body, key, loc, false), BodyCheck::Append(loc, key));
    value ? (void)w.Double(*value) : (void)w.Null();
    return value;
  };
  if (config.type == "CATEGORICAL") {
    w.Key("values");
    w.StartArray();
    const std::vector<std::string> vloc = BodyCheck::Append(loc, "values");
    if (const Value* values = check.Member(body, "values", loc, true); values != nullptr && check.Array(*values, vloc)) {
      for (rapidjson::SizeType i = 0; i < values->Size(); ++i) {
        const std::vector<std::string> iloc = BodyCheck::Append(vloc, std::to_string(i));
        const Value& value = (*values)[i];
        if (!check.Object(value, iloc, true)) continue;
        auto label = check.String(check.Member(value, "label", iloc, true), BodyCheck::Append(iloc, "label"));
        auto score = check.NullableNumber(check.Member(value, "score", iloc, false), BodyCheck::Append(iloc, "score"));
        w.StartObject();
        w.Key("label");
        label ? (void)w.String(label->data(), static_cast<rapidjson::SizeType>(label->size())) : (void)w.Null();
        w.Key("score");
        score ? (void)w.Double(*score) : (void)w.Null();
        w.EndObject();
      }
    }
    w.EndArray();
  } else {
    if (config.type == "FREEFORM") number("threshold");
    auto lower = number("lower_bound");
    auto upper = number("upper_bound");
    if (lower && upper && *lower >= *upper) {
      check.Add(loc, "value_error", "Value error, lower_bound must be less than upper_bound", body);
    }
  }
  w.EndObject();
  config.config_json = buffer.GetString();
  return config;
}

// Whether `text` decodes to a GlobalID of one of the three config types; its row id then.
std::optional<int64_t> ConfigGlobalId(const std::string& text) {
  for (const char* type : {"CategoricalAnnotationConfig", "ContinuousAnnotationConfig", "FreeformAnnotationConfig"}) {
    if (auto id = DecodeGlobalIdOfType(text, type)) return id;
  }
  return std::nullopt;
}

Rejection ConfigWriteFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kAlreadyExists:
      return TextRejection(409, "conflict", std::string(status.message()));
    case absl::StatusCode::kNotFound:
      return TextRejection(404, "not_found", std::string(status.message()));
    case absl::StatusCode::kInvalidArgument:
      return TextRejection(422, "invalid_config", std::string(status.message()));
    default:
      return StoreErrorRejection(status);
  }
}

http::Response ConfigPage(const store::Page<store::AnnotationConfigRecord>& page) {
  std::optional<std::string> next;
  if (page.next_cursor) {
    // The cursor names the next row by id; its type does not matter on the way back.
    next = EncodeGlobalId("CategoricalAnnotationConfig", *page.next_cursor);
  }
  return PageJson(page.items, next,
                  [](JsonWriter& w, const store::AnnotationConfigRecord& config) { WriteAnnotationConfig(w, config); });
}

}  // namespace

Parsed<store::AnnotationConfigRecord> AnnotationsApi::ResolveConfig(const std::string& identifier, bool by_name) {
  std::optional<int64_t> id = ConfigGlobalId(identifier);
  if (!id && !by_name) {
    return TextRejection(422, "invalid_id", "Invalid annotation configuration ID: " + identifier);
  }
  auto config = id ? annotations_.GetAnnotationConfigById(*id) : annotations_.GetAnnotationConfigByName(identifier);
  if (!config.ok()) return StoreErrorRejection(config.status());
  if (!config->has_value()) return TextRejection(404, "not_found", "Annotation configuration not found");
  return **config;
}

AnnotationsApi::Reply AnnotationsApi::ListConfigs(const http::Request& request) {
  std::vector<ValidationIssue> issues;
  const int limit = ParseLimit(request, 100, std::nullopt, issues);
  if (!issues.empty()) return ValidationRejection(issues);
  std::optional<int64_t> cursor;
  if (std::optional<std::string> raw = LastQueryValue(request, "cursor")) {
    cursor = ConfigGlobalId(*raw);
    if (!cursor) return TextRejection(422, "invalid_cursor", "Invalid cursor format: " + *raw);
  }
  auto page = annotations_.ListAnnotationConfigs(std::nullopt, cursor, limit);
  if (!page.ok()) return StoreErrorRejection(page.status());
  return ConfigPage(*page);
}

AnnotationsApi::Reply AnnotationsApi::GetConfig(const http::Request& request) {
  auto config = ResolveConfig(PathValue(request, "config_identifier"), /*by_name=*/true);
  if (auto* r = std::get_if<Rejection>(&config)) return std::move(*r);
  return DataReply([&](JsonWriter& w) { WriteAnnotationConfig(w, std::get<store::AnnotationConfigRecord>(config)); });
}

AnnotationsApi::Reply AnnotationsApi::CreateConfig(const http::Request& request) {
  rapidjson::Document doc;
  if (auto rejection = ParseBody(request, doc)) return std::move(*rejection);
  BodyCheck check;
  store::AnnotationConfigRecord config = ReadConfig(check, doc);
  if (!check.ok()) return check.Reject();
  if (config.name == "note") return TextRejection(400, "reserved_name", "The name 'note' is reserved for span notes");
  auto created = annotations_.CreateAnnotationConfig(config);
  if (!created.ok()) return ConfigWriteFailure(created.status());
  return DataReply([&](JsonWriter& w) { WriteAnnotationConfig(w, *created); });
}

AnnotationsApi::Reply AnnotationsApi::UpdateConfig(const http::Request& request) {
  const std::string identifier = PathValue(request, "config_identifier");
  std::optional<int64_t> id = ConfigGlobalId(identifier);
  if (!id) return TextRejection(422, "invalid_id", "Invalid annotation configuration ID: " + identifier);
  rapidjson::Document doc;
  if (auto rejection = ParseBody(request, doc)) return std::move(*rejection);
  BodyCheck check;
  store::AnnotationConfigRecord config = ReadConfig(check, doc);
  if (!check.ok()) return check.Reject();
  if (config.name == "note") return TextRejection(400, "reserved_name", "The name 'note' is reserved for span notes");
  config.id = *id;
  auto updated = annotations_.UpdateAnnotationConfig(config);
  if (!updated.ok()) return ConfigWriteFailure(updated.status());
  return DataReply([&](JsonWriter& w) { WriteAnnotationConfig(w, *updated); });
}

AnnotationsApi::Reply AnnotationsApi::DeleteConfig(const http::Request& request) {
  const std::string identifier = PathValue(request, "config_identifier");
  std::optional<int64_t> id = ConfigGlobalId(identifier);
  if (!id) return TextRejection(422, "invalid_id", "Invalid annotation configuration ID: " + identifier);
  auto deleted = annotations_.DeleteAnnotationConfig(*id);
  if (!deleted.ok()) return StoreErrorRejection(deleted.status());
  if (!deleted->has_value()) return TextRejection(404, "not_found", "Annotation configuration not found");
  return DataReply([&](JsonWriter& w) { WriteAnnotationConfig(w, **deleted); });
}

AnnotationsApi::Reply AnnotationsApi::ListProjectConfigs(const http::Request& request) {
  std::vector<ValidationIssue> issues;
  const int limit = ParseLimit(request, 100, std::nullopt, issues);
  if (!issues.empty()) return ValidationRejection(issues);
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  std::optional<int64_t> cursor;
  if (std::optional<std::string> raw = LastQueryValue(request, "cursor")) {
    cursor = ConfigGlobalId(*raw);
    if (!cursor) return TextRejection(422, "invalid_cursor", "Invalid cursor format: " + *raw);
  }
  auto page = annotations_.ListAnnotationConfigs(std::get<store::ProjectRecord>(project).id, cursor, limit);
  if (!page.ok()) return StoreErrorRejection(page.status());
  return ConfigPage(*page);
}

AnnotationsApi::Reply AnnotationsApi::SetProjectConfigs(const http::Request& request) {
  rapidjson::Document doc;
  if (auto rejection = ParseBody(request, doc)) return std::move(*rejection);
  BodyCheck check;
  std::vector<std::string> gids;
  if (check.Object(doc, {}, true)) {
    const Value* ids = check.Member(doc, "annotation_config_ids", {}, true);
    if (ids != nullptr && check.Array(*ids, {"annotation_config_ids"})) {
      for (rapidjson::SizeType i = 0; i < ids->Size(); ++i) {
        auto gid = check.String(&(*ids)[i], {"annotation_config_ids", std::to_string(i)});
        if (gid) gids.push_back(*gid);
      }
    }
  }
  if (!check.ok()) return check.Reject();
  std::vector<int64_t> config_ids;
  for (const std::string& gid : gids) {
    std::optional<int64_t> id = ConfigGlobalId(gid);
    if (!id) return TextRejection(422, "invalid_id", "Invalid annotation configuration ID: " + gid);
    config_ids.push_back(*id);
  }
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  const int64_t project_id = std::get<store::ProjectRecord>(project).id;
  if (absl::Status st = annotations_.SetProjectAnnotationConfigs(project_id, config_ids); !st.ok()) {
    return ConfigWriteFailure(st);
  }
  auto page = annotations_.ListAnnotationConfigs(project_id, std::nullopt, static_cast<int>(config_ids.size()) + 1);
  if (!page.ok()) return StoreErrorRejection(page.status());
  return ConfigPage(*page);
}

AnnotationsApi::Reply AnnotationsApi::AssignProjectConfig(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  auto config = ResolveConfig(PathValue(request, "config_identifier"), /*by_name=*/true);
  if (auto* r = std::get_if<Rejection>(&config)) return std::move(*r);
  const auto& record = std::get<store::AnnotationConfigRecord>(config);
  if (absl::Status st = annotations_.AssignAnnotationConfig(std::get<store::ProjectRecord>(project).id, record.id);
      !st.ok()) {
    return ConfigWriteFailure(st);
  }
  return DataReply([&](JsonWriter& w) { WriteAnnotationConfig(w, record); });
}

AnnotationsApi::Reply AnnotationsApi::UnassignProjectConfig(const http::Request& request) {
  auto project = ResolveProject(request);
  if (auto* r = std::get_if<Rejection>(&project)) return std::move(*r);
  auto config = ResolveConfig(PathValue(request, "config_identifier"), /*by_name=*/true);
  if (auto* r = std::get_if<Rejection>(&config)) return std::move(*r);
  auto removed = annotations_.UnassignAnnotationConfig(std::get<store::ProjectRecord>(project).id,
                                                       std::get<store::AnnotationConfigRecord>(config).id);
  if (!removed.ok()) return StoreErrorRejection(removed.status());
  if (!*removed) return TextRejection(404, "not_found", "Annotation configuration is not assigned to the project");
  return http::Response::NoContent();
}

}  // namespace osprey::query
