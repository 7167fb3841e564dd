#pragma once

// Query-parameter parsing and validation for the Phoenix-compatible REST routes. Two error shapes,
// as Phoenix (FastAPI) answers them:
//  - typed parameters (integers, booleans, datetimes, enums declared in the OpenAPI schema) fail
//    request validation: 422 application/json
//    {"detail":[{"type":..., "loc":["query", name], "msg":..., "input":..., "ctx":{...}}]};
//  - checks done by the handler (cursors, span_kind / status_code values, attribute filters) raise
//    an HTTPException: 422 text/plain with the bare message.
// A scalar parameter given several times takes its last value (Starlette's rule).
// Pure functions over an http::Request; thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "osprey/http/json.hpp"
#include "osprey/http/server.hpp"
#include "rapidjson/document.h"
#include "osprey/store/store.hpp"

namespace osprey::metrics {
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace osprey::metrics

namespace osprey::query {

// A request refused before it reaches the store. `reason` labels the rejection metric.
struct Rejection {
  std::string reason;
  http::Response response;
};

template <typename T>
using Parsed = std::variant<T, Rejection>;

template <typename T>
bool IsRejected(const Parsed<T>& p) {
  return std::holds_alternative<Rejection>(p);
}

// One FastAPI ValidationError of a query parameter. `ctx_json` is a JSON object text or empty.
struct ValidationIssue {
  std::string param;
  std::string type;
  std::string msg;
  std::string input;
  std::string ctx_json;
};

// 422 application/json HTTPValidationError listing every issue, in order.
Rejection ValidationRejection(const std::vector<ValidationIssue>& issues);
// An HTTPException-style text/plain error.
Rejection TextRejection(int status, std::string reason, std::string message);

// The last value of a scalar parameter, if present.
std::optional<std::string> LastQueryValue(const http::Request& request, std::string_view name);

// Typed parameters. On a bad value they append to `issues` and return the default, so a handler
// reports every bad parameter at once, in declaration order, as FastAPI does.
// `limit`: integer > 0 and, when `max` is set, <= max. Without `max`, values above 1,000,000 are
// served as 1,000,000 (the page then carries a next_cursor), so the store never sees an absurd size.
int ParseLimit(const http::Request& request, int default_limit, std::optional<int> max,
               std::vector<ValidationIssue>& issues);
// An ISO-8601 datetime (naive means UTC) as nanoseconds since the epoch; nullopt when absent.
std::optional<int64_t> ParseTimeParam(const http::Request& request, std::string_view name,
                                      std::vector<ValidationIssue>& issues);
// A pydantic boolean: true/false, 1/0, yes/no, on/off, t/f, y/n (any case).
bool ParseBoolParam(const http::Request& request, std::string_view name, bool default_value,
                    std::vector<ValidationIssue>& issues);
// One of `allowed` (exact match), else `default_value` when absent.
std::string ParseLiteralParam(const http::Request& request, std::string_view name,
                              const std::vector<std::string>& allowed, std::string default_value,
                              std::vector<ValidationIssue>& issues);

// A pagination cursor: the GlobalID of `type`. Anything else: 422 "Invalid cursor format: <cursor>".
Parsed<std::optional<int64_t>> ParseCursor(const http::Request& request, std::string_view type);

// OpenInference span kinds accepted by the span_kind filter.
const std::vector<std::string>& SpanKinds();
// Every span_kind value (any case, returned upper case) must be in SpanKinds(); else 422 text/plain.
Parsed<std::vector<std::string>> ParseSpanKinds(const http::Request& request);
// Every status_code value (any case, returned upper case) must be OK, ERROR or UNSET; else 422.
Parsed<std::vector<std::string>> ParseStatusCodes(const http::Request& request);

// One `key:value` attribute filter: split on the first ':', key a non-empty dot path, value
// JSON-parsed (bool, int, float, string; a value that is not JSON is the string itself; null,
// lists and objects are refused). On error: the message for a 422.
std::variant<store::AttributeFilter, std::string> ParseAttributeFilter(std::string_view text);
Parsed<std::vector<store::AttributeFilter>> ParseAttributeFilters(const http::Request& request);

// Every filter of GET /v1/projects/{id}/spans except the project.
Parsed<store::SpanQuery> ParseSpanQuery(const http::Request& request);

// ---------------------------------------------------------------- shared by the REST surfaces

// One FastAPI ValidationError of a JSON body: `loc` is the path after "body" (an all-digit entry is
// a list index, rendered as an integer); `input_json` is the offending value as JSON text.
struct BodyIssue {
  std::vector<std::string> loc;
  std::string type;
  std::string msg;
  std::string input_json = "null";
  std::string ctx_json;  // JSON object text or empty
};

// 422 application/json HTTPValidationError listing every body issue, in order.
Rejection BodyValidationRejection(const std::vector<BodyIssue>& issues);

// Nesting a JSON request body may have (arrays and objects); see http::JsonTextDepth.
inline constexpr int kMaxJsonBodyDepth = http::kMaxJsonDepth;
using http::JsonTextDepth;

// The JSON object of a request body; otherwise a 422 HTTPValidationError as FastAPI words it (empty
// body: "Field required"; malformed JSON, or nesting deeper than kMaxJsonBodyDepth: "JSON decode
// error"; not an object: model_attributes_type).
Parsed<std::unique_ptr<rapidjson::Document>> ParseObjectBody(const http::Request& request);

// A store failure as the client sees it: retryable ones are 503 + Retry-After, the rest 500. The
// detail is logged, never sent (it may name tables or paths).
Rejection StoreErrorRejection(const absl::Status& status);

// The value of a "{name}" path segment, empty when absent.
std::string PathValue(const http::Request& request, std::string_view name);

// Request metrics of a REST surface, in the families RestApi uses (requests by route and code,
// rejections by route and reason, latency by route). `metrics` may be null: nothing is recorded.
class RouteMetrics final {
 public:
  explicit RouteMetrics(metrics::Registry* metrics);
  // `handler` wrapped: a Rejection is counted and answered with its response.
  http::Handler Wrap(std::string route, std::function<Parsed<http::Response>(const http::Request&)> handler) const;

 private:
  metrics::Family<metrics::Counter>* rejected_ = nullptr;
  metrics::Family<metrics::Counter>* requests_ = nullptr;
  metrics::Family<metrics::Histogram>* latency_ = nullptr;
};

// A `project_identifier` path value: a Project GlobalID or a project name. 404 text/plain
// "Project with ID <gid> not found" / "Project with name <name> not found" when neither resolves.
Parsed<store::ProjectRecord> ResolveProjectIdentifier(store::ProjectStore& projects, const std::string& identifier);

}  // namespace osprey::query
