#include "osprey/storetest/prompts_conformance.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "osprey/storetest/store_conformance.hpp"

namespace osprey::storetest {
namespace {

using store::CreatePromptVersionInput;

using store::PromptRecord;
using store::PromptTagQuery;
using store::PromptTagRecord;
using store::PromptVersionRecord;
using store::Store;

std::unique_ptr<Store> Open(StoreHarness& harness) {
  auto store = harness.Open();
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  return std::move(*store);
}

PromptVersionRecord ChatVersion(const std::string& text) {
  PromptVersionRecord v;
  v.description = "chat " + text;
  v.model_provider = "OPENAI";
  v.model_name = "gpt-4o-mini";
  v.template_type = "CHAT";
  v.template_format = "MUSTACHE";
  // Kept byte for byte: key order, spacing and non-ASCII text must come back unchanged.
  v.template_json = R"({"type":"chat","messages":[{"role":"user","content":")" + text + R"( {{ name }} — é"}]})";
  v.invocation_parameters_json = R"({"type": "openai", "openai": {"temperature": 0.25}})";
  v.tools_json = R"({"type":"tools","tools":[{"type":"function","function":{"name":"lookup"}}]})";
  return v;
}

PromptVersionRecord StringVersion() {
  PromptVersionRecord v;
  v.model_provider = "ANTHROPIC";
  v.model_name = "claude-3-5-sonnet";
  v.template_type = "STR";
  v.template_format = "F_STRING";
  v.template_json = R"({"type":"string","template":"Hello {name}"})";
  v.invocation_parameters_json = R"({"type":"anthropic","anthropic":{"max_tokens":256}})";
  v.response_format_json = R"({"type":"json_schema","json_schema":{"name":"answer"}})";
  return v;
}

CreatePromptVersionInput Input(const std::string& name, PromptVersionRecord version) {
  CreatePromptVersionInput input;
  input.name = name;
  input.version = std::move(version);
  return input;
}

store::CreatePromptVersionResult Create(Store& store, const CreatePromptVersionInput& input) {
  auto result = store.CreatePromptVersion(input);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *result;
}

int64_t AddVersion(Store& store, const std::string& name) { return Create(store, Input(name, ChatVersion(name))).version.id; }

void CheckSameVersion(const PromptVersionRecord& got, const PromptVersionRecord& want) {
  CHECK(got.description == want.description);
  CHECK(got.model_provider == want.model_provider);
  CHECK(got.model_name == want.model_name);
  CHECK(got.template_type == want.template_type);
  CHECK(got.template_format == want.template_format);
  CHECK(got.template_json == want.template_json);
  CHECK(got.invocation_parameters_json == want.invocation_parameters_json);
  CHECK(got.tools_json == want.tools_json);
  CHECK(got.response_format_json == want.response_format_json);
}

std::optional<int64_t> VersionIdByTag(Store& store, int64_t prompt_id, const std::string& tag) {
  auto version = store.GetPromptVersionByTag(prompt_id, tag);
  REQUIRE(version.ok());
  if (!version->has_value()) return std::nullopt;
  return (*version)->id;
}

std::vector<std::string> TagNames(Store& store, PromptTagQuery query) {
  auto page = store.ListPromptTags(query);
  INFO(page.status().ToString());
  REQUIRE(page.ok());
  std::vector<std::string> names;
  for (const auto& tag : page->items) names.push_back(tag.name);
  return names;
}

PromptTagQuery TagsOfVersion(int64_t version_id) {
  PromptTagQuery query;
  query.version_id = version_id;
  return query;
}

PromptTagQuery TagsOfPrompt(int64_t prompt_id) {
  PromptTagQuery query;
  query.prompt_id = prompt_id;
  return query;
}

}  // namespace

void PromptCreateAndAddVersions(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);

  auto first = Input("greeting", ChatVersion("hi"));
  first.description = "says hello";
  first.metadata_json = R"({"team":"support"})";
  auto created = Create(*store, first);
  CHECK(created.created_prompt);
  CHECK(created.prompt.name == "greeting");
  CHECK(created.prompt.description == "says hello");
  CHECK(created.prompt.metadata_json == R"({"team":"support"})");
  CHECK(created.prompt.version_count == 1);
  CHECK(created.prompt.latest_version_id == created.version.id);
  CHECK(created.prompt.created_at_ns > 0);
  CHECK(created.version.prompt_id == created.prompt.id);
  CHECK(created.version.created_at_ns > 0);
  CheckSameVersion(created.version, first.version);

  // Posting the name again adds a version; the prompt keeps its description and metadata.
  auto second = Input("greeting", StringVersion());
  second.description = "ignored";
  second.metadata_json = R"({"team":"other"})";
  auto added = Create(*store, second);
  CHECK(!added.created_prompt);
  CHECK(added.prompt.id == created.prompt.id);
  CHECK(added.prompt.description == "says hello");
  CHECK(added.prompt.metadata_json == R"({"team":"support"})");
  CHECK(added.prompt.version_count == 2);
  CHECK(added.version.id > created.version.id);
  CHECK(added.prompt.latest_version_id == added.version.id);
  CHECK(added.prompt.updated_at_ns >= created.prompt.updated_at_ns);
  CheckSameVersion(added.version, second.version);
  CHECK(!added.version.description.has_value());

  // A distinct name is a distinct prompt; default metadata is an empty object.
  auto other = Create(*store, Input("farewell", ChatVersion("bye")));
  CHECK(other.created_prompt);
  CHECK(other.prompt.id != created.prompt.id);
  CHECK(other.prompt.metadata_json == "{}");
  CHECK(!other.prompt.description.has_value());

  // Lookups by id and name agree, and everything survives a reopen.
  store->Close();
  store = Open(*harness);
  auto by_name = store->GetPromptByName("greeting");
  REQUIRE(by_name.ok());
  REQUIRE(by_name->has_value());
  auto by_id = store->GetPromptById(created.prompt.id);
  REQUIRE(by_id.ok());
  REQUIRE(by_id->has_value());
  CHECK((*by_name)->id == (*by_id)->id);
  CHECK((*by_id)->version_count == 2);
  CHECK((*by_id)->latest_version_id == added.version.id);
  auto version = store->GetPromptVersion(created.version.id);
  REQUIRE(version.ok());
  REQUIRE(version->has_value());
  CheckSameVersion(**version, first.version);
  auto missing = store->GetPromptByName("nope");
  REQUIRE(missing.ok());
  CHECK(!missing->has_value());
}

void PromptGetVersionByIdTagLatest(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  const int64_t v1 = AddVersion(*store, "alpha");
  const int64_t v2 = AddVersion(*store, "alpha");
  const int64_t v3 = AddVersion(*store, "alpha");
  const int64_t q1 = AddVersion(*store, "beta");
  auto alpha = store->GetPromptByName("alpha");
  auto beta = store->GetPromptByName("beta");
  REQUIRE((alpha.ok() && alpha->has_value() && beta.ok() && beta->has_value()));
  const int64_t a = (*alpha)->id;
  const int64_t b = (*beta)->id;

  auto latest = store->GetLatestPromptVersion(a);
  REQUIRE(latest.ok());
  REQUIRE(latest->has_value());
  CHECK((*latest)->id == v3);
  CHECK((*latest)->id == (*alpha)->latest_version_id);

  REQUIRE(store->SetPromptTag(v1, "production", std::nullopt).ok());
  REQUIRE(store->SetPromptTag(q1, "production", std::nullopt).ok());
  // Tags are per prompt: the same name resolves to each prompt's own version.
  CHECK(VersionIdByTag(*store, a, "production") == v1);
  CHECK(VersionIdByTag(*store, b, "production") == q1);
  CHECK(VersionIdByTag(*store, a, "staging") == std::nullopt);
  CHECK(VersionIdByTag(*store, 999999, "production") == std::nullopt);

  auto by_id = store->GetPromptVersion(v2);
  REQUIRE(by_id.ok());
  REQUIRE(by_id->has_value());
  CHECK((*by_id)->prompt_id == a);
  auto none = store->GetPromptVersion(999999);
  REQUIRE(none.ok());
  CHECK(!none->has_value());
  auto no_latest = store->GetLatestPromptVersion(999999);
  REQUIRE(no_latest.ok());
  CHECK(!no_latest->has_value());
}

void PromptListPagination(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  std::vector<int64_t> prompt_ids;
  for (int i = 0; i < 5; ++i) prompt_ids.push_back(Create(*store, Input("p" + std::to_string(i), ChatVersion("x"))).prompt.id);

  // Prompts: newest first, pages of 2, the cursor is the first id of the next page.
  std::vector<int64_t> seen;
  std::optional<int64_t> cursor;
  int pages = 0;
  do {
    auto page = store->ListPrompts(cursor, 2);
    REQUIRE(page.ok());
    CHECK(page->items.size() <= 2);
    for (const auto& p : page->items) seen.push_back(p.id);
    cursor = page->next_cursor;
    if (cursor) CHECK(*cursor < seen.back());
    ++pages;
  } while (cursor && pages < 10);
  CHECK(pages == 3);
  CHECK(seen == std::vector<int64_t>(prompt_ids.rbegin(), prompt_ids.rend()));

  // Versions of one prompt, newest first, and only that prompt's.
  std::vector<int64_t> versions;
  for (int i = 0; i < 4; ++i) {
    versions.push_back(AddVersion(*store, "p2"));
    if (i == 1) AddVersion(*store, "p3");  // another prompt's version, interleaved
  }
  auto p2 = store->GetPromptByName("p2");
  REQUIRE((p2.ok() && p2->has_value()));
  std::vector<int64_t> listed;
  cursor.reset();
  pages = 0;
  do {
    auto page = store->ListPromptVersions((*p2)->id, cursor, 2);
    REQUIRE(page.ok());
    for (const auto& v : page->items) {
      CHECK(v.prompt_id == (*p2)->id);
      listed.push_back(v.id);
    }
    cursor = page->next_cursor;
    ++pages;
  } while (cursor && pages < 10);
  CHECK(pages == 3);  // 5 versions: the one from creation and four more
  REQUIRE(listed.size() == 5);
  CHECK(std::vector<int64_t>(listed.begin(), listed.begin() + 4) ==
        std::vector<int64_t>(versions.rbegin(), versions.rend()));

  // Tags of a prompt, paged; tags of a version, only its own.
  REQUIRE(store->SetPromptTag(versions[0], "a", std::nullopt).ok());
  REQUIRE(store->SetPromptTag(versions[1], "b", std::nullopt).ok());
  REQUIRE(store->SetPromptTag(versions[1], "c", "third").ok());
  auto query = TagsOfPrompt((*p2)->id);
  query.limit = 2;
  auto first = store->ListPromptTags(query);
  REQUIRE(first.ok());
  REQUIRE(first->items.size() == 2);
  CHECK(first->items[0].name == "c");
  CHECK(first->items[0].description == "third");
  CHECK(first->items[1].name == "b");
  REQUIRE(first->next_cursor.has_value());
  query.cursor_id = first->next_cursor;
  auto second = store->ListPromptTags(query);
  REQUIRE(second.ok());
  REQUIRE(second->items.size() == 1);
  CHECK(second->items[0].name == "a");
  CHECK(!second->next_cursor.has_value());
  CHECK(TagNames(*store, TagsOfVersion(versions[1])) == std::vector<std::string>{"c", "b"});
  CHECK(TagNames(*store, TagsOfVersion(versions[2])).empty());

  CHECK(store->ListPrompts(std::nullopt, 0).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->ListPrompts(std::nullopt, 1001).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->ListPromptVersions((*p2)->id, std::nullopt, 0).status().code() == absl::StatusCode::kInvalidArgument);
}

void PromptTagsMoveAndDelete(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  const int64_t v1 = AddVersion(*store, "moving");
  const int64_t v2 = AddVersion(*store, "moving");
  const int64_t other = AddVersion(*store, "other");
  auto prompt = store->GetPromptByName("moving");
  REQUIRE((prompt.ok() && prompt->has_value()));
  const int64_t p = (*prompt)->id;

  auto tag = store->SetPromptTag(v1, "production", "first");
  REQUIRE(tag.ok());
  CHECK(tag->name == "production");
  CHECK(tag->description == "first");
  CHECK(tag->prompt_id == p);
  CHECK(tag->prompt_version_id == v1);
  CHECK(VersionIdByTag(*store, p, "production") == v1);

  // Re-tagging moves the tag (same row) and replaces its description.
  auto moved = store->SetPromptTag(v2, "production", std::nullopt);
  REQUIRE(moved.ok());
  CHECK(moved->id == tag->id);
  CHECK(moved->prompt_version_id == v2);
  CHECK(!moved->description.has_value());
  CHECK(VersionIdByTag(*store, p, "production") == v2);
  CHECK(TagNames(*store, TagsOfVersion(v1)).empty());
  CHECK(TagNames(*store, TagsOfVersion(v2)) == std::vector<std::string>{"production"});
  CHECK(TagNames(*store, TagsOfPrompt(p)) == std::vector<std::string>{"production"});
  // Another prompt's tag of the same name is a different tag.
  auto foreign = store->SetPromptTag(other, "production", std::nullopt);
  REQUIRE(foreign.ok());
  CHECK(foreign->id != tag->id);
  CHECK(VersionIdByTag(*store, p, "production") == v2);

  // Delete names the version the tag points at.
  auto removed = store->DeletePromptTag(v1, "production");
  REQUIRE(removed.ok());
  CHECK(!*removed);
  CHECK(VersionIdByTag(*store, p, "production") == v2);
  removed = store->DeletePromptTag(v2, "production");
  REQUIRE(removed.ok());
  CHECK(*removed);
  CHECK(VersionIdByTag(*store, p, "production") == std::nullopt);
  removed = store->DeletePromptTag(v2, "production");
  REQUIRE(removed.ok());
  CHECK(!*removed);
  CHECK(VersionIdByTag(*store, foreign->prompt_id, "production") == other);
}

void PromptPatchFields(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  auto input = Input("patched", ChatVersion("x"));
  input.description = "before";
  input.metadata_json = R"({"a":1})";
  const auto created = Create(*store, input).prompt;

  store::PromptPatch description;
  description.description = std::optional<std::string>("after");
  auto patched = store->PatchPrompt(created.id, description);
  REQUIRE(patched.ok());
  CHECK(patched->description == "after");
  CHECK(patched->metadata_json == R"({"a":1})");
  CHECK(patched->updated_at_ns >= created.updated_at_ns);
  CHECK(patched->created_at_ns == created.created_at_ns);

  store::PromptPatch metadata;
  metadata.metadata_json = R"({"b":[2]})";
  patched = store->PatchPrompt(created.id, metadata);
  REQUIRE(patched.ok());
  CHECK(patched->description == "after");
  CHECK(patched->metadata_json == R"({"b":[2]})");

  store::PromptPatch clear;
  clear.description = std::optional<std::string>();
  patched = store->PatchPrompt(created.id, clear);
  REQUIRE(patched.ok());
  CHECK(!patched->description.has_value());
  CHECK(patched->metadata_json == R"({"b":[2]})");
  CHECK(patched->version_count == 1);

  auto stored = store->GetPromptById(created.id);
  REQUIRE((stored.ok() && stored->has_value()));
  CHECK(!(*stored)->description.has_value());
  CHECK(store->PatchPrompt(999999, description).status().code() == absl::StatusCode::kNotFound);
}

void PromptDeleteCascades(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  const int64_t keep = AddVersion(*store, "kept");
  const int64_t v1 = AddVersion(*store, "doomed");
  const int64_t v2 = AddVersion(*store, "doomed");
  REQUIRE(store->SetPromptTag(v1, "production", std::nullopt).ok());
  REQUIRE(store->SetPromptTag(keep, "production", std::nullopt).ok());
  auto doomed = store->GetPromptByName("doomed");
  REQUIRE((doomed.ok() && doomed->has_value()));
  const int64_t id = (*doomed)->id;

  auto deleted = store->DeletePrompt(id);
  REQUIRE(deleted.ok());
  CHECK(*deleted);
  auto gone = store->GetPromptById(id);
  REQUIRE(gone.ok());
  CHECK(!gone->has_value());
  for (int64_t v : {v1, v2}) {
    auto version = store->GetPromptVersion(v);
    REQUIRE(version.ok());
    CHECK(!version->has_value());
  }
  CHECK(VersionIdByTag(*store, id, "production") == std::nullopt);
  CHECK(store->ListPromptTags(TagsOfVersion(v1)).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListPromptVersions(id, std::nullopt, 10).status().code() == absl::StatusCode::kNotFound);
  deleted = store->DeletePrompt(id);
  REQUIRE(deleted.ok());
  CHECK(!*deleted);

  // The other prompt is untouched.
  auto kept = store->GetPromptByName("kept");
  REQUIRE((kept.ok() && kept->has_value()));
  CHECK(VersionIdByTag(*store, (*kept)->id, "production") == keep);
  auto page = store->ListPrompts(std::nullopt, 10);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 1);

  // Ids are never reused: the name comes back as a new prompt with higher ids.
  auto again = Create(*store, Input("doomed", ChatVersion("again")));
  CHECK(again.created_prompt);
  CHECK(again.prompt.id > id);
  CHECK(again.version.id > v2);
  CHECK(again.prompt.version_count == 1);
  CHECK(VersionIdByTag(*store, again.prompt.id, "production") == std::nullopt);
}

void PromptErrors(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  const int64_t v = AddVersion(*store, "exists");

  auto taken = Input("exists", ChatVersion("x"));
  taken.fail_if_exists = true;
  CHECK(store->CreatePromptVersion(taken).status().code() == absl::StatusCode::kAlreadyExists);
  auto prompt = store->GetPromptByName("exists");
  REQUIRE((prompt.ok() && prompt->has_value()));
  CHECK((*prompt)->version_count == 1);  // nothing added
  // fail_if_exists with a new name creates it.
  auto fresh = Input("fresh", ChatVersion("x"));
  fresh.fail_if_exists = true;
  CHECK(store->CreatePromptVersion(fresh).ok());

  CHECK(store->ListPromptVersions(999999, std::nullopt, 10).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListPromptTags(TagsOfVersion(999999)).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListPromptTags(TagsOfPrompt(999999)).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListPromptTags(PromptTagQuery{}).status().code() == absl::StatusCode::kInvalidArgument);
  auto both = TagsOfVersion(v);
  both.prompt_id = (*prompt)->id;
  CHECK(store->ListPromptTags(both).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->SetPromptTag(999999, "production", std::nullopt).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->SetPromptTag(v, "", std::nullopt).status().code() == absl::StatusCode::kInvalidArgument);

  // What the store cannot hold is refused, and nothing of the call is written.
  auto check_refused = [&](CreatePromptVersionInput input, absl::StatusCode code) {
    const std::string name = input.name;
    auto result = store->CreatePromptVersion(input);
    INFO(name << ": " << result.status().ToString());
    CHECK(result.status().code() == code);
    auto stored = store->GetPromptByName(name);
    REQUIRE(stored.ok());
    CHECK(!stored->has_value());
  };
  auto bad_type = Input("bad-type", ChatVersion("x"));
  bad_type.version.template_type = "IMAGE";
  check_refused(bad_type, absl::StatusCode::kInvalidArgument);
  auto bad_format = Input("bad-format", ChatVersion("x"));
  bad_format.version.template_format = "JINJA";
  check_refused(bad_format, absl::StatusCode::kInvalidArgument);
  auto bad_utf8 = Input("bad-utf8", ChatVersion("x"));
  bad_utf8.version.template_json = "{\"type\":\"string\",\"template\":\"\xff\xfe\"}";
  check_refused(bad_utf8, absl::StatusCode::kInvalidArgument);
  auto nul = Input("nul", ChatVersion("x"));
  nul.version.model_name = std::string("gpt\0x", 5);
  check_refused(nul, absl::StatusCode::kInvalidArgument);
  auto no_source = Input("no-source", ChatVersion("x"));
  no_source.source_prompt_id = 999999;
  check_refused(no_source, absl::StatusCode::kNotFound);
  CHECK(store->CreatePromptVersion(Input("", ChatVersion("x"))).status().code() ==
        absl::StatusCode::kInvalidArgument);

  // A clone records its source; deleting the source clears the link.
  auto clone = Input("clone", ChatVersion("x"));
  clone.source_prompt_id = (*prompt)->id;
  auto cloned = Create(*store, clone);
  CHECK(cloned.prompt.source_prompt_id == (*prompt)->id);
  REQUIRE(store->DeletePrompt((*prompt)->id).ok());
  auto orphan = store->GetPromptById(cloned.prompt.id);
  REQUIRE((orphan.ok() && orphan->has_value()));
  CHECK(!(*orphan)->source_prompt_id.has_value());
}

void PromptConcurrentCreateOneName(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  constexpr int kThreads = 4;
  constexpr int kEach = 5;
  std::vector<std::thread> threads;
  std::vector<absl::Status> errors(kThreads);
  std::vector<std::vector<int64_t>> ids(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto result = store->CreatePromptVersion(Input("shared", ChatVersion("t" + std::to_string(t))));
        if (!result.ok()) {
          errors[t] = result.status();
          return;
        }
        ids[t].push_back(result->version.id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) CHECK(error.ok());
  std::set<int64_t> distinct;
  for (const auto& list : ids) distinct.insert(list.begin(), list.end());
  CHECK(distinct.size() == kThreads * kEach);
  auto page = store->ListPrompts(std::nullopt, 10);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].version_count == kThreads * kEach);
  CHECK(page->items[0].latest_version_id == *distinct.rbegin());
}

}  // namespace osprey::storetest
