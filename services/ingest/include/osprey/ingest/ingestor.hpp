#pragma once

// Ingest's logic, free of transports: an OTLP ExportTraceServiceRequest in, spans published on the
// bus, an outcome out. Both the gRPC service and the HTTP handler call Export().
//
//   1. reserve the request's bytes in the in-flight budget (past it: retryable RESOURCE_EXHAUSTED);
//   2. normalize every span (libs/otlp): invalid ones are counted and reported, valid ones kept;
//   3. group spans by trace id, one bus message per trace group (key = trace id), chunked under the
//      topic's message limit; a single span over the limit is rejected and reported;
//   4. publish and wait: Export returns OK only when every message is durable (embedded: committed by
//      the writer). Retryable bus errors are returned as such; the client's retry is harmless.
//
// Thread safety: Export() may be called concurrently from any number of threads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "osprey/bus/bus.hpp"
#include "osprey/config/config.hpp"
#include "osprey/otlp/otlp.hpp"

namespace osprey::metrics {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace osprey::metrics

namespace osprey::ingest {

enum class Transport { kGrpc, kHttp };

struct ExportOutcome {
  absl::Status status;  // OK (possibly with rejected spans) or the error for the whole request
  int64_t accepted_spans = 0;
  int64_t rejected_spans = 0;
  std::string error_message;  // partial_success.error_message
};

// Byte budget for requests being processed or awaiting their commit.
class InflightBudget final {
 public:
  explicit InflightBudget(uint64_t capacity) : capacity_(capacity) {}
  bool TryAcquire(uint64_t bytes);
  void Release(uint64_t bytes);
  uint64_t used() const { return used_.load(); }

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> used_{0};
};

class Ingestor final {
 public:
  // `producer` must outlive the ingestor; `metrics` may be null.
  Ingestor(const config::IngestConfig& config, bus::Producer& producer, metrics::Registry* metrics);

  // Normalizes, publishes and waits for durability. The transports reserve the request's bytes with
  // ReserveBudget() before decoding and release them after Export() returns.
  ExportOutcome Export(const otlp::ExportRequest& request, const std::string& project_override, Transport transport);

  // Reserves budget for a request of `bytes` before it is decoded; retryable RESOURCE_EXHAUSTED when
  // the budget is spent. Pair with ReleaseBudget().
  absl::Status ReserveBudget(uint64_t bytes);
  void ReleaseBudget(uint64_t bytes);

  // Counts a request refused before Export (malformed, unsupported, too large).
  void CountRefused(Transport transport, const std::string& reason);

  // The price table LLM spans are costed with (config.model_prices, then the built-in prices).
  const costs::PriceTable& prices() const { return *prices_; }

 private:
  config::IngestConfig config_;
  bus::Producer& producer_;
  InflightBudget budget_;
  metrics::Registry* metrics_;
  metrics::Gauge* inflight_bytes_ = nullptr;
  std::shared_ptr<const costs::PriceTable> prices_;
};

const char* TransportName(Transport transport);

}  // namespace osprey::ingest
