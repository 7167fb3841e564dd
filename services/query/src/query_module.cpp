#include "osprey/query/query_module.hpp"

#include "osprey/base/status.hpp"
#include "osprey/query/ui_api.hpp"
#include "osprey/query/annotations_api.hpp"
#include "osprey/query/mutations_api.hpp"
#include "osprey/query/prompts_api.hpp"
#include "osprey/prompt_registry/channel.hpp"
#include "osprey/query/span_query_api.hpp"

namespace osprey::query {

QueryModule::QueryModule(const config::QueryConfig& config, store::Store& store, metrics::Registry* metrics,
                         size_t max_body_bytes, std::function<void(http::Router&)> extra_routes,
                         std::shared_ptr<const costs::PriceTable> prices)
    : config_(config), store_(store), metrics_(metrics), max_body_bytes_(max_body_bytes), api_(store, store, metrics) {
  api_.Register(router_);
  std::make_shared<AnnotationsApi>(store_, store_, metrics_)->Register(router_);  // owned by its routes
  MutationsApi(store_, metrics_, std::move(prices)).Register(router_);  // its routes own its state
  SpanQueryApi(store_, store_, metrics_).Register(router_);  // POST /v1/spans; its routes own a copy
  if (extra_routes) extra_routes(router_);
  RegisterUi(router_, store_);  // /osprey/v1 and the web UI (SPA fallback)
}

QueryModule::~QueryModule() { Stop(); }

absl::Status QueryModule::Start() {
  // Phoenix's prompt routes call the registry; its channel exists only once the registry module started
  // (before this one), so the routes are added here, before the server takes requests.
  PromptsApi(std::shared_ptr<PromptsApi::Stub>(
                 prompts::v1::PromptRegistry::NewStub(prompt_registry::PromptRegistryChannel(config_))),
             metrics_)
      .Register(router_);
  OSPREY_ASSIGN_OR_RETURN(auto address, config::ParseHostPort(config_.listen));
  http::ServerConfig cfg;
  cfg.name = "query";
  cfg.host = address.host;
  cfg.port = address.port;
  cfg.max_body_bytes = max_body_bytes_;
  cfg.handler_threads = config_.handler_threads;
  server_ = std::make_unique<http::Server>(cfg, &router_, metrics_);
  return server_->Start();
}

void QueryModule::Stop() {
  if (server_) server_->Stop();
}

absl::Status QueryModule::Ready() { return store_.Ping(); }

uint16_t QueryModule::port() const { return server_ ? server_->port() : 0; }

}  // namespace osprey::query
