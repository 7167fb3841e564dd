#pragma once

// /healthz (process alive: 200 "OK"), /readyz (every module ready: 200 "{}", else 503 with the
// reason) and /metrics (Prometheus text) — added to every HTTP router a process serves.

#include "osprey/http/server.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/runtime/runtime.hpp"

namespace osprey::app {

// `runtime` and `metrics` must outlive the router.
void AddAdminRoutes(http::Router& router, const runtime::Runtime& runtime, metrics::Registry& metrics);

}  // namespace osprey::app
