#include "osprey/query/span_query_api.hpp"

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "osprey/base/time.hpp"
#include "osprey/log/log.hpp"
#include "osprey/spanquery/compiler.hpp"
#include "osprey/spanquery/query.hpp"
#include "osprey/spanquery/table.hpp"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::query {
namespace {

constexpr const char* kRoute = "/v1/spans";

std::string JsonText(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  value.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Rejection InvalidQuery(const std::string& message) {
  return TextRejection(422, "invalid_query", "Invalid query: " + message);
}

// A random URL-safe multipart boundary.
std::string Boundary() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (int i = 0; i < 32; ++i) out += kAlphabet[rng() % 64];
  return out;
}

struct Body {
  std::vector<spanquery::QuerySpec> queries;
  spanquery::QueryWindow window;
  std::optional<std::string> project_name;
  std::optional<std::string> project_id;
};

// The request body in FastAPI's terms: every field type problem is one BodyIssue.
Parsed<Body> ParseBody(const std::string& raw) {
  rapidjson::Document doc;
  // Too deep is refused unparsed: the parser recurses once per level.
  const bool invalid =
      JsonTextDepth(raw, kMaxJsonBodyDepth) > kMaxJsonBodyDepth || doc.Parse(raw.data(), raw.size()).HasParseError();
  if (invalid || !doc.IsObject()) {
    BodyIssue issue;
    issue.type = invalid ? "json_invalid" : "model_attributes_type";
    issue.msg = invalid ? "JSON decode error" : "Input should be a valid dictionary or object to extract fields from";
    return BodyValidationRejection({issue});
  }
  Body body;
  std::vector<BodyIssue> issues;
  auto time = [&](const char* name) -> std::optional<int64_t> {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (it->value.IsString()) {
      if (auto ns = base::ParseIsoTime(std::string_view(it->value.GetString(), it->value.GetStringLength()))) return ns;
    }
    issues.push_back(
        {{name}, "datetime_from_date_parsing", "Input should be a valid datetime", JsonText(it->value), ""});
    return std::nullopt;
  };
  body.window.start_time_ns = time("start_time");
  body.window.end_time_ns = time("end_time");
  if (!body.window.end_time_ns) body.window.end_time_ns = time("stop_time");
  if (auto it = doc.FindMember("limit"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsInt64()) {
      issues.push_back({{"limit"}, "int_parsing", "Input should be a valid integer", JsonText(it->value), ""});
    } else {
      body.window.limit = it->value.GetInt64();
    }
  }
  auto flag = [&](const char* name, bool& out) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || it->value.IsNull()) return;
    if (!it->value.IsBool()) {
      issues.push_back({{name}, "bool_parsing", "Input should be a valid boolean", JsonText(it->value), ""});
      return;
    }
    out = it->value.GetBool();
  };
  flag("root_spans_only", body.window.root_spans_only);
  flag("orphan_span_as_root_span", body.window.orphan_span_as_root_span);
  auto text = [&](const char* name, std::optional<std::string>& out) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || it->value.IsNull()) return;
    if (!it->value.IsString()) {
      issues.push_back({{name}, "string_type", "Input should be a valid string", JsonText(it->value), ""});
      return;
    }
    out = std::string(it->value.GetString(), it->value.GetStringLength());
  };
  text("project_name", body.project_name);
  text("project_id", body.project_id);
  auto queries = doc.FindMember("queries");
  if (queries == doc.MemberEnd()) {
    issues.push_back({{"queries"}, "missing", "Field required", JsonText(doc), ""});
  } else if (!queries->value.IsArray()) {
    issues.push_back({{"queries"}, "list_type", "Input should be a valid list", JsonText(queries->value), ""});
  }
  if (!issues.empty()) return BodyValidationRejection(issues);
  if (queries->value.Size() > SpanQueryApi::kMaxQueries) {
    return InvalidQuery("at most " + std::to_string(SpanQueryApi::kMaxQueries) + " queries per request");
  }
  for (rapidjson::SizeType i = 0; i < queries->value.Size(); ++i) {
    auto spec = spanquery::ParseQuerySpec(queries->value[i]);
    if (!spec.ok()) {
      std::string where = queries->value.Size() > 1 ? "queries[" + std::to_string(i) + "]: " : "";
      return InvalidQuery(where + std::string(spec.status().message()));
    }
    body.queries.push_back(std::move(*spec));
  }
  if (body.window.limit < 1 || body.window.limit > SpanQueryApi::kMaxLimit) {
    return InvalidQuery("limit must be between 1 and " + std::to_string(SpanQueryApi::kMaxLimit) + ", got " +
                        std::to_string(body.window.limit));
  }
  return body;
}

}  // namespace

SpanQueryApi::SpanQueryApi(store::ProjectStore& projects, store::SqlReader& reader, metrics::Registry* metrics)
    : projects_(projects), reader_(reader), metrics_(metrics) {}

void SpanQueryApi::Register(http::Router& router) {
  // The routes own a copy of this object (references and metric pointers only); the wrapper refers to
  // the copy's RouteMetrics, which the handler it wraps keeps alive.
  auto self = std::make_shared<SpanQueryApi>(*this);
  auto handler = self->metrics_.Wrap(kRoute, [self](const http::Request& request) { return self->Query(request); });
  router.Add("POST", kRoute, handler);
  router.Add("GET", kRoute, handler);
}

Parsed<http::Response> SpanQueryApi::Query(const http::Request& request) {
  Parsed<Body> parsed = ParseBody(request.body);
  if (auto* rejection = std::get_if<Rejection>(&parsed)) return std::move(*rejection);
  Body& body = std::get<Body>(parsed);

  // Project: query params, header, body name, body id, then "default".
  std::optional<std::string> name = request.Query("project_name");
  if (!name) name = request.Query("project-name");
  if (!name) name = request.Header("project-name");
  if (!name) name = body.project_name;
  std::optional<store::ProjectRecord> project;
  if (!name && body.project_id) {
    Parsed<store::ProjectRecord> resolved = ResolveProjectIdentifier(projects_, *body.project_id);
    if (auto* rejection = std::get_if<Rejection>(&resolved)) return std::move(*rejection);
    project = std::get<store::ProjectRecord>(std::move(resolved));
  } else {
    auto found = projects_.GetProjectByName(name.value_or("default"));
    if (!found.ok()) return StoreErrorRejection(found.status());
    project = std::move(*found);
  }
  // An unknown project matches no span: every frame is empty, as Phoenix's name filter gives.
  body.window.project_id = project ? project->id : -1;

  std::vector<std::string> tables;
  for (const spanquery::QuerySpec& spec : body.queries) {
    auto compiled = spanquery::CompileQuery(spec, body.window, reader_.dialect());
    if (!compiled.ok()) return InvalidQuery(std::string(compiled.status().message()));
    auto rows = reader_.RunReadQuery(compiled->sql);
    if (!rows.ok()) {
      if (rows.status().code() == absl::StatusCode::kInvalidArgument) {
        log::Warn("span query failed in the store",
                  {{"module", "query"}, {"error", std::string(rows.status().message())}});
        return InvalidQuery("the database could not evaluate it (a value out of range?)");
      }
      return StoreErrorRejection(rows.status());
    }
    auto table = spanquery::RenderTable(spec, *compiled, *rows);
    if (!table.ok()) return StoreErrorRejection(table.status());
    tables.push_back(std::move(*table));
  }

  std::string boundary = Boundary();
  std::string out;
  for (const std::string& table : tables) {
    out += "--" + boundary + "\r\nContent-Type: application/json\r\n\r\n" + table + "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  return http::Response::Bytes(200, "multipart/mixed; boundary=" + boundary, std::move(out));
}

}  // namespace osprey::query
