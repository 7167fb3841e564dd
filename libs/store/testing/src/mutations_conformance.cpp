#include "osprey/storetest/mutations_conformance.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "osprey/storetest/store_conformance.hpp"

namespace osprey::storetest {
namespace {

using model::v1::Span;
using store::RowKey;
using store::SessionRecord;
using store::SpanQuery;
using store::SpanRecord;
using store::Store;
using store::TraceRecord;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kBase = 1'750'000'000 * kSec;

// Ids as the store keeps them: trace `n` is 32 hex digits, span `n` 16, both ending in n.
std::string TraceId(uint64_t n) {
  char buffer[33];
  std::snprintf(buffer, sizeof(buffer), "%016x%016llx", 0xabcU, static_cast<unsigned long long>(n));
  return buffer;
}
std::string SpanId(uint64_t n) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(n));
  return buffer;
}
std::string RawId(const std::string& hex) {
  std::string raw;
  for (size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return raw;
}

struct SpanSpec {
  uint64_t trace = 1;
  uint64_t span = 1;
  uint64_t parent = 0;  // 0: root
  int64_t start_s = 0;
  int64_t end_s = 1;
  std::string project = "default";
  std::string session;
  int64_t prompt = 0;
  int64_t completion = 0;
  bool error = false;
  double cost = 0;  // total cost in dollars; 0: unpriced
};

Span Make(const SpanSpec& spec) {
  Span span;
  span.set_project_name(spec.project);
  span.set_trace_id(RawId(TraceId(spec.trace)));
  span.set_span_id(RawId(SpanId(spec.span)));
  if (spec.parent != 0) span.set_parent_span_id(RawId(SpanId(spec.parent)));
  span.set_name("op-" + std::to_string(spec.span));
  span.set_span_kind("LLM");
  span.set_start_time_unix_nano(kBase + spec.start_s * kSec);
  span.set_end_time_unix_nano(kBase + spec.end_s * kSec);
  if (spec.error) span.set_status_code(model::v1::STATUS_CODE_ERROR);
  span.set_session_id(spec.session);
  span.set_llm_token_count_prompt(spec.prompt);
  span.set_llm_token_count_completion(spec.completion);
  if (spec.cost > 0) span.mutable_cost()->set_total(spec.cost);
  span.set_attributes_json("{}");
  span.set_events_json("[]");
  return span;
}

std::unique_ptr<Store> Open(StoreHarness& harness) {
  auto store = harness.Open();
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  return std::move(*store);
}

void Put(Store& store, const std::vector<SpanSpec>& specs) {
  std::vector<Span> spans;
  for (const SpanSpec& spec : specs) spans.push_back(Make(spec));
  std::vector<const Span*> pointers;
  for (const Span& span : spans) pointers.push_back(&span);
  auto result = store.WriteSpans(pointers);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
}

void Ok(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

std::optional<TraceRecord> FindTrace(Store& store, uint64_t trace) {
  auto record = store.GetTraceByTraceId(TraceId(trace));
  REQUIRE(record.ok());
  return *record;
}

std::optional<SessionRecord> FindSession(Store& store, const std::string& session_id) {
  auto record = store.GetSessionBySessionId(session_id);
  REQUIRE(record.ok());
  return *record;
}

int64_t ProjectId(Store& store, const std::string& name) {
  auto project = store.GetProjectByName(name);
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  return (*project)->id;
}

std::vector<SpanRecord> SpansOf(Store& store, int64_t project_id) {
  SpanQuery query;
  query.project_id = project_id;
  query.limit = 10000;
  auto page = store.ListSpans(query);
  REQUIRE(page.ok());
  return page->items;
}

// Every trace and session summary equals what its remaining rows add up to.
void CheckRollupsExact(Store& store, const std::vector<uint64_t>& traces, const std::vector<std::string>& sessions) {
  for (uint64_t n : traces) {
    std::optional<TraceRecord> trace = FindTrace(store, n);
    if (!trace) continue;
    auto spans = store.SpansOfTraces({trace->id});
    REQUIRE(spans.ok());
    INFO("trace " << n);
    REQUIRE(!spans->empty());  // an empty trace row must not survive
    int64_t errors = 0, prompt = 0, completion = 0, total = 0;
    double cost = 0;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    std::string root;
    for (const SpanRecord& span : *spans) {
      errors += span.status_code == "ERROR";
      prompt += span.llm_token_count_prompt;
      completion += span.llm_token_count_completion;
      total += span.llm_token_count_total;
      cost += span.cost_total.value_or(0);
      lo = std::min(lo, span.start_time_ns);
      hi = std::max(hi, span.end_time_ns);
      if (span.parent_id.empty() && (root.empty() || span.span_id < root)) root = span.span_id;
    }
    CHECK(trace->span_count == static_cast<int64_t>(spans->size()));
    CHECK(trace->error_count == errors);
    CHECK(trace->token_count_prompt == prompt);
    CHECK(trace->token_count_completion == completion);
    CHECK(trace->token_count_total == total);
    CHECK(trace->cost_total == Approx(cost));
    CHECK(trace->start_time_ns == lo);
    CHECK(trace->end_time_ns == hi);
    CHECK(trace->root_span_id == root);
  }
  for (const std::string& id : sessions) {
    std::optional<SessionRecord> session = FindSession(store, id);
    if (!session) continue;
    auto members = store.TracesOfSession(session->id);
    REQUIRE(members.ok());
    INFO("session " << id);
    REQUIRE(!members->empty());  // an empty session must not survive
    int64_t prompt = 0, total = 0;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (const TraceRecord& trace : *members) {
      prompt += trace.token_count_prompt;
      total += trace.token_count_total;
      lo = std::min(lo, trace.start_time_ns);
      hi = std::max(hi, trace.end_time_ns);
    }
    CHECK(session->trace_count == static_cast<int64_t>(members->size()));
    CHECK(session->token_count_prompt == prompt);
    CHECK(session->token_count_total == total);
    CHECK(session->start_time_ns == lo);
    CHECK(session->end_time_ns == hi);
  }
}

}  // namespace

void MutationDeleteSpanRecomputesRollups(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store,
      {
          {.trace = 1, .span = 1, .start_s = 0, .end_s = 10, .session = "s1", .prompt = 10, .completion = 5},
          {.trace = 1, .span = 2, .parent = 1, .start_s = 1, .end_s = 2, .error = true},
          {.trace = 1, .span = 3, .parent = 1, .start_s = 3, .end_s = 20, .prompt = 1, .completion = 1, .cost = 0.25},
          {.trace = 2, .span = 4, .start_s = 30, .end_s = 31, .session = "s1", .prompt = 2},
      });
  const int64_t span3_rowid = [&] {
    for (const SpanRecord& span : SpansOf(*store, ProjectId(*store, "default"))) {
      if (span.span_id == SpanId(3)) return span.id;
    }
    FAIL("span 3 not stored");
    return int64_t{0};
  }();

  // Unknown spans: NOT_FOUND, nothing changes.
  CHECK(store->DeleteSpan(RowKey(SpanId(99))).code() == absl::StatusCode::kNotFound);
  CHECK(store->DeleteSpan(RowKey(int64_t{987654})).code() == absl::StatusCode::kNotFound);
  CHECK(FindTrace(*store, 1)->span_count == 3);
  CHECK(FindTrace(*store, 1)->cost_total == Approx(0.25));

  auto stored = store->StoredSpanIds({SpanId(3), SpanId(99), "00000000000000AB"});
  INFO(stored.status().ToString());
  REQUIRE(stored.ok());
  CHECK(*stored == std::vector<std::string>{SpanId(3)});

  // The child that ended last, by row id: the trace ends earlier and loses its tokens.
  Ok(store->DeleteSpan(RowKey(span3_rowid)));
  stored = store->StoredSpanIds({SpanId(3)});
  REQUIRE(stored.ok());
  CHECK(stored->empty());
  TraceRecord trace = *FindTrace(*store, 1);
  CHECK(trace.span_count == 2);
  CHECK(trace.error_count == 1);
  CHECK(trace.token_count_prompt == 10);
  CHECK(trace.token_count_total == 15);
  CHECK(trace.end_time_ns == kBase + 10 * kSec);
  CHECK(trace.cost_total == 0);
  CHECK(trace.root_span_id == SpanId(1));
  SessionRecord session = *FindSession(*store, "s1");
  CHECK(session.trace_count == 2);
  CHECK(session.token_count_prompt == 12);
  CHECK(session.token_count_total == 17);
  CHECK(session.end_time_ns == kBase + 31 * kSec);

  // The root, by its hex id in upper case: the child is orphaned, the trace has no root any more.
  std::string upper = SpanId(1);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  Ok(store->DeleteSpan(RowKey(upper)));
  trace = *FindTrace(*store, 1);
  CHECK(trace.span_count == 1);
  CHECK(trace.root_span_id.empty());
  CHECK(trace.token_count_total == 0);
  CHECK(trace.start_time_ns == kBase + 1 * kSec);
  CHECK(trace.end_time_ns == kBase + 2 * kSec);
  CHECK(FindSession(*store, "s1")->token_count_total == 2);

  // The last span of trace 1: the trace row goes, the session keeps trace 2 only.
  Ok(store->DeleteSpan(RowKey(SpanId(2))));
  CHECK(!FindTrace(*store, 1).has_value());
  session = *FindSession(*store, "s1");
  CHECK(session.trace_count == 1);
  CHECK(session.start_time_ns == kBase + 30 * kSec);
  CHECK(session.token_count_prompt == 2);
  CHECK(store->DeleteSpan(RowKey(SpanId(2))).code() == absl::StatusCode::kNotFound);

  // The last span of the session's last trace: the session goes too.
  Ok(store->DeleteSpan(RowKey(SpanId(4))));
  CHECK(!FindTrace(*store, 2).has_value());
  CHECK(!FindSession(*store, "s1").has_value());

  // A later span of a deleted trace starts a new trace row (SQLite may reuse the highest deleted row
  // id, Postgres never does); a resent deleted span is stored again.
  Put(*store, {{.trace = 1, .span = 2, .parent = 1, .start_s = 1, .end_s = 2, .error = true}});
  std::optional<TraceRecord> reborn = FindTrace(*store, 1);
  REQUIRE(reborn.has_value());
  CHECK(reborn->span_count == 1);
  CHECK(reborn->error_count == 1);
  CheckRollupsExact(*store, {1, 2}, {"s1"});
}

void MutationDeleteTraceAndSessions(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {
                  {.trace = 1, .span = 1, .start_s = 0, .end_s = 5, .session = "a", .prompt = 3},
                  {.trace = 1, .span = 2, .parent = 1, .start_s = 1, .end_s = 2},
                  {.trace = 2, .span = 3, .start_s = 10, .end_s = 50, .session = "a", .prompt = 4},
                  {.trace = 3, .span = 4, .start_s = 0, .end_s = 1, .session = "b"},
                  {.trace = 4, .span = 5, .start_s = 0, .end_s = 1, .session = "c"},
                  {.trace = 5, .span = 6, .start_s = 0, .end_s = 1},
              });

  CHECK(store->DeleteTrace(RowKey(TraceId(77))).code() == absl::StatusCode::kNotFound);
  CHECK(store->DeleteTrace(RowKey(int64_t{424242})).code() == absl::StatusCode::kNotFound);

  // Trace 2 by hex: session "a" shrinks back to trace 1.
  Ok(store->DeleteTrace(RowKey(TraceId(2))));
  CHECK(!FindTrace(*store, 2).has_value());
  SessionRecord a = *FindSession(*store, "a");
  CHECK(a.trace_count == 1);
  CHECK(a.token_count_prompt == 3);
  CHECK(a.end_time_ns == kBase + 5 * kSec);
  // Trace 1 by row id: its spans go with it, and the empty session too.
  Ok(store->DeleteTrace(RowKey(FindTrace(*store, 1)->id)));
  CHECK(!FindSession(*store, "a").has_value());
  for (const SpanRecord& span : SpansOf(*store, ProjectId(*store, "default"))) {
    CHECK(span.span_id != SpanId(1));
    CHECK(span.span_id != SpanId(2));
  }

  // Sessions in bulk, by session id and by row id; unknown ones are skipped.
  const int64_t c_rowid = FindSession(*store, "c")->id;
  auto deleted = store->DeleteSessions(
      {RowKey(std::string("b")), RowKey(std::string("nope")), RowKey(c_rowid), RowKey(int64_t{999999})});
  REQUIRE(deleted.ok());
  CHECK(*deleted == 2);
  CHECK(!FindSession(*store, "b").has_value());
  CHECK(!FindSession(*store, "c").has_value());
  CHECK(!FindTrace(*store, 3).has_value());
  CHECK(!FindTrace(*store, 4).has_value());
  std::vector<SpanRecord> left = SpansOf(*store, ProjectId(*store, "default"));
  REQUIRE(left.size() == 1);
  CHECK(left[0].span_id == SpanId(6));
  auto none = store->DeleteSessions({RowKey(std::string("b"))});
  REQUIRE(none.ok());
  CHECK(*none == 0);
}

void MutationTransferTraces(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  Put(*store, {
                  {.trace = 1, .span = 1, .start_s = 0, .end_s = 5, .project = "src", .session = "whole", .prompt = 1},
                  {.trace = 1, .span = 2, .parent = 1, .start_s = 1, .end_s = 2, .project = "src"},
                  {.trace = 2, .span = 3, .start_s = 0, .end_s = 9, .project = "src", .session = "whole"},
                  {.trace = 3, .span = 4, .start_s = 0, .end_s = 1, .project = "src", .session = "split"},
                  {.trace = 4, .span = 5, .start_s = 0, .end_s = 1, .project = "src", .session = "split"},
                  {.trace = 5, .span = 6, .start_s = 100, .end_s = 101, .project = "dst"},
              });
  const int64_t src = ProjectId(*store, "src");
  const int64_t dst = ProjectId(*store, "dst");

  // Refusals change nothing.
  CHECK(store->TransferTraces({RowKey(TraceId(1)), RowKey(TraceId(66))}, dst).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(store->TransferTraces({RowKey(TraceId(1)), RowKey(TraceId(5))}, dst).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(store->TransferTraces({RowKey(TraceId(1))}, 123456).status().code() == absl::StatusCode::kNotFound);
  CHECK(FindTrace(*store, 1)->project_id == src);

  // Both traces of "whole" (one by row id, one twice): the session moves with them.
  auto moved = store->TransferTraces({RowKey(FindTrace(*store, 1)->id), RowKey(TraceId(2)), RowKey(TraceId(2))}, dst);
  INFO(moved.status().ToString());
  REQUIRE(moved.ok());
  CHECK(moved->transferred == 2);
  CHECK(FindTrace(*store, 1)->project_id == dst);
  CHECK(FindTrace(*store, 2)->project_id == dst);
  CHECK(FindSession(*store, "whole")->project_id == dst);
  std::vector<std::string> dst_spans;
  for (const SpanRecord& span : SpansOf(*store, dst)) {
    dst_spans.push_back(span.span_id);
    CHECK(span.project_id == dst);
  }
  std::sort(dst_spans.begin(), dst_spans.end());
  CHECK(dst_spans == std::vector<std::string>{SpanId(1), SpanId(2), SpanId(3), SpanId(6)});
  CHECK(SpansOf(*store, src).size() == 2);

  // One trace of "split": the session cannot be split and stays in the source with both traces.
  moved = store->TransferTraces({RowKey(TraceId(3))}, dst);
  REQUIRE(moved.ok());
  CHECK(FindTrace(*store, 3)->project_id == dst);
  SessionRecord split = *FindSession(*store, "split");
  CHECK(split.project_id == src);
  CHECK(split.trace_count == 2);

  // A later span of a moved trace follows its trace into the destination.
  Put(*store, {{.trace = 1, .span = 7, .parent = 1, .start_s = 3, .end_s = 4, .project = "src"}});
  CHECK(FindTrace(*store, 1)->span_count == 3);
  CHECK(SpansOf(*store, dst).size() == 6);

  // Deleting the destination project removes the moved trace of "split" there; the session in the
  // source keeps exact rollups.
  Ok(store->DeleteProject(dst));
  CHECK(!FindTrace(*store, 3).has_value());
  // The spans of its traces go with them, moved ones included.
  auto stored = store->StoredSpanIds({SpanId(1), SpanId(3), SpanId(6)});
  REQUIRE(stored.ok());
  CHECK(stored->empty());
  CHECK(!FindSession(*store, "whole").has_value());
  CHECK(FindSession(*store, "split")->trace_count == 1);
  CheckRollupsExact(*store, {1, 2, 3, 4, 5}, {"whole", "split"});
}

void MutationProjects(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  auto created = store->CreateProject("gone-soon", std::string("old"));
  REQUIRE(created.ok());
  const int64_t id = created->id;

  Ok(store->UpdateProjectDescription(id, std::string("new words")));
  auto project = store->GetProjectById(id);
  REQUIRE(project.ok());
  CHECK((*project)->description == std::optional<std::string>("new words"));
  CHECK((*project)->name == "gone-soon");
  Ok(store->UpdateProjectDescription(id, std::nullopt));
  CHECK(!(*store->GetProjectById(id))->description.has_value());
  CHECK(store->UpdateProjectDescription(99999, std::string("x")).code() == absl::StatusCode::kNotFound);

  CHECK(store->DeleteProject(ProjectId(*store, "default")).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(store->DeleteProject(99999).code() == absl::StatusCode::kNotFound);

  // Rename: the project keeps its id; taken names, "default" and empty names are refused.
  REQUIRE(store->CreateProject("taken", std::nullopt).ok());
  Ok(store->RenameProject(id, "renamed"));
  CHECK((*store->GetProjectById(id))->name == "renamed");
  CHECK(!(*store->GetProjectByName("gone-soon")).has_value());
  CHECK(store->RenameProject(id, "taken").code() == absl::StatusCode::kAlreadyExists);
  CHECK(store->RenameProject(ProjectId(*store, "default"), "x").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(store->RenameProject(id, "").code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->RenameProject(99999, "y").code() == absl::StatusCode::kNotFound);
  Ok(store->RenameProject(id, "renamed"));  // to its own name: no change
  Ok(store->RenameProject(id, "gone-soon"));
  CHECK((*store->GetProjectById(id))->name == "gone-soon");

  Put(*store, {
                  {.trace = 1, .span = 1, .start_s = 0, .end_s = 5, .project = "gone-soon", .session = "p"},
                  {.trace = 1, .span = 2, .parent = 1, .start_s = 1, .end_s = 2, .project = "gone-soon"},
                  {.trace = 2, .span = 3, .start_s = 0, .end_s = 1, .project = "default"},
              });
  Ok(store->DeleteProject(id));
  CHECK(!(*store->GetProjectById(id)).has_value());
  CHECK(!FindTrace(*store, 1).has_value());
  CHECK(!FindSession(*store, "p").has_value());
  CHECK(FindTrace(*store, 2).has_value());
  CHECK(store->DeleteProject(id).code() == absl::StatusCode::kNotFound);

  // A later span naming the deleted project creates it again.
  Put(*store, {{.trace = 1, .span = 2, .parent = 1, .start_s = 1, .end_s = 2, .project = "gone-soon"}});
  const int64_t again = ProjectId(*store, "gone-soon");
  CHECK(!(*store->GetProjectById(again))->description.has_value());
  CHECK(FindTrace(*store, 1)->project_id == again);
  CHECK(SpansOf(*store, again).size() == 1);
}

void MutationDeleteRacesWriter(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = Open(*harness);
  constexpr uint64_t kTraces = 12;
  constexpr uint64_t kRounds = 15;
  std::atomic<bool> failed{false};
  // The writer keeps adding spans to every trace; the deleter keeps deleting spans and traces.
  std::thread writer([&] {
    for (uint64_t round = 0; round < kRounds; ++round) {
      std::vector<Span> spans;
      for (uint64_t t = 1; t <= kTraces; ++t) {
        spans.push_back(Make({.trace = t,
                              .span = t * 1000 + round,
                              .parent = round == 0 ? 0 : t * 1000,
                              .start_s = static_cast<int64_t>(round),
                              .end_s = static_cast<int64_t>(round + 1),
                              .session = "race-" + std::to_string(t % 3),
                              .prompt = 1,
                              .completion = 2,
                              .error = round % 4 == 0,
                              .cost = 0.125}));
      }
      std::vector<const Span*> pointers;
      for (const Span& span : spans) pointers.push_back(&span);
      if (!store->WriteSpans(pointers).ok()) failed = true;
    }
  });
  std::thread deleter([&] {
    for (uint64_t round = 0; round < kRounds; ++round) {
      for (uint64_t t = 1; t <= kTraces; ++t) {
        absl::Status status = (t + round) % 5 == 0 ? store->DeleteTrace(RowKey(TraceId(t)))
                                                   : store->DeleteSpan(RowKey(SpanId(t * 1000 + round)));
        if (!status.ok() && status.code() != absl::StatusCode::kNotFound) failed = true;
      }
    }
  });
  writer.join();
  deleter.join();
  CHECK(!failed);
  std::vector<uint64_t> traces;
  for (uint64_t t = 1; t <= kTraces; ++t) traces.push_back(t);
  CheckRollupsExact(*store, traces, {"race-0", "race-1", "race-2"});
}

}  // namespace osprey::storetest
