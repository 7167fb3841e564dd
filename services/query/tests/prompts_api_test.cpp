// Phoenix's prompt routes end to end through the real prompt registry: a PromptRegistryModule over a
// SQLite store in a temporary directory, reached over loopback gRPC, with requests dispatched through
// the gateway's Router.
#include "osprey/query/prompts_api.hpp"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "osprey/prompt_registry/module.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace {

namespace v1 = osprey::prompts::v1;
using osprey::query::EncodeGlobalId;

class Gateway {
 public:
  Gateway() {
    char tmpl[] = "/tmp/osprey-prompts-api-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    osprey::store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = osprey::store::OpenSqliteStore(config);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    registry_ = std::make_unique<osprey::prompt_registry::PromptRegistryModule>("127.0.0.1:0", *store_, nullptr);
    REQUIRE(registry_->Start().ok());
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(registry_->port()), grpc::InsecureChannelCredentials());
    osprey::query::PromptsApi(std::shared_ptr<osprey::query::PromptsApi::Stub>(v1::PromptRegistry::NewStub(channel)),
                              nullptr)
        .Register(router_);
  }
  ~Gateway() {
    registry_->Stop();
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  osprey::http::Response Call(const std::string& method, const std::string& target, const std::string& body = "") {
    osprey::http::Request request;
    request.method = method;
    request.target = target;
    size_t q = target.find('?');
    request.path = *osprey::http::PercentDecode(target.substr(0, q), false);
    if (q != std::string::npos) request.query = *osprey::http::ParseQuery(target.substr(q + 1));
    request.body = body;
    return router_.Dispatch(request);
  }

  // The parsed JSON body of a call that must answer `status`.
  rapidjson::Document Json(const std::string& method, const std::string& target, const std::string& body = "",
                           int status = 200) {
    osprey::http::Response response = Call(method, target, body);
    INFO(method << " " << target << " -> " << response.status << " " << response.body);
    REQUIRE(response.status == status);
    rapidjson::Document doc;
    doc.Parse(response.body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
  }

 private:
  std::string dir_;
  std::unique_ptr<osprey::store::Store> store_;
  std::unique_ptr<osprey::prompt_registry::PromptRegistryModule> registry_;
  osprey::http::Router router_;
};

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

std::string CreateBody(const std::string& name, const std::string& content = "Hello {{name}}",
                       const std::string& extra_version_fields = "") {
  return R"({"prompt":{"name":")" + name + R"(","description":"greets","metadata":{"team":"a"}},)"
         R"("version":{"model_provider":"OPENAI","model_name":"gpt-4o-mini","template_type":"CHAT",)"
         R"("template_format":"MUSTACHE","template":{"type":"chat","messages":[{"role":"user","content":")" +
         content + R"("}]},"invocation_parameters":{"type":"openai","openai":{"temperature":0.5}})" +
         extra_version_fields + "}}";
}

}  // namespace

TEST_CASE("POST /v1/prompts creates a prompt and answers the version in Phoenix's shape", "[prompts_api]") {
  Gateway gateway;
  auto created = gateway.Json("POST", "/v1/prompts", CreateBody("greeter"));
  CHECK(ToJson(created) ==
        R"({"data":{"model_provider":"OPENAI","model_name":"gpt-4o-mini","template":{"type":"chat","messages":)"
        R"([{"role":"user","content":"Hello {{name}}"}]},"template_type":"CHAT","template_format":"MUSTACHE",)"
        R"("invocation_parameters":{"type":"openai","openai":{"temperature":0.5}},"id":")" +
            EncodeGlobalId("PromptVersion", 1) + R"("}})");

  // A second post with the same name adds a version (with tools, a response format and a description).
  auto second = gateway.Json(
      "POST", "/v1/prompts",
      CreateBody("greeter", "Bye {{name}}",
                 R"(,"description":"v2","tools":{"type":"tools","tools":[{"type":"function","function":{"name":"f"}}]},)"
                 R"("response_format":{"type":"json_schema","json_schema":{"name":"out"}})"));
  CHECK(std::string(second["data"]["description"].GetString()) == "v2");
  CHECK(ToJson(second["data"]["tools"]) == R"({"type":"tools","tools":[{"type":"function","function":{"name":"f"}}]})");
  CHECK(ToJson(second["data"]["response_format"]) == R"({"type":"json_schema","json_schema":{"name":"out"}})");
  const std::string v2 = second["data"]["id"].GetString();
  CHECK(v2 == EncodeGlobalId("PromptVersion", 2));

  auto latest = gateway.Json("GET", "/v1/prompts/greeter/latest");
  CHECK(std::string(latest["data"]["id"].GetString()) == v2);
  auto by_gid = gateway.Json("GET", "/v1/prompts/" + EncodeGlobalId("Prompt", 1) + "/latest");
  CHECK(std::string(by_gid["data"]["id"].GetString()) == v2);
  auto first = gateway.Json("GET", "/v1/prompt_versions/" + EncodeGlobalId("PromptVersion", 1));
  CHECK(std::string(first["data"]["template"]["messages"][0]["content"].GetString()) == "Hello {{name}}");
  CHECK_FALSE(first["data"].HasMember("tools"));
  CHECK_FALSE(first["data"].HasMember("description"));

  // The prompt keeps the description and metadata of its first post.
  auto prompts = gateway.Json("GET", "/v1/prompts");
  CHECK(ToJson(prompts) == R"({"data":[{"name":"greeter","description":"greets","metadata":{"team":"a"},"id":")" +
                               EncodeGlobalId("Prompt", 1) + R"("}],"next_cursor":null})");
}

TEST_CASE("lists page with Phoenix cursors", "[prompts_api]") {
  Gateway gateway;
  for (const char* content : {"one", "two", "three"}) gateway.Json("POST", "/v1/prompts", CreateBody("paged", content));
  gateway.Json("POST", "/v1/prompts", CreateBody("other"));

  auto page = gateway.Json("GET", "/v1/prompts/paged/versions?limit=2");
  REQUIRE(page["data"].Size() == 2);
  CHECK(std::string(page["data"][0]["template"]["messages"][0]["content"].GetString()) == "three");
  CHECK(std::string(page["data"][1]["template"]["messages"][0]["content"].GetString()) == "two");
  REQUIRE(page["next_cursor"].IsString());
  CHECK(std::string(page["next_cursor"].GetString()) == EncodeGlobalId("PromptVersion", 1));
  auto rest = gateway.Json("GET", "/v1/prompts/paged/versions?limit=2&cursor=" +
                                      std::string(page["next_cursor"].GetString()));
  REQUIRE(rest["data"].Size() == 1);
  CHECK(std::string(rest["data"][0]["template"]["messages"][0]["content"].GetString()) == "one");
  CHECK(rest["next_cursor"].IsNull());

  auto prompts = gateway.Json("GET", "/v1/prompts?limit=1");
  REQUIRE(prompts["data"].Size() == 1);
  CHECK(std::string(prompts["data"][0]["name"].GetString()) == "other");
  CHECK(std::string(prompts["next_cursor"].GetString()) == EncodeGlobalId("Prompt", 1));

  CHECK(gateway.Call("GET", "/v1/prompts?cursor=bogus").status == 422);
  CHECK(gateway.Call("GET", "/v1/prompts/paged/versions?limit=0").status == 422);
  CHECK(gateway.Call("GET", "/v1/prompts/missing/versions").status == 404);
}

TEST_CASE("tags are created, moved, listed, resolved and deleted", "[prompts_api]") {
  Gateway gateway;
  gateway.Json("POST", "/v1/prompts", CreateBody("tagged", "v1"));
  gateway.Json("POST", "/v1/prompts", CreateBody("tagged", "v2"));
  const std::string v1_id = EncodeGlobalId("PromptVersion", 1);
  const std::string v2_id = EncodeGlobalId("PromptVersion", 2);

  auto created = gateway.Call("POST", "/v1/prompt_versions/" + v1_id + "/tags", R"({"name":"production"})");
  CHECK(created.status == 204);
  CHECK(created.body.empty());
  auto by_tag = gateway.Json("GET", "/v1/prompts/tagged/tags/production");
  CHECK(std::string(by_tag["data"]["id"].GetString()) == v1_id);

  auto tags = gateway.Json("GET", "/v1/prompt_versions/" + v1_id + "/tags");
  REQUIRE(tags["data"].Size() == 1);
  CHECK(std::string(tags["data"][0]["name"].GetString()) == "production");
  CHECK_FALSE(tags["data"][0].HasMember("description"));
  CHECK(std::string(tags["data"][0]["id"].GetString()).rfind("UHJvbXB0VmVyc2lvblRhZz", 0) == 0);  // PromptVersionTag:

  // Re-tagging another version of the prompt moves the tag.
  CHECK(gateway.Call("POST", "/v1/prompt_versions/" + v2_id + "/tags", R"({"name":"production","description":"live"})")
            .status == 204);
  CHECK(std::string(gateway.Json("GET", "/v1/prompts/tagged/tags/production")["data"]["id"].GetString()) == v2_id);
  CHECK(gateway.Json("GET", "/v1/prompt_versions/" + v1_id + "/tags")["data"].Size() == 0);
  auto moved = gateway.Json("GET", "/v1/prompt_versions/" + v2_id + "/tags");
  CHECK(std::string(moved["data"][0]["description"].GetString()) == "live");

  CHECK(gateway.Call("DELETE", "/v1/prompt_versions/" + v1_id + "/tags/production").status == 404);
  CHECK(gateway.Call("DELETE", "/v1/prompt_versions/" + v2_id + "/tags/production").status == 204);
  CHECK(gateway.Call("GET", "/v1/prompts/tagged/tags/production").status == 404);

  auto bad_name = gateway.Json("POST", "/v1/prompt_versions/" + v1_id + "/tags", R"({"name":"Prod!"})", 422);
  CHECK(ToJson(bad_name["detail"][0]["loc"]) == R"(["body","name"])");
  CHECK(std::string(bad_name["detail"][0]["type"].GetString()) == "string_pattern_mismatch");
  CHECK(gateway.Call("POST", "/v1/prompt_versions/" + EncodeGlobalId("PromptVersion", 99) + "/tags",
                     R"({"name":"x"})")
            .status == 404);
  CHECK(gateway.Call("GET", "/v1/prompt_versions/not-an-id/tags").status == 422);
}

TEST_CASE("PATCH and DELETE a prompt", "[prompts_api]") {
  Gateway gateway;
  gateway.Json("POST", "/v1/prompts", CreateBody("patched"));
  auto patched = gateway.Json("PATCH", "/v1/prompts/patched", R"({"description":"new","metadata":{"b":[1]}})");
  CHECK(ToJson(patched) == R"({"data":{"name":"patched","description":"new","metadata":{"b":[1]},"id":")" +
                               EncodeGlobalId("Prompt", 1) + R"("}})");
  auto cleared = gateway.Json("PATCH", "/v1/prompts/" + EncodeGlobalId("Prompt", 1), R"({"description":null})");
  CHECK_FALSE(cleared["data"].HasMember("description"));
  CHECK(ToJson(cleared["data"]["metadata"]) == R"({"b":[1]})");
  auto bad = gateway.Json("PATCH", "/v1/prompts/patched", R"({"metadata":[1]})", 422);
  CHECK(ToJson(bad["detail"][0]["loc"]) == R"(["body","metadata"])");
  CHECK(gateway.Call("PATCH", "/v1/prompts/nope", R"({"description":"x"})").status == 404);

  CHECK(gateway.Call("DELETE", "/v1/prompts/patched").status == 204);
  CHECK(gateway.Call("GET", "/v1/prompts/patched/latest").status == 404);
  CHECK(gateway.Call("GET", "/v1/prompt_versions/" + EncodeGlobalId("PromptVersion", 1)).status == 404);
  CHECK(gateway.Call("DELETE", "/v1/prompts/patched").status == 404);
}

TEST_CASE("invalid prompts get precise 422s", "[prompts_api]") {
  Gateway gateway;
  auto detail = [&](const std::string& body) {
    auto doc = gateway.Json("POST", "/v1/prompts", body, 422);
    REQUIRE(doc["detail"].IsArray());
    REQUIRE(doc["detail"].Size() >= 1);
    return ToJson(doc["detail"][0]);
  };
  CHECK(detail(CreateBody("Bad Name")) ==
        R"({"type":"string_pattern_mismatch","loc":["body","prompt","name"],"msg":"String should match pattern )"
        R"('^[a-z0-9]([_a-z0-9-]*[a-z0-9])?$'","input":"Bad Name","ctx":{"pattern":"^[a-z0-9]([_a-z0-9-]*[a-z0-9])?$"}})");

  std::string unknown_key = CreateBody("p");
  unknown_key.replace(unknown_key.find(R"("temperature":0.5)"), 17, R"("temperature":0.5,"foo":7)");
  CHECK(detail(unknown_key) ==
        R"({"type":"extra_forbidden","loc":["body","version","invocation_parameters","openai","foo"],)"
        R"("msg":"Extra inputs are not permitted","input":7})");

  std::string mismatch = CreateBody("p");
  mismatch.replace(mismatch.find(R"("model_provider":"OPENAI")"), 25, R"("model_provider":"GOOGLE")");
  CHECK(detail(mismatch) ==
        R"x({"type":"value_error","loc":["body","version","invocation_parameters","type"],"msg":"\"openai\" does not )x"
        R"x(match model_provider GOOGLE (expected \"google\")","input":"openai"})x");

  std::string role = CreateBody("p");
  role.replace(role.find(R"("role":"user")"), 13, R"("role":"human")");
  CHECK(detail(role) ==
        R"({"type":"value_error","loc":["body","version","template","messages",0,"role"],"msg":"\"human\" is not )"
        R"(one of user, assistant, model, ai, tool, system, developer","input":"human"})");

  std::string provider = CreateBody("p");
  provider.replace(provider.find(R"("model_provider":"OPENAI")"), 25, R"("model_provider":"MISTRAL")");
  CHECK_THAT(detail(provider), Catch::StartsWith(R"({"type":"enum","loc":["body","version","model_provider"],)"
                                                 R"("msg":"Input should be 'OPENAI', 'AZURE_OPENAI',)"));

  CHECK(detail(R"({"prompt":{"name":"p"}})") ==
        R"({"type":"missing","loc":["body","version"],"msg":"Field required","input":null})");
  CHECK_THAT(detail(R"({"prompt":)"), Catch::StartsWith(R"({"type":"json_invalid","loc":["body",10])"));

  std::string str = CreateBody("p");
  str.replace(str.find(R"("template_type":"CHAT")"), 22, R"("template_type":"STR")");
  auto response = gateway.Call("POST", "/v1/prompts", str);
  CHECK(response.status == 422);
  CHECK(response.body == "Only CHAT template type is supported for prompts");

  // A body nested a million levels deep is refused before it is parsed (the parser would recurse).
  std::string deep = CreateBody("p");
  deep.replace(deep.find(R"("temperature":0.5)"), 17,
               R"("extra_body":)" + std::string(1'000'000, '[') + std::string(1'000'000, ']'));
  CHECK(detail(deep) == R"({"type":"json_invalid","loc":["body"],"msg":"JSON decode error","input":{},)"
                        R"("ctx":{"error":"nesting deeper than 256 levels"}})");

  // Nothing was stored by any of the refused posts.
  CHECK(ToJson(gateway.Json("GET", "/v1/prompts")) == R"({"data":[],"next_cursor":null})");
}

TEST_CASE("unknown ids are 404, malformed ids 422", "[prompts_api]") {
  Gateway gateway;
  CHECK(gateway.Call("GET", "/v1/prompts/nothing/latest").status == 404);
  CHECK(gateway.Call("GET", "/v1/prompts/nothing/tags/production").status == 404);
  CHECK(gateway.Call("GET", "/v1/prompt_versions/" + EncodeGlobalId("PromptVersion", 7)).status == 404);
  auto malformed = gateway.Call("GET", "/v1/prompt_versions/7");
  CHECK(malformed.status == 422);
  CHECK(malformed.body == "Invalid prompt version ID: 7");
  CHECK(gateway.Call("GET", "/v1/prompt_versions/" + EncodeGlobalId("Prompt", 1)).status == 422);
}

TEST_CASE("a registry that cannot be reached is a 503 with Retry-After", "[prompts_api]") {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  osprey::http::Router router;
  osprey::query::PromptsApi(std::shared_ptr<osprey::query::PromptsApi::Stub>(v1::PromptRegistry::NewStub(channel)),
                            nullptr, std::chrono::seconds(5))
      .Register(router);
  osprey::http::Request request;
  request.method = "GET";
  request.target = request.path = "/v1/prompts";
  osprey::http::Response response = router.Dispatch(request);
  CHECK(response.status == 503);
  bool retry_after = false;
  for (const auto& [name, value] : response.headers) retry_after = retry_after || name == "Retry-After";
  CHECK(retry_after);
}
