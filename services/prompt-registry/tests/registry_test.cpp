// Every PromptRegistry RPC through a real gRPC client and server (loopback TCP, port chosen by the
// server), including its errors, over a real store: SQLite in prompt_registry_test, a private Postgres
// cluster in prompt_registry_postgres_test (OSPREY_REGISTRY_TEST_POSTGRES). Also the module's health and
// reflection services, its metrics, and the in-process channel of the embedded mode.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include "osprey/metrics/metrics.hpp"
#include "osprey/prompt_registry/channel.hpp"
#include "osprey/prompt_registry/module.hpp"
#include "osprey/prompts/v1/prompts.grpc.pb.h"
#include "osprey/store/sqlite_store.hpp"
#ifdef OSPREY_REGISTRY_TEST_POSTGRES
#include "osprey/store/postgres_store.hpp"
#include "osprey/storetest/postgres_cluster.hpp"
#endif

namespace {

namespace pb = osprey::prompts::v1;
using grpc::StatusCode;

class Fixture {
 public:
  Fixture() {
    char tmpl[] = "/tmp/osprey-registry-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
#ifdef OSPREY_REGISTRY_TEST_POSTGRES
    osprey::store::PostgresConfig config;
    config.dsn = osprey::storetest::PostgresTestCluster::Get(OSPREY_PG_DEPLOY_DIR).NewDatabaseDsn();
    config.pool_size = 3;
    auto opened = osprey::store::OpenPostgresStore(config);
#else
    osprey::store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = osprey::store::OpenSqliteStore(config);
#endif
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    module_ = std::make_unique<osprey::prompt_registry::PromptRegistryModule>("127.0.0.1:0", *store_, &metrics_);
    REQUIRE(module_->Start().ok());
    REQUIRE(module_->port() > 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(module_->port()), grpc::InsecureChannelCredentials());
    stub_ = pb::PromptRegistry::NewStub(channel_);
  }
  ~Fixture() {
    module_->Stop();
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  pb::PromptRegistry::Stub& stub() { return *stub_; }
  osprey::store::Store& store() { return *store_; }
  osprey::metrics::Registry& metrics() { return metrics_; }
  osprey::prompt_registry::PromptRegistryModule& module() { return *module_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::string dir_;
  osprey::metrics::Registry metrics_;
  std::unique_ptr<osprey::store::Store> store_;
  std::unique_ptr<osprey::prompt_registry::PromptRegistryModule> module_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::PromptRegistry::Stub> stub_;
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

// Calls `method` of the stub and returns its status; the response lands in `response`.
template <typename Request, typename Response>
grpc::Status Call(pb::PromptRegistry::Stub& stub,
                  grpc::Status (pb::PromptRegistry::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* response) {
  auto context = Context();
  return (stub.*method)(context.get(), request, response);
}

pb::PromptVersion ChatVersion(const std::string& greeting = "Hi") {
  pb::PromptVersion v;
  v.set_description("a chat version");
  v.set_model_provider("OPENAI");
  v.set_model_name("gpt-4o-mini");
  v.set_template_type(pb::TEMPLATE_TYPE_CHAT);
  v.set_template_format(pb::TEMPLATE_FORMAT_MUSTACHE);
  v.set_template_json(R"({"type":"chat","messages":[{"role":"system","content":"You are {{persona}}."},)"
                      R"({"role":"user","content":")" + greeting + R"( {{name}}"}]})");
  v.set_invocation_parameters_json(R"({"type":"openai","openai":{"temperature":0.2}})");
  v.set_tools_json(R"({"type":"tools","tools":[{"type":"function","function":{"name":"lookup"}}]})");
  return v;
}

pb::PromptVersion FStringVersion() {
  pb::PromptVersion v;
  v.set_model_provider("ANTHROPIC");
  v.set_model_name("claude-3-5-haiku");
  v.set_template_type(pb::TEMPLATE_TYPE_STR);
  v.set_template_format(pb::TEMPLATE_FORMAT_F_STRING);
  v.set_template_json(R"({"type":"string","template":"Summarize {text} in {n} words"})");
  v.set_invocation_parameters_json(R"({"type":"anthropic","anthropic":{"max_tokens":256}})");
  v.set_response_format_json(R"({"type":"json_schema","json_schema":{"name":"summary"}})");
  return v;
}

pb::CreatePromptVersionRequest CreateRequest(const std::string& name, const pb::PromptVersion& version) {
  pb::CreatePromptVersionRequest request;
  request.set_name(name);
  *request.mutable_version() = version;
  return request;
}

pb::CreatePromptVersionResponse Create(Fixture& f, const std::string& name,
                                       const pb::PromptVersion& version = ChatVersion()) {
  pb::CreatePromptVersionResponse response;
  grpc::Status status = Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, CreateRequest(name, version),
                             &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response;
}

pb::PromptRef ById(int64_t id) {
  pb::PromptRef ref;
  ref.set_id(id);
  return ref;
}

pb::PromptRef ByName(const std::string& name) {
  pb::PromptRef ref;
  ref.set_name(name);
  return ref;
}

pb::GetPromptVersionRequest VersionById(int64_t id) {
  pb::GetPromptVersionRequest request;
  request.set_version_id(id);
  return request;
}

pb::GetPromptVersionRequest VersionByTag(const pb::PromptRef& prompt, const std::string& tag) {
  pb::GetPromptVersionRequest request;
  *request.mutable_tag()->mutable_prompt() = prompt;
  request.mutable_tag()->set_tag_name(tag);
  return request;
}

pb::GetPromptVersionRequest LatestOf(const pb::PromptRef& prompt) {
  pb::GetPromptVersionRequest request;
  *request.mutable_latest_of() = prompt;
  return request;
}

grpc::Status GetVersion(Fixture& f, const pb::GetPromptVersionRequest& request, pb::PromptVersion* out) {
  return Call(f.stub(), &pb::PromptRegistry::Stub::GetPromptVersion, request, out);
}

grpc::Status SetTag(Fixture& f, int64_t version_id, const std::string& name, pb::Tag* out) {
  pb::SetTagRequest request;
  request.set_version_id(version_id);
  request.set_name(name);
  return Call(f.stub(), &pb::PromptRegistry::Stub::SetTag, request, out);
}

std::vector<std::string> TagNames(Fixture& f, const pb::ListTagsRequest& request) {
  pb::ListTagsResponse response;
  grpc::Status status = Call(f.stub(), &pb::PromptRegistry::Stub::ListTags, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  std::vector<std::string> names;
  for (const auto& tag : response.tags()) names.push_back(tag.name());
  return names;
}

#define CHECK_CODE(status_expr, code, needle)                           \
  do {                                                                  \
    grpc::Status _status = (status_expr);                               \
    INFO(_status.error_message());                                      \
    CHECK(_status.error_code() == (code));                              \
    CHECK_THAT(_status.error_message(), Catch::Contains(needle));       \
  } while (0)

// A unary call with raw protobuf bytes (for services whose stubs this build does not generate).
grpc::Status RawUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& request_bytes, std::string& response_bytes) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto context = Context();
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  auto call = stub.PrepareUnaryCall(context.get(), method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  REQUIRE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  std::vector<grpc::Slice> slices;
  response_bytes.clear();
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const auto& s : slices) response_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return status;
}

double MetricValue(osprey::metrics::Registry& metrics, const std::string& sample) {
  const std::string text = metrics.Render();
  auto at = text.find(sample + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + sample.size() + 1));
}

}  // namespace

TEST_CASE("CreatePromptVersion creates a prompt, re-posting adds a version, fail_if_exists refuses", "[registry]") {
  Fixture f;
  auto request = CreateRequest("greeting", ChatVersion());
  request.set_description("says hello");
  request.set_metadata_json(R"({"team":"support"})");
  pb::CreatePromptVersionResponse first;
  grpc::Status status = Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, request, &first);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(first.prompt().name() == "greeting");
  CHECK(first.prompt().description() == "says hello");
  CHECK(first.prompt().metadata_json() == R"({"team":"support"})");
  CHECK(first.prompt().version_count() == 1);
  CHECK(first.prompt().latest_version_id() == first.version().id());
  CHECK(first.version().prompt_id() == first.prompt().id());
  CHECK(first.version().template_json() == ChatVersion().template_json());
  CHECK(first.version().invocation_parameters_json() == ChatVersion().invocation_parameters_json());
  CHECK(first.version().tools_json() == ChatVersion().tools_json());
  CHECK(!first.version().has_response_format_json());
  CHECK(first.version().template_type() == pb::TEMPLATE_TYPE_CHAT);
  CHECK(first.version().template_format() == pb::TEMPLATE_FORMAT_MUSTACHE);
  // Micros since the epoch: after 2020 and not in nanoseconds.
  const int64_t now_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(first.version().created_at_unix_micros() > 1'577'836'800'000'000);
  CHECK(first.version().created_at_unix_micros() <= now_micros);

  // The same name again: a new version of the same prompt; the prompt's description is kept (Phoenix).
  auto again = CreateRequest("greeting", FStringVersion());
  again.set_description("ignored");
  pb::CreatePromptVersionResponse second;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, again, &second).ok());
  CHECK(second.prompt().id() == first.prompt().id());
  CHECK(second.prompt().description() == "says hello");
  CHECK(second.prompt().version_count() == 2);
  CHECK(second.version().id() > first.version().id());
  CHECK(second.version().template_type() == pb::TEMPLATE_TYPE_STR);
  CHECK(second.version().template_format() == pb::TEMPLATE_FORMAT_F_STRING);
  CHECK(second.version().response_format_json() == FStringVersion().response_format_json());
  CHECK(!second.version().has_description());

  auto taken = CreateRequest("greeting", ChatVersion());
  taken.set_fail_if_exists(true);
  pb::CreatePromptVersionResponse refused;
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, taken, &refused),
             StatusCode::ALREADY_EXISTS, "greeting");
  pb::GetPromptRequest get;
  *get.mutable_prompt() = ByName("greeting");
  pb::Prompt prompt;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::GetPrompt, get, &prompt).ok());
  CHECK(prompt.version_count() == 2);
}

TEST_CASE("CreatePromptVersion refuses invalid input, naming the field, and writes nothing", "[registry]") {
  Fixture f;
  auto call = [&](const pb::CreatePromptVersionRequest& request) {
    pb::CreatePromptVersionResponse response;
    return Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, request, &response);
  };
  CHECK_CODE(call(CreateRequest("Not An Identifier", ChatVersion())), StatusCode::INVALID_ARGUMENT, "name:");
  CHECK_CODE(call(CreateRequest("", ChatVersion())), StatusCode::INVALID_ARGUMENT, "name:");
  auto params = ChatVersion();
  params.set_invocation_parameters_json(R"({"type":"openai","openai":{"temperature":0.2,"bogus":1}})");
  CHECK_CODE(call(CreateRequest("ok-name", params)), StatusCode::INVALID_ARGUMENT, "version.invocation_parameters");
  auto mismatch = ChatVersion();
  mismatch.set_invocation_parameters_json(R"({"type":"anthropic","anthropic":{"max_tokens":10}})");
  CHECK_CODE(call(CreateRequest("ok-name", mismatch)), StatusCode::INVALID_ARGUMENT, "version.invocation_parameters");
  auto bad_template = ChatVersion();
  bad_template.set_template_json(R"({"type":"chat","messages":[{"role":"narrator","content":"x"}]})");
  CHECK_CODE(call(CreateRequest("ok-name", bad_template)), StatusCode::INVALID_ARGUMENT, "version.template");
  auto no_format = ChatVersion();
  no_format.set_template_format(pb::TEMPLATE_FORMAT_UNSPECIFIED);
  CHECK_CODE(call(CreateRequest("ok-name", no_format)), StatusCode::INVALID_ARGUMENT, "template_format");
  auto metadata = CreateRequest("ok-name", ChatVersion());
  metadata.set_metadata_json("[1,2]");
  CHECK_CODE(call(metadata), StatusCode::INVALID_ARGUMENT, "metadata_json");
  pb::CreatePromptVersionRequest no_version;
  no_version.set_name("ok-name");
  CHECK_CODE(call(no_version), StatusCode::INVALID_ARGUMENT, "version");

  pb::ListPromptsResponse list;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPrompts, pb::ListPromptsRequest(), &list).ok());
  CHECK(list.prompts().empty());
}

TEST_CASE("GetPrompt by id and by name; NOT_FOUND and INVALID_ARGUMENT", "[registry]") {
  Fixture f;
  const auto created = Create(f, "lookup");
  pb::GetPromptRequest request;
  pb::Prompt by_id;
  *request.mutable_prompt() = ById(created.prompt().id());
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::GetPrompt, request, &by_id).ok());
  CHECK(by_id.name() == "lookup");
  pb::Prompt by_name;
  *request.mutable_prompt() = ByName("lookup");
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::GetPrompt, request, &by_name).ok());
  CHECK(by_name.id() == created.prompt().id());
  CHECK(by_name.metadata_json() == "{}");
  CHECK(by_name.created_at_unix_micros() == created.prompt().created_at_unix_micros());

  pb::Prompt none;
  *request.mutable_prompt() = ByName("missing");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::GetPrompt, request, &none), StatusCode::NOT_FOUND, "missing");
  *request.mutable_prompt() = ById(987654);
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::GetPrompt, request, &none), StatusCode::NOT_FOUND, "987654");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::GetPrompt, pb::GetPromptRequest(), &none),
             StatusCode::INVALID_ARGUMENT, "prompt");
}

TEST_CASE("GetPromptVersion by id, by tag and latest; errors", "[registry]") {
  Fixture f;
  const auto v1 = Create(f, "versions", ChatVersion("One"));
  const auto v2 = Create(f, "versions", ChatVersion("Two"));
  const auto v3 = Create(f, "versions", FStringVersion());
  pb::Tag tag;
  REQUIRE(SetTag(f, v2.version().id(), "production", &tag).ok());

  pb::PromptVersion version;
  REQUIRE(GetVersion(f, VersionById(v1.version().id()), &version).ok());
  CHECK(version.template_json() == ChatVersion("One").template_json());
  CHECK(version.description() == "a chat version");
  REQUIRE(GetVersion(f, VersionByTag(ByName("versions"), "production"), &version).ok());
  CHECK(version.id() == v2.version().id());
  REQUIRE(GetVersion(f, VersionByTag(ById(v1.prompt().id()), "production"), &version).ok());
  CHECK(version.id() == v2.version().id());
  REQUIRE(GetVersion(f, LatestOf(ByName("versions")), &version).ok());
  CHECK(version.id() == v3.version().id());
  CHECK(version.model_provider() == "ANTHROPIC");

  CHECK_CODE(GetVersion(f, VersionById(987654), &version), StatusCode::NOT_FOUND, "987654");
  CHECK_CODE(GetVersion(f, VersionByTag(ByName("versions"), "staging"), &version), StatusCode::NOT_FOUND, "staging");
  CHECK_CODE(GetVersion(f, VersionByTag(ByName("nope"), "production"), &version), StatusCode::NOT_FOUND, "nope");
  CHECK_CODE(GetVersion(f, VersionByTag(ByName("versions"), ""), &version), StatusCode::INVALID_ARGUMENT, "tag_name");
  CHECK_CODE(GetVersion(f, LatestOf(ById(987654)), &version), StatusCode::NOT_FOUND, "987654");
  CHECK_CODE(GetVersion(f, LatestOf(pb::PromptRef()), &version), StatusCode::INVALID_ARGUMENT, "latest_of");
  CHECK_CODE(GetVersion(f, pb::GetPromptVersionRequest(), &version), StatusCode::INVALID_ARGUMENT, "selector");
}

TEST_CASE("ListPrompts and ListPromptVersions page with tokens, newest first", "[registry]") {
  Fixture f;
  std::vector<int64_t> prompt_ids;
  for (const char* name : {"a", "b", "c", "d", "e"}) prompt_ids.push_back(Create(f, name).prompt().id());

  std::vector<int64_t> listed;
  pb::ListPromptsRequest request;
  request.set_page_size(2);
  int pages = 0;
  while (true) {
    pb::ListPromptsResponse response;
    REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPrompts, request, &response).ok());
    CHECK(response.prompts_size() <= 2);
    for (const auto& p : response.prompts()) listed.push_back(p.id());
    ++pages;
    if (response.next_page_token().empty() || pages > 5) break;
    request.set_page_token(response.next_page_token());
  }
  CHECK(pages == 3);
  CHECK(listed == std::vector<int64_t>(prompt_ids.rbegin(), prompt_ids.rend()));

  std::vector<int64_t> versions = {Create(f, "c").version().id(), Create(f, "c").version().id()};
  pb::ListPromptVersionsRequest by_prompt;
  *by_prompt.mutable_prompt() = ByName("c");
  pb::ListPromptVersionsResponse all;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPromptVersions, by_prompt, &all).ok());
  REQUIRE(all.versions_size() == 3);
  CHECK(all.versions(0).id() == versions[1]);
  CHECK(all.versions(1).id() == versions[0]);
  CHECK(all.next_page_token().empty());
  by_prompt.set_page_size(1);
  pb::ListPromptVersionsResponse page;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPromptVersions, by_prompt, &page).ok());
  REQUIRE(page.versions_size() == 1);
  CHECK(page.next_page_token() == std::to_string(versions[0]));
  by_prompt.set_page_token(page.next_page_token());
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPromptVersions, by_prompt, &page).ok());
  CHECK(page.versions(0).id() == versions[0]);

  pb::ListPromptsResponse ignored;
  pb::ListPromptsRequest bad;
  bad.set_page_size(1001);
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPrompts, bad, &ignored), StatusCode::INVALID_ARGUMENT,
             "page_size");
  bad.set_page_size(-1);
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPrompts, bad, &ignored), StatusCode::INVALID_ARGUMENT,
             "page_size");
  bad.set_page_size(0);
  bad.set_page_token("UHJvbXB0OjE=");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPrompts, bad, &ignored), StatusCode::INVALID_ARGUMENT,
             "page_token");
  pb::ListPromptVersionsRequest missing;
  *missing.mutable_prompt() = ByName("zzz");
  pb::ListPromptVersionsResponse none;
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::ListPromptVersions, missing, &none), StatusCode::NOT_FOUND,
             "zzz");
}

TEST_CASE("SetTag creates and moves tags, ListTags, DeleteTag; errors", "[registry]") {
  Fixture f;
  const auto v1 = Create(f, "tagged");
  const auto v2 = Create(f, "tagged");
  pb::SetTagRequest set;
  set.set_version_id(v1.version().id());
  set.set_name("production");
  set.set_description("live");
  pb::Tag tag;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::SetTag, set, &tag).ok());
  CHECK(tag.name() == "production");
  CHECK(tag.description() == "live");
  CHECK(tag.prompt_id() == v1.prompt().id());
  CHECK(tag.prompt_version_id() == v1.version().id());

  pb::Tag moved;
  REQUIRE(SetTag(f, v2.version().id(), "production", &moved).ok());
  CHECK(moved.id() == tag.id());
  CHECK(moved.prompt_version_id() == v2.version().id());
  CHECK(!moved.has_description());
  pb::Tag staging;
  REQUIRE(SetTag(f, v1.version().id(), "staging", &staging).ok());

  pb::ListTagsRequest of_v1;
  of_v1.set_version_id(v1.version().id());
  CHECK(TagNames(f, of_v1) == std::vector<std::string>{"staging"});
  pb::ListTagsRequest of_prompt;
  *of_prompt.mutable_prompt() = ByName("tagged");
  CHECK(TagNames(f, of_prompt) == std::vector<std::string>{"staging", "production"});
  of_prompt.set_page_size(1);
  pb::ListTagsResponse first_page;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::ListTags, of_prompt, &first_page).ok());
  CHECK(first_page.tags_size() == 1);
  CHECK(first_page.next_page_token() == std::to_string(tag.id()));

  pb::DeleteTagRequest remove;
  pb::DeleteTagResponse removed;
  remove.set_version_id(v1.version().id());
  remove.set_name("production");  // points at v2 now
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::DeleteTag, remove, &removed), StatusCode::NOT_FOUND,
             "production");
  remove.set_version_id(v2.version().id());
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::DeleteTag, remove, &removed).ok());
  pb::PromptVersion version;
  CHECK_CODE(GetVersion(f, VersionByTag(ByName("tagged"), "production"), &version), StatusCode::NOT_FOUND,
             "production");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::DeleteTag, remove, &removed), StatusCode::NOT_FOUND,
             "production");
  remove.set_version_id(987654);
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::DeleteTag, remove, &removed), StatusCode::NOT_FOUND, "987654");

  CHECK_CODE(SetTag(f, v1.version().id(), "Bad Tag", &tag), StatusCode::INVALID_ARGUMENT, "name:");
  CHECK_CODE(SetTag(f, 987654, "production", &tag), StatusCode::NOT_FOUND, "987654");
  pb::ListTagsRequest unknown;
  unknown.set_version_id(987654);
  pb::ListTagsResponse tags;
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::ListTags, unknown, &tags), StatusCode::NOT_FOUND, "987654");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::ListTags, pb::ListTagsRequest(), &tags),
             StatusCode::INVALID_ARGUMENT, "selector");
}

TEST_CASE("PatchPrompt replaces present fields and can clear the description", "[registry]") {
  Fixture f;
  auto request = CreateRequest("patched", ChatVersion());
  request.set_description("before");
  request.set_metadata_json(R"({"a":1})");
  pb::CreatePromptVersionResponse created;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, request, &created).ok());

  pb::PatchPromptRequest patch;
  *patch.mutable_prompt() = ByName("patched");
  patch.set_description("after");
  pb::Prompt prompt;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::PatchPrompt, patch, &prompt).ok());
  CHECK(prompt.description() == "after");
  CHECK(prompt.metadata_json() == R"({"a":1})");
  CHECK(prompt.updated_at_unix_micros() >= created.prompt().updated_at_unix_micros());

  pb::PatchPromptRequest metadata;
  *metadata.mutable_prompt() = ById(created.prompt().id());
  metadata.set_metadata_json(R"({"b":{"c":[1,2]}})");
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::PatchPrompt, metadata, &prompt).ok());
  CHECK(prompt.description() == "after");
  CHECK(prompt.metadata_json() == R"({"b":{"c":[1,2]}})");

  pb::PatchPromptRequest clear;
  *clear.mutable_prompt() = ByName("patched");
  clear.set_clear_description(true);
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::PatchPrompt, clear, &prompt).ok());
  CHECK(!prompt.has_description());
  CHECK(prompt.metadata_json() == R"({"b":{"c":[1,2]}})");

  pb::PatchPromptRequest bad = metadata;
  bad.set_metadata_json("\"a string\"");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::PatchPrompt, bad, &prompt), StatusCode::INVALID_ARGUMENT,
             "metadata_json");
  pb::PatchPromptRequest both = clear;
  both.set_description("x");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::PatchPrompt, both, &prompt), StatusCode::INVALID_ARGUMENT,
             "description");
  pb::PatchPromptRequest missing = patch;
  *missing.mutable_prompt() = ByName("nobody");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::PatchPrompt, missing, &prompt), StatusCode::NOT_FOUND,
             "nobody");
}

TEST_CASE("DeletePrompt removes the prompt with its versions and tags", "[registry]") {
  Fixture f;
  const auto kept = Create(f, "kept");
  const auto v1 = Create(f, "doomed");
  pb::Tag tag;
  REQUIRE(SetTag(f, v1.version().id(), "production", &tag).ok());
  pb::DeletePromptRequest remove;
  *remove.mutable_prompt() = ByName("doomed");
  pb::DeletePromptResponse removed;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::DeletePrompt, remove, &removed).ok());

  pb::PromptVersion version;
  CHECK_CODE(GetVersion(f, VersionById(v1.version().id()), &version), StatusCode::NOT_FOUND,
             std::to_string(v1.version().id()));
  CHECK_CODE(GetVersion(f, VersionByTag(ById(v1.prompt().id()), "production"), &version), StatusCode::NOT_FOUND,
             "");
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::DeletePrompt, remove, &removed), StatusCode::NOT_FOUND,
             "doomed");
  REQUIRE(GetVersion(f, LatestOf(ByName("kept")), &version).ok());
  CHECK(version.id() == kept.version().id());
  // The name is free again: a new prompt, with new ids.
  const auto reborn = Create(f, "doomed");
  CHECK(reborn.prompt().id() > v1.prompt().id());
  CHECK(reborn.prompt().version_count() == 1);
}

TEST_CASE("RenderPromptVersion substitutes variables in the version's format", "[registry]") {
  Fixture f;
  const auto chat = Create(f, "rendered", ChatVersion("Hello"));
  pb::RenderPromptVersionRequest request;
  request.set_version_id(chat.version().id());
  (*request.mutable_variables())["name"] = "Ann";
  pb::RenderPromptVersionResponse response;
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::RenderPromptVersion, request, &response).ok());
  CHECK(response.template_json() ==
        R"({"type":"chat","messages":[{"role":"system","content":"You are ."},)"
        R"({"role":"user","content":"Hello Ann"}]})");
  REQUIRE(response.missing_variables_size() == 1);
  CHECK(response.missing_variables(0) == "persona");

  const auto fstring = Create(f, "rendered", FStringVersion());
  pb::RenderPromptVersionRequest summary;
  summary.set_version_id(fstring.version().id());
  (*summary.mutable_variables())["text"] = "{{not mustache}}";
  (*summary.mutable_variables())["n"] = "5";
  REQUIRE(Call(f.stub(), &pb::PromptRegistry::Stub::RenderPromptVersion, summary, &response).ok());
  CHECK(response.template_json() == R"({"type":"string","template":"Summarize {{not mustache}} in 5 words"})");
  CHECK(response.missing_variables().empty());

  pb::RenderPromptVersionRequest missing;
  missing.set_version_id(987654);
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::RenderPromptVersion, missing, &response),
             StatusCode::NOT_FOUND, "987654");
}

TEST_CASE("calls are counted by method and code; health and reflection answer", "[registry]") {
  Fixture f;
  Create(f, "counted");
  pb::PromptVersion version;
  CHECK(!GetVersion(f, VersionById(987654), &version).ok());
  CHECK(!GetVersion(f, VersionById(987655), &version).ok());
  CHECK(MetricValue(f.metrics(),
                    R"(osprey_prompt_registry_rpcs_total{method="CreatePromptVersion",code="OK"})") == 1);
  CHECK(MetricValue(f.metrics(), R"(osprey_prompt_registry_rpcs_total{method="GetPromptVersion",code="NOT_FOUND"})") ==
        2);
  CHECK(MetricValue(f.metrics(), R"(osprey_prompt_registry_rpc_duration_seconds_count{method="GetPromptVersion"})") ==
        2);

  // grpc.health.v1.Health/Check: HealthCheckRequest{service} -> HealthCheckResponse{status: SERVING (1)}.
  std::string reply;
  REQUIRE(RawUnary(f.channel(), "/grpc.health.v1.Health/Check", "", reply).ok());
  CHECK(reply == std::string("\x08\x01", 2));
  const std::string service = "osprey.prompts.v1.PromptRegistry";
  REQUIRE(RawUnary(f.channel(), "/grpc.health.v1.Health/Check",
                   std::string("\x0a", 1) + static_cast<char>(service.size()) + service, reply)
              .ok());
  CHECK(reply == std::string("\x08\x01", 2));

  // Server reflection (v1alpha, bidirectional stream): list_services names the registry.
  grpc::GenericStub stub(f.channel());
  auto context = Context();
  grpc::CompletionQueue cq;
  auto stream = stub.PrepareCall(context.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  stream->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(cq.Next(&tag, &ok));
  REQUIRE(ok);
  const std::string list_services("\x3a\x00", 2);  // ServerReflectionRequest{list_services: ""}
  grpc::Slice slice(list_services);
  grpc::ByteBuffer request(&slice, 1);
  stream->Write(request, reinterpret_cast<void*>(2));
  REQUIRE(cq.Next(&tag, &ok));
  REQUIRE(ok);
  grpc::ByteBuffer response;
  stream->Read(&response, reinterpret_cast<void*>(3));
  REQUIRE(cq.Next(&tag, &ok));
  REQUIRE(ok);
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  CHECK_THAT(bytes, Catch::Contains(service));
  CHECK_THAT(bytes, Catch::Contains("grpc.health.v1.Health"));
  context->TryCancel();
  grpc::Status finish;
  stream->Finish(&finish, reinterpret_cast<void*>(4));
  REQUIRE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_CASE("a closed store makes calls UNAVAILABLE; readiness and gRPC health follow the store", "[registry]") {
  Fixture f;
  Create(f, "before");
  CHECK(f.module().Ready().ok());
  f.store().Close();
  CHECK(!f.module().Ready().ok());
  // The health service re-checks the store every second: NOT_SERVING (2) once it noticed.
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    REQUIRE(RawUnary(f.channel(), "/grpc.health.v1.Health/Check", "", reply).ok());
    if (reply != std::string("\x08\x01", 2)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(reply == std::string("\x08\x02", 2));
  pb::PromptVersion version;
  CHECK_CODE(GetVersion(f, LatestOf(ByName("before")), &version), StatusCode::UNAVAILABLE, "store unavailable");
  pb::CreatePromptVersionResponse created;
  CHECK_CODE(Call(f.stub(), &pb::PromptRegistry::Stub::CreatePromptVersion, CreateRequest("after", ChatVersion()),
                  &created),
             StatusCode::UNAVAILABLE, "store unavailable");
}

TEST_CASE("PromptRegistryChannel is in-process while a local registry runs, the endpoint otherwise", "[registry]") {
  Fixture f;
  Create(f, "local");
  osprey::config::QueryConfig query;
  query.prompt_registry_endpoint = "127.0.0.1:1";  // nothing listens there
  // The fixture's module (listening on TCP) is this process's started registry.
  auto local = osprey::prompt_registry::PromptRegistryChannel(query);
  auto stub = pb::PromptRegistry::NewStub(local);
  pb::PromptVersion version;
  REQUIRE(Call(*stub, &pb::PromptRegistry::Stub::GetPromptVersion, LatestOf(ByName("local")), &version).ok());

  // An embedded registry has no port at all and is still reachable in-process.
  f.module().Stop();
  osprey::prompt_registry::PromptRegistryModule embedded("", f.store(), nullptr);
  REQUIRE(embedded.Start().ok());
  CHECK(embedded.port() == 0);
  stub = pb::PromptRegistry::NewStub(osprey::prompt_registry::PromptRegistryChannel(query));
  REQUIRE(Call(*stub, &pb::PromptRegistry::Stub::GetPromptVersion, LatestOf(ByName("local")), &version).ok());
  embedded.Stop();

  // No local registry: the configured endpoint, where nothing answers.
  stub = pb::PromptRegistry::NewStub(osprey::prompt_registry::PromptRegistryChannel(query));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::Status status = stub->GetPromptVersion(&context, LatestOf(ByName("local")), &version);
  CHECK(status.error_code() == StatusCode::UNAVAILABLE);
}
