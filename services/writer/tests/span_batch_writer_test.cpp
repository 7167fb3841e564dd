#include "osprey/writer/span_batch_writer.hpp"

#include <catch2/catch.hpp>

#include "osprey/metrics/metrics.hpp"
#include "writer_test_support.hpp"

using namespace osprey;
using namespace osprey::writer::testing;

namespace {
bus::Delivery D(std::string payload) {
  bus::Delivery d;
  d.topic = bus::kSpansTopic;
  d.payload = std::move(payload);
  return d;
}
int64_t SpanCount(store::Store& s) {
  auto project = s.GetProjectByName("writer-test");
  if (!project.ok() || !project->has_value()) return 0;
  store::SpanQuery q;
  q.project_id = (*project)->id;
  q.limit = 1000;
  return static_cast<int64_t>(s.ListSpans(q)->items.size());
}
}  // namespace

TEST_CASE("a batch of messages is written in one call and a redelivery is counted as duplicates") {
  auto s = TempStore("batch");
  REQUIRE(s);
  metrics::Registry registry;
  writer::SpanBatchWriter w(*s, &registry);
  std::vector<bus::Delivery> batch = {D(Payload({MakeSpan(1, 1), MakeSpan(1, 2, 1)})), D(Payload({MakeSpan(2, 3)}))};
  REQUIRE(w.Handle(batch).ok());
  CHECK(SpanCount(*s) == 3);
  REQUIRE(w.Handle(batch).ok());  // redelivered after a lost commit
  CHECK(SpanCount(*s) == 3);
  auto text = registry.Render();
  CHECK(text.find("osprey_writer_spans_written_total 3") != std::string::npos);
  CHECK(text.find("osprey_writer_spans_duplicate_total 3") != std::string::npos);
  auto trace = s->GetTraceByTraceId(
      "010101010101010101010101010101"
      "01");
  REQUIRE(trace.ok());
  REQUIRE(trace->has_value());
  CHECK((*trace)->span_count == 2);
  CHECK((*trace)->token_count_total == 14);
}

TEST_CASE("an undecodable message is counted and marked for the dead-letter topic; the rest of the batch is stored") {
  auto s = TempStore("poison");
  REQUIRE(s);
  metrics::Registry registry;
  writer::SpanBatchWriter w(*s, &registry);
  std::vector<bus::Delivery> batch = {D("\xff\xff\xff not a span batch"), D(Payload({MakeSpan(1, 1)}))};
  REQUIRE(w.Handle(batch).ok());
  CHECK(SpanCount(*s) == 1);
  CHECK(registry.Render().find("osprey_writer_poison_messages_total 1") != std::string::npos);
  CHECK(batch[0].dead_letter_error.find("does not decode as osprey.bus.v1.SpanBatch") != std::string::npos);
  CHECK(batch[1].dead_letter_error.empty());
}

TEST_CASE("a store failure fails the batch so the bus redelivers it") {
  auto s = TempStore("closed");
  REQUIRE(s);
  metrics::Registry registry;
  writer::SpanBatchWriter w(*s, &registry);
  s->Close();
  std::vector<bus::Delivery> batch = {D(Payload({MakeSpan(1, 1)}))};
  CHECK_FALSE(w.Handle(batch).ok());
  CHECK(registry.Render().find("osprey_writer_batches_failed_total 1") != std::string::npos);
}
