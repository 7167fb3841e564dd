#include "osprey/query/span_query_api.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "osprey/metrics/metrics.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "rapidjson/document.h"

using namespace osprey;

namespace {

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::string> parts;  // multipart/mixed JSON parts
};

model::v1::Span MakeSpan(char n, std::string project, std::string name, std::string kind, int64_t start_ms,
                         std::string attributes) {
  model::v1::Span span;
  span.set_project_name(std::move(project));
  span.set_trace_id(std::string(15, '\x07') + n);
  span.set_span_id(std::string(7, '\x08') + n);
  span.set_name(std::move(name));
  span.set_span_kind(std::move(kind));
  span.set_start_time_unix_nano(static_cast<uint64_t>(1'700'000'000'000'000'000 + start_ms * 1'000'000));
  span.set_end_time_unix_nano(static_cast<uint64_t>(1'700'000'000'000'000'000 + (start_ms + 10) * 1'000'000));
  span.set_attributes_json(std::move(attributes));
  span.set_events_json("[]");
  return span;
}

// A SQLite store with a few spans behind the real Router and SpanQueryApi.
class Server {
 public:
  Server() {
    char tmpl[] = "/tmp/osprey-span-query-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = store::OpenSqliteStore(config);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    std::vector<model::v1::Span> spans = {
        MakeSpan(1, "default", "llm-a", "LLM", 0, R"({"llm":{"model_name":"m1","token_count":{"total":50}}})"),
        MakeSpan(2, "default", "chain-b", "CHAIN", 100, R"({"input":{"value":"hello"}})"),
        MakeSpan(3, "other", "llm-c", "LLM", 200, R"({"llm":{"model_name":"m2"}})")};
    std::vector<const model::v1::Span*> pointers;
    for (const auto& s : spans) pointers.push_back(&s);
    REQUIRE(store_->WriteSpans(pointers).ok());
    query::SpanQueryApi(*store_, *store_, &registry_).Register(router_);  // the routes own a copy
  }
  ~Server() {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  Reply Call(const std::string& body, std::vector<std::pair<std::string, std::string>> query = {},
             const std::string& method = "POST") {
    http::Request request;
    request.method = method;
    request.path = "/v1/spans";
    request.target = request.path;
    request.query = std::move(query);
    request.headers = {{"accept", "application/json"}};
    request.body = body;
    http::Response response = router_.Dispatch(request);
    Reply reply;
    reply.status = response.status;
    reply.body = response.body;
    for (const auto& [k, v] : response.headers) {
      if (k == "Content-Type" || k == "content-type") reply.content_type = v;
    }
    auto at = reply.content_type.find("boundary=");
    if (at != std::string::npos) {
      std::string boundary = "--" + reply.content_type.substr(at + 9);
      std::string text = reply.body;
      size_t pos = 0;
      while ((pos = text.find(boundary, pos)) != std::string::npos) {
        size_t start = text.find("\r\n\r\n", pos);
        size_t next = text.find(boundary, pos + boundary.size());
        if (start == std::string::npos || next == std::string::npos || start > next) break;
        reply.parts.push_back(text.substr(start + 4, next - start - 6));
        pos = next;
      }
    }
    return reply;
  }

 private:
  std::string dir_;
  metrics::Registry registry_;
  std::unique_ptr<store::Store> store_;
  http::Router router_;
};

std::vector<std::string> Column(const std::string& table, const std::string& suffix) {
  rapidjson::Document doc;
  doc.Parse(table.c_str());
  REQUIRE(!doc.HasParseError());
  std::vector<std::string> values;
  for (const auto& row : doc["data"].GetArray()) {
    for (const auto& member : row.GetObject()) {
      std::string name = member.name.GetString();
      if (name.substr(name.find('_') + 1) == suffix)
        values.push_back(member.value.IsString() ? member.value.GetString() : "null");
    }
  }
  return values;
}

}  // namespace

TEST_CASE("POST /v1/spans answers multipart/mixed with one pandas table per query", "[query][spanquery]") {
  Server server;
  auto reply = server.Call(
      R"({"queries": [{"filter": {"condition": "span_kind == 'LLM'"}, "select": {"name": {"key": "name"}, "model": {"key": "llm.model_name"}}, "index": {"key": "context.span_id"}}, {}], "limit": 100})");
  REQUIRE(reply.status == 200);
  CHECK_THAT(reply.content_type, Catch::StartsWith("multipart/mixed; boundary="));
  REQUIRE(reply.parts.size() == 2);
  CHECK(Column(reply.parts[0], "name") == std::vector<std::string>{"llm-a"});  // project "default" only
  CHECK(Column(reply.parts[0], "model") == std::vector<std::string>{"m1"});
  CHECK(Column(reply.parts[1], "name") == std::vector<std::string>{"chain-b", "llm-a"});  // newest first
  CHECK(reply.body.substr(reply.body.size() - 4) == "--\r\n");

  auto other = server.Call(R"({"queries": [{}]})", {{"project_name", "other"}});
  REQUIRE(other.status == 200);
  CHECK(Column(other.parts[0], "name") == std::vector<std::string>{"llm-c"});
  auto by_body = server.Call(R"({"queries": [{}], "project_name": "other"})");
  CHECK(Column(by_body.parts[0], "name") == std::vector<std::string>{"llm-c"});
  auto unknown = server.Call(R"({"queries": [{}], "project_name": "nope"})");
  REQUIRE(unknown.status == 200);
  CHECK(Column(unknown.parts[0], "name").empty());
  auto window = server.Call(
      R"({"queries": [{}], "start_time": "2023-11-14T22:13:20.050+00:00", "end_time": "2023-11-14T22:13:21+00:00"})");
  CHECK(Column(window.parts[0], "name") == std::vector<std::string>{"chain-b"});
  auto get = server.Call(R"({"queries": [{}], "limit": 1})", {}, "GET");
  REQUIRE(get.status == 200);
  CHECK(Column(get.parts[0], "name") == std::vector<std::string>{"chain-b"});
}

TEST_CASE("POST /v1/spans rejects bad bodies and queries with 422 and a precise message", "[query][spanquery]") {
  Server server;
  auto bad_filter = server.Call(R"({"queries": [{"filter": {"condition": "span_kind = 'LLM'"}}]})");
  CHECK(bad_filter.status == 422);
  CHECK(bad_filter.body == "Invalid query: filter: '=' is an assignment; use '==' to compare at column 11");
  auto bare = server.Call(R"({"queries": [{"filter": {"condition": "llm.model_name"}}]})");
  CHECK(bare.status == 422);
  CHECK_THAT(bare.body, Catch::Contains("is not a condition"));
  auto second = server.Call(R"({"queries": [{}, {"selekt": {}}]})");
  CHECK(second.status == 422);
  CHECK(second.body == "Invalid query: queries[1]: unknown member 'selekt' in query");
  auto not_json = server.Call("{");
  CHECK(not_json.status == 422);
  CHECK_THAT(not_json.body, Catch::Contains("json_invalid"));
  auto deep = server.Call(R"({"queries": )" + std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}");
  CHECK(deep.status == 422);  // refused before parsing: the parser recurses per level
  CHECK_THAT(deep.body, Catch::Contains("json_invalid"));
  auto types = server.Call(R"({"queries": [], "limit": "x", "start_time": "yesterday", "root_spans_only": 3})");
  CHECK(types.status == 422);
  CHECK_THAT(types.body, Catch::Contains("\"loc\":[\"body\",\"start_time\"]"));
  CHECK_THAT(types.body, Catch::Contains("\"loc\":[\"body\",\"limit\"]"));
  CHECK_THAT(types.body, Catch::Contains("\"loc\":[\"body\",\"root_spans_only\"]"));
  auto missing = server.Call(R"({"limit": 5})");
  CHECK(missing.status == 422);
  CHECK_THAT(missing.body, Catch::Contains("\"loc\":[\"body\",\"queries\"]"));
  auto limit = server.Call(R"({"queries": [{}], "limit": 0})");
  CHECK(limit.status == 422);
  CHECK(limit.body == "Invalid query: limit must be between 1 and 100000, got 0");
  std::string many = R"({"queries": [)";
  for (int i = 0; i < 20; ++i) many += std::string(i ? "," : "") + "{}";
  auto too_many = server.Call(many + "]}");
  CHECK(too_many.status == 422);
  CHECK(too_many.body == "Invalid query: at most 16 queries per request");
}
