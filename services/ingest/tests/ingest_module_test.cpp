#include "osprey/ingest/ingest_module.hpp"

#include <catch2/catch.hpp>

#include "osprey/bus/inprocess_bus.hpp"
#include "osprey/http/client.hpp"
#include "osprey/metrics/metrics.hpp"
#include "test_requests.hpp"

using namespace osprey;

namespace {
config::IngestConfig LoopbackConfig() {
  config::IngestConfig cfg;
  cfg.grpc_listen = "127.0.0.1:0";
  cfg.http_listen = "127.0.0.1:0";
  cfg.http_handler_threads = 2;
  return cfg;
}
}  // namespace

TEST_CASE("ingest module lifecycle: create/stop, start/stop, double stop") {
  auto b = bus::NewInProcessBus({}, nullptr);
  {
    ingest::IngestModule m(LoopbackConfig(), *b, nullptr);
    m.Stop();
  }
  ingest::IngestModule m(LoopbackConfig(), *b, nullptr);
  REQUIRE(m.Start().ok());
  CHECK(m.grpc_port() != 0);
  CHECK(m.http_port() != 0);
  CHECK(m.Ready().ok());
  m.Stop();
  m.Stop();
}

TEST_CASE("ingest module serves OTLP/HTTP on its own port and on a gateway router") {
  metrics::Registry registry;
  auto b = bus::NewInProcessBus({}, nullptr);
  ingest::IngestModule m(LoopbackConfig(), *b, &registry);
  REQUIRE(m.Start().ok());
  auto consumer = *b->NewConsumer({"writer", bus::kSpansTopic});
  std::atomic<int> messages{0};
  REQUIRE(consumer
              ->Start([&](std::vector<bus::Delivery>& batch) {
                messages += static_cast<int>(batch.size());
                return absl::OkStatus();
              })
              .ok());
  ingest::testing::ExportTraceServiceRequest req;
  ingest::testing::AddSpan(req, 1, 1);
  auto r = http::Fetch("127.0.0.1", m.http_port(), "POST", "/v1/traces", {{"Content-Type", "application/x-protobuf"}},
                       req.SerializeAsString());
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(messages.load() == 1);
  http::Router gateway;
  m.RegisterRoutes(gateway);
  http::Request post;
  post.method = "POST";
  post.path = "/v1/traces";
  post.headers = {{"content-type", "application/x-protobuf"}};
  post.body = req.SerializeAsString();
  CHECK(gateway.Dispatch(post).status == 200);
  consumer->Stop();
  m.Stop();
}
