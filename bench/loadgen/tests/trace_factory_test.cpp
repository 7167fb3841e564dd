#include "trace_factory.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::trace::v1::Span;
using osprey::bench::TraceFactory;
using osprey::bench::TraceShape;

namespace {

std::string Kind(const Span& span) {
  for (const auto& kv : span.attributes()) {
    if (kv.key() == "openinference.span.kind") return kv.value().string_value();
  }
  return "";
}

size_t AttributeBytes(const Span& span) {
  size_t total = 0;
  for (const auto& kv : span.attributes()) total += kv.ByteSizeLong();
  return total;
}

constexpr uint64_t kNow = 1'735'787'045'000'000'000ull;

}  // namespace

TEST_CASE("a request holds exactly the asked number of spans, in whole OpenInference traces") {
  TraceShape shape;
  shape.project = "bench-test";
  TraceFactory factory(shape, 42);
  ExportTraceServiceRequest request;
  factory.Fill(97, kNow, &request);
  REQUIRE(request.resource_spans_size() == 1);
  bool has_project = false;
  for (const auto& kv : request.resource_spans(0).resource().attributes()) {
    if (kv.key() == "openinference.project.name") has_project = kv.value().string_value() == "bench-test";
  }
  CHECK(has_project);
  const auto& spans = request.resource_spans(0).scope_spans(0).spans();
  REQUIRE(spans.size() == 97);

  std::map<std::string, std::vector<const Span*>> by_trace;
  std::set<std::string> span_ids;
  for (const auto& span : spans) {
    REQUIRE(span.trace_id().size() == 16);
    REQUIRE(span.span_id().size() == 8);
    CHECK(span.end_time_unix_nano() >= span.start_time_unix_nano());
    CHECK(span_ids.insert(span.span_id()).second);
    by_trace[span.trace_id()].push_back(&span);
  }
  size_t full_traces = 0;
  for (const auto& [trace, members] : by_trace) {
    CHECK(Kind(*members[0]) == "CHAIN");
    CHECK(members[0]->parent_span_id().empty());
    for (size_t i = 1; i < members.size(); ++i) CHECK(members[i]->parent_span_id() == members[0]->span_id());
    CHECK(members.size() <= 10);
    if (members.size() >= 5) ++full_traces;
  }
  CHECK(full_traces >= by_trace.size() - 1);  // only the last trace may be cut short
}

TEST_CASE("LLM spans carry about 1.7 KB of attributes; every N-th one is large") {
  TraceShape shape;
  shape.large_every = 4;
  shape.large_bytes = 100000;
  TraceFactory factory(shape, 7);
  ExportTraceServiceRequest request;
  factory.Fill(400, kNow, &request);
  std::set<std::string> kinds;
  size_t small_llm = 0;
  size_t large_llm = 0;
  for (const auto& span : request.resource_spans(0).scope_spans(0).spans()) {
    kinds.insert(Kind(span));
    if (Kind(span) != "LLM") continue;
    const size_t bytes = AttributeBytes(span);
    if (bytes > 100000) {
      ++large_llm;
    } else {
      ++small_llm;
      CHECK(bytes >= 1400);
      CHECK(bytes <= 2200);
    }
  }
  CHECK(kinds == std::set<std::string>{"CHAIN", "RETRIEVER", "LLM", "TOOL"});
  CHECK(large_llm == factory.large_spans());
  CHECK(factory.llm_spans() == small_llm + large_llm);
  CHECK(large_llm == factory.llm_spans() / 4);
}

TEST_CASE("large messages vary in size within [large_bytes, large_bytes_max]; 1 span in ~50 with large_every 20") {
  TraceShape shape;
  shape.large_every = 20;
  shape.large_bytes = 100 * 1024;
  shape.large_bytes_max = 1024 * 1024;
  TraceFactory factory(shape, 11);
  ExportTraceServiceRequest request;
  size_t spans = 0;
  size_t large = 0;
  std::set<size_t> sizes;
  for (int i = 0; i < 40; ++i) {
    factory.Fill(250, kNow, &request);
    for (const auto& span : request.resource_spans(0).scope_spans(0).spans()) {
      ++spans;
      for (const auto& kv : span.attributes()) {
        if (kv.key() != "llm.input_messages.2.message.content") continue;
        ++large;
        const size_t bytes = kv.value().string_value().size();
        CHECK(bytes >= shape.large_bytes);
        CHECK(bytes <= shape.large_bytes_max);
        sizes.insert(bytes);
      }
    }
  }
  CHECK(large == factory.large_spans());
  CHECK(sizes.size() > large / 2);               // not one fixed size
  CHECK(large * 50 > spans * 8 / 10);            // about 1 in 50 spans (±20 %)
  CHECK(large * 50 < spans * 12 / 10);
}
