#include "osprey/ingest/ingestor.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "osprey/base/status.hpp"
#include "osprey/bus/inprocess_bus.hpp"
#include "osprey/bus/v1/spans.pb.h"
#include "osprey/metrics/metrics.hpp"
#include "test_requests.hpp"

using namespace osprey;
using namespace osprey::ingest::testing;

namespace {

// A bus with a recording consumer standing in for the writer.
struct Harness {
  explicit Harness(config::IngestConfig cfg = {}) : config(std::move(cfg)) {
    bus = bus::NewInProcessBus({}, nullptr);
    REQUIRE(bus->CreateTopic({bus::kSpansTopic, 1, config.max_message_bytes}).ok());
    producer = bus->NewProducer();
    ingestor = std::make_unique<ingest::Ingestor>(config, *producer, &metrics);
    consumer = *bus->NewConsumer({"writer", bus::kSpansTopic});
    REQUIRE(consumer
                ->Start([this](std::vector<bus::Delivery>& batch) {
                  std::lock_guard<std::mutex> lock(mu);
                  for (auto& d : batch) {
                    bus::v1::SpanBatch sb;
                    REQUIRE(sb.ParseFromString(d.payload));
                    messages.push_back({d.key, sb});
                  }
                  return absl::OkStatus();
                })
                .ok());
  }
  ~Harness() { consumer->Stop(); }
  config::IngestConfig config;
  metrics::Registry metrics;
  std::unique_ptr<bus::Bus> bus;
  std::unique_ptr<bus::Producer> producer;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<bus::Consumer> consumer;
  std::mutex mu;
  std::vector<std::pair<std::string, bus::v1::SpanBatch>> messages;
};

}  // namespace

TEST_CASE("export publishes one message per trace, keyed by trace id, and returns after the commit") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1, "agents");
  AddSpan(req, 2, 2);
  AddSpan(req, 1, 3);
  auto outcome = h.ingestor->Export(req, "", ingest::Transport::kGrpc);
  REQUIRE(outcome.status.ok());
  CHECK(outcome.accepted_spans == 3);
  CHECK(outcome.rejected_spans == 0);
  std::lock_guard<std::mutex> lock(h.mu);  // Export returned: the consumer already committed
  REQUIRE(h.messages.size() == 2);
  std::map<std::string, int> spans_per_key;
  for (auto& [key, batch] : h.messages) {
    spans_per_key[key] = batch.spans_size();
    for (const auto& s : batch.spans()) {
      CHECK(s.trace_id() == key);
      CHECK(s.project_name() == "agents");
    }
  }
  CHECK(spans_per_key[Id(1, 16)] == 2);
  CHECK(spans_per_key[Id(2, 16)] == 1);
}

TEST_CASE("invalid spans are reported and the valid ones kept") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  AddSpan(req, 1, 2)->set_span_id("abc");  // 3 bytes
  AddSpan(req, 1, 3)->set_trace_id(std::string(16, '\0'));
  auto outcome = h.ingestor->Export(req, "", ingest::Transport::kHttp);
  REQUIRE(outcome.status.ok());
  CHECK(outcome.accepted_spans == 1);
  CHECK(outcome.rejected_spans == 2);
  CHECK_FALSE(outcome.error_message.empty());
  CHECK(h.metrics.Render().find("osprey_ingest_spans_rejected_total{transport=\"http\"} 2") != std::string::npos);
}

TEST_CASE("the x-project-name override wins over the resource attribute") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1, "from-resource");
  REQUIRE(h.ingestor->Export(req, "from-header", ingest::Transport::kHttp).status.ok());
  std::lock_guard<std::mutex> lock(h.mu);
  CHECK(h.messages.at(0).second.spans(0).project_name() == "from-header");
}

TEST_CASE("a large trace group is chunked under the message limit and a span over it is rejected") {
  config::IngestConfig cfg;
  cfg.max_message_bytes = 64 * 1024;
  Harness h(cfg);
  ExportTraceServiceRequest req;
  for (int i = 0; i < 10; ++i) AddAttribute(AddSpan(req, 7, i), "input.value", std::string(20 * 1024, 'a' + i));
  AddAttribute(AddSpan(req, 7, 99), "input.value", std::string(100 * 1024, 'z'));
  auto outcome = h.ingestor->Export(req, "", ingest::Transport::kGrpc);
  REQUIRE(outcome.status.ok());
  CHECK(outcome.accepted_spans == 10);
  CHECK(outcome.rejected_spans == 1);
  CHECK(outcome.error_message.find("exceed the 65536-byte message limit") != std::string::npos);
  std::lock_guard<std::mutex> lock(h.mu);
  CHECK(h.messages.size() >= 4);
  int total = 0;
  for (auto& [key, batch] : h.messages) {
    CHECK(batch.ByteSizeLong() <= cfg.max_message_bytes);
    total += batch.spans_size();
  }
  CHECK(total == 10);
}

TEST_CASE("messages come in trace id order and keep a trace's spans in request order across chunks") {
  config::IngestConfig cfg;
  cfg.max_message_bytes = 8 * 1024;
  Harness h(cfg);
  ExportTraceServiceRequest req;
  for (int i = 0; i < 12; ++i) AddAttribute(AddSpan(req, 3 - i % 3, 100 - i), "input.value", std::string(3000, 'x'));
  REQUIRE(h.ingestor->Export(req, "", ingest::Transport::kGrpc).accepted_spans == 12);
  std::lock_guard<std::mutex> lock(h.mu);
  std::vector<std::pair<std::string, std::string>> order;  // (trace id, span id) as published
  for (auto& [key, batch] : h.messages) {
    CHECK(batch.spans_size() <= 2);  // ~3 KB spans under an 8 KB limit
    for (const auto& s : batch.spans()) order.emplace_back(s.trace_id(), s.span_id());
  }
  std::vector<std::pair<std::string, std::string>> expected;  // trace ids 1, 2, 3 sort in that order
  for (int trace = 1; trace <= 3; ++trace) {
    for (int i = 0; i < 12; ++i) {
      if (3 - i % 3 == trace) expected.emplace_back(Id(trace, 16), Id(1000 + 100 - i, 8));
    }
  }
  CHECK(order == expected);
}

TEST_CASE("the in-flight budget refuses retryably and frees on release") {
  config::IngestConfig cfg;
  cfg.inflight_bytes = 1 << 20;
  cfg.max_request_bytes = 1 << 20;
  Harness h(cfg);
  REQUIRE(h.ingestor->ReserveBudget(900 * 1024).ok());
  auto refused = h.ingestor->ReserveBudget(200 * 1024);
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(base::IsRetryable(refused));
  h.ingestor->ReleaseBudget(900 * 1024);
  CHECK(h.ingestor->ReserveBudget(200 * 1024).ok());
  // A request bigger than the whole budget still passes alone.
  h.ingestor->ReleaseBudget(200 * 1024);
  CHECK(h.ingestor->ReserveBudget(2 << 20).ok());
}

TEST_CASE("an unavailable writer surfaces as a retryable error, never as success") {
  config::IngestConfig cfg;
  cfg.ack_timeout_ms = 50;
  auto b = bus::NewInProcessBus({}, nullptr);
  REQUIRE(b->CreateTopic({bus::kSpansTopic, 1, cfg.max_message_bytes}).ok());
  auto producer = b->NewProducer();
  ingest::Ingestor ingestor(cfg, *producer, nullptr);  // no consumer: nothing commits
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  auto outcome = ingestor.Export(req, "", ingest::Transport::kGrpc);
  CHECK(outcome.status.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(base::IsRetryable(outcome.status));
  CHECK(outcome.accepted_spans == 0);
}
