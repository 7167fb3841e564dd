#include "osprey/storetest/annotations_conformance.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "osprey/base/time.hpp"
#include "osprey/storetest/store_conformance.hpp"

namespace osprey::storetest {
namespace {

using store::AnnotationConfigRecord;
using store::AnnotationInput;
using store::AnnotationKind;
using store::AnnotationQuery;
using store::AnnotationRecord;
using store::Store;

constexpr int64_t kStart = 1'700'000'000'000'000'000;

// Raw OTel ids: trace `n` is 16 bytes ending in n, span `n` is 8 bytes ending in n.
std::string RawId(uint64_t n, size_t size) {
  std::string id(size, '\0');
  for (size_t i = 0; i < 8; ++i) id[size - 1 - i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return id;
}
std::string HexId(uint64_t n, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : RawId(n, size)) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}
std::string SpanId(uint64_t n) { return HexId(n, 8); }
std::string TraceId(uint64_t n) { return HexId(n, 16); }

model::v1::Span MakeSpan(uint64_t trace, uint64_t span, const std::string& project, const std::string& session = "") {
  model::v1::Span s;
  s.set_project_name(project);
  s.set_trace_id(RawId(trace, 16));
  s.set_span_id(RawId(span, 8));
  s.set_name("annotated");
  s.set_span_kind("LLM");
  s.set_start_time_unix_nano(kStart);
  s.set_end_time_unix_nano(kStart + 1000);
  if (!session.empty()) s.set_session_id(session);
  return s;
}

std::unique_ptr<Store> Open(StoreHarness& harness) {
  auto store = harness.Open();
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  return std::move(*store);
}

void Put(Store& store, const std::vector<model::v1::Span>& spans) {
  std::vector<const model::v1::Span*> pointers;
  for (const auto& span : spans) pointers.push_back(&span);
  auto result = store.WriteSpans(pointers);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
}

int64_t ProjectId(Store& store, const std::string& name) {
  auto project = store.GetProjectByName(name);
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  return (*project)->id;
}

AnnotationInput Item(std::string target, std::string name, std::string identifier = "") {
  AnnotationInput item;
  item.target = std::move(target);
  item.name = std::move(name);
  item.identifier = std::move(identifier);
  item.annotator_kind = "LLM";
  return item;
}

std::vector<int64_t> Upsert(Store& store, AnnotationKind kind, const std::vector<AnnotationInput>& items) {
  auto result = store.UpsertAnnotations(kind, items, /*require_all_targets=*/true);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  REQUIRE(result->missing_targets.empty());
  std::vector<int64_t> ids;
  for (const auto& id : result->ids) {
    REQUIRE(id.has_value());
    ids.push_back(*id);
  }
  return ids;
}

std::vector<AnnotationRecord> List(Store& store, AnnotationQuery query) {
  auto page = store.ListAnnotations(query);
  INFO(page.status().ToString());
  REQUIRE(page.ok());
  return page->items;
}

std::vector<std::string> Names(const std::vector<AnnotationRecord>& records) {
  std::vector<std::string> names;
  for (const auto& record : records) names.push_back(record.name + "/" + record.identifier);
  return names;
}

}  // namespace

void AnnotationUpsertKeyAndFields(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 0xab, "p")});
  const int64_t before = static_cast<int64_t>(base::NowUnixNanos());

  AnnotationInput first = Item(SpanId(0xab), "quality");
  first.label = "good";
  first.score = 0.30000000000000004;  // survives storage exactly
  first.explanation = "because";
  first.metadata_json = R"({"model":"judge","n":[1,2]})";
  first.user_id = 7;
  std::vector<int64_t> ids = Upsert(*store, AnnotationKind::kSpan, {first});

  AnnotationQuery query;
  query.kind = AnnotationKind::kSpan;
  query.project_id = ProjectId(*store, "p");
  query.targets = {SpanId(0xab)};
  std::vector<AnnotationRecord> rows = List(*store, query);
  REQUIRE(rows.size() == 1);
  const AnnotationRecord row = rows[0];  // a copy: `rows` is reassigned below
  CHECK(row.id == ids[0]);
  CHECK(row.target == SpanId(0xab));
  CHECK(row.name == "quality");
  CHECK(row.annotator_kind == "LLM");
  CHECK(row.label == std::optional<std::string>("good"));
  CHECK(row.score == std::optional<double>(0.30000000000000004));
  CHECK(row.explanation == std::optional<std::string>("because"));
  CHECK_THAT(row.metadata_json, Catch::Contains("\"model\"") && Catch::Contains("judge"));
  CHECK(row.identifier.empty());
  CHECK(row.source == "API");
  CHECK(row.user_id == std::optional<int64_t>(7));
  CHECK(row.created_at_ns >= before);
  CHECK(row.updated_at_ns == row.created_at_ns);

  // Same (name, span, identifier): the row is updated in place, nulls included.
  AnnotationInput second = Item(SpanId(0xab), "quality");
  second.annotator_kind = "HUMAN";
  second.score = 1.0;
  std::vector<int64_t> again = Upsert(*store, AnnotationKind::kSpan, {second});
  CHECK(again[0] == ids[0]);
  rows = List(*store, query);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].annotator_kind == "HUMAN");
  CHECK(!rows[0].label.has_value());
  CHECK(rows[0].score == std::optional<double>(1.0));
  CHECK(rows[0].metadata_json == "{}");
  CHECK(rows[0].created_at_ns == row.created_at_ns);
  CHECK(rows[0].updated_at_ns >= row.created_at_ns);

  // Another identifier is another annotation; upper-case hex targets the same span. Two items with
  // one key in a call: the later wins and both report its id.
  AnnotationInput third = Item("00000000000000AB", "quality", "judge-v2");
  AnnotationInput dup_a = Item(SpanId(0xab), "tone");
  dup_a.label = "first";
  AnnotationInput dup_b = Item("00000000000000AB", "tone");
  dup_b.label = "second";
  std::vector<int64_t> more = Upsert(*store, AnnotationKind::kSpan, {third, dup_a, dup_b});
  CHECK(more[0] != ids[0]);
  CHECK(more[1] == more[2]);
  rows = List(*store, query);
  CHECK(Names(rows) == std::vector<std::string>{"tone/", "quality/judge-v2", "quality/"});
  CHECK(rows[0].label == std::optional<std::string>("second"));
}

void AnnotationMissingTargets(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 1, "p")});
  std::vector<AnnotationInput> items = {Item(SpanId(1), "a"), Item(SpanId(9), "a"), Item(SpanId(9), "b")};

  auto all = store->UpsertAnnotations(AnnotationKind::kSpan, items, /*require_all_targets=*/true);
  REQUIRE(all.ok());
  CHECK(all->missing_targets == std::vector<std::string>{SpanId(9)});
  CHECK(all->ids.empty());
  AnnotationQuery query;
  query.project_id = ProjectId(*store, "p");
  query.targets = {SpanId(1)};
  CHECK(List(*store, query).empty());  // nothing written

  auto some = store->UpsertAnnotations(AnnotationKind::kSpan, items, /*require_all_targets=*/false);
  REQUIRE(some.ok());
  CHECK(some->missing_targets == std::vector<std::string>{SpanId(9)});
  REQUIRE(some->ids.size() == 3);
  CHECK(some->ids[0].has_value());
  CHECK(!some->ids[1].has_value());
  CHECK(!some->ids[2].has_value());
  CHECK(List(*store, query).size() == 1);

  auto exists = store->AnyAnnotationTargetExists(AnnotationKind::kSpan, query.project_id, {SpanId(9), SpanId(1)});
  REQUIRE(exists.ok());
  CHECK(*exists);
  exists = store->AnyAnnotationTargetExists(AnnotationKind::kSpan, query.project_id, {SpanId(9)});
  REQUIRE(exists.ok());
  CHECK(!*exists);
  // A span of another project does not count.
  Put(*store, {MakeSpan(2, 2, "q")});
  exists = store->AnyAnnotationTargetExists(AnnotationKind::kSpan, query.project_id, {SpanId(2)});
  REQUIRE(exists.ok());
  CHECK(!*exists);
}

void AnnotationListFiltersAndPages(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 1, "p"), MakeSpan(1, 2, "p"), MakeSpan(3, 3, "other")});
  Upsert(*store, AnnotationKind::kSpan,
         {Item(SpanId(1), "a"), Item(SpanId(1), "b", "x"), Item(SpanId(2), "a", "x"), Item(SpanId(2), "note", "n1"),
          Item(SpanId(3), "a")});
  AnnotationQuery query;
  query.project_id = ProjectId(*store, "p");

  query.targets = {SpanId(1), SpanId(2), SpanId(3)};  // span 3 is in another project
  CHECK(Names(List(*store, query)) == std::vector<std::string>{"note/n1", "a/x", "b/x", "a/"});
  query.identifiers = {"x"};
  CHECK(Names(List(*store, query)) == std::vector<std::string>{"a/x", "b/x"});
  query.targets.clear();  // identifiers alone
  CHECK(Names(List(*store, query)) == std::vector<std::string>{"a/x", "b/x"});
  query.identifiers.clear();
  query.targets = {SpanId(1), SpanId(2)};
  query.exclude_names = {"note"};
  CHECK(Names(List(*store, query)) == std::vector<std::string>{"a/x", "b/x", "a/"});
  query.include_names = {"a"};
  CHECK(Names(List(*store, query)) == std::vector<std::string>{"a/x", "a/"});
  query.include_names.clear();
  query.exclude_names.clear();

  // Pages of 3: id DESC, next_cursor = id of the next page's first row.
  query.limit = 3;
  auto first = store->ListAnnotations(query);
  REQUIRE(first.ok());
  CHECK(Names(first->items) == std::vector<std::string>{"note/n1", "a/x", "b/x"});
  REQUIRE(first->next_cursor.has_value());
  query.cursor_id = first->next_cursor;
  auto second = store->ListAnnotations(query);
  REQUIRE(second.ok());
  CHECK(Names(second->items) == std::vector<std::string>{"a/"});
  CHECK(!second->next_cursor.has_value());

  query.limit = 0;
  CHECK(store->ListAnnotations(query).status().code() == absl::StatusCode::kInvalidArgument);
}

void AnnotationTraceSessionDocument(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 1, "p", "chat-1"), MakeSpan(2, 2, "p")});
  const int64_t project = ProjectId(*store, "p");

  std::vector<int64_t> trace_ids = Upsert(*store, AnnotationKind::kTrace, {Item(TraceId(1), "t"), Item(TraceId(2), "t")});
  CHECK(trace_ids[0] != trace_ids[1]);
  AnnotationQuery query;
  query.kind = AnnotationKind::kTrace;
  query.project_id = project;
  query.targets = {TraceId(1)};
  auto traces = List(*store, query);
  REQUIRE(traces.size() == 1);
  CHECK(traces[0].target == TraceId(1));
  CHECK(traces[0].id == trace_ids[0]);

  std::vector<int64_t> session_ids = Upsert(*store, AnnotationKind::kSession, {Item("chat-1", "s")});
  query.kind = AnnotationKind::kSession;
  query.targets = {"chat-1"};
  auto sessions = List(*store, query);
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].target == "chat-1");
  CHECK(sessions[0].id == session_ids[0]);
  // Session ids are case-sensitive strings, not hex.
  auto upper = store->UpsertAnnotations(AnnotationKind::kSession, {Item("CHAT-1", "s")}, true);
  REQUIRE(upper.ok());
  CHECK(upper->missing_targets == std::vector<std::string>{"CHAT-1"});

  // Documents: the position is part of the key.
  AnnotationInput doc0 = Item(SpanId(1), "relevance");
  doc0.document_position = 0;
  AnnotationInput doc1 = doc0;
  doc1.document_position = 1;
  AnnotationInput doc0_again = doc0;
  doc0_again.score = 0.5;
  std::vector<int64_t> docs = Upsert(*store, AnnotationKind::kDocument, {doc0, doc1, doc0_again});
  CHECK(docs[0] != docs[1]);
  CHECK(docs[0] == docs[2]);

  // The span annotations table is separate from the others.
  query.kind = AnnotationKind::kSpan;
  query.targets = {SpanId(1)};
  CHECK(List(*store, query).empty());
}

void AnnotationBulkDelete(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 1, "p"), MakeSpan(2, 2, "q")});
  const int64_t p = ProjectId(*store, "p");
  AnnotationInput human = Item(SpanId(1), "c", "k");
  human.annotator_kind = "HUMAN";
  Upsert(*store, AnnotationKind::kSpan,
         {Item(SpanId(1), "a"), Item(SpanId(1), "b"), Item(SpanId(1), "c"), human, Item(SpanId(2), "a")});
  AnnotationQuery query;
  query.project_id = p;
  query.targets = {SpanId(1)};
  REQUIRE(List(*store, query).size() == 4);

  store::AnnotationDeleteFilter filter;
  filter.project_id = p;
  filter.name = "c";
  filter.annotator_kind = "HUMAN";
  auto deleted = store->DeleteAnnotations(filter);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 1);
  CHECK(Names(List(*store, query)) == std::vector<std::string>{"c/", "b/", "a/"});

  filter = {};
  filter.project_id = p;
  filter.identifier = "nope";
  deleted = store->DeleteAnnotations(filter);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 0);

  // A window in the past deletes nothing; one around now deletes the project's rows only.
  filter = {};
  filter.project_id = p;
  filter.created_from_ns = 0;
  filter.created_before_ns = 1000;
  deleted = store->DeleteAnnotations(filter);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 0);
  filter.created_before_ns = static_cast<int64_t>(base::NowUnixNanos()) + 1'000'000'000;
  deleted = store->DeleteAnnotations(filter);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 3);
  CHECK(List(*store, query).empty());
  query.project_id = ProjectId(*store, "q");
  query.targets = {SpanId(2)};
  CHECK(List(*store, query).size() == 1);
}

void AnnotationsFollowTheirTargets(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 1, "p", "chat-1"), MakeSpan(1, 2, "p", "chat-1"), MakeSpan(2, 3, "p", "chat-2")});
  Upsert(*store, AnnotationKind::kSpan, {Item(SpanId(1), "s"), Item(SpanId(2), "s"), Item(SpanId(3), "s")});
  Upsert(*store, AnnotationKind::kTrace, {Item(TraceId(1), "t"), Item(TraceId(2), "t")});
  Upsert(*store, AnnotationKind::kSession, {Item("chat-1", "c"), Item("chat-2", "c")});
  auto count = [&](AnnotationKind kind, const std::string& project, std::vector<std::string> targets) {
    AnnotationQuery query;
    query.kind = kind;
    query.project_id = ProjectId(*store, project);
    query.targets = std::move(targets);
    return List(*store, query).size();
  };

  // A moved trace takes its span, trace and session annotations to the destination project.
  auto q = store->CreateProject("q", std::nullopt);
  REQUIRE(q.ok());
  auto moved = store->TransferTraces({TraceId(2)}, q->id);
  INFO(moved.status().ToString());
  REQUIRE(moved.ok());
  CHECK(count(AnnotationKind::kSpan, "q", {SpanId(3)}) == 1);
  CHECK(count(AnnotationKind::kTrace, "q", {TraceId(2)}) == 1);
  CHECK(count(AnnotationKind::kSession, "q", {"chat-2"}) == 1);
  CHECK(count(AnnotationKind::kSpan, "p", {SpanId(3)}) == 0);

  // Deletes take the annotations of what they delete, and only those.
  REQUIRE(store->DeleteSpan(SpanId(2)).ok());
  CHECK(count(AnnotationKind::kSpan, "p", {SpanId(1), SpanId(2)}) == 1);
  REQUIRE(store->DeleteTrace(TraceId(1)).ok());
  CHECK(count(AnnotationKind::kSpan, "p", {SpanId(1)}) == 0);
  CHECK(count(AnnotationKind::kTrace, "p", {TraceId(1)}) == 0);
  auto sessions = store->DeleteSessions({std::string("chat-2")});
  REQUIRE(sessions.ok());
  CHECK(count(AnnotationKind::kSession, "q", {"chat-2"}) == 0);
  CHECK(count(AnnotationKind::kTrace, "q", {TraceId(2)}) == 0);
  REQUIRE(store->DeleteProject(ProjectId(*store, "p")).ok());
  auto left = store->UpsertAnnotations(AnnotationKind::kSession, {Item("chat-1", "c")}, true);
  REQUIRE(left.ok());
  CHECK(left->missing_targets == std::vector<std::string>{"chat-1"});
}

void AnnotationInvalidInputWritesNothing(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {MakeSpan(1, 1, "p")});
  auto refuse = [&](AnnotationInput bad, const std::string& needle) {
    auto result = store->UpsertAnnotations(AnnotationKind::kSpan, {Item(SpanId(1), "fine"), bad}, false);
    REQUIRE(!result.ok());
    CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(result.status().message()), Catch::Contains(needle));
  };
  AnnotationInput bad = Item(SpanId(1), "x");
  bad.annotator_kind = "ROBOT";
  refuse(bad, "annotator_kind");
  bad = Item(SpanId(1), "x");
  bad.metadata_json = "[1]";
  refuse(bad, "metadata");
  bad = Item(SpanId(1), "x");
  bad.metadata_json = "{\"a\":";
  refuse(bad, "metadata");
  bad = Item(SpanId(1), "x");
  bad.label = std::string("a\0b", 3);
  refuse(bad, "label");
  bad = Item(SpanId(1), "x");
  bad.name = "\xff";
  refuse(bad, "UTF-8");
  bad = Item(SpanId(1), "x");
  bad.source = "UI";
  refuse(bad, "source");

  AnnotationQuery query;
  query.project_id = ProjectId(*store, "p");
  query.targets = {SpanId(1)};
  CHECK(List(*store, query).empty());
}

void AnnotationConfigs(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);

  auto seeded = store->GetAnnotationConfigByName("user_feedback");
  REQUIRE(seeded.ok());
  REQUIRE(seeded->has_value());
  CHECK((*seeded)->type == "CATEGORICAL");
  CHECK_THAT((*seeded)->config_json, Catch::Contains("positive") && Catch::Contains("negative"));

  AnnotationConfigRecord config;
  config.name = "correctness";
  config.type = "CONTINUOUS";
  config.config_json = R"({"lower_bound":0,"upper_bound":1})";
  auto created = store->CreateAnnotationConfig(config);
  REQUIRE(created.ok());
  CHECK(created->id > (*seeded)->id);
  CHECK(created->name == "correctness");
  CHECK_THAT(created->config_json, Catch::Contains("upper_bound"));
  CHECK(store->CreateAnnotationConfig(config).status().code() == absl::StatusCode::kAlreadyExists);

  config.type = "BINARY";
  config.name = "other";
  CHECK(store->CreateAnnotationConfig(config).status().code() == absl::StatusCode::kInvalidArgument);

  AnnotationConfigRecord update = *created;
  update.type = "FREEFORM";
  update.config_json = R"({"threshold":0.5})";
  auto updated = store->UpdateAnnotationConfig(update);
  REQUIRE(updated.ok());
  CHECK(updated->type == "FREEFORM");
  update.name = "user_feedback";
  CHECK(store->UpdateAnnotationConfig(update).status().code() == absl::StatusCode::kAlreadyExists);
  update.id = 999999;
  update.name = "ghost";
  CHECK(store->UpdateAnnotationConfig(update).status().code() == absl::StatusCode::kNotFound);

  auto page = store->ListAnnotationConfigs(std::nullopt, std::nullopt, 1);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].name == "correctness");
  REQUIRE(page->next_cursor == std::optional<int64_t>((*seeded)->id));
  page = store->ListAnnotationConfigs(std::nullopt, page->next_cursor, 1);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].name == "user_feedback");
  CHECK(!page->next_cursor.has_value());

  auto deleted = store->DeleteAnnotationConfig(created->id);
  REQUIRE(deleted.ok());
  REQUIRE(deleted->has_value());
  CHECK((*deleted)->name == "correctness");
  deleted = store->DeleteAnnotationConfig(created->id);
  REQUIRE(deleted.ok());
  CHECK(!deleted->has_value());
  auto by_id = store->GetAnnotationConfigById(created->id);
  REQUIRE(by_id.ok());
  CHECK(!by_id->has_value());
}

void AnnotationConfigProjects(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  auto project = store->CreateProject("configured", std::nullopt);
  REQUIRE(project.ok());
  const int64_t p = project->id;
  std::vector<int64_t> ids;
  for (const char* name : {"a", "b", "c"}) {
    AnnotationConfigRecord config;
    config.name = name;
    config.type = "FREEFORM";
    auto created = store->CreateAnnotationConfig(config);
    REQUIRE(created.ok());
    ids.push_back(created->id);
  }
  auto names = [&] {
    auto page = store->ListAnnotationConfigs(p, std::nullopt, 100);
    REQUIRE(page.ok());
    std::vector<std::string> out;
    for (const auto& config : page->items) out.push_back(config.name);
    return out;
  };
  CHECK(names().empty());
  REQUIRE(store->AssignAnnotationConfig(p, ids[0]).ok());
  REQUIRE(store->AssignAnnotationConfig(p, ids[0]).ok());  // idempotent
  REQUIRE(store->AssignAnnotationConfig(p, ids[2]).ok());
  CHECK(names() == std::vector<std::string>{"c", "a"});
  CHECK(store->AssignAnnotationConfig(p, 999999).code() == absl::StatusCode::kNotFound);
  CHECK(store->AssignAnnotationConfig(999999, ids[0]).code() == absl::StatusCode::kNotFound);

  auto removed = store->UnassignAnnotationConfig(p, ids[2]);
  REQUIRE(removed.ok());
  CHECK(*removed);
  removed = store->UnassignAnnotationConfig(p, ids[2]);
  REQUIRE(removed.ok());
  CHECK(!*removed);
  CHECK(names() == std::vector<std::string>{"a"});

  REQUIRE(store->SetProjectAnnotationConfigs(p, {ids[1], ids[2]}).ok());
  CHECK(names() == std::vector<std::string>{"c", "b"});
  CHECK(store->SetProjectAnnotationConfigs(p, {ids[0], 999999}).code() == absl::StatusCode::kNotFound);
  CHECK(names() == std::vector<std::string>{"c", "b"});  // unchanged
  // Deleting a config removes its assignment.
  REQUIRE(store->DeleteAnnotationConfig(ids[2]).ok());
  CHECK(names() == std::vector<std::string>{"b"});
  REQUIRE(store->SetProjectAnnotationConfigs(p, {}).ok());
  CHECK(names().empty());
}

}  // namespace osprey::storetest
