#pragma once

// Phoenix-compatible REST mutations of tracing data: create/update/delete projects, POST spans as
// JSON, delete spans, traces and sessions, transfer traces between projects (routes and error
// bodies in README.md; store semantics in osprey/store/mutations.hpp).
//
// POST /v1/projects/{id}/spans takes the OTLP write path without the bus: each JSON span becomes an
// OTLP span, goes through otlp::Normalize (validation, OpenInference/GenAI normalization, hot
// fields, costs) and then store::SpanWriter::WriteSpans (idempotent, rollups) — see ARCHITECTURE.md.
//
// Ownership: `store` is borrowed and must outlive every Router the API registered on. The handlers
// keep their own state alive, so the MutationsApi object itself may be a temporary.
// Thread safety: handlers hold no mutable state and may run concurrently; they block on the store.

#include <memory>

#include "osprey/http/server.hpp"
#include "osprey/store/store.hpp"

namespace osprey::metrics {
class Registry;
}  // namespace osprey::metrics

namespace osprey::costs {
class PriceTable;
}  // namespace osprey::costs

namespace osprey::query {

class MutationsApi final {
 public:
  // `metrics` may be null (nothing recorded). `prices` prices posted LLM spans as ingest does; null
  // means the built-in price table.
  MutationsApi(store::Store& store, metrics::Registry* metrics,
               std::shared_ptr<const costs::PriceTable> prices = nullptr);
  ~MutationsApi();

  // Adds every mutation route to `router`.
  void Register(http::Router& router);

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with the registered handlers
};

}  // namespace osprey::query
