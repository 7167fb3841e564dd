#include "osprey/query/params.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <limits>

#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "osprey/http/json.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/query/global_id.hpp"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::query {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr int64_t kLimitCap = 1000000;

void WriteString(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// pydantic's "'a', 'b' or 'c'".
std::string ExpectedList(const std::vector<std::string>& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += (i + 1 == allowed.size()) ? " or " : ", ";
    out += "'" + allowed[i] + "'";
  }
  return out;
}

std::string JoinComma(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += values[i];
  }
  return out;
}

std::string CtxJson(std::string_view key, std::string_view string_value) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteString(w, key);
  WriteString(w, string_value);
  w.EndObject();
  return buffer.GetString();
}

std::string CtxJson(std::string_view key, int64_t int_value) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteString(w, key);
  w.Int64(int_value);
  w.EndObject();
  return buffer.GetString();
}

Parsed<std::vector<std::string>> ParseEnumList(const http::Request& request, std::string_view name,
                                               const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  for (const std::string& raw : request.QueryAll(name)) {
    std::string value = Upper(raw);
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      return TextRejection(422, "invalid_" + std::string(name),
                           "Invalid " + std::string(name) + ": '" + raw + "'. Valid values: " + JoinComma(allowed));
    }
    if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
  }
  return out;
}

// 422 application/json {"detail":[{type, loc:[root, ...], msg, input, ctx?}]}; a `loc` entry of digits
// only is a list index and is written as an integer.
Rejection DetailRejection(std::string_view root, std::string reason, const std::vector<BodyIssue>& issues) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("detail");
  w.StartArray();
  for (const BodyIssue& issue : issues) {
    w.StartObject();
    w.Key("type");
    WriteString(w, issue.type);
    w.Key("loc");
    w.StartArray();
    WriteString(w, root);
    for (const std::string& part : issue.loc) {
      if (root == "body" && !part.empty() && part.size() < 10 && std::all_of(part.begin(), part.end(), ::isdigit)) {
        w.Int(std::stoi(part));
      } else {
        WriteString(w, part);
      }
    }
    w.EndArray();
    w.Key("msg");
    WriteString(w, issue.msg);
    w.Key("input");
    w.RawValue(issue.input_json.data(), issue.input_json.size(), rapidjson::kObjectType);
    if (!issue.ctx_json.empty()) {
      w.Key("ctx");
      w.RawValue(issue.ctx_json.data(), issue.ctx_json.size(), rapidjson::kObjectType);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Rejection{std::move(reason), http::Response::Json(422, std::string(buffer.GetString(), buffer.GetSize()))};
}

}  // namespace

Rejection ValidationRejection(const std::vector<ValidationIssue>& issues) {
  std::vector<BodyIssue> located;
  located.reserve(issues.size());
  for (const ValidationIssue& issue : issues) {
    rapidjson::StringBuffer input;
    JsonWriter w(input);
    WriteString(w, issue.input);
    located.push_back(BodyIssue{{issue.param}, issue.type, issue.msg, input.GetString(), issue.ctx_json});
  }
  return DetailRejection("query", "invalid_query_param", located);
}

Rejection TextRejection(int status, std::string reason, std::string message) {
  return Rejection{std::move(reason), http::Response::Text(status, std::move(message))};
}

std::optional<std::string> LastQueryValue(const http::Request& request, std::string_view name) {
  std::vector<std::string> values = request.QueryAll(name);
  if (values.empty()) return std::nullopt;
  return values.back();
}

int ParseLimit(const http::Request& request, int default_limit, std::optional<int> max,
               std::vector<ValidationIssue>& issues) {
  std::optional<std::string> raw = LastQueryValue(request, "limit");
  if (!raw) return default_limit;
  std::string text = Trim(*raw);
  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  bool all_digits =
      !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!all_digits) {
    issues.push_back(
        {"limit", "int_parsing", "Input should be a valid integer, unable to parse string as an integer", *raw, ""});
    return default_limit;
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) value = std::numeric_limits<int64_t>::max();
  (void)end;
  if (negative) value = -value;
  if (value <= 0) {
    issues.push_back({"limit", "greater_than", "Input should be greater than 0", *raw, CtxJson("gt", 0)});
    return default_limit;
  }
  if (max && value > *max) {
    issues.push_back({"limit", "less_than_equal", "Input should be less than or equal to " + std::to_string(*max), *raw,
                      CtxJson("le", *max)});
    return default_limit;
  }
  // Routes without a declared maximum still page: a huge limit is served in pages of kLimitCap.
  return static_cast<int>(std::min<int64_t>(value, kLimitCap));
}

std::optional<int64_t> ParseTimeParam(const http::Request& request, std::string_view name,
                                      std::vector<ValidationIssue>& issues) {
  std::optional<std::string> raw = LastQueryValue(request, name);
  if (!raw) return std::nullopt;
  std::optional<int64_t> ns = base::ParseIsoTime(Trim(*raw));
  if (!ns) {
    const std::string error = "input is not a valid ISO 8601 datetime";
    issues.push_back({std::string(name), "datetime_from_date_parsing",
                      "Input should be a valid datetime or date, " + error, *raw, CtxJson("error", error)});
  }
  return ns;
}

bool ParseBoolParam(const http::Request& request, std::string_view name, bool default_value,
                    std::vector<ValidationIssue>& issues) {
  std::optional<std::string> raw = LastQueryValue(request, name);
  if (!raw) return default_value;
  std::string v = Lower(Trim(*raw));
  if (v == "true" || v == "1" || v == "yes" || v == "on" || v == "t" || v == "y") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off" || v == "f" || v == "n") return false;
  issues.push_back(
      {std::string(name), "bool_parsing", "Input should be a valid boolean, unable to interpret input", *raw, ""});
  return default_value;
}

std::string ParseLiteralParam(const http::Request& request, std::string_view name,
                              const std::vector<std::string>& allowed, std::string default_value,
                              std::vector<ValidationIssue>& issues) {
  std::optional<std::string> raw = LastQueryValue(request, name);
  if (!raw) return default_value;
  if (std::find(allowed.begin(), allowed.end(), *raw) != allowed.end()) return *raw;
  std::string expected = ExpectedList(allowed);
  issues.push_back(
      {std::string(name), "literal_error", "Input should be " + expected, *raw, CtxJson("expected", expected)});
  return default_value;
}

Parsed<std::optional<int64_t>> ParseCursor(const http::Request& request, std::string_view type) {
  std::optional<std::string> raw = LastQueryValue(request, "cursor");
  if (!raw) return std::optional<int64_t>();
  std::optional<int64_t> id = DecodeGlobalIdOfType(*raw, type);
  if (!id) return TextRejection(422, "invalid_cursor", "Invalid cursor format: " + *raw);
  return id;
}

const std::vector<std::string>& SpanKinds() {
  static const std::vector<std::string> kinds = {"LLM",   "CHAIN",    "TOOL",      "RETRIEVER", "EMBEDDING",
                                                 "AGENT", "RERANKER", "GUARDRAIL", "EVALUATOR", "UNKNOWN"};
  return kinds;
}

Parsed<std::vector<std::string>> ParseSpanKinds(const http::Request& request) {
  return ParseEnumList(request, "span_kind", SpanKinds());
}

Parsed<std::vector<std::string>> ParseStatusCodes(const http::Request& request) {
  static const std::vector<std::string> codes = {"OK", "ERROR", "UNSET"};
  return ParseEnumList(request, "status_code", codes);
}

std::variant<store::AttributeFilter, std::string> ParseAttributeFilter(std::string_view text) {
  const std::string prefix = "Invalid attribute filter '" + std::string(text) + "': ";
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return prefix + "expected key:value";
  std::string_view key = text.substr(0, colon);
  std::string_view value = text.substr(colon + 1);
  if (key.empty()) return prefix + "the key is empty";
  if (value.empty()) return prefix + "the value is empty";

  store::AttributeFilter filter;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    std::string_view segment = key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (segment.empty()) return prefix + "the key has an empty path segment";
    filter.path.emplace_back(segment);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }

  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(value.data(), value.size());
  if (doc.HasParseError()) {
    filter.value = std::string(value);  // not JSON: the bare text is the string to match
  } else if (doc.IsBool()) {
    filter.value = doc.GetBool();
  } else if (doc.IsInt64()) {
    filter.value = doc.GetInt64();
  } else if (doc.IsNumber()) {
    filter.value = doc.GetDouble();
  } else if (doc.IsString()) {
    filter.value = std::string(doc.GetString(), doc.GetStringLength());
  } else {
    return prefix + "the value must be a string, a number or a boolean, not null, a list or an object";
  }
  return filter;
}

Parsed<std::vector<store::AttributeFilter>> ParseAttributeFilters(const http::Request& request) {
  std::vector<store::AttributeFilter> out;
  for (const std::string& raw : request.QueryAll("attribute")) {
    auto parsed = ParseAttributeFilter(raw);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      return TextRejection(422, "invalid_attribute", std::move(*error));
    }
    out.push_back(std::get<store::AttributeFilter>(std::move(parsed)));
  }
  return out;
}

Parsed<store::SpanQuery> ParseSpanQuery(const http::Request& request) {
  store::SpanQuery query;
  std::vector<ValidationIssue> issues;
  query.limit = ParseLimit(request, 100, 1000, issues);
  query.start_time_ns = ParseTimeParam(request, "start_time", issues);
  query.end_time_ns = ParseTimeParam(request, "end_time", issues);
  if (!issues.empty()) return ValidationRejection(issues);

  auto cursor = ParseCursor(request, kSpanType);
  if (auto* r = std::get_if<Rejection>(&cursor)) return std::move(*r);
  query.cursor_id = std::get<std::optional<int64_t>>(cursor);

  query.trace_ids = request.QueryAll("trace_id");
  query.span_ids = request.QueryAll("span_id");
  if (std::optional<std::string> parent = LastQueryValue(request, "parent_id")) {
    query.parent_id = (*parent == "null") ? std::string() : *parent;
  }
  query.names = request.QueryAll("name");

  auto kinds = ParseSpanKinds(request);
  if (auto* r = std::get_if<Rejection>(&kinds)) return std::move(*r);
  query.span_kinds = std::get<std::vector<std::string>>(std::move(kinds));

  auto codes = ParseStatusCodes(request);
  if (auto* r = std::get_if<Rejection>(&codes)) return std::move(*r);
  query.status_codes = std::get<std::vector<std::string>>(std::move(codes));

  auto attributes = ParseAttributeFilters(request);
  if (auto* r = std::get_if<Rejection>(&attributes)) return std::move(*r);
  query.attributes = std::get<std::vector<store::AttributeFilter>>(std::move(attributes));
  return query;
}

// ---------------------------------------------------------------- shared by the REST surfaces

Rejection BodyValidationRejection(const std::vector<BodyIssue>& issues) {
  return DetailRejection("body", "invalid_body", issues);
}

Rejection StoreErrorRejection(const absl::Status& status) {
  log::Warn("store call failed", {{"module", "query"}, {"error", std::string(status.message())}});
  if (base::IsRetryable(status)) {
    auto after = base::RetryAfter(status).value_or(std::chrono::milliseconds(1000));
    auto seconds = std::max<int64_t>(1, (after.count() + 999) / 1000);
    Rejection r = TextRejection(503, "store_unavailable", "Service Unavailable");
    r.response.WithHeader("Retry-After", std::to_string(seconds));
    return r;
  }
  return TextRejection(500, "store_error", "Internal Server Error");
}

Parsed<std::unique_ptr<rapidjson::Document>> ParseObjectBody(const http::Request& request) {
  auto document = std::make_unique<rapidjson::Document>();
  if (request.body.empty()) {
    return BodyValidationRejection({BodyIssue{{}, "missing", "Field required", "null", ""}});
  }
  if (JsonTextDepth(request.body, kMaxJsonBodyDepth) > kMaxJsonBodyDepth) {
    return BodyValidationRejection(
        {BodyIssue{{}, "json_invalid", "JSON decode error", "{}",
                   "{\"error\":\"nesting deeper than " + std::to_string(kMaxJsonBodyDepth) + " levels\"}"}});
  }
  if (absl::Status st = http::ParseJson(request.body, *document); !st.ok()) {
    rapidjson::StringBuffer ctx;
    JsonWriter w(ctx);
    w.StartObject();
    w.Key("error");
    WriteString(w, base::ToStd(st.message()));
    w.EndObject();
    return BodyValidationRejection({BodyIssue{{std::to_string(document->GetErrorOffset())},
                                              "json_invalid",
                                              "JSON decode error",
                                              "{}",
                                              std::string(ctx.GetString(), ctx.GetSize())}});
  }
  if (!document->IsObject()) {
    return BodyValidationRejection({BodyIssue{{},
                                              "model_attributes_type",
                                              "Input should be a valid dictionary or object to extract fields from",
                                              http::ToString(*document),
                                              ""}});
  }
  return document;
}

std::string PathValue(const http::Request& request, std::string_view name) {
  auto it = request.path_params.find(std::string(name));
  return it == request.path_params.end() ? std::string() : it->second;
}

RouteMetrics::RouteMetrics(metrics::Registry* metrics) {
  if (metrics == nullptr) return;
  rejected_ = &metrics->CounterFamily("osprey_query_rejected_requests_total",
                                      "REST requests answered with an error, by route and reason.", {"route", "reason"});
  requests_ = &metrics->CounterFamily("osprey_query_requests_total", "REST requests served, by route and status.",
                                      {"route", "code"});
  latency_ = &metrics->HistogramFamily("osprey_query_request_duration_seconds",
                                       "Time to answer a REST request, by route.", metrics::LatencyBuckets(), {"route"});
}

http::Handler RouteMetrics::Wrap(std::string route,
                                 std::function<Parsed<http::Response>(const http::Request&)> handler) const {
  return [this, route = std::move(route), handler = std::move(handler)](const http::Request& request) {
    auto start = std::chrono::steady_clock::now();
    Parsed<http::Response> reply = handler(request);
    http::Response response;
    if (auto* rejection = std::get_if<Rejection>(&reply)) {
      if (rejected_ != nullptr) rejected_->With({route, rejection->reason}).Inc();
      response = std::move(rejection->response);
    } else {
      response = std::get<http::Response>(std::move(reply));
    }
    if (requests_ != nullptr) requests_->With({route, std::to_string(response.status)}).Inc();
    if (latency_ != nullptr) {
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      latency_->With({route}).Observe(elapsed.count());
    }
    return response;
  };
}

Parsed<store::ProjectRecord> ResolveProjectIdentifier(store::ProjectStore& projects, const std::string& identifier) {
  std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kProjectType);
  auto project = id ? projects.GetProjectById(*id) : projects.GetProjectByName(identifier);
  if (!project.ok()) return StoreErrorRejection(project.status());
  if (!project->has_value()) {
    return TextRejection(404, "not_found", (id ? "Project with ID " : "Project with name ") + identifier + " not found");
  }
  return **project;
}

}  // namespace osprey::query
