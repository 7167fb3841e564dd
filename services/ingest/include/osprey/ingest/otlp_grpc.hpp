#pragma once

// OTLP/gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export.
//
// Requests arrive as raw bytes (a raw callback method), are decoded into a protobuf arena, and are
// processed on a pool of worker threads, so a request waiting for its commit holds no gRPC thread.
// gzip is handled by gRPC. A request over ingest.max_request_bytes gets RESOURCE_EXHAUSTED, counted
// as `too_large` (gRPC itself refuses, uncounted, anything over four times the limit). Retryable
// refusals carry google.rpc.RetryInfo, which makes RESOURCE_EXHAUSTED/UNAVAILABLE retryable for
// OTLP exporters.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "osprey/ingest/ingestor.hpp"

namespace osprey::ingest {

struct GrpcServerConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 4317;
  size_t max_request_bytes = 64u << 20;
  int worker_threads = 32;
};

class OtlpGrpcServer final {
 public:
  OtlpGrpcServer(GrpcServerConfig config, Ingestor& ingestor);
  ~OtlpGrpcServer();
  absl::Status Start();
  uint16_t port() const;
  // Stops accepting, lets in-flight exports finish (bounded), joins workers. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// An absl status as a gRPC status; retryable errors carry RetryInfo in grpc-status-details-bin.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace osprey::ingest
