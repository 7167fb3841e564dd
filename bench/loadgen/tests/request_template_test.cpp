#include "request_template.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "trace_factory.hpp"

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::trace::v1::Span;
using osprey::bench::RequestTemplate;
using osprey::bench::TraceFactory;
using osprey::bench::TraceShape;

namespace {

constexpr uint64_t kBuilt = 1'735'787'045'000'000'000ull;

const google::protobuf::RepeatedPtrField<Span>& Spans(const ExportTraceServiceRequest& request) {
  return request.resource_spans(0).scope_spans(0).spans();
}

}  // namespace

TEST_CASE("a restamped request is the template with new ids, the same tree and shifted times") {
  TraceFactory factory(TraceShape{}, 7);
  ExportTraceServiceRequest original;
  factory.Fill(50, kBuilt, &original);
  RequestTemplate request(original, kBuilt);
  REQUIRE(request.spans() == 50);

  std::set<std::string> seen_span_ids;
  std::set<std::string> seen_trace_ids;
  for (const auto& span : Spans(original)) {
    seen_span_ids.insert(span.span_id());
    seen_trace_ids.insert(span.trace_id());
  }
  std::mt19937_64 rng(1);
  for (const uint64_t shift : {uint64_t{3'000'000'000}, uint64_t{5}, uint64_t{60'000'000'000}}) {
    const uint64_t now = kBuilt + shift;
    ExportTraceServiceRequest sent;
    REQUIRE(sent.ParseFromString(request.Restamp(rng, now)));
    REQUIRE(Spans(sent).size() == Spans(original).size());
    std::map<std::string, std::string> new_id_of;  // original span id -> its new id
    std::map<std::string, std::string> new_trace_of;
    for (int i = 0; i < Spans(sent).size(); ++i) new_id_of[Spans(original)[i].span_id()] = Spans(sent)[i].span_id();
    for (int i = 0; i < Spans(sent).size(); ++i) {
      const Span& was = Spans(original)[i];
      const Span& now_span = Spans(sent)[i];
      INFO("span " << i);
      // Never an id sent before, by this or an earlier restamp; one trace id per original trace.
      CHECK(seen_span_ids.insert(now_span.span_id()).second);
      auto [trace, first] = new_trace_of.try_emplace(was.trace_id(), now_span.trace_id());
      if (first) CHECK(seen_trace_ids.insert(now_span.trace_id()).second);
      CHECK(now_span.trace_id() == trace->second);
      if (was.parent_span_id().empty()) {
        CHECK(now_span.parent_span_id().empty());
      } else {
        CHECK(now_span.parent_span_id() == new_id_of.at(was.parent_span_id()));
      }
      CHECK(now_span.start_time_unix_nano() - was.start_time_unix_nano() == now - kBuilt);
      CHECK(now_span.end_time_unix_nano() - was.end_time_unix_nano() == now - kBuilt);
      // Everything else is the template's.
      CHECK(now_span.name() == was.name());
      CHECK(now_span.attributes_size() == was.attributes_size());
      CHECK(now_span.attributes(0).value().string_value() == was.attributes(0).value().string_value());
    }
    CHECK(sent.resource_spans(0).resource().SerializeAsString() ==
          original.resource_spans(0).resource().SerializeAsString());
  }
}

TEST_CASE("the same seed restamps the same ids") {
  TraceFactory factory(TraceShape{}, 9);
  ExportTraceServiceRequest original;
  factory.Fill(20, kBuilt, &original);
  RequestTemplate a(original, kBuilt);
  RequestTemplate b(original, kBuilt);
  std::mt19937_64 rng_a(42);
  std::mt19937_64 rng_b(42);
  CHECK(a.Restamp(rng_a, kBuilt + 1) == b.Restamp(rng_b, kBuilt + 1));
  CHECK(a.Restamp(rng_a, kBuilt + 2) == b.Restamp(rng_b, kBuilt + 2));
  CHECK(a.bytes() != original.SerializeAsString());
}

TEST_CASE("a request whose spans lack 16/8-byte ids is refused") {
  ExportTraceServiceRequest request;
  Span* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\1'));
  span->set_span_id("short");
  span->set_start_time_unix_nano(1);
  span->set_end_time_unix_nano(2);
  CHECK_THROWS_WITH(RequestTemplate(request, kBuilt), Catch::Contains("16/8-byte ids"));
}
