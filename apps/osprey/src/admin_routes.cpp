#include "admin_routes.hpp"

namespace osprey::app {

void AddAdminRoutes(http::Router& router, const runtime::Runtime& runtime, metrics::Registry& metrics) {
  router.Add("GET", "/healthz", [](const http::Request&) { return http::Response::Text(200, "OK"); });
  router.Add("GET", "/readyz", [&runtime](const http::Request&) {
    absl::Status st = runtime.Ready();
    if (st.ok()) return http::Response::Json(200, "{}");
    return http::Response::Text(503, std::string(st.message()));
  });
  router.Add("GET", "/metrics", [&metrics](const http::Request&) {
    return http::Response::Bytes(200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render());
  });
}

}  // namespace osprey::app
