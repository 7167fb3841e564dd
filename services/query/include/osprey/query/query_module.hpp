#pragma once

// The query module: the gateway on query.listen (6006) serving Phoenix's REST API (RestApi), plus
// whatever the process adds through `extra_routes` — POST /v1/traces from ingest in the embedded
// mode, /healthz, /readyz and /metrics.

#include <functional>
#include <memory>

#include "osprey/config/config.hpp"
#include "osprey/http/server.hpp"
#include "osprey/query/rest_api.hpp"
#include "osprey/runtime/runtime.hpp"
#include "osprey/store/store.hpp"

namespace osprey::query {

class QueryModule final : public runtime::Module {
 public:
  // `store` must outlive the module; `metrics` may be null. `max_body_bytes` bounds request bodies
  // (OTLP posts to the gateway included).
  // `prices` costs spans posted to /v1/projects/{id}/spans (null: the built-in prices).
  QueryModule(const config::QueryConfig& config, store::Store& store, metrics::Registry* metrics, size_t max_body_bytes,
              std::function<void(http::Router&)> extra_routes = {},
              std::shared_ptr<const costs::PriceTable> prices = nullptr);
  ~QueryModule() override;

  std::string Name() const override { return "query"; }
  absl::Status Start() override;
  void Stop() override;
  absl::Status Ready() override;

  uint16_t port() const;

 private:
  config::QueryConfig config_;
  store::Store& store_;
  metrics::Registry* metrics_;
  size_t max_body_bytes_;
  RestApi api_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace osprey::query
