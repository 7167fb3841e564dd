#include "osprey/query/params.hpp"

#include <catch2/catch.hpp>

#include "osprey/query/global_id.hpp"

using namespace osprey::query;
using osprey::http::Request;

namespace {

Request Req(std::vector<std::pair<std::string, std::string>> query) {
  Request r;
  r.method = "GET";
  r.path = "/v1/projects/p/spans";
  r.query = std::move(query);
  return r;
}

std::string ContentType(const osprey::http::Response& response) {
  for (const auto& [k, v] : response.headers) {
    std::string key = k;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "content-type") return v;
  }
  return "";
}

Rejection Rejected(const Parsed<osprey::store::SpanQuery>& parsed) {
  REQUIRE(std::holds_alternative<Rejection>(parsed));
  return std::get<Rejection>(parsed);
}

osprey::store::SpanQuery Accepted(const Parsed<osprey::store::SpanQuery>& parsed) {
  if (auto* r = std::get_if<Rejection>(&parsed)) FAIL("rejected: " << r->response.body);
  return std::get<osprey::store::SpanQuery>(parsed);
}

}  // namespace

TEST_CASE("limit: default, bounds and FastAPI validation bodies") {
  std::vector<ValidationIssue> issues;
  CHECK(ParseLimit(Req({}), 100, 1000, issues) == 100);
  CHECK(ParseLimit(Req({{"limit", "1000"}}), 100, 1000, issues) == 1000);
  CHECK(ParseLimit(Req({{"limit", "5"}, {"limit", "7"}}), 100, 1000, issues) == 7);  // last value wins
  CHECK(issues.empty());

  ParseLimit(Req({{"limit", "0"}}), 100, 1000, issues);
  REQUIRE(issues.size() == 1);
  Rejection r = ValidationRejection(issues);
  CHECK(r.response.status == 422);
  CHECK(ContentType(r.response).rfind("application/json", 0) == 0);
  CHECK(r.response.body ==
        R"({"detail":[{"type":"greater_than","loc":["query","limit"],"msg":"Input should be greater than 0",)"
        R"("input":"0","ctx":{"gt":0}}]})");

  issues.clear();
  ParseLimit(Req({{"limit", "1001"}}), 100, 1000, issues);
  CHECK(ValidationRejection(issues).response.body ==
        R"({"detail":[{"type":"less_than_equal","loc":["query","limit"],)"
        R"("msg":"Input should be less than or equal to 1000","input":"1001","ctx":{"le":1000}}]})");

  issues.clear();
  ParseLimit(Req({{"limit", "ten"}}), 100, 1000, issues);
  CHECK(ValidationRejection(issues).response.body ==
        R"({"detail":[{"type":"int_parsing","loc":["query","limit"],)"
        R"("msg":"Input should be a valid integer, unable to parse string as an integer","input":"ten"}]})");

  issues.clear();
  CHECK(ParseLimit(Req({{"limit", "5000"}}), 100, std::nullopt, issues) == 5000);  // projects: no maximum
  CHECK(ParseLimit(Req({{"limit", "99999999999999999999"}}), 100, std::nullopt, issues) == 1000000);
  CHECK(issues.empty());
  ParseLimit(Req({{"limit", "-3"}}), 100, std::nullopt, issues);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].type == "greater_than");
}

TEST_CASE("datetimes: offsets and naive UTC accepted, garbage refused") {
  std::vector<ValidationIssue> issues;
  CHECK(ParseTimeParam(Req({{"start_time", "2025-01-02T03:04:05.123456+00:00"}}), "start_time", issues) ==
        1735787045123456000LL);
  CHECK(ParseTimeParam(Req({{"start_time", "2025-01-02T05:04:05+02:00"}}), "start_time", issues) ==
        1735787045000000000LL);
  CHECK(ParseTimeParam(Req({{"start_time", "2025-01-02T03:04:05"}}), "start_time", issues) == 1735787045000000000LL);
  CHECK_FALSE(ParseTimeParam(Req({}), "start_time", issues).has_value());
  CHECK(issues.empty());

  ParseTimeParam(Req({{"end_time", "yesterday"}}), "end_time", issues);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].param == "end_time");
  CHECK(issues[0].type == "datetime_from_date_parsing");
  CHECK(issues[0].input == "yesterday");
}

TEST_CASE("booleans and literals follow pydantic") {
  std::vector<ValidationIssue> issues;
  CHECK(ParseBoolParam(Req({{"include_spans", "true"}}), "include_spans", false, issues));
  CHECK(ParseBoolParam(Req({{"include_spans", "YES"}}), "include_spans", false, issues));
  CHECK_FALSE(ParseBoolParam(Req({{"include_spans", "0"}}), "include_spans", true, issues));
  CHECK(issues.empty());
  ParseBoolParam(Req({{"include_spans", "maybe"}}), "include_spans", false, issues);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].type == "bool_parsing");

  issues.clear();
  CHECK(ParseLiteralParam(Req({}), "sort", {"start_time", "latency_ms"}, "start_time", issues) == "start_time");
  CHECK(ParseLiteralParam(Req({{"sort", "latency_ms"}}), "sort", {"start_time", "latency_ms"}, "start_time", issues) ==
        "latency_ms");
  ParseLiteralParam(Req({{"sort", "name"}}), "sort", {"start_time", "latency_ms"}, "start_time", issues);
  CHECK(ValidationRejection(issues).response.body ==
        R"({"detail":[{"type":"literal_error","loc":["query","sort"],)"
        R"("msg":"Input should be 'start_time' or 'latency_ms'","input":"name",)"
        R"("ctx":{"expected":"'start_time' or 'latency_ms'"}}]})");
}

TEST_CASE("cursors must be GlobalIDs of the listed type") {
  auto ok = ParseCursor(Req({{"cursor", EncodeGlobalId("Span", 9)}}), "Span");
  REQUIRE(std::holds_alternative<std::optional<int64_t>>(ok));
  CHECK(std::get<std::optional<int64_t>>(ok) == 9);

  auto absent = ParseCursor(Req({}), "Span");
  CHECK_FALSE(std::get<std::optional<int64_t>>(absent).has_value());

  for (const std::string& bad : {std::string("garbage"), EncodeGlobalId("Trace", 9), std::string("")}) {
    auto r = ParseCursor(Req({{"cursor", bad}}), "Span");
    REQUIRE(std::holds_alternative<Rejection>(r));
    const auto& rejection = std::get<Rejection>(r);
    CHECK(rejection.response.status == 422);
    CHECK(rejection.response.body == "Invalid cursor format: " + bad);
    CHECK(ContentType(rejection.response).rfind("text/plain", 0) == 0);
    CHECK(rejection.reason == "invalid_cursor");
  }
}

TEST_CASE("attribute filters: split on the first colon, JSON-typed values") {
  using osprey::store::AttributeFilter;
  auto parse = [](const std::string& text) {
    auto p = ParseAttributeFilter(text);
    if (auto* e = std::get_if<std::string>(&p)) FAIL("rejected: " << *e);
    return std::get<AttributeFilter>(p);
  };
  AttributeFilter f = parse("user.id:12345");
  CHECK(f.path == std::vector<std::string>{"user", "id"});
  CHECK(std::get<int64_t>(f.value) == 12345);
  CHECK(std::get<bool>(parse("flag:true").value) == true);
  CHECK(std::get<double>(parse("score:0.5").value) == 0.5);
  CHECK(std::get<double>(parse("score:12.0").value) == 12.0);
  CHECK(std::get<std::string>(parse("user.id:\"12345\"").value) == "12345");  // quoted: a string
  CHECK(std::get<std::string>(parse("user.id:user-42").value) == "user-42");  // not JSON: the bare text
  CHECK(std::get<std::string>(parse("session.id:sess:abc:123").value) == "sess:abc:123");
  CHECK(std::get<std::string>(parse("t:2025-01-02T03:04:05Z").value) == "2025-01-02T03:04:05Z");
  CHECK(parse("metadata.tier:2").path == std::vector<std::string>{"metadata", "tier"});

  auto error = [](const std::string& text) {
    auto p = ParseAttributeFilter(text);
    REQUIRE(std::holds_alternative<std::string>(p));
    return std::get<std::string>(p);
  };
  CHECK(error("novalue") == "Invalid attribute filter 'novalue': expected key:value");
  CHECK(error(":x") == "Invalid attribute filter ':x': the key is empty");
  CHECK(error("k:") == "Invalid attribute filter 'k:': the value is empty");
  CHECK(error("a..b:1") == "Invalid attribute filter 'a..b:1': the key has an empty path segment");
  for (const char* v : {"null", "[1]", "{\"a\":1}"}) {
    CHECK(error(std::string("k:") + v) ==
          "Invalid attribute filter 'k:" + std::string(v) +
              "': the value must be a string, a number or a boolean, not null, a list or an object");
  }
}

TEST_CASE("span query: every filter is carried to the store query") {
  auto parsed = ParseSpanQuery(Req({{"limit", "10"},
                                    {"start_time", "2025-01-02T03:04:05+00:00"},
                                    {"end_time", "2025-01-03"},
                                    {"trace_id", "aa"},
                                    {"trace_id", "bb"},
                                    {"span_id", "cc"},
                                    {"parent_id", "null"},
                                    {"name", "chat"},
                                    {"span_kind", "llm"},
                                    {"span_kind", "TOOL"},
                                    {"status_code", "ERROR"},
                                    {"attribute", "user.id:u1"},
                                    {"attribute", "n:3"},
                                    {"cursor", EncodeGlobalId("Span", 4)}}));
  const auto q = Accepted(parsed);
  CHECK(q.limit == 10);
  CHECK(q.start_time_ns == 1735787045000000000LL);
  CHECK(q.end_time_ns == 1735862400000000000LL);
  CHECK(q.trace_ids == std::vector<std::string>{"aa", "bb"});
  CHECK(q.span_ids == std::vector<std::string>{"cc"});
  CHECK(q.parent_id == std::string());  // "null" means roots
  CHECK(q.names == std::vector<std::string>{"chat"});
  CHECK(q.span_kinds == std::vector<std::string>{"LLM", "TOOL"});
  CHECK(q.status_codes == std::vector<std::string>{"ERROR"});
  REQUIRE(q.attributes.size() == 2);
  CHECK(std::get<int64_t>(q.attributes[1].value) == 3);
  CHECK(q.cursor_id == 4);

  const auto q2 = Accepted(ParseSpanQuery(Req({{"parent_id", "00000000000000ab"}})));
  CHECK(q2.parent_id == std::string("00000000000000ab"));
  CHECK(q2.limit == 100);
  CHECK_FALSE(Accepted(ParseSpanQuery(Req({}))).parent_id.has_value());
}

TEST_CASE("span query: typed errors are reported together, handler errors as text") {
  const auto both = Rejected(ParseSpanQuery(Req({{"limit", "0"}, {"start_time", "nope"}})));
  CHECK(both.response.status == 422);
  CHECK(both.response.body.find(R"("loc":["query","limit"])") != std::string::npos);
  CHECK(both.response.body.find(R"("loc":["query","start_time"])") != std::string::npos);

  const auto kind = Rejected(ParseSpanQuery(Req({{"span_kind", "DATABASE"}})));
  CHECK(kind.response.status == 422);
  CHECK(kind.response.body ==
        "Invalid span_kind: 'DATABASE'. Valid values: LLM, CHAIN, TOOL, RETRIEVER, EMBEDDING, AGENT, RERANKER, "
        "GUARDRAIL, EVALUATOR, UNKNOWN");
  CHECK(kind.reason == "invalid_span_kind");

  const auto status = Rejected(ParseSpanQuery(Req({{"status_code", "FAILED"}})));
  CHECK(status.response.body == "Invalid status_code: 'FAILED'. Valid values: OK, ERROR, UNSET");

  const auto attr = Rejected(ParseSpanQuery(Req({{"attribute", "k:null"}})));
  CHECK(attr.response.status == 422);
  CHECK(attr.reason == "invalid_attribute");
}
