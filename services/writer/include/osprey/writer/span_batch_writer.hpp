#pragma once

// The writer's logic, free of the runtime: a bus batch in, one store transaction out.
//
// Handle() decodes every SpanBatch payload of the batch and writes all their spans with a single
// SpanWriter::WriteSpans call (one transaction, idempotent on span_id), so redelivered messages are
// harmless. It returns OK only after that call returned OK — the bus commits the batch (and, in the
// embedded mode, acknowledges the OTLP client) only then. An undecodable payload cannot come from
// Osprey's ingest; it is counted, logged once per batch and marked with Delivery::dead_letter_error, so
// the bus parks it (Kafka: the dead-letter topic, error in its headers) while the partition moves on.
// Thread safety: Handle() may be called from one thread at a time per instance.

#include <vector>

#include "absl/status/status.h"
#include "osprey/bus/bus.hpp"
#include "osprey/store/store.hpp"

namespace osprey::metrics {
class Counter;
class Histogram;
class Registry;
}  // namespace osprey::metrics

namespace osprey::writer {

class SpanBatchWriter final {
 public:
  // `store` must outlive this object; `metrics` may be null.
  SpanBatchWriter(store::SpanWriter& store, metrics::Registry* metrics);

  absl::Status Handle(std::vector<bus::Delivery>& batch);

 private:
  store::SpanWriter& store_;
  metrics::Counter* spans_written_ = nullptr;
  metrics::Counter* spans_duplicate_ = nullptr;
  metrics::Counter* poison_messages_ = nullptr;
  metrics::Counter* batches_failed_ = nullptr;
  metrics::Histogram* batch_seconds_ = nullptr;
  metrics::Histogram* batch_spans_ = nullptr;
};

}  // namespace osprey::writer
