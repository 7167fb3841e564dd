#pragma once

// The Bus seam (design §4): ingest publishes span batches, the writer consumes them.
//
// Delivery contract, the same for every implementation:
//   - Producer::Publish returns OK only when every message is durable per the mode:
//       in-process: a consumer group has handled it and committed (the writer's transaction is done);
//       Kafka (next issue): acknowledged by the broker with acks=all.
//     A retryable error means some messages may be durable anyway; publishing again is safe because
//     consumers are idempotent. A permanent error (message too large, unknown topic) must not be retried.
//   - Consumer hands batches to one handler call at a time and commits a message only after the
//     handler returned OK for the batch holding it (at-least-once). A failed batch is redelivered.
//   - Messages with the same key keep their publish order (same partition).
//   - Every queue is bounded in bytes; past the bound Publish fails fast with retryable
//     RESOURCE_EXHAUSTED.
// Thread safety: Bus, Producer and Consumer methods may be called from any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace osprey::bus {

inline constexpr char kSpansTopic[] = "osprey.spans.v1";
inline constexpr char kSpansDeadLetterTopic[] = "osprey.spans.dlq.v1";

struct Message {
  std::string topic;
  std::string key;
  std::string payload;
};

struct Delivery {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string payload;
  int attempt = 1;  // 2+ when redelivered after a failed batch
  // Set by the handler for a message that can never be handled (e.g. it does not decode): when the
  // handler returns OK, the bus moves that message to the dead-letter topic with this error attached,
  // counts it, and commits it with the rest of the batch. Empty: the message was handled.
  std::string dead_letter_error;
};

struct TopicSpec {
  std::string name;
  int partitions = 1;
  size_t max_message_bytes = 8u << 20;
};

class Producer {
 public:
  virtual ~Producer() = default;
  // Blocks until every message is durable (see the contract above) or `timeout` passes
  // (then DEADLINE_EXCEEDED, retryable).
  virtual absl::Status Publish(std::vector<Message> messages, std::chrono::milliseconds timeout) = 0;
};

// Called with one batch at a time; OK commits the whole batch (after dead-lettering the messages the
// handler marked with Delivery::dead_letter_error). A retryable error redelivers the batch after a
// backoff; a permanent error dead-letters all its messages (counted, never silently lost).
using Handler = std::function<absl::Status(std::vector<Delivery>& batch)>;

struct ConsumerConfig {
  std::string group;
  std::string topic;
  size_t max_batch_messages = 1000;
  size_t max_batch_bytes = 32u << 20;
  std::chrono::milliseconds max_wait{2};  // extra time to fill a batch once one message is there
  std::chrono::milliseconds retry_backoff{50};
  std::chrono::milliseconds max_retry_backoff{5000};
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Spawns the consumer thread. FAILED_PRECONDITION when started twice.
  virtual absl::Status Start(Handler handler) = 0;
  // Finishes the batch in progress (its commit or failure), then stops and joins. Idempotent; safe
  // without Start().
  virtual void Stop() = 0;
};

class Bus {
 public:
  virtual ~Bus() = default;
  // Creates the topic if missing (idempotent).
  virtual absl::Status CreateTopic(const TopicSpec& spec) = 0;
  virtual std::unique_ptr<Producer> NewProducer() = 0;
  virtual absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(const ConsumerConfig& config) = 0;
  // Readiness: OK when the bus can accept messages.
  virtual absl::Status Ping() = 0;
  // Fails every pending Publish with retryable UNAVAILABLE and refuses new ones. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace osprey::bus
