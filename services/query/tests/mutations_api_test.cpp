#include "osprey/query/mutations_api.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "osprey/metrics/metrics.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/rest_api.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "rapidjson/document.h"

using namespace osprey;
using query::EncodeGlobalId;

namespace {

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  rapidjson::Document json;
};

// A SQLite store in a temporary directory behind the real Router, with the read routes (RestApi)
// beside the mutation routes, so every mutation is checked through what a client reads back.
class Server {
 public:
  Server() {
    char tmpl[] = "/tmp/osprey-mutations-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = store::OpenSqliteStore(config);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    reads_ = std::make_unique<query::RestApi>(*store_, *store_, &registry_);
    reads_->Register(router_);
    query::MutationsApi(*store_, &registry_).Register(router_);  // a temporary: the routes own its state
  }
  ~Server() {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             std::vector<std::pair<std::string, std::string>> query = {}) {
    http::Request request;
    request.method = method;
    request.path = path;
    request.target = path;
    request.query = std::move(query);
    request.body = body;
    http::Response response = router_.Dispatch(request);
    Reply reply;
    reply.status = response.status;
    reply.body = response.body;
    for (const auto& [k, v] : response.headers) {
      if (k == "Content-Type" || k == "content-type") reply.content_type = v;
    }
    if (reply.content_type.rfind("application/json", 0) == 0) reply.json.Parse(reply.body.c_str());
    return reply;
  }
  Reply Expect(int status, const std::string& method, const std::string& path, const std::string& body = "",
               std::vector<std::pair<std::string, std::string>> query = {}) {
    Reply r = Call(method, path, body, std::move(query));
    INFO(method << " " << path << " " << body << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == status);
    return r;
  }

  store::Store& store() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  metrics::Registry registry_;
  http::Router router_;
  std::unique_ptr<query::RestApi> reads_;
};

// A Phoenix REST span for POST /v1/projects/{id}/spans.
std::string SpanJson(const std::string& trace, const std::string& span, const std::string& parent,
                     const std::string& start, const std::string& end, const std::string& extra = "") {
  return R"({"name":"op-)" + span + R"(","context":{"trace_id":")" + trace + R"(","span_id":")" + span +
         R"("},"span_kind":"llm","parent_id":)" + (parent.empty() ? "null" : "\"" + parent + "\"") +
         R"(,"start_time":")" + start + R"(","end_time":")" + end + R"(","status_code":"ok")" + extra + "}";
}

std::string Batch(const std::vector<std::string>& spans) {
  std::string out = R"({"data":[)";
  for (size_t i = 0; i < spans.size(); ++i) out += (i ? "," : "") + spans[i];
  return out + "]}";
}

const std::string kTrace1 = "0123456789abcdef0123456789abcdef";
const std::string kTrace2 = "fedcba9876543210fedcba9876543210";
const std::string kRoot = "00000000000000a1";
const std::string kChild = "00000000000000a2";
const std::string kOther = "00000000000000b1";

// Spans of trace 1 (root + LLM child with tokens, a session and an event) and trace 2 (session s-2).
void Seed(Server& server, const std::string& project) {
  server.Expect(
      202, "POST", "/v1/projects/" + project + "/spans",
      Batch({SpanJson(kTrace1, kRoot, "", "2025-01-02T03:04:05+00:00", "2025-01-02T03:04:15+00:00",
                      R"(,"attributes":{"session.id":"s-1","input":{"value":"hi"}})"),
             SpanJson(kTrace1, kChild, kRoot, "2025-01-02T03:04:06Z", "2025-01-02T03:04:07Z",
                      R"(,"attributes":{"llm":{"token_count":{"prompt":10,"completion":5},"model_name":"gpt"},)"
                      R"("session.id":"s-1","llm.input_messages":[{"message.role":"user"}]},)"
                      R"("events":[{"name":"boom","timestamp":"2025-01-02T03:04:06.5+00:00","attributes":{"k":1}}])"),
             SpanJson(kTrace2, kOther, "", "2025-01-02T03:05:00+00:00", "2025-01-02T03:05:01+00:00",
                      R"(,"attributes":{"session.id":"s-2"})")}));
}

}  // namespace

TEST_CASE("projects: create, update, delete as Phoenix answers them", "[mutations]") {
  Server server;
  Reply created = server.Expect(200, "POST", "/v1/projects", R"({"name":"alpha","description":"first"})");
  const std::string id = created.json["data"]["id"].GetString();
  CHECK(std::string(created.json["data"]["name"].GetString()) == "alpha");
  CHECK(std::string(created.json["data"]["description"].GetString()) == "first");
  CHECK(query::DecodeGlobalIdOfType(id, query::kProjectType).has_value());

  // Refusals: duplicate name, missing or empty name, malformed JSON, wrong types; nothing created.
  CHECK(server.Expect(409, "POST", "/v1/projects", R"({"name":"alpha"})").body ==
        "Project with name alpha already exists");
  Reply missing = server.Expect(422, "POST", "/v1/projects", R"({"description":"x"})");
  CHECK(std::string(missing.json["detail"][0]["type"].GetString()) == "missing");
  CHECK(std::string(missing.json["detail"][0]["loc"][1].GetString()) == "name");
  CHECK(
      std::string(server.Expect(422, "POST", "/v1/projects", R"({"name":""})").json["detail"][0]["type"].GetString()) ==
      "string_too_short");
  CHECK(std::string(server.Expect(422, "POST", "/v1/projects", R"({"name":)").json["detail"][0]["type"].GetString()) ==
        "json_invalid");
  CHECK(
      std::string(server.Expect(422, "POST", "/v1/projects", R"({"name":5})").json["detail"][0]["type"].GetString()) ==
      "string_type");
  CHECK(server.Expect(422, "POST", "/v1/projects", "[]").status == 422);
  CHECK(server.Expect(200, "GET", "/v1/projects", "", {{"name_contains", "ALP"}}).json["data"].Size() == 1);

  // PUT by name changes the description only; null leaves it; unknown project is a 404.
  Reply updated = server.Expect(200, "PUT", "/v1/projects/alpha", R"({"description":"second"})");
  CHECK(std::string(updated.json["data"]["description"].GetString()) == "second");
  CHECK(std::string(updated.json["data"]["id"].GetString()) == id);
  server.Expect(200, "PUT", "/v1/projects/" + id, R"({"description":null})");
  CHECK(std::string(server.Expect(200, "GET", "/v1/projects/alpha").json["data"]["description"].GetString()) ==
        "second");
  CHECK(server.Expect(404, "PUT", "/v1/projects/nope", R"({"description":"x"})").body ==
        "Project with name nope not found");
  CHECK(server.Expect(422, "PUT", "/v1/projects/alpha", R"({"description":7})").status == 422);

  // PATCH /osprey/v1/projects/{id} (Osprey's own): renames; the GlobalID stays; refusals change nothing.
  Reply renamed = server.Expect(200, "PATCH", "/osprey/v1/projects/alpha", R"({"name":"beta"})");
  CHECK(std::string(renamed.json["data"]["name"].GetString()) == "beta");
  CHECK(std::string(renamed.json["data"]["id"].GetString()) == id);
  server.Expect(404, "GET", "/v1/projects/alpha");
  server.Expect(200, "POST", "/v1/projects", R"({"name":"gamma"})");
  CHECK(server.Expect(409, "PATCH", "/osprey/v1/projects/beta", R"({"name":"gamma"})").body ==
        "Project with name gamma already exists");
  CHECK(server.Expect(403, "PATCH", "/osprey/v1/projects/default", R"({"name":"x"})").body ==
        "The default project cannot be renamed");
  CHECK(server.Expect(422, "PATCH", "/osprey/v1/projects/beta", R"({"name":""})").status == 422);
  server.Expect(404, "PATCH", "/osprey/v1/projects/nope", R"({"name":"x"})");
  server.Expect(200, "PATCH", "/osprey/v1/projects/" + id, R"({"name":"alpha","description":"third"})");
  CHECK(std::string(server.Expect(200, "GET", "/v1/projects/alpha").json["data"]["description"].GetString()) ==
        "third");

  // DELETE: default is forbidden; a project goes with its traces; then it is gone.
  CHECK(server.Expect(403, "DELETE", "/v1/projects/default").body == "The default project cannot be deleted");
  Seed(server, "alpha");
  server.Expect(204, "DELETE", "/v1/projects/" + id);
  server.Expect(404, "GET", "/v1/projects/alpha");
  CHECK(!server.store().GetTraceByTraceId(kTrace1)->has_value());
  CHECK(!server.store().GetSessionBySessionId("s-1")->has_value());
  server.Expect(404, "DELETE", "/v1/projects/" + id);
}

TEST_CASE("POST spans: normalized like OTLP, duplicates and invalid spans as Phoenix reports them", "[mutations]") {
  Server server;
  Seed(server, "fresh");  // a new project name is created with the spans

  Reply spans = server.Expect(200, "GET", "/v1/projects/fresh/spans", "", {{"trace_id", kTrace1}});
  REQUIRE(spans.json["data"].Size() == 2);
  const auto& child = spans.json["data"][0];  // id DESC: the child was stored after the root
  REQUIRE(std::string(child["context"]["span_id"].GetString()) == kChild);
  CHECK(std::string(child["span_kind"].GetString()) == "LLM");
  CHECK(std::string(child["status_code"].GetString()) == "OK");
  CHECK(std::string(child["parent_id"].GetString()) == kRoot);
  CHECK(std::string(child["start_time"].GetString()) == "2025-01-02T03:04:06+00:00");
  CHECK(child["attributes"]["llm.token_count.prompt"].GetInt() == 10);
  CHECK(std::string(child["attributes"]["llm.model_name"].GetString()) == "gpt");
  CHECK(std::string(child["attributes"]["llm.input_messages.0.message.role"].GetString()) == "user");
  CHECK(std::string(child["events"][0]["name"].GetString()) == "boom");
  CHECK(child["events"][0]["attributes"]["k"].GetInt() == 1);

  // Rollups as for OTLP spans: trace tokens, session membership.
  auto trace = server.store().GetTraceByTraceId(kTrace1);
  REQUIRE(trace->has_value());
  CHECK((*trace)->span_count == 2);
  CHECK((*trace)->token_count_total == 15);
  CHECK((*trace)->root_span_id == kRoot);
  auto session = server.store().GetSessionBySessionId("s-1");
  REQUIRE(session->has_value());
  CHECK((*session)->token_count_total == 15);

  // Resent spans: 400 with the duplicates; a new span in the same batch is not stored either.
  const std::string fresh_span =
      SpanJson(kTrace2, "00000000000000c1", kOther, "2025-01-02T03:05:00+00:00", "2025-01-02T03:05:00.5+00:00");
  Reply dup = server.Expect(
      400, "POST", "/v1/projects/fresh/spans",
      Batch({SpanJson(kTrace1, kRoot, "", "2025-01-02T03:04:05+00:00", "2025-01-02T03:04:15+00:00"), fresh_span}));
  rapidjson::Document detail;
  detail.Parse(dup.body.c_str());
  REQUIRE(detail.IsObject());
  CHECK(detail["total_received"].GetInt() == 2);
  CHECK(detail["total_queued"].GetInt() == 0);
  CHECK(detail["total_duplicates"].GetInt() == 1);
  CHECK(std::string(detail["duplicate_spans"][0]["span_id"].GetString()) == kRoot);
  CHECK(std::string(detail["duplicate_spans"][0]["trace_id"].GetString()) == kTrace1);
  CHECK(server.store().StoredSpanIds({"00000000000000c1"})->empty());

  // Ids that are not hex, and a span ending before it starts: 400 invalid_spans, nothing stored.
  Reply invalid = server.Expect(
      400, "POST", "/v1/projects/fresh/spans",
      Batch({SpanJson("xyz", "00000000000000d1", "", "2025-01-02T03:05:00Z", "2025-01-02T03:05:01Z"),
             SpanJson(kTrace2, "00000000000000d2", "", "2025-01-02T03:05:02Z", "2025-01-02T03:05:01Z"), fresh_span}));
  detail.Parse(invalid.body.c_str());
  CHECK(detail["total_invalid"].GetInt() == 2);
  CHECK(std::string(detail["invalid_spans"][0]["span_id"].GetString()) == "00000000000000d1");
  CHECK(std::string(detail["invalid_spans"][0]["error"].GetString()).find("trace_id") != std::string::npos);
  CHECK(std::string(detail["invalid_spans"][1]["span_id"].GetString()) == "00000000000000d2");
  CHECK(server.store().StoredSpanIds({"00000000000000c1", "00000000000000d2"})->empty());

  // Shape errors are FastAPI 422s located at the span; naive timestamps are refused.
  Reply naive = server.Expect(
      422, "POST", "/v1/projects/fresh/spans",
      Batch({fresh_span, SpanJson(kTrace2, "00000000000000e1", "", "2025-01-02T03:05:00", "2025-01-02T03:05:01Z")}));
  CHECK(std::string(naive.json["detail"][0]["type"].GetString()) == "timezone_aware");
  CHECK(naive.json["detail"][0]["loc"][2].GetInt() == 1);
  CHECK(std::string(naive.json["detail"][0]["loc"][3].GetString()) == "start_time");
  Reply no_name = server.Expect(422, "POST", "/v1/projects/fresh/spans", R"({"data":[{"context":{}}]})");
  CHECK(no_name.json["detail"].Size() >= 5);  // name, span_kind, status_code, times, ids
  server.Expect(422, "POST", "/v1/projects/fresh/spans", R"({"data":{}})");
  server.Expect(422, "POST", "/v1/projects/fresh/spans", "not json");
  CHECK(server.store().StoredSpanIds({"00000000000000c1"})->empty());

  // An unknown project GlobalID is a 404; the fresh span alone is accepted.
  server.Expect(404, "POST", "/v1/projects/" + EncodeGlobalId("Project", 999) + "/spans", Batch({fresh_span}));
  Reply ok = server.Expect(202, "POST", "/v1/projects/fresh/spans", Batch({fresh_span}));
  CHECK(ok.json["total_received"].GetInt() == 1);
  CHECK(ok.json["total_queued"].GetInt() == 1);
  CHECK((*server.store().GetTraceByTraceId(kTrace2))->span_count == 2);
}

TEST_CASE("DELETE spans and traces by GlobalID or OTel id", "[mutations]") {
  Server server;
  Seed(server, "p");
  // Malformed and wrong-type identifiers are 422; unknown ones 404; nothing changes.
  server.Expect(422, "DELETE", "/v1/spans/not-an-id");
  server.Expect(422, "DELETE", "/v1/spans/" + EncodeGlobalId("Trace", 1));
  CHECK(server.Expect(404, "DELETE", "/v1/spans/00000000000000ff").body ==
        "Span with identifier 00000000000000ff not found");
  server.Expect(404, "DELETE", "/v1/spans/" + EncodeGlobalId("Span", 999));
  server.Expect(422, "DELETE", "/v1/traces/" + EncodeGlobalId("Span", 1));
  server.Expect(404, "DELETE", "/v1/traces/" + std::string(32, 'e'));
  CHECK((*server.store().GetTraceByTraceId(kTrace1))->span_count == 2);

  // The child by hex: the trace loses its tokens; the session follows.
  server.Expect(204, "DELETE", "/v1/spans/" + kChild);
  Reply spans = server.Expect(200, "GET", "/v1/projects/p/spans", "", {{"trace_id", kTrace1}});
  REQUIRE(spans.json["data"].Size() == 1);
  CHECK(std::string(spans.json["data"][0]["context"]["span_id"].GetString()) == kRoot);
  CHECK((*server.store().GetTraceByTraceId(kTrace1))->token_count_total == 0);
  CHECK((*server.store().GetSessionBySessionId("s-1"))->token_count_total == 0);
  // The root by GlobalID: it was the last span, so the trace and its session go.
  server.Expect(204, "DELETE", "/v1/spans/" + std::string(spans.json["data"][0]["id"].GetString()));
  CHECK(server.Expect(200, "GET", "/v1/projects/p/traces").json["data"].Size() == 1);
  server.Expect(404, "GET", "/v1/sessions/s-1");

  // A trace by GlobalID.
  const int64_t rowid = (*server.store().GetTraceByTraceId(kTrace2))->id;
  server.Expect(204, "DELETE", "/v1/traces/" + EncodeGlobalId("Trace", rowid));
  CHECK(server.Expect(200, "GET", "/v1/projects/p/traces").json["data"].Size() == 0);
  server.Expect(404, "DELETE", "/v1/traces/" + kTrace2);
}

TEST_CASE("POST /v1/traces/transfer moves traces with their spans", "[mutations]") {
  Server server;
  Seed(server, "src");
  Reply dst = server.Expect(200, "POST", "/v1/projects", R"({"name":"dst"})");
  const std::string dst_id = dst.json["data"]["id"].GetString();

  // Refusals change nothing.
  server.Expect(422, "POST", "/v1/traces/transfer", R"({"trace_identifiers":[]})");
  server.Expect(422, "POST", "/v1/traces/transfer",
                R"({"trace_identifiers":[],"destination_project_identifier":"dst"})");
  server.Expect(422, "POST", "/v1/traces/transfer",
                R"({"trace_identifiers":["nope"],"destination_project_identifier":"dst"})");
  CHECK(
      server
          .Expect(404, "POST", "/v1/traces/transfer",
                  R"({"trace_identifiers":[")" + std::string(32, 'c') + R"("],"destination_project_identifier":"dst"})")
          .body == "Trace with identifier " + std::string(32, 'c') + " not found");
  server.Expect(404, "POST", "/v1/traces/transfer",
                R"({"trace_identifiers":[")" + kTrace1 + R"("],"destination_project_identifier":"nowhere"})");
  CHECK(server.Expect(200, "GET", "/v1/projects/dst/traces").json["data"].Size() == 0);

  Reply moved = server.Expect(200, "POST", "/v1/traces/transfer",
                              R"({"trace_identifiers":[")" + kTrace1 + R"(",")" +
                                  EncodeGlobalId("Trace", (*server.store().GetTraceByTraceId(kTrace2))->id) +
                                  R"("],"destination_project_identifier":")" + dst_id + R"("})");
  CHECK(moved.json["data"]["transferred_trace_count"].GetInt() == 2);
  CHECK(std::string(moved.json["data"]["destination_project_id"].GetString()) == dst_id);
  CHECK(server.Expect(200, "GET", "/v1/projects/dst/traces").json["data"].Size() == 2);
  CHECK(server.Expect(200, "GET", "/v1/projects/src/traces").json["data"].Size() == 0);
  CHECK(server.Expect(200, "GET", "/v1/projects/dst/spans").json["data"].Size() == 3);
  CHECK(server.Expect(200, "GET", "/v1/projects/dst/sessions").json["data"].Size() == 2);

  // Traces from two projects at once are refused.
  server.Expect(200, "POST", "/v1/projects", R"({"name":"third"})");
  server.Expect(
      202, "POST", "/v1/projects/src/spans",
      Batch({SpanJson(std::string(32, 'd'), "00000000000000f1", "", "2025-01-02T03:04:05Z", "2025-01-02T03:04:06Z")}));
  CHECK(server
            .Expect(422, "POST", "/v1/traces/transfer",
                    R"({"trace_identifiers":[")" + kTrace1 + R"(",")" + std::string(32, 'd') +
                        R"("],"destination_project_identifier":"third"})")
            .body == "All traces must belong to the same source project");
}

TEST_CASE("DELETE sessions, one or in bulk", "[mutations]") {
  Server server;
  Seed(server, "p");
  server.Expect(404, "DELETE", "/v1/sessions/nope");
  server.Expect(404, "DELETE", "/v1/sessions/" + EncodeGlobalId("ProjectSession", 999));
  server.Expect(204, "DELETE", "/v1/sessions/s-1");
  server.Expect(404, "GET", "/v1/sessions/s-1");
  CHECK(!server.store().GetTraceByTraceId(kTrace1)->has_value());
  CHECK(server.Expect(200, "GET", "/v1/projects/p/spans").json["data"].Size() == 1);

  // Bulk: identifiers of mixed kinds are refused; unknown ones are skipped.
  const int64_t s2 = (*server.store().GetSessionBySessionId("s-2"))->id;
  server.Expect(422, "POST", "/v1/sessions/delete",
                R"({"session_identifiers":["s-2",")" + EncodeGlobalId("ProjectSession", s2) + R"("]})");
  server.Expect(422, "POST", "/v1/sessions/delete", R"({"session_identifiers":"s-2"})");
  server.Expect(422, "POST", "/v1/sessions/delete", R"({})");
  server.Expect(200, "GET", "/v1/sessions/s-2");
  server.Expect(204, "POST", "/v1/sessions/delete",
                R"({"session_identifiers":[")" + EncodeGlobalId("ProjectSession", s2) + R"(",")" +
                    EncodeGlobalId("ProjectSession", 12345) + R"("]})");
  server.Expect(404, "GET", "/v1/sessions/s-2");
  CHECK(server.Expect(200, "GET", "/v1/projects/p/spans").json["data"].Size() == 0);
  server.Expect(204, "POST", "/v1/sessions/delete", R"({"session_identifiers":["gone","also-gone"]})");
}
