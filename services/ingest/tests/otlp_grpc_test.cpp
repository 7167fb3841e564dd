#include "osprey/ingest/otlp_grpc.hpp"

#include <catch2/catch.hpp>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "osprey/base/status.hpp"
#include "osprey/bus/inprocess_bus.hpp"
#include "osprey/metrics/metrics.hpp"
#include "test_requests.hpp"

using namespace osprey;
using namespace osprey::ingest::testing;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using opentelemetry::proto::collector::trace::v1::TraceService;

namespace {

struct Harness {
  explicit Harness(size_t max_request = 1 << 20) {
    bus = bus::NewInProcessBus({}, nullptr);
    REQUIRE(bus->CreateTopic({bus::kSpansTopic, 1, config.max_message_bytes}).ok());
    config.inflight_bytes = 4 << 20;
    config.max_request_bytes = max_request;
    producer = bus->NewProducer();
    ingestor = std::make_unique<ingest::Ingestor>(config, *producer, &metrics);
    consumer = *bus->NewConsumer({"writer", bus::kSpansTopic});
    REQUIRE(consumer
                ->Start([this](std::vector<bus::Delivery>& batch) {
                  delivered += static_cast<int>(batch.size());
                  return absl::OkStatus();
                })
                .ok());
    ingest::GrpcServerConfig gc;
    gc.host = "127.0.0.1";
    gc.port = 0;
    gc.max_request_bytes = max_request;
    gc.worker_threads = 4;
    server = std::make_unique<ingest::OtlpGrpcServer>(gc, *ingestor);
    REQUIRE(server->Start().ok());
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()), grpc::InsecureChannelCredentials());
    stub = TraceService::NewStub(channel);
  }
  ~Harness() {
    server->Stop();
    consumer->Stop();
  }
  config::IngestConfig config;
  metrics::Registry metrics;
  std::unique_ptr<bus::Bus> bus;
  std::unique_ptr<bus::Producer> producer;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<bus::Consumer> consumer;
  std::atomic<int> delivered{0};
  std::unique_ptr<ingest::OtlpGrpcServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<TraceService::Stub> stub;
};

}  // namespace

TEST_CASE("gRPC export acknowledges after the commit and reports partial success") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  AddSpan(req, 2, 2);
  AddSpan(req, 2, 3)->set_span_id("");
  grpc::ClientContext ctx;
  ExportTraceServiceResponse reply;
  auto st = h.stub->Export(&ctx, req, &reply);
  REQUIRE(st.ok());
  CHECK(h.delivered.load() == 2);  // two traces, both committed before the reply
  CHECK(reply.partial_success().rejected_spans() == 1);
}

TEST_CASE("gzip-compressed gRPC requests are accepted") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  grpc::ClientContext ctx;
  ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  ExportTraceServiceResponse reply;
  REQUIRE(h.stub->Export(&ctx, req, &reply).ok());
  CHECK(h.delivered.load() == 1);
}

TEST_CASE("a gRPC request over the size limit is RESOURCE_EXHAUSTED") {
  Harness h(/*max_request=*/64 * 1024);
  ExportTraceServiceRequest req;
  AddAttribute(AddSpan(req, 1, 1), "input.value", std::string(100 * 1024, 'x'));
  grpc::ClientContext ctx;
  ExportTraceServiceResponse reply;
  auto st = h.stub->Export(&ctx, req, &reply);
  CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(h.delivered.load() == 0);
  CHECK(st.error_message() == "request of 102527 bytes exceeds the limit of 65536 bytes (ingest.max_request_bytes)");
  CHECK(h.metrics.Render().find("osprey_ingest_requests_total{transport=\"grpc\",outcome=\"too_large\"} 1") !=
        std::string::npos);
}

TEST_CASE("retryable refusals carry RetryInfo") {
  auto st = ingest::ToGrpcStatus(
      base::Retryable(absl::StatusCode::kResourceExhausted, "busy", std::chrono::milliseconds(1500)));
  CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status details;
  REQUIRE(details.ParseFromString(st.error_details()));
  REQUIRE(details.details_size() == 1);
  google::rpc::RetryInfo retry;
  REQUIRE(details.details(0).UnpackTo(&retry));
  CHECK(retry.retry_delay().seconds() == 1);
  CHECK(retry.retry_delay().nanos() == 500000000);
  auto permanent = ingest::ToGrpcStatus(absl::InvalidArgumentError("bad"));
  CHECK(permanent.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(permanent.error_details().empty());
}

TEST_CASE("stopping the gRPC server twice, or without starting it, is harmless") {
  auto b = bus::NewInProcessBus({}, nullptr);
  auto producer = b->NewProducer();
  config::IngestConfig cfg;
  ingest::Ingestor ingestor(cfg, *producer, nullptr);
  ingest::OtlpGrpcServer never_started({"127.0.0.1", 0, 1 << 20, 2}, ingestor);
  never_started.Stop();
  ingest::OtlpGrpcServer server({"127.0.0.1", 0, 1 << 20, 2}, ingestor);
  REQUIRE(server.Start().ok());
  CHECK(server.port() != 0);
  server.Stop();
  server.Stop();
}
