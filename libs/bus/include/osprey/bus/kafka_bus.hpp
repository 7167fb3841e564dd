#pragma once

// The Kafka Bus of the distributed mode (librdkafka). Delivery contract as in bus.hpp, with:
//   - Publish returns OK only when the broker acknowledged every message with acks=all (idempotent
//     producer, so broker-side retries neither duplicate nor reorder). A delivery timeout, whose
//     message may or may not be persisted, is a retryable DEADLINE_EXCEEDED, never success; a full
//     local producer queue is a retryable RESOURCE_EXHAUSTED. An oversized message (payload larger than
//     the topic's max_message_bytes) is a permanent INVALID_ARGUMENT, an unknown topic a permanent
//     NOT_FOUND, both decided before anything is sent.
//   - Consumers are members of a Kafka consumer group (several processes share the partitions).
//     Offsets are stored and committed (synchronously) only after the handler returned OK for the
//     batch. After a retryable handler error every partition of the batch is rewound to its first
//     uncommitted offset and the batch is redelivered after a backoff (attempt counts up). After a
//     permanent handler error the batch's messages are produced to the dead-letter topic
//     (`kSpansDeadLetterTopic`, created on demand) with the error and their origin as headers, then
//     committed, so the partition moves on.
//   - Topics are created through the admin API with their partition count and a max.message.bytes
//     that admits max_message_bytes of payload plus key and framing.
//
// `namespace_prefix` is prepended to every topic and group name on the cluster (tests give each bus
// fresh topics on one broker); the Bus API and Delivery::topic use the unprefixed names.
//
// Thread safety: as bus.hpp. One producer connection is shared by every Producer of a bus; each
// Consumer owns its own connection and thread. Producers may outlive the Bus.

#include <chrono>
#include <memory>
#include <string>

#include "osprey/bus/bus.hpp"

namespace osprey::metrics {
class Registry;
}

namespace osprey::bus {

struct KafkaBusConfig {
  std::string brokers;  // bootstrap servers, "host:port[,host:port...]"; required
  std::string client_id = "osprey";
  std::string namespace_prefix;
  // Largest message payload any topic may carry; the producer and consumer limits are raised to it
  // (the broker's message.max.bytes must be at least this plus framing: deploy/kafka sets 65 MiB).
  size_t message_max_bytes = 64u << 20;
  int linger_ms = 10;                                 // producer batching delay
  size_t batch_bytes = 1u << 20;                      // producer batch.size
  size_t producer_queue_bytes = 512u << 20;           // local producer buffer; past it Publish is RESOURCE_EXHAUSTED
  std::chrono::milliseconds delivery_timeout{30000};  // message.timeout.ms
  std::chrono::milliseconds request_timeout{10000};   // admin and metadata requests
  int replication_factor = -1;                        // for CreateTopic; -1 = the broker's default.replication.factor
  std::string dead_letter_topic = kSpansDeadLetterTopic;
};

// Validates the configuration and creates the producer connection (it connects lazily: an
// unreachable broker shows in Ping, not here). INVALID_ARGUMENT for a bad configuration.
// `metrics` may be null.
absl::StatusOr<std::unique_ptr<Bus>> NewKafkaBus(const KafkaBusConfig& config, metrics::Registry* metrics);

}  // namespace osprey::bus
