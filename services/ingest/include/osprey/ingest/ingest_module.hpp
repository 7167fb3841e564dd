#pragma once

// The ingest module: OTLP/gRPC on ingest.grpc_listen and OTLP/HTTP on ingest.http_listen, both
// feeding one Ingestor that publishes to the bus. RegisterRoutes() adds POST /v1/traces to another
// router (the query gateway on 6006 in the embedded mode).

#include <functional>
#include <memory>

#include "osprey/bus/bus.hpp"
#include "osprey/config/config.hpp"
#include "osprey/http/server.hpp"
#include "osprey/ingest/ingestor.hpp"
#include "osprey/ingest/otlp_grpc.hpp"
#include "osprey/runtime/runtime.hpp"

namespace osprey::ingest {

class IngestModule final : public runtime::Module {
 public:
  // `bus` must outlive the module; `metrics` may be null. `extra_routes` adds routes (health,
  // metrics) to the module's own HTTP router before it starts.
  IngestModule(const config::IngestConfig& config, bus::Bus& bus, metrics::Registry* metrics,
               std::function<void(http::Router&)> extra_routes = {});
  ~IngestModule() override;

  std::string Name() const override { return "ingest"; }
  absl::Status Start() override;
  void Stop() override;
  absl::Status Ready() override;

  // Adds POST /v1/traces (served by this module's ingestor) to `router`. Valid once constructed.
  void RegisterRoutes(http::Router& router);

  uint16_t grpc_port() const;
  uint16_t http_port() const;

 private:
  config::IngestConfig config_;
  bus::Bus& bus_;
  metrics::Registry* metrics_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<Ingestor> ingestor_;
  http::Router router_;
  std::unique_ptr<http::Server> http_server_;
  std::unique_ptr<OtlpGrpcServer> grpc_server_;
};

}  // namespace osprey::ingest
