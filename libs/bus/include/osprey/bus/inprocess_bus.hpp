#pragma once

// The in-process Bus of the embedded mode: bounded in-memory partitions with the same payload bytes
// and commit semantics as Kafka, except that Publish waits for the consumer's commit — in one process
// the writer's commit is what makes a span durable, so that is when ingest may acknowledge.
//
// One consumer group per topic (the embedded writer); several consumers of that group share the
// partitions (a partition is held by one consumer while its batch is in flight, so per-key order is
// kept). Messages published while no consumer runs wait in the queue (bounded by capacity_bytes).

#include <memory>

#include "osprey/bus/bus.hpp"

namespace osprey::metrics {
class Registry;
}

namespace osprey::bus {

struct InProcessBusConfig {
  size_t capacity_bytes = 256u << 20;  // per topic: payload bytes queued or in flight
  int default_partitions = 1;
};

// `metrics` may be null.
std::unique_ptr<Bus> NewInProcessBus(const InProcessBusConfig& config, metrics::Registry* metrics);

}  // namespace osprey::bus
