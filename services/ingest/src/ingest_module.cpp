#include "osprey/ingest/ingest_module.hpp"

#include "osprey/base/status.hpp"
#include "osprey/ingest/otlp_http.hpp"

namespace osprey::ingest {

IngestModule::IngestModule(const config::IngestConfig& config, bus::Bus& bus, metrics::Registry* metrics,
                           std::function<void(http::Router&)> extra_routes)
    : config_(config), bus_(bus), metrics_(metrics) {
  producer_ = bus_.NewProducer();
  ingestor_ = std::make_unique<Ingestor>(config_, *producer_, metrics_);
  RegisterRoutes(router_);
  if (extra_routes) extra_routes(router_);
}

IngestModule::~IngestModule() { Stop(); }

void IngestModule::RegisterRoutes(http::Router& router) {
  router.Add("POST", "/v1/traces", MakeOtlpHttpHandler(*ingestor_));
}

absl::Status IngestModule::Start() {
  OSPREY_RETURN_IF_ERROR(
      bus_.CreateTopic(bus::TopicSpec{bus::kSpansTopic, 1, static_cast<size_t>(config_.max_message_bytes)}));
  OSPREY_ASSIGN_OR_RETURN(auto grpc_address, config::ParseHostPort(config_.grpc_listen));
  OSPREY_ASSIGN_OR_RETURN(auto http_address, config::ParseHostPort(config_.http_listen));

  http::ServerConfig http_config;
  http_config.name = "ingest";
  http_config.host = http_address.host;
  http_config.port = http_address.port;
  http_config.max_body_bytes = config_.max_request_bytes;
  http_config.handler_threads = config_.http_handler_threads;
  http_server_ = std::make_unique<http::Server>(http_config, &router_, metrics_);
  OSPREY_RETURN_IF_ERROR(http_server_->Start());

  GrpcServerConfig grpc_config;
  grpc_config.host = grpc_address.host;
  grpc_config.port = grpc_address.port;
  grpc_config.max_request_bytes = config_.max_request_bytes;
  grpc_config.worker_threads = config_.http_handler_threads;
  grpc_server_ = std::make_unique<OtlpGrpcServer>(grpc_config, *ingestor_);
  auto st = grpc_server_->Start();
  if (!st.ok()) {
    http_server_->Stop();
    return st;
  }
  return absl::OkStatus();
}

void IngestModule::Stop() {
  // Stop accepting on both transports; in-flight exports finish (their commits) before this returns.
  if (grpc_server_) grpc_server_->Stop();
  if (http_server_) http_server_->Stop();
}

absl::Status IngestModule::Ready() { return bus_.Ping(); }

uint16_t IngestModule::grpc_port() const { return grpc_server_ ? grpc_server_->port() : 0; }
uint16_t IngestModule::http_port() const { return http_server_ ? http_server_->port() : 0; }

}  // namespace osprey::ingest
