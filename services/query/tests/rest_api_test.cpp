#include "osprey/query/rest_api.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "osprey/base/encoding.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "rapidjson/document.h"

using namespace osprey;
using query::EncodeGlobalId;

namespace {

constexpr int64_t kT0 = 1735787045000000000LL;  // 2025-01-02T03:04:05+00:00
constexpr int64_t kSecond = 1000000000LL;

const std::string kTraceA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01";
const std::string kTraceB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa02";
const std::string kTraceC = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa03";
const std::string kTraceD = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa04";
const std::string kA1 = "00000000000000a1";
const std::string kA2 = "00000000000000a2";
const std::string kA3 = "00000000000000a3";
const std::string kB1 = "00000000000000b1";
const std::string kC1 = "00000000000000c1";
const std::string kD1 = "00000000000000d1";

struct SpanSpec {
  std::string project, trace, span, parent, name, kind;
  int64_t start, end;
  model::v1::StatusCode status = model::v1::STATUS_CODE_UNSET;
  std::string status_message;
  std::string session;
  std::string attributes = "{}";
  std::string events = "[]";
  int64_t prompt = 0, completion = 0;
};

model::v1::Span MakeSpan(const SpanSpec& s) {
  model::v1::Span span;
  span.set_project_name(s.project);
  span.set_trace_id(*base::HexDecode(s.trace));
  span.set_span_id(*base::HexDecode(s.span));
  if (!s.parent.empty()) span.set_parent_span_id(*base::HexDecode(s.parent));
  span.set_name(s.name);
  span.set_span_kind(s.kind);
  span.set_start_time_unix_nano(s.start);
  span.set_end_time_unix_nano(s.end);
  span.set_status_code(s.status);
  span.set_status_message(s.status_message);
  span.set_attributes_json(s.attributes);
  span.set_events_json(s.events);
  span.set_session_id(s.session);
  span.set_llm_token_count_prompt(s.prompt);
  span.set_llm_token_count_completion(s.completion);
  span.set_llm_token_count_total(s.prompt + s.completion);
  return span;
}

std::vector<SpanSpec> Seed() {
  const std::string llm_attributes =
      R"({"openinference":{"span":{"kind":"LLM"}},"llm":{"model_name":"gpt-4o",)"
      R"("input_messages":[{"message":{"role":"system","content":"be brief"}},{"message":{"role":"user","content":"hi"}}],)"
      R"("token_count":{"prompt":10,"completion":5,"total":15}},"tag":{"tags":["a","b"]},"metadata":{},)"
      R"("score":0.5,"flag":true,"session":{"id":"sess-1"}})";
  const std::string llm_events =
      R"([{"name":"exception","timestamp":1735787046500000000,"attributes":{"exception":{"message":"boom"}}}])";
  return {
      {"alpha", kTraceA, kA1, "", "agent", "CHAIN", kT0, kT0 + 3 * kSecond, model::v1::STATUS_CODE_OK, "", "sess-1",
       R"({"openinference":{"span":{"kind":"CHAIN"}},"user":{"id":"u-1"},"metadata":{"tier":2},"session":{"id":"sess-1"}})"},
      {"alpha", kTraceA, kA2, kA1, "llm", "LLM", kT0 + kSecond, kT0 + 2 * kSecond, model::v1::STATUS_CODE_ERROR, "boom",
       "sess-1", llm_attributes, llm_events, 10, 5},
      {"alpha", kTraceA, kA3, kA1, "tool", "TOOL", kT0 + kSecond / 2, kT0 + kSecond * 7 / 10},
      {"alpha", kTraceB, kB1, "", "llm", "LLM", kT0 + 10 * kSecond, kT0 + 11 * kSecond, model::v1::STATUS_CODE_UNSET,
       "", "sess-1", R"({"user":{"id":12345},"session":{"id":"sess-1"}})", "[]", 3, 4},
      {"alpha", kTraceC, kC1, "", "retrieve", "RETRIEVER", kT0 + 20 * kSecond, kT0 + 30 * kSecond,
       model::v1::STATUS_CODE_UNSET, "", "sess-2", R"({"user":{"id":"12345"},"session":{"id":"sess-2"}})"},
      {"beta", kTraceD, kD1, "", "other", "CHAIN", kT0 + 5 * kSecond, kT0 + 6 * kSecond, model::v1::STATUS_CODE_UNSET,
       "", "sess-3"},
  };
}

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  rapidjson::Document json;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Harness {
 public:
  Harness() {
    char tmpl[] = "/tmp/osprey-query-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = store::OpenSqliteStore(config);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    std::vector<model::v1::Span> spans;
    for (const auto& spec : Seed()) spans.push_back(MakeSpan(spec));
    std::vector<const model::v1::Span*> pointers;
    for (const auto& s : spans) pointers.push_back(&s);
    auto written = store_->WriteSpans(pointers);
    REQUIRE(written.ok());
    REQUIRE(written->inserted == static_cast<int64_t>(spans.size()));
    api_ = std::make_unique<query::RestApi>(*store_, *store_, &registry_);
    api_->Register(router_);
  }
  ~Harness() {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  Reply Get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    http::Request request;
    request.method = "GET";
    request.path = path;
    request.target = path;
    request.query = std::move(query);
    http::Response response = router_.Dispatch(request);
    Reply reply;
    reply.status = response.status;
    reply.body = response.body;
    for (const auto& [k, v] : response.headers) {
      std::string key = k;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (key == "content-type") reply.content_type = v;
    }
    if (reply.content_type.rfind("application/json", 0) == 0) reply.json.Parse(reply.body.c_str());
    return reply;
  }

  // GET that must succeed with JSON.
  Reply Ok(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    Reply r = Get(path, std::move(query));
    INFO(path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    REQUIRE(r.content_type.rfind("application/json", 0) == 0);
    REQUIRE_FALSE(r.json.HasParseError());
    return r;
  }

  // Follows next_cursor until null; returns every item's value of `field` in order.
  std::vector<std::string> Walk(const std::string& path, std::vector<std::pair<std::string, std::string>> query,
                                const char* field, int* pages = nullptr) {
    std::vector<std::string> out;
    std::optional<std::string> cursor;
    int n = 0;
    do {
      auto q = query;
      if (cursor) q.emplace_back("cursor", *cursor);
      Reply r = Ok(path, q);
      for (const auto& item : r.json["data"].GetArray()) out.emplace_back(item[field].GetString());
      cursor.reset();
      if (r.json["next_cursor"].IsString()) cursor = r.json["next_cursor"].GetString();
      REQUIRE(++n < 100);
    } while (cursor);
    if (pages) *pages = n;
    return out;
  }

  std::string ProjectGid(const std::string& name) {
    Reply r = Ok("/v1/projects/" + name);
    return r.json["data"]["id"].GetString();
  }

  metrics::Registry& registry() { return registry_; }

 private:
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  metrics::Registry registry_;
  std::unique_ptr<query::RestApi> api_;
  http::Router router_;
};

std::vector<std::string> Field(const Reply& r, const char* field) {
  std::vector<std::string> out;
  for (const auto& item : r.json["data"].GetArray()) out.emplace_back(item[field].GetString());
  return out;
}

std::vector<std::string> SpanIds(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& item : r.json["data"].GetArray()) out.emplace_back(item["context"]["span_id"].GetString());
  return out;
}

std::set<std::string> SpanIdSet(const Reply& r) {
  auto v = SpanIds(r);
  return {v.begin(), v.end()};
}

int64_t RowId(const std::string& gid, std::string_view type) {
  auto id = query::DecodeGlobalIdOfType(gid, type);
  REQUIRE(id.has_value());
  return *id;
}

const std::string kSpans = "/v1/projects/alpha/spans";
const std::string kTraces = "/v1/projects/alpha/traces";

}  // namespace

TEST_CASE("GET /arize_phoenix_version answers the Phoenix version as plain text") {
  Harness h;
  Reply r = h.Get("/arize_phoenix_version");
  CHECK(r.status == 200);
  CHECK(r.content_type.rfind("text/plain", 0) == 0);
  CHECK(r.body == "20.3.0");
}

TEST_CASE("projects: list, filter, paginate, get by GlobalID or name") {
  Harness h;
  Reply all = h.Ok("/v1/projects");
  // The store seeds the "default" project; the seeded spans created alpha, then beta.
  REQUIRE(all.json["data"].Size() == 3);
  CHECK(all.json["next_cursor"].IsNull());
  CHECK(Field(all, "name") == std::vector<std::string>{"beta", "alpha", "default"});  // id DESC
  const auto& alpha = all.json["data"][1];
  CHECK(alpha.MemberCount() == 3);
  CHECK(alpha["description"].IsNull());
  int64_t alpha_id = RowId(alpha["id"].GetString(), "Project");
  CHECK(RowId(all.json["data"][0]["id"].GetString(), "Project") > alpha_id);

  CHECK(Field(h.Ok("/v1/projects", {{"name_contains", "ALP"}}), "name") == std::vector<std::string>{"alpha"});
  CHECK(Field(h.Ok("/v1/projects", {{"name_contains", "a"}}), "name") ==
        std::vector<std::string>{"beta", "alpha", "default"});
  CHECK(h.Ok("/v1/projects", {{"name_contains", "zzz"}}).json["data"].Size() == 0);
  CHECK(h.Ok("/v1/projects", {{"include_experiment_projects", "true"}}).json["data"].Size() == 3);

  int pages = 0;
  CHECK(h.Walk("/v1/projects", {{"limit", "1"}}, "name", &pages) ==
        std::vector<std::string>{"beta", "alpha", "default"});
  CHECK(pages == 3);
  CHECK(h.Walk("/v1/projects", {{"limit", "2"}}, "name", &pages) ==
        std::vector<std::string>{"beta", "alpha", "default"});
  CHECK(pages == 2);

  Reply by_gid = h.Ok("/v1/projects/" + std::string(alpha["id"].GetString()));
  CHECK(std::string(by_gid.json["data"]["name"].GetString()) == "alpha");
  Reply by_name = h.Ok("/v1/projects/alpha");
  CHECK(std::string(by_name.json["data"]["id"].GetString()) == alpha["id"].GetString());

  Reply missing = h.Get("/v1/projects/nope");
  CHECK(missing.status == 404);
  CHECK(missing.content_type.rfind("text/plain", 0) == 0);
  CHECK(missing.body == "Project with name nope not found");
  Reply missing_gid = h.Get("/v1/projects/" + EncodeGlobalId("Project", 999));
  CHECK(missing_gid.status == 404);
  CHECK(missing_gid.body == "Project with ID " + EncodeGlobalId("Project", 999) + " not found");

  Reply bad_cursor = h.Get("/v1/projects", {{"cursor", "xyz"}});
  CHECK(bad_cursor.status == 422);
  CHECK(bad_cursor.body == "Invalid cursor format: xyz");
  Reply bad_limit = h.Get("/v1/projects", {{"limit", "0"}});
  CHECK(bad_limit.status == 422);
  CHECK(bad_limit.content_type.rfind("application/json", 0) == 0);
  CHECK(std::string(bad_limit.json["detail"][0]["type"].GetString()) == "greater_than");
  Reply bad_bool = h.Get("/v1/projects", {{"include_experiment_projects", "perhaps"}});
  CHECK(bad_bool.status == 422);
  CHECK(std::string(bad_bool.json["detail"][0]["loc"][1].GetString()) == "include_experiment_projects");
}

TEST_CASE("spans: Phoenix Span shape field by field (fixture span_llm.json)") {
  Harness h;
  Reply r = h.Ok(kSpans, {{"span_id", kA2}});
  REQUIRE(r.json["data"].Size() == 1);
  CHECK(r.json["next_cursor"].IsNull());
  rapidjson::Value& span = r.json["data"][0];
  RowId(span["id"].GetString(), "Span");
  span.RemoveMember("id");

  rapidjson::Document expected;
  expected.Parse(ReadFile(std::string(OSPREY_QUERY_FIXTURES) + "/span_llm.json").c_str());
  REQUIRE_FALSE(expected.HasParseError());
  for (auto& member : expected.GetObject()) {
    INFO("field " << member.name.GetString());
    REQUIRE(span.HasMember(member.name));
    CHECK(span[member.name] == member.value);
  }
  CHECK(span.MemberCount() == expected.MemberCount());
  // Attributes in full: the span kind is removed, empty objects vanish, lists of scalars stay whole.
  CHECK_FALSE(span["attributes"].HasMember("openinference.span.kind"));
  CHECK_FALSE(span["attributes"].HasMember("metadata"));
}

TEST_CASE("spans: a root span has parent_id null and status_message empty") {
  Harness h;
  Reply r = h.Ok(kSpans, {{"span_id", kB1}});
  REQUIRE(r.json["data"].Size() == 1);
  const auto& span = r.json["data"][0];
  CHECK(span["parent_id"].IsNull());
  CHECK(std::string(span["status_code"].GetString()) == "UNSET");
  CHECK(std::string(span["status_message"].GetString()) == "");
  CHECK(span["attributes"]["user.id"].GetInt64() == 12345);
  CHECK(span["events"].IsArray());
  CHECK(span["events"].Size() == 0);
}

TEST_CASE("spans: ordered by row id descending, every page walked") {
  Harness h;
  Reply all = h.Ok(kSpans);
  REQUIRE(all.json["data"].Size() == 5);
  CHECK(all.json["next_cursor"].IsNull());
  std::vector<int64_t> ids;
  for (const auto& item : all.json["data"].GetArray()) ids.push_back(RowId(item["id"].GetString(), "Span"));
  for (size_t i = 1; i < ids.size(); ++i) CHECK(ids[i - 1] > ids[i]);

  int pages = 0;
  CHECK(h.Walk(kSpans, {{"limit", "2"}}, "id", &pages) == Field(all, "id"));
  CHECK(pages == 3);
  CHECK(h.Walk(kSpans, {{"limit", "5"}}, "id", &pages) == Field(all, "id"));
  CHECK(pages == 1);

  // The project can be named by GlobalID too; other projects' spans never leak in.
  CHECK(h.Ok("/v1/projects/" + h.ProjectGid("alpha") + "/spans").json["data"].Size() == 5);
  CHECK(SpanIds(h.Ok("/v1/projects/beta/spans")) == std::vector<std::string>{kD1});
}

TEST_CASE("spans: every filter") {
  Harness h;
  using Set = std::set<std::string>;
  CHECK(SpanIdSet(h.Ok(kSpans, {{"trace_id", kTraceA}})) == Set{kA1, kA2, kA3});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"trace_id", kTraceA}, {"trace_id", kTraceB}})) == Set{kA1, kA2, kA3, kB1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"trace_id", kTraceD}})).empty());
  CHECK(SpanIdSet(h.Ok(kSpans, {{"span_id", kA2}, {"span_id", kC1}})) == Set{kA2, kC1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"parent_id", "null"}})) == Set{kA1, kB1, kC1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"parent_id", kA1}})) == Set{kA2, kA3});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"name", "llm"}})) == Set{kA2, kB1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"name", "llm"}, {"name", "tool"}})) == Set{kA2, kA3, kB1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"span_kind", "LLM"}})) == Set{kA2, kB1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"span_kind", "retriever"}, {"span_kind", "TOOL"}})) == Set{kA3, kC1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"status_code", "ERROR"}})) == Set{kA2});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"status_code", "OK"}, {"status_code", "ERROR"}})) == Set{kA1, kA2});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"status_code", "UNSET"}})) == Set{kA3, kB1, kC1});

  // Time window on span start: start inclusive, end exclusive; naive datetimes are UTC.
  CHECK(SpanIdSet(h.Ok(kSpans, {{"start_time", "2025-01-02T03:04:06+00:00"}, {"end_time", "2025-01-02T03:04:25"}})) ==
        Set{kA2, kB1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"end_time", "2025-01-02T05:04:06+02:00"}})) == Set{kA1, kA3});

  // Filters combine with AND.
  CHECK(SpanIdSet(h.Ok(kSpans, {{"trace_id", kTraceA}, {"span_kind", "LLM"}})) == Set{kA2});
}

TEST_CASE("spans: attribute filters compare typed values") {
  Harness h;
  using Set = std::set<std::string>;
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "user.id:u-1"}})) == Set{kA1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "user.id:12345"}})) == Set{kB1});      // int
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "user.id:\"12345\""}})) == Set{kC1});  // JSON string
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "metadata.tier:2"}})) == Set{kA1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "flag:true"}})) == Set{kA2});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "score:0.5"}})) == Set{kA2});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "session.id:sess-1"}})) == Set{kA1, kA2, kB1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "session.id:sess-1"}, {"attribute", "user.id:u-1"}})) == Set{kA1});
  CHECK(SpanIdSet(h.Ok(kSpans, {{"attribute", "user.id:u-1"}, {"attribute", "metadata.tier:3"}})).empty());
}

TEST_CASE("spans: rejected requests get Phoenix's status and body, and are counted") {
  Harness h;
  Reply kind = h.Get(kSpans, {{"span_kind", "DATABASE"}});
  CHECK(kind.status == 422);
  CHECK(kind.content_type.rfind("text/plain", 0) == 0);
  CHECK(kind.body.rfind("Invalid span_kind: 'DATABASE'. Valid values: LLM, CHAIN", 0) == 0);

  Reply limit = h.Get(kSpans, {{"limit", "1001"}});
  CHECK(limit.status == 422);
  CHECK(limit.body == R"({"detail":[{"type":"less_than_equal","loc":["query","limit"],)"
                      R"("msg":"Input should be less than or equal to 1000","input":"1001","ctx":{"le":1000}}]})");

  Reply when = h.Get(kSpans, {{"start_time", "last tuesday"}});
  CHECK(when.status == 422);
  CHECK(std::string(when.json["detail"][0]["loc"][1].GetString()) == "start_time");

  Reply cursor = h.Get(kSpans, {{"cursor", EncodeGlobalId("Trace", 1)}});
  CHECK(cursor.status == 422);
  CHECK(cursor.body == "Invalid cursor format: " + EncodeGlobalId("Trace", 1));

  Reply attribute = h.Get(kSpans, {{"attribute", "user.id"}});
  CHECK(attribute.status == 422);
  CHECK(attribute.body == "Invalid attribute filter 'user.id': expected key:value");
  CHECK(h.Get(kSpans, {{"attribute", "user.id:[1,2]"}}).status == 422);

  Reply project = h.Get("/v1/projects/nope/spans");
  CHECK(project.status == 404);
  CHECK(project.body == "Project with name nope not found");

  std::string metrics = h.registry().Render();
  CHECK(metrics.find(R"(osprey_query_rejected_requests_total{route="/v1/projects/{project_identifier}/spans",)"
                     R"(reason="invalid_span_kind"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(osprey_query_rejected_requests_total{route="/v1/projects/{project_identifier}/spans",)"
                     R"(reason="not_found"} 1)") != std::string::npos);
  CHECK(
      metrics.find(R"(osprey_query_request_duration_seconds_count{route="/v1/projects/{project_identifier}/spans"})") !=
      std::string::npos);
}

TEST_CASE("traces: TraceData shape, sorting and token totals") {
  Harness h;
  std::string alpha = h.ProjectGid("alpha");
  Reply r = h.Ok(kTraces);
  CHECK(Field(r, "trace_id") == std::vector<std::string>{kTraceC, kTraceB, kTraceA});  // start_time desc
  CHECK(r.json["next_cursor"].IsNull());
  const auto& a = r.json["data"][2];
  CHECK(a.MemberCount() == 9);
  RowId(a["id"].GetString(), "Trace");
  CHECK(std::string(a["project_id"].GetString()) == alpha);
  CHECK(std::string(a["start_time"].GetString()) == "2025-01-02T03:04:05+00:00");
  CHECK(std::string(a["end_time"].GetString()) == "2025-01-02T03:04:08+00:00");
  CHECK(a["token_count_prompt"].GetInt64() == 10);
  CHECK(a["token_count_completion"].GetInt64() == 5);
  CHECK(a["token_count_total"].GetInt64() == 15);
  CHECK(a["spans"].IsNull());
  CHECK(r.json["data"][0]["token_count_total"].GetInt64() == 0);

  CHECK(Field(h.Ok(kTraces, {{"order", "asc"}}), "trace_id") == std::vector<std::string>{kTraceA, kTraceB, kTraceC});
  CHECK(Field(h.Ok(kTraces, {{"sort", "latency_ms"}, {"order", "asc"}}), "trace_id") ==
        std::vector<std::string>{kTraceB, kTraceA, kTraceC});
  CHECK(Field(h.Ok(kTraces, {{"sort", "latency_ms"}}), "trace_id") ==
        std::vector<std::string>{kTraceC, kTraceA, kTraceB});
  CHECK(Field(h.Ok(kTraces, {{"start_time", "2025-01-02T03:04:15"}, {"end_time", "2025-01-02T03:04:25"}}),
              "trace_id") == std::vector<std::string>{kTraceB});
  CHECK(Field(h.Ok("/v1/projects/beta/traces"), "trace_id") == std::vector<std::string>{kTraceD});
}

TEST_CASE("traces: include_spans lists TraceSpanData sorted by start time") {
  Harness h;
  Reply r = h.Ok(kTraces, {{"include_spans", "true"}, {"order", "asc"}});
  const auto& spans = r.json["data"][0]["spans"];
  REQUIRE(spans.IsArray());
  REQUIRE(spans.Size() == 3);
  CHECK(std::string(spans[0]["span_id"].GetString()) == kA1);
  CHECK(std::string(spans[1]["span_id"].GetString()) == kA3);
  CHECK(std::string(spans[2]["span_id"].GetString()) == kA2);
  const auto& llm = spans[2];
  CHECK(llm.MemberCount() == 8);
  RowId(llm["id"].GetString(), "Span");
  CHECK(std::string(llm["parent_id"].GetString()) == kA1);
  CHECK(std::string(llm["name"].GetString()) == "llm");
  CHECK(std::string(llm["span_kind"].GetString()) == "LLM");
  CHECK(std::string(llm["status_code"].GetString()) == "ERROR");
  CHECK(std::string(llm["start_time"].GetString()) == "2025-01-02T03:04:06+00:00");
  CHECK(std::string(llm["end_time"].GetString()) == "2025-01-02T03:04:07+00:00");
  CHECK(spans[0]["parent_id"].IsNull());
  CHECK(r.json["data"][1]["spans"].Size() == 1);
}

TEST_CASE("traces: session filter by session.id or GlobalID") {
  Harness h;
  Reply sessions = h.Ok("/v1/projects/alpha/sessions");
  std::string sess2_gid;
  for (const auto& s : sessions.json["data"].GetArray()) {
    if (std::string(s["session_id"].GetString()) == "sess-2") sess2_gid = s["id"].GetString();
  }
  REQUIRE_FALSE(sess2_gid.empty());
  using Set = std::set<std::string>;
  auto traces = [&](std::vector<std::pair<std::string, std::string>> q) {
    auto v = Field(h.Ok(kTraces, std::move(q)), "trace_id");
    return Set(v.begin(), v.end());
  };
  CHECK(traces({{"session_identifier", "sess-1"}}) == Set{kTraceA, kTraceB});
  CHECK(traces({{"session_identifier", sess2_gid}}) == Set{kTraceC});
  CHECK(traces({{"session_identifier", "sess-1"}, {"session_identifier", sess2_gid}}) ==
        Set{kTraceA, kTraceB, kTraceC});
  CHECK(traces({{"session_identifier", "nope"}}).empty());
  CHECK(traces({{"session_identifier", "sess-3"}}).empty());  // another project's session
}

TEST_CASE("traces: pagination walks every page in every sort") {
  Harness h;
  int pages = 0;
  CHECK(h.Walk(kTraces, {{"limit", "1"}}, "trace_id", &pages) == std::vector<std::string>{kTraceC, kTraceB, kTraceA});
  CHECK(pages == 3);
  CHECK(h.Walk(kTraces, {{"limit", "2"}, {"order", "asc"}}, "trace_id", &pages) ==
        std::vector<std::string>{kTraceA, kTraceB, kTraceC});
  CHECK(pages == 2);
  CHECK(h.Walk(kTraces, {{"limit", "1"}, {"sort", "latency_ms"}, {"order", "asc"}}, "trace_id") ==
        std::vector<std::string>{kTraceB, kTraceA, kTraceC});
}

TEST_CASE("traces: bad parameters") {
  Harness h;
  Reply sort = h.Get(kTraces, {{"sort", "name"}});
  CHECK(sort.status == 422);
  CHECK(sort.body == R"({"detail":[{"type":"literal_error","loc":["query","sort"],)"
                     R"("msg":"Input should be 'start_time' or 'latency_ms'","input":"name",)"
                     R"("ctx":{"expected":"'start_time' or 'latency_ms'"}}]})");
  Reply both = h.Get(kTraces, {{"order", "up"}, {"include_spans", "sometimes"}});
  CHECK(both.status == 422);
  CHECK(both.json["detail"].Size() == 2);
  Reply cursor = h.Get(kTraces, {{"cursor", EncodeGlobalId("Span", 1)}});
  CHECK(cursor.status == 422);
  CHECK(cursor.body == "Invalid cursor format: " + EncodeGlobalId("Span", 1));
  CHECK(h.Get("/v1/projects/nope/traces").status == 404);
}

TEST_CASE("sessions: list in both orders, walk pages, SessionData shape") {
  Harness h;
  Reply asc = h.Ok("/v1/projects/alpha/sessions");
  CHECK(Field(asc, "session_id") == std::vector<std::string>{"sess-1", "sess-2"});
  CHECK(Field(h.Ok("/v1/projects/alpha/sessions", {{"order", "desc"}}), "session_id") ==
        std::vector<std::string>{"sess-2", "sess-1"});
  int pages = 0;
  CHECK(h.Walk("/v1/projects/alpha/sessions", {{"limit", "1"}}, "session_id", &pages) ==
        std::vector<std::string>{"sess-1", "sess-2"});
  CHECK(pages == 2);

  const auto& s1 = asc.json["data"][0];
  CHECK(s1.MemberCount() == 10);
  RowId(s1["id"].GetString(), "ProjectSession");
  CHECK(std::string(s1["project_id"].GetString()) == h.ProjectGid("alpha"));
  CHECK(std::string(s1["start_time"].GetString()) == "2025-01-02T03:04:05+00:00");
  CHECK(std::string(s1["end_time"].GetString()) == "2025-01-02T03:04:16+00:00");
  CHECK(s1["token_count_prompt"].GetInt64() == 13);
  CHECK(s1["token_count_completion"].GetInt64() == 9);
  CHECK(s1["token_count_total"].GetInt64() == 22);
  REQUIRE(s1["traces"].Size() == 2);
  CHECK(std::string(s1["traces"][0]["trace_id"].GetString()) == kTraceA);
  CHECK(std::string(s1["traces"][1]["trace_id"].GetString()) == kTraceB);
  CHECK(s1["traces"][0].MemberCount() == 4);
  RowId(s1["traces"][0]["id"].GetString(), "Trace");
  CHECK(std::string(s1["traces"][1]["start_time"].GetString()) == "2025-01-02T03:04:15+00:00");

  Reply bad = h.Get("/v1/projects/alpha/sessions", {{"order", "sideways"}});
  CHECK(bad.status == 422);
  CHECK(h.Get("/v1/projects/alpha/sessions", {{"cursor", "nope"}}).body == "Invalid cursor format: nope");
}

TEST_CASE("sessions: get by session_id or GlobalID; unknown is a plain-text 404") {
  Harness h;
  Reply by_name = h.Ok("/v1/sessions/sess-1");
  std::string gid = by_name.json["data"]["id"].GetString();
  CHECK(std::string(by_name.json["data"]["session_id"].GetString()) == "sess-1");
  CHECK(by_name.json["data"]["traces"].Size() == 2);
  Reply by_gid = h.Ok("/v1/sessions/" + gid);
  CHECK(std::string(by_gid.json["data"]["session_id"].GetString()) == "sess-1");
  CHECK(by_gid.body == by_name.body);

  Reply missing = h.Get("/v1/sessions/nope");
  CHECK(missing.status == 404);
  CHECK(missing.content_type.rfind("text/plain", 0) == 0);
  CHECK(missing.body == "Session with session_id nope not found");
  Reply missing_gid = h.Get("/v1/sessions/" + EncodeGlobalId("ProjectSession", 999));
  CHECK(missing_gid.status == 404);
  CHECK(missing_gid.body == "Session with ID " + EncodeGlobalId("ProjectSession", 999) + " not found");
}
