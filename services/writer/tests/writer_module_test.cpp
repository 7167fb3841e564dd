#include "osprey/writer/writer_module.hpp"

#include <catch2/catch.hpp>

#include "osprey/bus/inprocess_bus.hpp"
#include "writer_test_support.hpp"

using namespace osprey;
using namespace osprey::writer::testing;

TEST_CASE("writer module lifecycle: create/stop, start/stop, double stop") {
  auto s = TempStore("lifecycle");
  REQUIRE(s);
  auto b = bus::NewInProcessBus({}, nullptr);
  REQUIRE(b->CreateTopic({bus::kSpansTopic, 1, 1 << 20}).ok());
  {
    writer::WriterModule m({}, *b, *s, nullptr);
    m.Stop();
  }
  writer::WriterModule m({}, *b, *s, nullptr);
  REQUIRE(m.Start().ok());
  CHECK(m.Ready().ok());
  m.Stop();
  m.Stop();
}

TEST_CASE("a publish returns only once the writer module committed the spans") {
  auto s = TempStore("commit");
  REQUIRE(s);
  auto b = bus::NewInProcessBus({}, nullptr);
  REQUIRE(b->CreateTopic({bus::kSpansTopic, 1, 1 << 20}).ok());
  writer::WriterModule m({}, *b, *s, nullptr);
  REQUIRE(m.Start().ok());
  auto producer = b->NewProducer();
  REQUIRE(producer->Publish({{bus::kSpansTopic, "t1", Payload({MakeSpan(1, 1)})}}, std::chrono::seconds(5)).ok());
  auto project = s->GetProjectByName("writer-test");
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  store::SpanQuery q;
  q.project_id = (*project)->id;
  CHECK(s->ListSpans(q)->items.size() == 1);
  m.Stop();
}
