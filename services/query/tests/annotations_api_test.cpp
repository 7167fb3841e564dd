#include "osprey/query/annotations_api.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "osprey/base/encoding.hpp"
#include "osprey/http/json.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "rapidjson/document.h"

using namespace osprey;

namespace {

constexpr int64_t kT0 = 1735787045000000000LL;
const std::string kTrace1 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb01";
const std::string kTrace2 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02";
const std::string kSpan1 = "00000000000000e1";
const std::string kSpan2 = "00000000000000e2";
const std::string kOther = "00000000000000f1";  // in project "other"
const std::string kMissing = "00000000000000ff";

model::v1::Span MakeSpan(const std::string& project, const std::string& trace, const std::string& span,
                         const std::string& session) {
  model::v1::Span s;
  s.set_project_name(project);
  s.set_trace_id(*base::HexDecode(trace));
  s.set_span_id(*base::HexDecode(span));
  s.set_name("step");
  s.set_span_kind("LLM");
  s.set_start_time_unix_nano(kT0);
  s.set_end_time_unix_nano(kT0 + 1000);
  s.set_session_id(session);
  return s;
}

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  rapidjson::Document json;
};

class Harness {
 public:
  Harness() {
    char tmpl[] = "/tmp/osprey-annotations-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = store::OpenSqliteStore(config);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    Write({MakeSpan("alpha", kTrace1, kSpan1, "chat-1"), MakeSpan("alpha", kTrace1, kSpan2, "chat-1"),
           MakeSpan("other", kTrace2, kOther, "")});
    query::AnnotationsApiOptions options;
    options.retry_interval = std::chrono::hours(1);  // the test drives retries itself
    options.max_retries = 2;
    api_ = std::make_shared<query::AnnotationsApi>(*store_, *store_, &registry_, options);
    api_->Register(router_);
  }
  ~Harness() {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  void Write(const std::vector<model::v1::Span>& spans) {
    std::vector<const model::v1::Span*> pointers;
    for (const auto& s : spans) pointers.push_back(&s);
    REQUIRE(store_->WriteSpans(pointers).ok());
  }

  Reply Call(const std::string& method, const std::string& path,
             std::vector<std::pair<std::string, std::string>> query = {}, std::string body = "") {
    http::Request request;
    request.method = method;
    request.path = path;
    request.target = path;
    request.query = std::move(query);
    request.body = std::move(body);
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
  Reply Post(const std::string& path, const std::string& body,
             std::vector<std::pair<std::string, std::string>> query = {}) {
    return Call("POST", path, std::move(query), body);
  }
  // A call that must answer `status` with JSON.
  Reply Json(int status, const std::string& method, const std::string& path,
             std::vector<std::pair<std::string, std::string>> query = {}, std::string body = "") {
    Reply r = Call(method, path, std::move(query), std::move(body));
    INFO(method << " " << path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == status);
    REQUIRE(r.content_type.rfind("application/json", 0) == 0);
    REQUIRE_FALSE(r.json.HasParseError());
    return r;
  }
  // The span annotations of alpha for `span_ids` (notes included), newest first.
  Reply SpanAnnotations(std::vector<std::pair<std::string, std::string>> query) {
    return Json(200, "GET", "/v1/projects/alpha/span_annotations", std::move(query));
  }

  store::Store& store() { return *store_; }
  query::AnnotationsApi& api() { return *api_; }
  metrics::Registry& registry() { return registry_; }

 private:
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  metrics::Registry registry_;
  std::shared_ptr<query::AnnotationsApi> api_;
  http::Router router_;
};

std::string Str(const rapidjson::Value& v) { return v.IsString() ? std::string(v.GetString()) : http::ToString(v); }

}  // namespace

TEST_CASE("annotations: sync POST returns GlobalIDs; GET returns every field as sent; same key updates") {
  Harness h;
  Reply r = h.Json(200, "POST", "/v1/span_annotations", {{"sync", "true"}},
                   R"({"data":[{"name":"quality","annotator_kind":"LLM","span_id":")" + kSpan1 +
                       R"(","result":{"label":"good","score":0.75,"explanation":"clear"},"metadata":{"judge":"gpt"}},)"
                       R"({"name":"quality","annotator_kind":"CODE","span_id":")" + kSpan2 +
                       R"(","identifier":"v2","result":{"score":1}}]})");
  REQUIRE(r.json["data"].Size() == 2);
  const std::string id1 = r.json["data"][0]["id"].GetString();
  auto decoded = query::DecodeGlobalId(id1);
  REQUIRE(decoded.has_value());
  CHECK(decoded->type == "SpanAnnotation");

  Reply list = h.SpanAnnotations({{"span_ids", kSpan1}, {"span_ids", kSpan2}});
  const auto& data = list.json["data"];
  REQUIRE(data.Size() == 2);
  const auto& first = data[1];  // id DESC: the span1 annotation was inserted first
  CHECK(Str(first["id"]) == id1);
  CHECK(Str(first["span_id"]) == kSpan1);
  CHECK(Str(first["name"]) == "quality");
  CHECK(Str(first["annotator_kind"]) == "LLM");
  CHECK(Str(first["source"]) == "API");
  CHECK(first["user_id"].IsNull());
  CHECK(Str(first["identifier"]) == "");
  CHECK(Str(first["result"]["label"]) == "good");
  CHECK(first["result"]["score"].GetDouble() == 0.75);
  CHECK(Str(first["result"]["explanation"]) == "clear");
  CHECK(Str(first["metadata"]["judge"]) == "gpt");
  CHECK_THAT(Str(first["created_at"]), Catch::EndsWith("+00:00"));
  CHECK(data[0]["result"]["label"].IsNull());
  CHECK(Str(data[0]["identifier"]) == "v2");
  CHECK(list.json["next_cursor"].IsNull());

  // Same (name, span, identifier ""): updated in place, same id.
  r = h.Json(200, "POST", "/v1/span_annotations", {{"sync", "true"}},
             R"({"data":[{"name":"quality","annotator_kind":"HUMAN","span_id":")" + kSpan1 +
                 R"(","result":{"label":"bad"}}]})");
  CHECK(Str(r.json["data"][0]["id"]) == id1);
  list = h.SpanAnnotations({{"span_ids", kSpan1}});
  REQUIRE(list.json["data"].Size() == 1);
  CHECK(Str(list.json["data"][0]["result"]["label"]) == "bad");
  CHECK(list.json["data"][0]["result"]["score"].IsNull());
  CHECK(Str(list.json["data"][0]["annotator_kind"]) == "HUMAN");
}

TEST_CASE("annotations: malformed bodies are 422 with pydantic-style details and write nothing") {
  Harness h;
  auto check = [&](const std::string& body, const std::string& type, const std::string& loc) {
    Reply r = h.Json(422, "POST", "/v1/span_annotations", {{"sync", "true"}}, body);
    INFO(r.body);
    REQUIRE(r.json["detail"].IsArray());
    REQUIRE(r.json["detail"].Size() >= 1);
    CHECK(Str(r.json["detail"][0]["type"]) == type);
    CHECK(http::ToString(r.json["detail"][0]["loc"]) == loc);
  };
  const std::string ok = R"({"name":"a","annotator_kind":"LLM","span_id":")" + kSpan1 + R"("})";
  check("{not json", "json_invalid", R"(["body",1])");
  check(R"({"data":{}})", "list_type", R"(["body","data"])");
  check(R"({})", "missing", R"(["body","data"])");
  check(R"({"data":[)" + ok + R"(,{"annotator_kind":"LLM","span_id":"x"}]})", "missing", R"(["body","data",1,"name"])");
  check(R"({"data":[{"name":"a","annotator_kind":"ROBOT","span_id":"x"}]})", "literal_error",
        R"(["body","data",0,"annotator_kind"])");
  check(R"({"data":[{"name":"a","annotator_kind":"LLM","span_id":"x","result":{"score":"high"}}]})", "float_type",
        R"(["body","data",0,"result","score"])");
  check(R"({"data":[{"name":"a","annotator_kind":"LLM","span_id":"x","metadata":[1]}]})", "dict_type",
        R"(["body","data",0,"metadata"])");
  check(R"({"data":[{"name":"a","annotator_kind":"LLM","span_id":7}]})", "string_type", R"(["body","data",0,"span_id"])");
  check(std::string(5000, '[') + std::string(5000, ']'), "json_invalid", R"(["body",0])");

  // The reserved name and a document identifier are refused as Phoenix does.
  Reply note = h.Post("/v1/span_annotations",
                      R"({"data":[{"name":"note","annotator_kind":"HUMAN","span_id":")" + kSpan1 + R"("}]})");
  CHECK(note.status == 400);
  CHECK_THAT(note.body, Catch::Contains("reserved"));
  Reply doc = h.Post("/v1/document_annotations",
                     R"({"data":[{"name":"rel","annotator_kind":"LLM","span_id":")" + kSpan1 +
                         R"(","document_position":0,"identifier":"x"}]})");
  CHECK(doc.status == 422);
  CHECK(doc.content_type.rfind("text/plain", 0) == 0);
  CHECK(h.Call("POST", "/v1/span_annotations", {{"sync", "maybe"}}, R"({"data":[]})").status == 422);

  Reply list = h.SpanAnnotations({{"span_ids", kSpan1}});
  CHECK(list.json["data"].Size() == 0);
}

TEST_CASE("annotations: sync with an unknown span is 404 and writes nothing; async postpones until the span exists") {
  Harness h;
  Reply r = h.Post("/v1/span_annotations",
                   R"({"data":[{"name":"a","annotator_kind":"LLM","span_id":")" + kSpan1 +
                       R"("},{"name":"a","annotator_kind":"LLM","span_id":")" + kMissing + R"("}]})",
                   {{"sync", "true"}});
  CHECK(r.status == 404);
  CHECK(r.body == "Spans with IDs " + kMissing + " do not exist.");
  CHECK(h.SpanAnnotations({{"span_ids", kSpan1}}).json["data"].Size() == 0);

  // Async: the known target is written now, the unknown one waits for its span.
  r = h.Json(200, "POST", "/v1/span_annotations", {},
             R"({"data":[{"name":"a","annotator_kind":"LLM","span_id":")" + kSpan1 +
                 R"("},{"name":"late","annotator_kind":"LLM","span_id":")" + kMissing + R"("}]})");
  CHECK(r.json["data"].Size() == 0);
  CHECK(h.SpanAnnotations({{"span_ids", kSpan1}}).json["data"].Size() == 1);
  CHECK(h.api().postponed() == 1);
  h.api().RetryPostponed();
  CHECK(h.api().postponed() == 1);
  h.Write({MakeSpan("alpha", kTrace1, kMissing, "")});
  h.api().RetryPostponed();
  CHECK(h.api().postponed() == 0);
  Reply late = h.SpanAnnotations({{"span_ids", kMissing}});
  REQUIRE(late.json["data"].Size() == 1);
  CHECK(Str(late.json["data"][0]["name"]) == "late");

  // A target that never comes is dropped after max_retries (2) and counted.
  h.Json(200, "POST", "/v1/trace_annotations", {},
         R"({"data":[{"name":"t","annotator_kind":"LLM","trace_id":"cccccccccccccccccccccccccccccccc"}]})");
  h.api().RetryPostponed();
  h.api().RetryPostponed();
  CHECK(h.api().postponed() == 0);
  CHECK_THAT(h.registry().Render(), Catch::Contains("osprey_query_postponed_annotations_total{outcome=\"dropped\"} 1"));
}

TEST_CASE("annotations: notes append with generated identifiers; unknown targets are 404") {
  Harness h;
  Reply n1 = h.Json(200, "POST", "/v1/span_notes", {}, R"({"data":{"span_id":")" + kSpan1 + R"(","note":"first"}})");
  Reply n2 = h.Json(200, "POST", "/v1/span_notes", {}, R"({"data":{"span_id":")" + kSpan1 + R"(","note":"second"}})");
  CHECK(Str(n1.json["data"]["id"]) != Str(n2.json["data"]["id"]));
  Reply list = h.SpanAnnotations({{"span_ids", kSpan1}, {"include_annotation_names", "note"}});
  REQUIRE(list.json["data"].Size() == 2);
  const auto& note = list.json["data"][0];
  CHECK(Str(note["name"]) == "note");
  CHECK(Str(note["annotator_kind"]) == "HUMAN");
  CHECK(Str(note["result"]["explanation"]) == "second");
  CHECK_THAT(Str(note["identifier"]), Catch::StartsWith("px-span-note:"));
  CHECK(Str(note["identifier"]).size() == std::string("px-span-note:").size() + 36);
  // The client's default exclude_annotation_names=note hides them.
  CHECK(h.SpanAnnotations({{"span_ids", kSpan1}, {"exclude_annotation_names", "note"}}).json["data"].Size() == 0);

  Reply trace = h.Json(200, "POST", "/v1/trace_notes", {}, R"({"data":{"trace_id":")" + kTrace1 + R"(","note":"t"}})");
  CHECK(query::DecodeGlobalId(Str(trace.json["data"]["id"]))->type == "TraceAnnotation");
  Reply session = h.Json(200, "POST", "/v1/session_notes", {}, R"({"data":{"session_id":"chat-1","note":"s"}})");
  CHECK(query::DecodeGlobalId(Str(session.json["data"]["id"]))->type == "ProjectSessionAnnotation");
  Reply sessions = h.Json(200, "GET", "/v1/projects/alpha/session_annotations", {{"session_ids", "chat-1"}});
  REQUIRE(sessions.json["data"].Size() == 1);
  CHECK_THAT(Str(sessions.json["data"][0]["identifier"]), Catch::StartsWith("px-session-note:"));
  CHECK(Str(sessions.json["data"][0]["session_id"]) == "chat-1");

  Reply missing = h.Post("/v1/span_notes", R"({"data":{"span_id":")" + kMissing + R"(","note":"x"}})");
  CHECK(missing.status == 404);
  CHECK(missing.body == "Span with ID " + kMissing + " not found");
  Reply empty = h.Json(422, "POST", "/v1/span_notes", {}, R"({"data":{"span_id":")" + kSpan1 + R"(","note":""}})");
  CHECK(Str(empty.json["detail"][0]["type"]) == "string_too_short");
}

TEST_CASE("annotations: list filters, pages, and errors") {
  Harness h;
  h.Json(200, "POST", "/v1/span_annotations", {{"sync", "true"}},
         R"({"data":[{"name":"a","annotator_kind":"LLM","span_id":")" + kSpan1 +
             R"("},{"name":"b","annotator_kind":"LLM","span_id":")" + kSpan1 +
             R"(","identifier":"run-1"},{"name":"c","annotator_kind":"LLM","span_id":")" + kSpan2 +
             R"(","identifier":"run-1"},{"name":"z","annotator_kind":"LLM","span_id":")" + kOther + R"("}]})");
  std::vector<std::string> names;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    std::vector<std::pair<std::string, std::string>> q = {
        {"span_ids", kSpan1}, {"span_ids", kSpan2}, {"span_ids", kOther}, {"limit", "2"}};
    if (cursor) q.emplace_back("cursor", *cursor);
    Reply r = h.SpanAnnotations(q);
    for (const auto& item : r.json["data"].GetArray()) names.push_back(Str(item["name"]));
    cursor.reset();
    if (r.json["next_cursor"].IsString()) cursor = Str(r.json["next_cursor"]);
    ++pages;
  } while (cursor && pages < 10);
  CHECK(names == std::vector<std::string>{"c", "b", "a"});  // z is in project "other"
  CHECK(pages == 2);

  Reply by_identifier = h.SpanAnnotations({{"identifier", "run-1"}, {"exclude_annotation_names", "c"}});
  REQUIRE(by_identifier.json["data"].Size() == 1);
  CHECK(Str(by_identifier.json["data"][0]["name"]) == "b");

  Reply none = h.Call("GET", "/v1/projects/alpha/span_annotations");
  CHECK(none.status == 422);
  CHECK(none.body == "At least one of span_ids or identifier must be supplied");
  Reply unknown = h.Call("GET", "/v1/projects/alpha/span_annotations", {{"span_ids", kMissing}});
  CHECK(unknown.status == 404);
  CHECK(unknown.body == "None of the supplied span_ids exist in this project");
  Reply project = h.Call("GET", "/v1/projects/nope/span_annotations", {{"span_ids", kSpan1}});
  CHECK(project.status == 404);
  CHECK(project.body == "Project with identifier nope not found");
  Reply by_gid =
      h.Call("GET", "/v1/projects/" + query::EncodeGlobalId("Project", 2) + "/span_annotations", {{"span_ids", kSpan1}});
  CHECK(by_gid.status == 200);
  CHECK(h.Call("GET", "/v1/projects/alpha/span_annotations", {{"span_ids", kSpan1}, {"limit", "0"}}).status == 422);
  CHECK(h.Call("GET", "/v1/projects/alpha/span_annotations", {{"span_ids", kSpan1}, {"limit", "10001"}}).status ==
        422);
  CHECK(h.Call("GET", "/v1/projects/alpha/span_annotations", {{"span_ids", kSpan1}, {"cursor", "%%%"}}).status == 422);
  CHECK(h.Call("GET", "/v1/projects/alpha/span_annotations", {{"identifier", ""}}).status == 422);

  Reply traces = h.Call("GET", "/v1/projects/alpha/trace_annotations", {{"trace_ids", kTrace2}});
  CHECK(traces.status == 404);
  CHECK(traces.body == "None of the supplied trace_ids exist in this project");
}

TEST_CASE("annotations: bulk delete needs a bounded window or delete_all and narrows by its filters") {
  Harness h;
  h.Json(200, "POST", "/v1/trace_annotations", {{"sync", "true"}},
         R"({"data":[{"name":"a","annotator_kind":"LLM","trace_id":")" + kTrace1 +
             R"("},{"name":"b","annotator_kind":"HUMAN","trace_id":")" + kTrace1 +
             R"("},{"name":"a","annotator_kind":"LLM","trace_id":")" + kTrace2 + R"("}]})");
  const std::string route = "/v1/projects/alpha/trace_annotations";
  Reply unbounded = h.Call("DELETE", route, {{"name", "a"}});
  CHECK(unbounded.status == 422);
  CHECK_THAT(unbounded.body, Catch::StartsWith("Delete is unbounded."));
  CHECK(h.Call("DELETE", route, {{"start_time", "2030-01-01T00:00:00"}}).status == 422);
  Reply reversed =
      h.Call("DELETE", route, {{"start_time", "2030-01-01T00:00:00"}, {"end_time", "2020-01-01T00:00:00Z"}});
  CHECK(reversed.status == 422);
  CHECK(reversed.body == "`start_time` must be strictly earlier than `end_time`.");
  CHECK(h.Json(422, "DELETE", route, {{"delete_all", "true"}, {"annotator_kind", "ROBOT"}})
            .json["detail"][0]["type"] == "literal_error");
  CHECK(h.Call("DELETE", route, {{"delete_all", "true"}, {"name", ""}}).status == 422);
  CHECK(h.Call("DELETE", "/v1/projects/nope/trace_annotations", {{"delete_all", "true"}}).status == 404);

  // A window in the past deletes nothing.
  CHECK(h.Call("DELETE", route, {{"start_time", "2000-01-01T00:00:00"}, {"end_time", "2001-01-01T00:00:00"}}).status ==
        204);
  CHECK(h.Json(200, "GET", route, {{"trace_ids", kTrace1}}).json["data"].Size() == 2);
  CHECK(h.Call("DELETE", route, {{"delete_all", "true"}, {"name", "a"}, {"annotator_kind", "LLM"}}).status == 204);
  Reply left = h.Json(200, "GET", route, {{"trace_ids", kTrace1}});
  REQUIRE(left.json["data"].Size() == 1);
  CHECK(Str(left.json["data"][0]["name"]) == "b");
  // The other project's annotation is untouched.
  CHECK(h.Json(200, "GET", "/v1/projects/other/trace_annotations", {{"trace_ids", kTrace2}}).json["data"].Size() == 1);
}

TEST_CASE("annotations: document annotations are keyed by position") {
  Harness h;
  Reply r = h.Json(200, "POST", "/v1/document_annotations", {{"sync", "true"}},
                   R"({"data":[{"name":"relevance","annotator_kind":"LLM","span_id":")" + kSpan1 +
                       R"(","document_position":0,"result":{"score":1}},{"name":"relevance","annotator_kind":"LLM",)"
                       R"("span_id":")" + kSpan1 + R"(","document_position":1,"result":{"score":0}}]})");
  REQUIRE(r.json["data"].Size() == 2);
  CHECK(Str(r.json["data"][0]["id"]) != Str(r.json["data"][1]["id"]));
  CHECK(query::DecodeGlobalId(Str(r.json["data"][0]["id"]))->type == "DocumentAnnotation");
  Reply bad = h.Json(422, "POST", "/v1/document_annotations", {{"sync", "true"}},
                     R"({"data":[{"name":"relevance","annotator_kind":"LLM","span_id":")" + kSpan1 +
                         R"(","document_position":"first"}]})");
  CHECK(Str(bad.json["detail"][0]["type"]) == "int_type");
}

TEST_CASE("annotation configs: CRUD, user_feedback seeded, note reserved, project assignment") {
  Harness h;
  Reply list = h.Json(200, "GET", "/v1/annotation_configs");
  REQUIRE(list.json["data"].Size() == 1);
  const auto& seeded = list.json["data"][0];
  CHECK(Str(seeded["name"]) == "user_feedback");
  CHECK(Str(seeded["type"]) == "CATEGORICAL");
  CHECK(Str(seeded["optimization_direction"]) == "MAXIMIZE");
  CHECK(Str(seeded["values"][0]["label"]) == "positive");
  CHECK(seeded["values"][0]["score"].GetDouble() == 1.0);
  CHECK(query::DecodeGlobalId(Str(seeded["id"]))->type == "CategoricalAnnotationConfig");

  Reply created = h.Json(200, "POST", "/v1/annotation_configs", {},
                         R"({"type":"CONTINUOUS","name":"accuracy","optimization_direction":"MAXIMIZE",)"
                         R"("lower_bound":0,"upper_bound":1,"description":"how right"})");
  const auto& config = created.json["data"];
  CHECK(http::ToString(config) ==
        R"({"name":"accuracy","type":"CONTINUOUS","description":"how right","optimization_direction":"MAXIMIZE",)"
        R"("lower_bound":0.0,"upper_bound":1.0,"id":")" + query::EncodeGlobalId("ContinuousAnnotationConfig", 2) + "\"}");
  const std::string id = Str(config["id"]);

  Reply duplicate = h.Post("/v1/annotation_configs",
                           R"({"type":"FREEFORM","name":"accuracy"})");
  CHECK(duplicate.status == 409);
  Reply note = h.Post("/v1/annotation_configs", R"({"type":"FREEFORM","name":"note"})");
  CHECK(note.status == 400);
  CHECK(note.body == "The name 'note' is reserved for span notes");
  CHECK(Str(h.Json(422, "POST", "/v1/annotation_configs", {}, R"({"type":"BINARY","name":"x"})")
                .json["detail"][0]["type"]) == "union_tag_invalid");
  CHECK(Str(h.Json(422, "POST", "/v1/annotation_configs", {}, R"({"type":"CATEGORICAL","name":"x"})")
                .json["detail"][0]["type"]) == "missing");
  CHECK(h.Json(422, "POST", "/v1/annotation_configs", {},
               R"({"type":"CONTINUOUS","name":"x","optimization_direction":"NONE","lower_bound":2,"upper_bound":1})")
            .status == 422);

  CHECK(Str(h.Json(200, "GET", "/v1/annotation_configs/accuracy").json["data"]["id"]) == id);
  CHECK(Str(h.Json(200, "GET", "/v1/annotation_configs/" + id).json["data"]["name"]) == "accuracy");
  CHECK(h.Call("GET", "/v1/annotation_configs/ghost").status == 404);

  Reply updated = h.Json(200, "PUT", "/v1/annotation_configs/" + id, {},
                         R"({"type":"FREEFORM","name":"accuracy-2","threshold":0.5})");
  CHECK(Str(updated.json["data"]["type"]) == "FREEFORM");
  CHECK(updated.json["data"]["threshold"].GetDouble() == 0.5);
  const std::string freeform_id = Str(updated.json["data"]["id"]);
  CHECK(h.Call("PUT", "/v1/annotation_configs/not-an-id", {}, R"({"type":"FREEFORM","name":"x"})").status == 422);
  CHECK(h.Call("PUT", "/v1/annotation_configs/" + id, {}, R"({"type":"FREEFORM","name":"user_feedback"})").status ==
        409);

  // Project assignment.
  const std::string route = "/v1/projects/alpha/annotation_configs";
  CHECK(h.Json(200, "GET", route).json["data"].Size() == 0);
  CHECK(Str(h.Json(200, "PUT", route + "/user_feedback").json["data"]["name"]) == "user_feedback");
  CHECK(h.Json(200, "PUT", route + "/" + freeform_id).status == 200);
  CHECK(h.Json(200, "GET", route).json["data"].Size() == 2);
  CHECK(h.Call("DELETE", route + "/user_feedback").status == 204);
  CHECK(h.Call("DELETE", route + "/user_feedback").status == 404);
  Reply set = h.Json(200, "PUT", route, {}, R"({"annotation_config_ids":[")" + Str(seeded["id"]) + R"("]})");
  REQUIRE(set.json["data"].Size() == 1);
  CHECK(Str(set.json["data"][0]["name"]) == "user_feedback");
  CHECK(h.Call("PUT", route, {}, R"({"annotation_config_ids":["bogus"]})").status == 422);
  CHECK(h.Call("PUT", route, {}, R"({"annotation_config_ids":[")" +
                                     query::EncodeGlobalId("FreeformAnnotationConfig", 999) + R"("]})")
            .status == 404);
  CHECK(h.Call("PUT", "/v1/projects/nope/annotation_configs/user_feedback").status == 404);

  Reply deleted = h.Json(200, "DELETE", "/v1/annotation_configs/" + freeform_id);
  CHECK(Str(deleted.json["data"]["name"]) == "accuracy-2");
  CHECK(h.Call("DELETE", "/v1/annotation_configs/" + freeform_id).status == 404);
}
