#include "osprey/storetest/store_conformance.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace osprey::storetest {
namespace {

using model::v1::Span;
using store::Order;
using store::Page;
using store::SpanQuery;
using store::SpanRecord;
using store::Store;
using store::TraceQuery;
using store::TraceRecord;
using store::TraceSort;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond;

std::string Bytes(uint64_t value, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < 8 && i < size; ++i) bytes[size - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

std::string Hex(uint64_t value, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : Bytes(value, size)) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string TraceHex(uint64_t trace) { return Hex(trace, 16); }
std::string SpanHex(uint64_t span) { return Hex(span, 8); }

// Builds a span of trace `trace` with id `span`; times are seconds after kT0.
class SpanBuilder {
 public:
  SpanBuilder(uint64_t trace, uint64_t span) {
    span_.set_project_name("default");
    span_.set_trace_id(Bytes(trace, 16));
    span_.set_span_id(Bytes(span, 8));
    span_.set_name("span-" + std::to_string(span));
    span_.set_span_kind("CHAIN");
    span_.set_start_time_unix_nano(kT0);
    span_.set_end_time_unix_nano(kT0 + kSecond);
    span_.set_attributes_json("{}");
    span_.set_events_json("[]");
  }
  SpanBuilder& Parent(uint64_t parent) {
    span_.set_parent_span_id(Bytes(parent, 8));
    return *this;
  }
  SpanBuilder& Project(std::string name) {
    span_.set_project_name(std::move(name));
    return *this;
  }
  SpanBuilder& Name(std::string name) {
    span_.set_name(std::move(name));
    return *this;
  }
  SpanBuilder& Kind(std::string kind) {
    span_.set_span_kind(std::move(kind));
    return *this;
  }
  // Start and end in seconds after kT0.
  SpanBuilder& Times(int64_t start_s, int64_t end_s) {
    span_.set_start_time_unix_nano(kT0 + start_s * kSecond);
    span_.set_end_time_unix_nano(kT0 + end_s * kSecond);
    return *this;
  }
  SpanBuilder& Error(std::string message = "boom") {
    span_.set_status_code(model::v1::STATUS_CODE_ERROR);
    span_.set_status_message(std::move(message));
    return *this;
  }
  SpanBuilder& Ok() {
    span_.set_status_code(model::v1::STATUS_CODE_OK);
    return *this;
  }
  SpanBuilder& Tokens(int64_t prompt, int64_t completion, int64_t total = 0) {
    span_.set_llm_token_count_prompt(prompt);
    span_.set_llm_token_count_completion(completion);
    span_.set_llm_token_count_total(total);
    return *this;
  }
  // US dollars; the details document is what ingest would attach.
  SpanBuilder& Cost(double prompt, double completion) {
    span_.mutable_cost()->set_prompt(prompt);
    span_.mutable_cost()->set_completion(completion);
    span_.mutable_cost()->set_total(prompt + completion);
    span_.mutable_cost()->set_details_json(R"({"model":"m"})");
    return *this;
  }
  SpanBuilder& Model(std::string model) {
    span_.set_llm_model_name(std::move(model));
    return *this;
  }
  SpanBuilder& Session(std::string session) {
    span_.set_session_id(std::move(session));
    return *this;
  }
  SpanBuilder& Attributes(std::string json) {
    span_.set_attributes_json(std::move(json));
    return *this;
  }
  Span Build() const { return span_; }
  operator Span() const { return span_; }  // NOLINT: builder converts implicitly in span lists

 private:
  Span span_;
};

std::unique_ptr<Store> OpenMigrated(StoreHarness& harness) {
  auto store = harness.Open();
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  return std::move(*store);
}

absl::StatusOr<store::WriteResult> TryWrite(Store& store, const std::vector<Span>& spans) {
  std::vector<const Span*> pointers;
  for (const Span& span : spans) pointers.push_back(&span);
  return store.WriteSpans(pointers);
}

store::WriteResult Write(Store& store, const std::vector<Span>& spans) {
  auto result = TryWrite(store, spans);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *result;
}

int64_t DefaultProjectId(Store& store) {
  auto project = store.GetProjectByName("default");
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  return (*project)->id;
}

TraceRecord Trace(Store& store, uint64_t trace) {
  auto record = store.GetTraceByTraceId(TraceHex(trace));
  REQUIRE(record.ok());
  REQUIRE(record->has_value());
  return **record;
}

std::vector<SpanRecord> Spans(Store& store, SpanQuery query) {
  auto page = store.ListSpans(query);
  INFO(page.status().ToString());
  REQUIRE(page.ok());
  return page->items;
}

// The span ids (as numbers) a query returns, in order.
std::vector<uint64_t> SpanNumbers(Store& store, SpanQuery query) {
  std::vector<uint64_t> numbers;
  for (const SpanRecord& span : Spans(store, query)) numbers.push_back(std::stoull(span.span_id, nullptr, 16));
  return numbers;
}

std::vector<uint64_t> Sorted(std::vector<uint64_t> values) {
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<uint64_t> TraceNumbers(const std::vector<TraceRecord>& traces) {
  std::vector<uint64_t> numbers;
  for (const TraceRecord& trace : traces) numbers.push_back(std::stoull(trace.trace_id.substr(16), nullptr, 16));
  return numbers;
}

// Walks every page of ListTraces; checks that each page has at most `query.limit` items.
std::vector<uint64_t> AllTracePages(Store& store, TraceQuery query) {
  std::vector<uint64_t> numbers;
  for (int guard = 0; guard < 1000; ++guard) {
    auto page = store.ListTraces(query);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    REQUIRE(static_cast<int>(page->items.size()) <= query.limit);
    for (uint64_t n : TraceNumbers(page->items)) numbers.push_back(n);
    if (!page->next_cursor) return numbers;
    query.cursor_id = page->next_cursor;
  }
  FAIL("pagination did not terminate");
  return numbers;
}

}  // namespace

// SQLite finds a span id by probing one index bucket per 256 traces (migration 0006); spans of the
// first, a middle and the last of 700 traces are found, deleted and refused as duplicates alike.
void SpansBySpanIdAmongManyTraces(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  std::vector<Span> batch;
  for (uint64_t trace = 1; trace <= 700; ++trace) {
    batch.push_back(SpanBuilder(trace, trace * 10));
    batch.push_back(SpanBuilder(trace, trace * 10 + 1).Parent(trace * 10).Times(1, 2));
  }
  CHECK(Write(*store, batch).inserted == 1400);

  SpanQuery query;
  query.project_id = DefaultProjectId(*store);
  query.span_ids = {SpanHex(11), SpanHex(3500), SpanHex(7001)};
  std::set<std::string> found;
  for (const SpanRecord& span : Spans(*store, query)) found.insert(span.span_id);
  CHECK(found == std::set<std::string>{SpanHex(11), SpanHex(3500), SpanHex(7001)});

  auto stored = store->StoredSpanIds({SpanHex(7001), SpanHex(7002), SpanHex(3500)});
  REQUIRE(stored.ok());
  CHECK(std::set<std::string>(stored->begin(), stored->end()) == std::set<std::string>{SpanHex(7001), SpanHex(3500)});

  CHECK(store->DeleteSpan(store::RowKey(SpanHex(3501))).ok());
  query.span_ids = {SpanHex(3501)};
  CHECK(Spans(*store, query).empty());
  CHECK(Trace(*store, 350).span_count == 1);

  // Redelivering the whole batch stores nothing new (the deleted span comes back, once).
  store::WriteResult again = Write(*store, batch);
  CHECK(again.inserted == 1);
  CHECK(again.duplicates == 1399);
}

void IdempotentWrite(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  std::vector<Span> batch = {
      SpanBuilder(1, 1).Times(0, 10).Tokens(10, 5).Kind("LLM"),
      SpanBuilder(1, 2).Parent(1).Times(1, 2).Error(),
      SpanBuilder(1, 3).Parent(1).Times(3, 4).Tokens(1, 1),
  };
  store::WriteResult first = Write(*store, batch);
  CHECK(first.inserted == 3);
  CHECK(first.duplicates == 0);

  store::WriteResult again = Write(*store, batch);
  CHECK(again.inserted == 0);
  CHECK(again.duplicates == 3);

  // A span repeated inside one call is stored once too.
  store::WriteResult inner = Write(*store, {SpanBuilder(2, 10), SpanBuilder(2, 10)});
  CHECK(inner.inserted == 1);
  CHECK(inner.duplicates == 1);

  SpanQuery query;
  query.project_id = DefaultProjectId(*store);
  CHECK(Spans(*store, query).size() == 4);
  TraceRecord trace = Trace(*store, 1);
  CHECK(trace.span_count == 3);
  CHECK(trace.error_count == 1);
  CHECK(trace.token_count_prompt == 11);
  CHECK(trace.token_count_completion == 6);
  CHECK(trace.token_count_total == 17);
  CHECK(Trace(*store, 2).span_count == 1);
}

void RollupsChildrenBeforeParents(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  // Children first: the trace exists without a root.
  Write(*store, {SpanBuilder(7, 2).Parent(1).Times(5, 6).Tokens(3, 4), SpanBuilder(7, 3).Parent(2).Times(5, 8)});
  TraceRecord partial = Trace(*store, 7);
  CHECK(partial.root_span_id.empty());
  CHECK(partial.span_count == 2);
  CHECK(partial.start_time_ns == kT0 + 5 * kSecond);
  CHECK(partial.end_time_ns == kT0 + 8 * kSecond);

  // The root arrives in a later batch, together with a resent child.
  Write(*store, {SpanBuilder(7, 1).Name("root").Times(0, 20).Error(), SpanBuilder(7, 2).Parent(1).Times(5, 6)});
  TraceRecord full = Trace(*store, 7);
  CHECK(full.root_span_id == SpanHex(1));
  CHECK(full.root_span_name == "root");
  CHECK(full.span_count == 3);
  CHECK(full.error_count == 1);
  CHECK(full.token_count_prompt == 3);
  CHECK(full.token_count_completion == 4);
  CHECK(full.token_count_total == 7);
  CHECK(full.start_time_ns == kT0);
  CHECK(full.end_time_ns == kT0 + 20 * kSecond);

  // Same shape, opposite arrival order (span ids are global, so trace 8 has its own): same rollup.
  Write(*store, {SpanBuilder(8, 11).Name("root").Times(0, 20).Error()});
  Write(*store, {SpanBuilder(8, 13).Parent(12).Times(5, 8), SpanBuilder(8, 12).Parent(11).Times(5, 6).Tokens(3, 4)});
  TraceRecord reversed = Trace(*store, 8);
  CHECK(reversed.root_span_id == SpanHex(11));
  CHECK(reversed.root_span_name == "root");
  CHECK(reversed.span_count == full.span_count);
  CHECK(reversed.error_count == full.error_count);
  CHECK(reversed.token_count_total == full.token_count_total);
  CHECK(reversed.start_time_ns == full.start_time_ns);
  CHECK(reversed.end_time_ns == full.end_time_ns);
}

void TokenTotalsAndErrors(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Write(*store, {
                    SpanBuilder(3, 1).Kind("LLM").Tokens(100, 20),             // total = prompt + completion
                    SpanBuilder(3, 2).Parent(1).Kind("LLM").Tokens(5, 5, 12),  // explicit total kept
                    SpanBuilder(3, 3).Parent(1).Error("a"),
                    SpanBuilder(3, 4).Parent(1).Error("b"),
                    SpanBuilder(3, 5).Parent(1).Ok(),
                });
  TraceRecord trace = Trace(*store, 3);
  CHECK(trace.error_count == 2);
  CHECK(trace.token_count_prompt == 105);
  CHECK(trace.token_count_completion == 25);
  CHECK(trace.token_count_total == 132);

  SpanQuery query;
  query.project_id = DefaultProjectId(*store);
  query.span_ids = {SpanHex(1)};
  auto spans = Spans(*store, query);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].llm_token_count_prompt == 100);
  CHECK(spans[0].llm_token_count_completion == 20);
  CHECK(spans[0].llm_token_count_total == 120);
  query.span_ids = {SpanHex(3)};
  spans = Spans(*store, query);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].status_code == "ERROR");
  CHECK(spans[0].status_message == "a");
}

void CostsRollUp(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Write(*store, {SpanBuilder(4, 1).Kind("LLM").Tokens(10, 5).Cost(0.25, 0.5).Session("costly"),
                 SpanBuilder(4, 2).Parent(1).Kind("LLM").Tokens(1, 1).Cost(0.125, 0.0625),
                 SpanBuilder(4, 3).Parent(1)});  // no cost: not counted
  // A resent span does not count twice; a second trace of the session adds its own cost.
  Write(*store, {SpanBuilder(4, 2).Parent(1).Kind("LLM").Tokens(1, 1).Cost(0.125, 0.0625)});
  Write(*store, {SpanBuilder(5, 9).Kind("LLM").Cost(1.0, 2.0).Session("costly")});

  CHECK(Trace(*store, 4).cost_total == Approx(0.9375));
  CHECK(Trace(*store, 5).cost_total == Approx(3.0));
  auto session = store->GetSessionBySessionId("costly");
  REQUIRE(session.ok());
  REQUIRE(session->has_value());
  CHECK((*session)->cost_total == Approx(3.9375));

  SpanQuery query;
  query.project_id = DefaultProjectId(*store);
  query.trace_ids = {TraceHex(4)};
  auto spans = Spans(*store, query);
  REQUIRE(spans.size() == 3);
  for (const SpanRecord& span : spans) {
    if (span.span_id == SpanHex(1)) {
      CHECK(*span.cost_prompt == Approx(0.25));
      CHECK(*span.cost_completion == Approx(0.5));
      CHECK(*span.cost_total == Approx(0.75));
      CHECK(span.cost_details_json == R"({"model":"m"})");
    } else if (span.span_id == SpanHex(3)) {
      CHECK_FALSE(span.cost_total.has_value());
      CHECK(span.cost_details_json.empty());
    }
  }
}

void Sessions(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  // Trace 1: its first span has no session id; the session arrives with a later span, and the
  // whole trace (tokens of earlier spans included) joins.
  Write(*store, {SpanBuilder(1, 1).Times(10, 30).Tokens(7, 3)});
  Write(*store, {SpanBuilder(1, 2).Parent(1).Times(11, 12).Session("chat-1").Tokens(1, 1)});
  // Trace 2 joins the same session from another batch; a resent span must not count again.
  Write(*store, {SpanBuilder(2, 5).Times(0, 40).Session("chat-1").Tokens(2, 0)});
  Write(*store, {SpanBuilder(2, 5).Times(0, 40).Session("chat-1").Tokens(2, 0)});
  // A later span of trace 2 naming another session does not move the trace.
  Write(*store, {SpanBuilder(2, 6).Parent(5).Times(1, 2).Session("chat-2").Tokens(0, 4)});

  auto session = store->GetSessionBySessionId("chat-1");
  REQUIRE(session.ok());
  REQUIRE(session->has_value());
  const store::SessionRecord& s = **session;
  CHECK(s.trace_count == 2);
  CHECK(s.token_count_prompt == 10);
  CHECK(s.token_count_completion == 8);
  CHECK(s.token_count_total == 18);
  CHECK(s.start_time_ns == kT0);
  CHECK(s.end_time_ns == kT0 + 40 * kSecond);
  CHECK(s.project_id == DefaultProjectId(*store));
  CHECK(Trace(*store, 1).session_rowid == s.id);
  CHECK(Trace(*store, 2).session_rowid == s.id);

  auto by_id = store->GetSessionById(s.id);
  REQUIRE(by_id.ok());
  REQUIRE(by_id->has_value());
  CHECK((*by_id)->session_id == "chat-1");

  auto traces = store->TracesOfSession(s.id);
  REQUIRE(traces.ok());
  CHECK(TraceNumbers(*traces) == std::vector<uint64_t>{2, 1});  // by start time

  auto unknown = store->GetSessionBySessionId("nope");
  REQUIRE(unknown.ok());
  CHECK(!unknown->has_value());
  auto other = store->GetSessionBySessionId("chat-2");
  REQUIRE(other.ok());
  CHECK(!other->has_value());

  // One batch of new traces: two start session chat-3 (new), one joins chat-1 (stored). Each trace
  // counts once in its session, with every span's tokens, and holds its own rollups.
  Write(*store, {SpanBuilder(3, 7).Times(50, 60).Session("chat-3").Tokens(1, 2),
                 SpanBuilder(3, 8).Parent(7).Times(51, 52).Session("chat-3").Tokens(3, 4).Error(),
                 SpanBuilder(4, 9).Times(55, 70).Session("chat-3").Tokens(5, 0),
                 SpanBuilder(5, 10).Times(45, 46).Session("chat-1").Tokens(0, 1)});
  auto chat3 = store->GetSessionBySessionId("chat-3");
  REQUIRE(chat3.ok());
  REQUIRE(chat3->has_value());
  CHECK((*chat3)->trace_count == 2);
  CHECK((*chat3)->token_count_prompt == 9);
  CHECK((*chat3)->token_count_completion == 6);
  CHECK((*chat3)->start_time_ns == kT0 + 50 * kSecond);
  CHECK((*chat3)->end_time_ns == kT0 + 70 * kSecond);
  auto chat1 = store->GetSessionBySessionId("chat-1");
  REQUIRE(chat1.ok());
  REQUIRE(chat1->has_value());
  CHECK((*chat1)->trace_count == 3);
  CHECK((*chat1)->token_count_total == 19);
  CHECK((*chat1)->end_time_ns == kT0 + 46 * kSecond);
  const TraceRecord t3 = Trace(*store, 3);
  CHECK(t3.session_rowid == (*chat3)->id);
  CHECK(t3.span_count == 2);
  CHECK(t3.error_count == 1);
  CHECK(t3.token_count_total == 10);
  CHECK(t3.root_span_id == SpanHex(7));
  CHECK(t3.start_time_ns == kT0 + 50 * kSecond);
  CHECK(t3.end_time_ns == kT0 + 60 * kSecond);
  CHECK(Trace(*store, 5).session_rowid == s.id);
}

void ProjectAutoCreateAndTraceKeepsProject(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  auto missing = store->GetProjectByName("alpha");
  REQUIRE(missing.ok());
  CHECK(!missing->has_value());

  Write(*store, {SpanBuilder(1, 1).Project("alpha").Times(0, 1)});
  auto alpha = store->GetProjectByName("alpha");
  REQUIRE(alpha.ok());
  REQUIRE(alpha->has_value());
  CHECK((*alpha)->last_span_at_ns == kT0);

  // A later span of the same trace naming another project stays in the trace's project.
  Write(*store, {SpanBuilder(1, 2).Parent(1).Project("beta").Times(5, 6)});
  TraceRecord trace = Trace(*store, 1);
  CHECK(trace.project_id == (*alpha)->id);
  CHECK(trace.span_count == 2);
  SpanQuery query;
  query.project_id = (*alpha)->id;
  CHECK(Sorted(SpanNumbers(*store, query)) == std::vector<uint64_t>{1, 2});

  // An empty project name means the default project.
  Write(*store, {SpanBuilder(2, 3).Project("")});
  CHECK(Trace(*store, 2).project_id == DefaultProjectId(*store));

  auto alpha_after = store->GetProjectByName("alpha");
  REQUIRE(alpha_after.ok());
  CHECK((*alpha_after)->last_span_at_ns == kT0 + 5 * kSecond);
}

void InvalidBatchStoresNothing(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Span bad_id = SpanBuilder(1, 2);
  bad_id.set_span_id("abc");
  Span zero_trace = SpanBuilder(1, 3);
  zero_trace.set_trace_id(std::string(16, '\0'));
  Span bad_json = SpanBuilder(1, 4).Attributes("{\"a\": ");
  Span not_object = SpanBuilder(1, 5).Attributes("[1, 2]");
  Span deep = SpanBuilder(1, 6).Attributes(std::string(5000, '[') + std::string(5000, ']'));
  Span bad_events = SpanBuilder(1, 7);
  bad_events.set_events_json("{}");
  Span trailing = SpanBuilder(1, 9).Attributes(std::string("{}\0{}", 5));
  Span bad_parent = SpanBuilder(1, 10);
  bad_parent.set_parent_span_id("xyz");

  for (const Span& bad : {bad_id, zero_trace, bad_json, not_object, deep, bad_events, trailing, bad_parent}) {
    auto result = TryWrite(*store, {SpanBuilder(1, 1), bad});
    INFO(result.status().ToString());
    CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  }
  auto null_result = store->WriteSpans({nullptr});
  CHECK(null_result.status().code() == absl::StatusCode::kInvalidArgument);

  SpanQuery query;
  query.project_id = DefaultProjectId(*store);
  CHECK(Spans(*store, query).empty());
  auto trace = store->GetTraceByTraceId(TraceHex(1));
  REQUIRE(trace.ok());
  CHECK(!trace->has_value());

  // Empty JSON fields are stored as the empty document.
  Span empty = SpanBuilder(1, 8);
  empty.clear_attributes_json();
  empty.clear_events_json();
  Write(*store, {empty});
  auto spans = Spans(*store, query);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].attributes_json == "{}");
  CHECK(spans[0].events_json == "[]");
}

void ListSpansFilters(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Write(*store, {
                    SpanBuilder(1, 1).Name("agent").Kind("AGENT").Times(0, 10).Ok(),
                    SpanBuilder(1, 2).Parent(1).Name("llm").Kind("LLM").Times(1, 2).Error(),
                    SpanBuilder(1, 3).Parent(1).Name("tool").Kind("TOOL").Times(3, 4),
                    SpanBuilder(2, 4).Name("agent").Kind("AGENT").Times(20, 30),
                    SpanBuilder(2, 5).Parent(4).Name("llm").Kind("LLM").Times(21, 22).Ok(),
                    SpanBuilder(3, 6).Project("other").Name("agent").Kind("AGENT").Times(0, 1),
                });
  SpanQuery base;
  base.project_id = DefaultProjectId(*store);
  CHECK(SpanNumbers(*store, base) == std::vector<uint64_t>{5, 4, 3, 2, 1});  // id DESC, own project only

  SpanQuery q = base;
  q.start_time_ns = kT0 + 1 * kSecond;  // inclusive
  q.end_time_ns = kT0 + 21 * kSecond;   // exclusive
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{2, 3, 4});

  q = base;
  q.trace_ids = {TraceHex(2), TraceHex(99)};
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{4, 5});
  std::string upper = TraceHex(1);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  q.trace_ids = {upper};  // hex is case-insensitive
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{1, 2, 3});

  q = base;
  q.span_ids = {SpanHex(2), SpanHex(5), SpanHex(6)};  // span 6 is in another project
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{2, 5});

  q = base;
  q.parent_id = "";
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{1, 4});
  q.parent_id = SpanHex(1);
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{2, 3});

  q = base;
  q.names = {"llm", "tool"};
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{2, 3, 5});

  q = base;
  q.span_kinds = {"AGENT"};
  CHECK(SpanNumbers(*store, q) == std::vector<uint64_t>{4, 1});
  q.span_kinds = {"LLM", "TOOL"};  // several kinds: one statement shape; one kind: another
  CHECK(SpanNumbers(*store, q) == std::vector<uint64_t>{5, 3, 2});

  q = base;
  q.status_codes = {"OK", "ERROR"};
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{1, 2, 5});
  q.status_codes = {"UNSET"};
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{3, 4});

  // Filters combine with AND.
  q = base;
  q.names = {"llm"};
  q.status_codes = {"OK"};
  CHECK(SpanNumbers(*store, q) == std::vector<uint64_t>{5});

  // The record carries what was written.
  q = base;
  q.span_ids = {SpanHex(2)};
  auto spans = Spans(*store, q);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].trace_id == TraceHex(1));
  CHECK(spans[0].parent_id == SpanHex(1));
  CHECK(spans[0].name == "llm");
  CHECK(spans[0].span_kind == "LLM");
  CHECK(spans[0].start_time_ns == kT0 + kSecond);
  CHECK(spans[0].end_time_ns == kT0 + 2 * kSecond);
  CHECK(spans[0].project_id == base.project_id);
  CHECK(spans[0].trace_rowid == Trace(*store, 1).id);

  q = base;
  q.limit = 0;
  CHECK(store->ListSpans(q).status().code() == absl::StatusCode::kInvalidArgument);
}

void ListSpansAttributeFilters(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Write(*store, {
                    // As ingest writes them: a string llm.model_name is also lifted into its column.
                    SpanBuilder(1, 1)
                        .Attributes(R"({"llm": {"model_name": "gpt-4o", "temp": 0.5}, "n": 12})")
                        .Model("gpt-4o"),
                    SpanBuilder(1, 2)
                        .Attributes(R"({"llm": {"model_name": "claude"}, "n": 12.0, "flag": true})")
                        .Model("claude"),
                    SpanBuilder(1, 5).Attributes(R"({"llm": {"model_name": 7}})"),  // not a string: not lifted
                    SpanBuilder(1, 3).Attributes(R"({"n": "12", "flag": false, "a\"b": 1, "x": 1, "back\\slash": 1})"),
                    SpanBuilder(1, 4).Attributes(R"({"flag": 1, "n": 13, "llm": {"temp": "0.5"}})"),
                });
  SpanQuery base;
  base.project_id = DefaultProjectId(*store);
  auto match = [&](std::vector<std::string> path, std::variant<bool, int64_t, double, std::string> value) {
    SpanQuery q = base;
    q.attributes.push_back({std::move(path), std::move(value)});
    return Sorted(SpanNumbers(*store, q));
  };
  using V = std::vector<uint64_t>;
  CHECK(match({"llm", "model_name"}, std::string("gpt-4o")) == V{1});
  CHECK(match({"llm", "model_name"}, std::string("GPT-4O")) == V{});
  CHECK(match({"llm", "model_name"}, int64_t{7}) == V{5});
  CHECK(match({"llm", "model_name"}, std::string("7")) == V{});
  // An int matches a stored int or a float of equal value, never a string or a bool.
  CHECK(match({"n"}, int64_t{12}) == V{1, 2});
  CHECK(match({"flag"}, int64_t{1}) == V{4});
  // A bool matches only a JSON bool.
  CHECK(match({"flag"}, true) == V{2});
  CHECK(match({"flag"}, false) == V{3});
  // A double matches the stored number, a string only a stored string.
  CHECK(match({"llm", "temp"}, 0.5) == V{1});
  CHECK(match({"llm", "temp"}, std::string("0.5")) == V{4});
  CHECK(match({"n"}, std::string("12")) == V{3});
  CHECK(match({"n"}, 12.0) == V{1, 2});
  CHECK(match({"missing"}, std::string("x")) == V{});
  CHECK(match({"llm"}, std::string("gpt-4o")) == V{});  // an object is not a string

  CHECK(match({"back\\slash"}, int64_t{1}) == V{3});  // a key with a backslash is addressable

  // Several filters AND together.
  {
    SpanQuery q = base;
    q.attributes.push_back({{"n"}, int64_t{12}});
    q.attributes.push_back({{"flag"}, true});
    CHECK(SpanNumbers(*store, q) == V{2});
  }

  // Hostile keys are data, never SQL or JSON path syntax: they simply match nothing.
  CHECK(match({"a\"b"}, int64_t{1}) == V{});
  CHECK(match({"') OR 1=1 --"}, int64_t{1}) == V{});
  CHECK(match({"x') OR 1=1 --"}, std::string("' OR '1'='1")) == V{});
  CHECK(match({"x\" OR 1=1 --"}, int64_t{1}) == V{});
  CHECK(match({"$"}, int64_t{1}) == V{});
  CHECK(match({"x", "*"}, int64_t{1}) == V{});
  CHECK(match({"x[0]"}, int64_t{1}) == V{});
  // The store and its data are intact afterwards.
  CHECK(SpanNumbers(*store, base).size() == 5);

  SpanQuery empty_key = base;
  empty_key.attributes.push_back({{}, int64_t{1}});
  CHECK(store->ListSpans(empty_key).status().code() == absl::StatusCode::kInvalidArgument);
}

void ListSpansPagination(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  std::vector<Span> batch;
  for (uint64_t i = 1; i <= 23; ++i) batch.push_back(SpanBuilder(1 + i % 3, i).Kind(i % 2 ? "LLM" : "TOOL"));
  Write(*store, batch);

  for (bool filtered : {false, true}) {
    SpanQuery q;
    q.project_id = DefaultProjectId(*store);
    q.limit = 5;
    if (filtered) q.span_kinds = {"LLM"};
    std::vector<int64_t> row_ids;
    std::set<std::string> span_ids;
    for (int guard = 0; guard < 100; ++guard) {
      auto page = store->ListSpans(q);
      REQUIRE(page.ok());
      REQUIRE(page->items.size() <= 5);
      for (const SpanRecord& span : page->items) {
        row_ids.push_back(span.id);
        span_ids.insert(span.span_id);
      }
      if (!page->next_cursor) break;
      CHECK(page->items.size() == 5);
      q.cursor_id = page->next_cursor;
    }
    const size_t expected = filtered ? 12 : 23;
    CHECK(row_ids.size() == expected);
    CHECK(span_ids.size() == expected);  // every row exactly once
    CHECK(std::is_sorted(row_ids.begin(), row_ids.end(), std::greater<>()));
    CHECK(std::adjacent_find(row_ids.begin(), row_ids.end()) == row_ids.end());
  }
}

void TraceLookupsAndSpansOfTraces(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Write(*store, {SpanBuilder(1, 1).Times(0, 9), SpanBuilder(1, 2).Parent(1).Times(5, 6),
                 SpanBuilder(1, 3).Parent(1).Times(2, 3), SpanBuilder(2, 4).Times(1, 2), SpanBuilder(3, 5)});
  TraceRecord one = Trace(*store, 1);
  TraceRecord two = Trace(*store, 2);
  auto by_id = store->GetTraceById(one.id);
  REQUIRE(by_id.ok());
  REQUIRE(by_id->has_value());
  CHECK((*by_id)->trace_id == TraceHex(1));
  CHECK((*by_id)->span_count == 3);
  auto missing = store->GetTraceById(one.id + 1000);
  REQUIRE(missing.ok());
  CHECK(!missing->has_value());

  auto spans = store->SpansOfTraces({one.id, two.id});
  REQUIRE(spans.ok());
  std::vector<std::string> ids;
  for (const SpanRecord& span : *spans) ids.push_back(span.span_id);
  CHECK(ids == std::vector<std::string>{SpanHex(1), SpanHex(4), SpanHex(3), SpanHex(2)});  // by start time
  auto none = store->SpansOfTraces({});
  REQUIRE(none.ok());
  CHECK(none->empty());
}

void ListTracesSortOrderWindowSessions(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  // trace n: start, latency
  //   1: 10, 5    2: 20, 1    3: 30, 9    4: 40, 3 (session s1)    5: 50, 7 (session s2)
  Write(*store, {SpanBuilder(1, 1).Times(10, 15), SpanBuilder(2, 2).Times(20, 21), SpanBuilder(3, 3).Times(30, 39),
                 SpanBuilder(4, 4).Times(40, 43).Session("s1"), SpanBuilder(5, 5).Times(50, 57).Session("s2")});
  TraceQuery base;
  base.project_id = DefaultProjectId(*store);
  auto list = [&](TraceQuery q) {
    auto page = store->ListTraces(q);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    return TraceNumbers(page->items);
  };
  using V = std::vector<uint64_t>;
  CHECK(list(base) == V{5, 4, 3, 2, 1});
  TraceQuery q = base;
  q.order = Order::kAsc;
  CHECK(list(q) == V{1, 2, 3, 4, 5});
  q.sort = TraceSort::kLatency;
  CHECK(list(q) == V{2, 4, 1, 5, 3});
  q.order = Order::kDesc;
  CHECK(list(q) == V{3, 5, 1, 4, 2});

  q = base;
  q.start_time_ns = kT0 + 20 * kSecond;  // inclusive
  q.end_time_ns = kT0 + 40 * kSecond;    // exclusive
  CHECK(list(q) == V{3, 2});

  auto s1 = store->GetSessionBySessionId("s1");
  auto s2 = store->GetSessionBySessionId("s2");
  REQUIRE(s1.ok());
  REQUIRE(s2.ok());
  REQUIRE(s1->has_value());
  REQUIRE(s2->has_value());
  q = base;
  q.session_rowids = {(*s1)->id};
  q.require_session = true;
  CHECK(list(q) == V{4});
  q.session_rowids = {(*s1)->id, (*s2)->id};
  CHECK(list(q) == V{5, 4});
  q.session_rowids = {};
  CHECK(list(q) == V{});  // sessions were asked for and none resolved

  q = base;
  q.limit = 0;
  CHECK(store->ListTraces(q).status().code() == absl::StatusCode::kInvalidArgument);
  q = base;
  q.cursor_id = Trace(*store, 5).id + 1000;  // no such trace
  CHECK(store->ListTraces(q).status().code() == absl::StatusCode::kInvalidArgument);
}

void ListTracesPagination(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  // 17 traces with many ties in start time and in latency, written in scrambled order.
  std::vector<Span> batch;
  for (uint64_t n = 1; n <= 17; ++n) {
    uint64_t scrambled = (n * 7) % 17 + 1;
    int64_t start = static_cast<int64_t>(scrambled % 4);
    int64_t latency = static_cast<int64_t>(scrambled % 3);
    batch.push_back(SpanBuilder(scrambled, scrambled).Times(start, start + latency));
  }
  Write(*store, batch);

  TraceQuery everything;
  everything.project_id = DefaultProjectId(*store);
  everything.limit = 1000;
  for (TraceSort sort : {TraceSort::kStartTime, TraceSort::kLatency}) {
    for (Order order : {Order::kDesc, Order::kAsc}) {
      TraceQuery q = everything;
      q.sort = sort;
      q.order = order;
      auto all = store->ListTraces(q);
      REQUIRE(all.ok());
      REQUIRE(all->items.size() == 17);
      CHECK(!all->next_cursor);
      // The single page is ordered by (key, id) in the requested direction.
      auto key = [sort](const TraceRecord& t) {
        return std::make_pair(sort == TraceSort::kLatency ? t.end_time_ns - t.start_time_ns : t.start_time_ns, t.id);
      };
      for (size_t i = 1; i < all->items.size(); ++i) {
        if (order == Order::kDesc) {
          CHECK(key(all->items[i - 1]) > key(all->items[i]));
        } else {
          CHECK(key(all->items[i - 1]) < key(all->items[i]));
        }
      }
      for (int limit : {1, 4, 5, 17}) {
        q.limit = limit;
        CHECK(AllTracePages(*store, q) == TraceNumbers(all->items));
      }
    }
  }
  // A window and pagination together.
  TraceQuery windowed = everything;
  windowed.start_time_ns = kT0 + kSecond;
  windowed.end_time_ns = kT0 + 3 * kSecond;
  auto all = store->ListTraces(windowed);
  REQUIRE(all.ok());
  windowed.limit = 2;
  CHECK(AllTracePages(*store, windowed) == TraceNumbers(all->items));
  for (const TraceRecord& t : all->items) {
    CHECK(t.start_time_ns >= kT0 + kSecond);
    CHECK(t.start_time_ns < kT0 + 3 * kSecond);
  }
}

void Projects(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  auto created = store->CreateProject("Alpha_Team", std::string("first"));
  REQUIRE(created.ok());
  CHECK(created->name == "Alpha_Team");
  CHECK(created->description == std::optional<std::string>("first"));
  CHECK(created->id > 0);
  CHECK(store->CreateProject("Alpha_Team", std::nullopt).status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(store->CreateProject("", std::nullopt).status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(store->CreateProject("alphaXteam", std::nullopt).ok());
  REQUIRE(store->CreateProject("100% real", std::nullopt).ok());
  REQUIRE(store->CreateProject("100 real", std::nullopt).ok());

  auto by_id = store->GetProjectById(created->id);
  REQUIRE(by_id.ok());
  REQUIRE(by_id->has_value());
  CHECK((*by_id)->name == "Alpha_Team");
  CHECK((*by_id)->description == std::optional<std::string>("first"));
  auto by_name = store->GetProjectByName("alphaXteam");
  REQUIRE(by_name.ok());
  REQUIRE(by_name->has_value());
  CHECK(!(*by_name)->description.has_value());

  auto names = [&](store::ProjectQuery q) {
    auto page = store->ListProjects(q);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    std::vector<std::string> out;
    for (const auto& p : page->items) out.push_back(p.name);
    return out;
  };
  using N = std::vector<std::string>;
  store::ProjectQuery q;
  CHECK(names(q) == N{"100 real", "100% real", "alphaXteam", "Alpha_Team", "default"});  // id DESC
  q.name_contains = "ALPHA";
  CHECK(names(q) == N{"alphaXteam", "Alpha_Team"});  // case-insensitive
  q.name_contains = "a_t";
  CHECK(names(q) == N{"Alpha_Team"});  // '_' is literal
  q.name_contains = "0%";
  CHECK(names(q) == N{"100% real"});  // '%' is literal
  q.name_contains = "\\";
  CHECK(names(q) == N{});

  q = {};
  q.limit = 2;
  N walked;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = store->ListProjects(q);
    REQUIRE(page.ok());
    for (const auto& p : page->items) walked.push_back(p.name);
    if (!page->next_cursor) break;
    q.cursor_id = page->next_cursor;
  }
  CHECK(walked == N{"100 real", "100% real", "alphaXteam", "Alpha_Team", "default"});
}

void ListSessionsPagination(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  std::vector<Span> batch;
  for (uint64_t n = 1; n <= 7; ++n) batch.push_back(SpanBuilder(n, n).Session("session-" + std::to_string(n)));
  batch.push_back(SpanBuilder(50, 50).Project("elsewhere").Session("foreign"));
  Write(*store, batch);

  for (Order order : {Order::kAsc, Order::kDesc}) {
    store::SessionQuery all;
    all.project_id = DefaultProjectId(*store);
    all.order = order;
    auto everything = store->ListSessions(all);
    REQUIRE(everything.ok());
    REQUIRE(everything->items.size() == 7);
    std::vector<int64_t> expected;
    for (const auto& s : everything->items) expected.push_back(s.id);
    if (order == Order::kAsc) {
      CHECK(std::is_sorted(expected.begin(), expected.end()));
    } else {
      CHECK(std::is_sorted(expected.begin(), expected.end(), std::greater<>()));
    }
    store::SessionQuery q = all;
    q.limit = 3;
    std::vector<int64_t> walked;
    for (int guard = 0; guard < 10; ++guard) {
      auto page = store->ListSessions(q);
      REQUIRE(page.ok());
      for (const auto& s : page->items) walked.push_back(s.id);
      if (!page->next_cursor) break;
      q.cursor_id = page->next_cursor;
    }
    CHECK(walked == expected);
  }
}

void PingAndClose(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  CHECK(store->Ping().ok());
  const int64_t project = DefaultProjectId(*store);
  store->Close();
  store->Close();  // idempotent
  const auto closed = absl::StatusCode::kFailedPrecondition;
  CHECK(store->Ping().code() == closed);
  CHECK(store->Migrate().code() == closed);
  CHECK(TryWrite(*store, {SpanBuilder(1, 1)}).status().code() == closed);
  SpanQuery spans;
  spans.project_id = project;
  CHECK(store->ListSpans(spans).status().code() == closed);
  TraceQuery traces;
  traces.project_id = project;
  CHECK(store->ListTraces(traces).status().code() == closed);
  CHECK(store->SpansOfTraces({1}).status().code() == closed);
  CHECK(store->GetTraceById(1).status().code() == closed);
  CHECK(store->GetTraceByTraceId(TraceHex(1)).status().code() == closed);
  CHECK(store->ListSessions({}).status().code() == closed);
  CHECK(store->GetSessionById(1).status().code() == closed);
  CHECK(store->GetSessionBySessionId("s").status().code() == closed);
  CHECK(store->TracesOfSession(1).status().code() == closed);
  CHECK(store->ListProjects({}).status().code() == closed);
  CHECK(store->GetProjectById(1).status().code() == closed);
  CHECK(store->GetProjectByName("default").status().code() == closed);
  CHECK(store->CreateProject("p", std::nullopt).status().code() == closed);
}

void MigrateTwiceIsNoOp(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  Write(*store, {SpanBuilder(1, 1)});
  REQUIRE(store->Migrate().ok());
  REQUIRE(store->Migrate().ok());
  auto projects = store->ListProjects({});
  REQUIRE(projects.ok());
  REQUIRE(projects->items.size() == 1);  // the seed ran once
  CHECK(projects->items[0].name == "default");
  CHECK(Trace(*store, 1).span_count == 1);
}

void DurableAcrossReopen(const HarnessFactory& factory) {
  auto harness = factory();
  {
    auto store = OpenMigrated(*harness);
    Write(*store, {SpanBuilder(1, 1).Project("kept").Session("s").Tokens(2, 3), SpanBuilder(1, 2).Parent(1)});
    store->Close();
  }
  auto store = OpenMigrated(*harness);
  TraceRecord trace = Trace(*store, 1);
  CHECK(trace.span_count == 2);
  CHECK(trace.token_count_total == 5);
  auto project = store->GetProjectByName("kept");
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  SpanQuery q;
  q.project_id = (*project)->id;
  CHECK(Sorted(SpanNumbers(*store, q)) == std::vector<uint64_t>{1, 2});
  auto session = store->GetSessionBySessionId("s");
  REQUIRE(session.ok());
  REQUIRE(session->has_value());
  CHECK((*session)->trace_count == 1);
  // Writing after reopen continues the same data set.
  CHECK(Write(*store, {SpanBuilder(1, 2).Parent(1)}).duplicates == 1);
}

void ConcurrentWritersAndReaders(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  constexpr int kWriters = 4;
  constexpr uint64_t kTraces = 20;
  constexpr uint64_t kSpansPerTrace = 5;
  // Every writer sends every span (heavy redelivery), in its own batch order.
  std::vector<std::thread> threads;
  std::vector<absl::Status> errors(kWriters + 1);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t t = 0; t < kTraces; ++t) {
        uint64_t trace = (t * (w + 1)) % kTraces + 1;
        std::vector<Span> batch;
        for (uint64_t s = 1; s <= kSpansPerTrace; ++s) {
          uint64_t id = trace * 100 + s;
          SpanBuilder b(trace, id);
          b.Session("session-" + std::to_string(trace % 3)).Tokens(1, 2);
          if (s > 1) b.Parent(trace * 100 + 1);
          if (s == 2) b.Error();
          batch.push_back(b);
        }
        if (w % 2) std::reverse(batch.begin(), batch.end());
        auto result = TryWrite(*store, batch);
        if (!result.ok()) errors[w] = result.status();
      }
    });
  }
  threads.emplace_back([&] {
    SpanQuery q;
    q.project_id = 1;
    for (int i = 0; i < 50; ++i) {
      auto page = store->ListSpans(q);
      if (!page.ok()) errors[kWriters] = page.status();
    }
  });
  for (auto& thread : threads) thread.join();
  for (const absl::Status& error : errors) CHECK(error.ok());

  SpanQuery q;
  q.project_id = DefaultProjectId(*store);
  q.limit = 1000;
  CHECK(Spans(*store, q).size() == kTraces * kSpansPerTrace);
  int64_t session_traces = 0;
  int64_t session_tokens = 0;
  for (uint64_t trace = 1; trace <= kTraces; ++trace) {
    TraceRecord record = Trace(*store, trace);
    CHECK(record.span_count == static_cast<int64_t>(kSpansPerTrace));
    CHECK(record.error_count == 1);
    CHECK(record.token_count_total == static_cast<int64_t>(3 * kSpansPerTrace));
    CHECK(record.root_span_id == SpanHex(trace * 100 + 1));
  }
  for (int s = 0; s < 3; ++s) {
    auto session = store->GetSessionBySessionId("session-" + std::to_string(s));
    REQUIRE(session.ok());
    REQUIRE(session->has_value());
    session_traces += (*session)->trace_count;
    session_tokens += (*session)->token_count_total;
  }
  CHECK(session_traces == static_cast<int64_t>(kTraces));
  CHECK(session_tokens == static_cast<int64_t>(kTraces * kSpansPerTrace * 3));
}

void SpanIdsRacingAcrossTraces(const HarnessFactory& factory) {
  auto harness = factory();
  auto store = OpenMigrated(*harness);
  // Each writer sends the same span ids under its own traces, at the same time: a span id is stored
  // once (under whichever trace won), no call fails, and the trace rollups count exactly the
  // spans stored under them.
  constexpr int kWriters = 4;
  constexpr uint64_t kRounds = 10;
  constexpr uint64_t kSpans = 50;
  std::vector<std::thread> threads;
  std::vector<absl::Status> errors(kWriters);
  std::vector<int64_t> inserted(kWriters, 0);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t round = 0; round < kRounds; ++round) {
        std::vector<Span> batch;
        for (uint64_t s = 0; s < kSpans; ++s) {
          batch.push_back(SpanBuilder(1000 * (w + 1) + round, 100000 * (round + 1) + s).Tokens(1, 0));
        }
        if (w % 2) std::reverse(batch.begin(), batch.end());
        auto result = TryWrite(*store, batch);
        if (!result.ok()) {
          errors[w] = result.status();
          return;
        }
        inserted[w] += result->inserted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const absl::Status& error : errors) CHECK(error.ok());
  CHECK(inserted[0] + inserted[1] + inserted[2] + inserted[3] == static_cast<int64_t>(kRounds * kSpans));

  SpanQuery q;
  q.project_id = DefaultProjectId(*store);
  q.limit = 1000;
  CHECK(Spans(*store, q).size() == kRounds * kSpans);
  int64_t counted = 0;
  int64_t tokens = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (uint64_t round = 0; round < kRounds; ++round) {
      auto trace = store->GetTraceByTraceId(TraceHex(1000 * (w + 1) + round));
      REQUIRE(trace.ok());
      if (!trace->has_value()) continue;  // every span of it was stored under another trace first
      counted += (*trace)->span_count;
      tokens += (*trace)->token_count_total;
    }
  }
  CHECK(counted == static_cast<int64_t>(kRounds * kSpans));
  CHECK(tokens == static_cast<int64_t>(kRounds * kSpans));
}

}  // namespace osprey::storetest
