#include "osprey/bus/kafka_bus.hpp"

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "osprey/base/status.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"

namespace osprey::bus {
namespace {

using namespace std::chrono_literals;

// Room for the key, headers and record-batch framing on top of a topic's payload limit.
constexpr size_t kFramingAllowance = 64u << 10;

constexpr char kErrorHeader[] = "osprey-error";
constexpr char kErrorCodeHeader[] = "osprey-error-code";
constexpr char kSourceTopicHeader[] = "osprey-source-topic";
constexpr char kSourcePartitionHeader[] = "osprey-source-partition";
constexpr char kSourceOffsetHeader[] = "osprey-source-offset";
constexpr char kGroupHeader[] = "osprey-consumer-group";

std::string Err(rd_kafka_resp_err_t err) { return absl::StrCat(rd_kafka_err2name(err), ": ", rd_kafka_err2str(err)); }

// Owns an rd_kafka_conf_t until it is handed to rd_kafka_new.
class Conf {
 public:
  Conf() : conf_(rd_kafka_conf_new()) {}
  ~Conf() {
    if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
  }
  Conf(const Conf&) = delete;
  Conf& operator=(const Conf&) = delete;

  // Records the first failure; later Set calls are ignored after one failed.
  void Set(const std::string& name, const std::string& value) {
    if (!status_.ok()) return;
    char errstr[512];
    if (rd_kafka_conf_set(conf_, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      status_ = base::Permanent(absl::StatusCode::kInvalidArgument,
                                absl::StrCat("kafka setting ", name, "=", value, ": ", errstr));
    }
  }
  rd_kafka_conf_t* get() { return conf_; }
  const absl::Status& status() const { return status_; }

  // Creates the client; the configuration is consumed on success.
  absl::StatusOr<rd_kafka_t*> New(rd_kafka_type_t type) {
    if (!status_.ok()) return status_;
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf_, errstr, sizeof errstr);
    if (rk == nullptr)
      return base::Permanent(absl::StatusCode::kInvalidArgument, absl::StrCat("kafka client: ", errstr));
    conf_ = nullptr;
    return rk;
  }

 private:
  rd_kafka_conf_t* conf_;
  absl::Status status_;
};

void SetCommon(Conf& conf, const KafkaBusConfig& config) {
  conf.Set("bootstrap.servers", config.brokers);
  conf.Set("client.id", config.client_id);
  conf.Set("socket.keepalive.enable", "true");
  conf.Set("log.connection.close", "false");
  conf.Set("allow.auto.create.topics", "false");
}

// librdkafka's own log lines go to the structured log. Its errors are mostly transient (a broker
// restarting, a refused connection) and it retries them itself, so they are warnings here; what the
// caller must act on comes back as a Status.
void LogCallback(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  if (level <= 4) {
    log::Warn("kafka client", {{"facility", facility}, {"detail", message}});
  } else if (level <= 6) {
    log::Info("kafka client", {{"facility", facility}, {"detail", message}});
  }
}

// Completion of one Publish call, shared by the publisher (who may give up waiting) and the delivery
// reports of its messages. Owns the message buffers: librdkafka sends them without copying.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = 0;
  absl::Status status;  // first failure, if any
  std::vector<Message> messages;
  std::vector<std::vector<std::pair<std::string, std::string>>> headers;  // per message, may be empty
};

absl::Status DeliveryStatus(rd_kafka_resp_err_t err, rd_kafka_msg_status_t persisted) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return absl::OkStatus();
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
      return base::Permanent(absl::StatusCode::kInvalidArgument, absl::StrCat("kafka refused the message: ", Err(err)));
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      return base::Permanent(absl::StatusCode::kNotFound, absl::StrCat("kafka topic: ", Err(err)));
    default:
      break;
  }
  const char* maybe = persisted == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED ? " (the message may have been stored)" : "";
  if (err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
      err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT) {
    return base::Retryable(absl::StatusCode::kDeadlineExceeded,
                           absl::StrCat("kafka delivery timed out", maybe, ": ", Err(err)));
  }
  return base::Retryable(absl::StatusCode::kUnavailable, absl::StrCat("kafka delivery failed", maybe, ": ", Err(err)));
}

void DeliveryReport(rd_kafka_t* /*rk*/, const rd_kafka_message_t* rkm, void* /*opaque*/) {
  auto* ref = static_cast<std::shared_ptr<Waiter>*>(rkm->_private);
  if (ref == nullptr) return;
  std::shared_ptr<Waiter> waiter = std::move(*ref);
  delete ref;
  absl::Status status = DeliveryStatus(rkm->err, rd_kafka_message_status(rkm));
  std::lock_guard<std::mutex> lock(waiter->mu);
  if (!status.ok() && waiter->status.ok()) waiter->status = status;
  if (waiter->remaining > 0 && --waiter->remaining == 0) waiter->cv.notify_all();
}

// State shared by the bus, its producers and its consumers (the producer connection and topic limits).
class Core {
 public:
  Core(KafkaBusConfig config, rd_kafka_t* producer, metrics::Registry* metrics)
      : config_(std::move(config)), producer_(producer) {
    if (metrics != nullptr) {
      published_ = &metrics->GetCounter("osprey_bus_published_messages_total", "Messages accepted by the bus");
      refused_ =
          &metrics->GetCounter("osprey_bus_refused_messages_total", "Messages refused because the bus was at capacity");
      failed_ = &metrics->GetCounter("osprey_bus_failed_deliveries_total",
                                     "Kafka delivery reports with an error (the publisher got an error)");
      redelivered_ = &metrics->GetCounter("osprey_bus_redelivered_messages_total",
                                          "Messages handed to a consumer again after a failed batch");
      dead_lettered_ = &metrics->GetCounter("osprey_bus_dead_lettered_messages_total",
                                            "Messages moved to the dead-letter topic after a permanent handler error");
    }
    poller_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "kafka-producer");
      while (!stop_poller_.load()) rd_kafka_poll(producer_, 100);
    });
  }

  ~Core() {
    stop_poller_ = true;
    poller_.join();
    rd_kafka_resp_err_t err = rd_kafka_flush(producer_, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::Warn("kafka producer closed with undelivered messages",
                {{"undelivered", static_cast<int64_t>(rd_kafka_outq_len(producer_))}});
    }
    rd_kafka_destroy(producer_);
  }

  const KafkaBusConfig& config() const { return config_; }
  std::string Full(const std::string& name) const { return config_.namespace_prefix + name; }
  std::string Short(const char* full) const {
    std::string name(full);
    if (name.rfind(config_.namespace_prefix, 0) == 0) name.erase(0, config_.namespace_prefix.size());
    return name;
  }
  void Shutdown() { shutdown_ = true; }
  bool shut_down() const { return shutdown_.load(); }
  metrics::Counter* redelivered() const { return redelivered_; }
  metrics::Counter* dead_lettered() const { return dead_lettered_; }

  absl::Status CreateTopic(const TopicSpec& spec) {
    if (spec.name.empty() || spec.partitions < 1) {
      return base::Permanent(absl::StatusCode::kInvalidArgument, "topic needs a name and partitions >= 1");
    }
    if (spec.max_message_bytes == 0 || spec.max_message_bytes > config_.message_max_bytes) {
      return base::Permanent(absl::StatusCode::kInvalidArgument,
                             absl::StrCat("topic ", spec.name, ": max_message_bytes ", spec.max_message_bytes,
                                          " must be between 1 and the bus limit ", config_.message_max_bytes));
    }
    const std::string full = Full(spec.name);
    char errstr[512];
    rd_kafka_NewTopic_t* topic =
        rd_kafka_NewTopic_new(full.c_str(), spec.partitions, config_.replication_factor, errstr, sizeof errstr);
    if (topic == nullptr) {
      return base::Permanent(absl::StatusCode::kInvalidArgument, absl::StrCat("topic ", spec.name, ": ", errstr));
    }
    const size_t topic_bytes = std::max(spec.max_message_bytes + kFramingAllowance, config_.batch_bytes);
    rd_kafka_NewTopic_set_config(topic, "max.message.bytes", std::to_string(topic_bytes).c_str());
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(producer_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    const int timeout_ms = static_cast<int>(config_.request_timeout.count());
    rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof errstr);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(producer_);
    rd_kafka_CreateTopics(producer_, &topic, 1, options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 2000);
    absl::Status status;
    if (event == nullptr) {
      status = base::Retryable(absl::StatusCode::kUnavailable,
                               absl::StrCat("creating topic ", spec.name, ": no answer from kafka"));
    } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = base::Retryable(absl::StatusCode::kUnavailable,
                               absl::StrCat("creating topic ", spec.name, ": ", rd_kafka_event_error_string(event)));
    } else {
      size_t count = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
      for (size_t i = 0; i < count; ++i) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
        const char* detail = rd_kafka_topic_result_error_string(results[i]);
        std::string message =
            absl::StrCat("creating topic ", spec.name, ": ", Err(err), detail ? absl::StrCat(" (", detail, ")") : "");
        bool permanent = err == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION || err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
                         err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
                         err == RD_KAFKA_RESP_ERR_INVALID_CONFIG || err == RD_KAFKA_RESP_ERR_POLICY_VIOLATION ||
                         err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
        status = permanent ? base::Permanent(absl::StatusCode::kInvalidArgument, message)
                           : base::Retryable(absl::StatusCode::kUnavailable, message);
      }
    }
    if (event != nullptr) rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_NewTopic_destroy(topic);
    OSPREY_RETURN_IF_ERROR(status);
    // Creation is asynchronous on the cluster: the topic is usable once the metadata shows it.
    auto until = std::chrono::steady_clock::now() + config_.request_timeout;
    for (;;) {
      auto exists = TopicExists(full);
      if (exists.ok() && *exists) break;
      if (std::chrono::steady_clock::now() > until) {
        return base::Retryable(absl::StatusCode::kUnavailable,
                               absl::StrCat("topic ", spec.name, " was created but its metadata did not appear"));
      }
      std::this_thread::sleep_for(20ms);
    }
    std::lock_guard<std::mutex> lock(topics_mu_);
    limits_[spec.name] = spec.max_message_bytes;
    return absl::OkStatus();
  }

  // Payload limit of a topic: from CreateTopic, or the bus limit for a topic that exists on the
  // cluster but was created elsewhere. NOT_FOUND (permanent) when the cluster does not have it.
  absl::StatusOr<size_t> TopicLimit(const std::string& name) {
    {
      std::lock_guard<std::mutex> lock(topics_mu_);
      auto it = limits_.find(name);
      if (it != limits_.end()) return it->second;
    }
    OSPREY_ASSIGN_OR_RETURN(bool exists, TopicExists(Full(name)));
    if (!exists) return base::Permanent(absl::StatusCode::kNotFound, absl::StrCat("unknown topic ", name));
    std::lock_guard<std::mutex> lock(topics_mu_);
    return limits_.emplace(name, config_.message_max_bytes).first->second;
  }

  absl::Status Ping() {
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(producer_, 0, nullptr, &metadata, 2000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return base::Retryable(absl::StatusCode::kUnavailable, absl::StrCat("kafka unreachable: ", Err(err)));
    }
    const bool brokers = metadata->broker_cnt > 0;
    rd_kafka_metadata_destroy(metadata);
    if (!brokers) return base::Retryable(absl::StatusCode::kUnavailable, "kafka metadata lists no broker");
    char errstr[512];
    if (rd_kafka_fatal_error(producer_, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(absl::StrCat("kafka producer failed fatally (restart the process): ", errstr));
    }
    return absl::OkStatus();
  }

  // Sends every message and waits for all delivery reports (see kafka_bus.hpp). `headers` is empty or
  // holds one header list per message.
  absl::Status Publish(std::vector<Message> messages,
                       std::vector<std::vector<std::pair<std::string, std::string>>> headers,
                       std::chrono::milliseconds timeout) {
    if (shutdown_) return base::Retryable(absl::StatusCode::kUnavailable, "bus is shutting down");
    if (messages.empty()) return absl::OkStatus();
    for (const auto& m : messages) {
      OSPREY_ASSIGN_OR_RETURN(size_t limit, TopicLimit(m.topic));
      if (m.payload.size() > limit) {
        return base::Permanent(
            absl::StatusCode::kInvalidArgument,
            absl::StrCat("message of ", m.payload.size(), " bytes exceeds the topic limit of ", limit));
      }
      if (m.key.size() > kFramingAllowance / 2) {
        return base::Permanent(absl::StatusCode::kInvalidArgument,
                               absl::StrCat("message key of ", m.key.size(), " bytes is too long"));
      }
    }
    char errstr[512];
    if (rd_kafka_fatal_error(producer_, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return base::Retryable(absl::StatusCode::kUnavailable, absl::StrCat("kafka producer failed fatally: ", errstr));
    }
    auto waiter = std::make_shared<Waiter>();
    waiter->messages = std::move(messages);
    waiter->headers = std::move(headers);
    const size_t count = waiter->messages.size();
    {
      std::lock_guard<std::mutex> lock(waiter->mu);
      waiter->remaining = count;
    }
    size_t sent = 0;
    absl::Status refused;
    for (size_t i = 0; i < count; ++i) {
      Message& m = waiter->messages[i];
      const std::string topic = Full(m.topic);
      auto* ref = new std::shared_ptr<Waiter>(waiter);
      rd_kafka_headers_t* hdrs = nullptr;
      if (i < waiter->headers.size() && !waiter->headers[i].empty()) {
        hdrs = rd_kafka_headers_new(waiter->headers[i].size());
        for (const auto& [name, value] : waiter->headers[i]) {
          rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                              static_cast<ssize_t>(value.size()));
        }
      }
      rd_kafka_resp_err_t err;
      if (hdrs != nullptr) {
        err = rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
                                RD_KAFKA_V_VALUE(m.payload.data(), m.payload.size()), RD_KAFKA_V_MSGFLAGS(0),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(hdrs);
      } else {
        err = rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
                                RD_KAFKA_V_VALUE(m.payload.data(), m.payload.size()), RD_KAFKA_V_MSGFLAGS(0),
                                RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        delete ref;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          if (refused_ != nullptr) refused_->Inc(static_cast<double>(count - sent));
          refused = base::Retryable(absl::StatusCode::kResourceExhausted,
                                    "kafka producer buffer is full (broker slow or unreachable); retry later", 1000ms);
        } else {
          refused = DeliveryStatus(err, RD_KAFKA_MSG_STATUS_NOT_PERSISTED);
        }
        break;
      }
      ++sent;
    }
    std::unique_lock<std::mutex> lock(waiter->mu);
    if (!refused.ok()) {
      // Messages already handed over complete on their own; the waiter keeps their buffers alive.
      waiter->remaining -= count - sent;
      return refused;
    }
    auto until = std::chrono::steady_clock::now() + timeout;
    while (waiter->remaining > 0) {
      if (shutdown_) return base::Retryable(absl::StatusCode::kUnavailable, "bus is shutting down");
      auto now = std::chrono::steady_clock::now();
      if (now >= until) {
        return base::Retryable(absl::StatusCode::kDeadlineExceeded,
                               absl::StrCat("kafka acknowledged ", count - waiter->remaining, " of ", count,
                                            " messages in time; the rest may still be stored"));
      }
      waiter->cv.wait_for(lock, std::min<std::chrono::steady_clock::duration>(until - now, 50ms));
    }
    if (!waiter->status.ok()) {
      if (failed_ != nullptr) failed_->Inc();
      return waiter->status;
    }
    if (published_ != nullptr) published_->Inc(static_cast<double>(count));
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<bool> TopicExists(const std::string& full) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer_, full.c_str(), nullptr);
    if (rkt == nullptr) {
      return base::Permanent(absl::StatusCode::kInvalidArgument,
                             absl::StrCat("invalid topic name ", full, ": ", Err(rd_kafka_last_error())));
    }
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(producer_, 0, rkt, &metadata, static_cast<int>(config_.request_timeout.count()));
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return base::Retryable(absl::StatusCode::kUnavailable, absl::StrCat("kafka metadata: ", Err(err)));
    }
    absl::StatusOr<bool> result = false;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& t = metadata->topics[i];
      if (full != t.topic) continue;
      if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        result = t.partition_cnt > 0;
      } else if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        result = base::Retryable(absl::StatusCode::kUnavailable,
                                 absl::StrCat("kafka metadata for ", full, ": ", Err(t.err)));
      }
    }
    rd_kafka_metadata_destroy(metadata);
    return result;
  }

  const KafkaBusConfig config_;
  rd_kafka_t* const producer_;
  std::thread poller_;
  std::atomic<bool> stop_poller_{false};
  std::atomic<bool> shutdown_{false};
  std::mutex topics_mu_;
  std::map<std::string, size_t> limits_;  // unprefixed topic name -> payload limit
  metrics::Counter* published_ = nullptr;
  metrics::Counter* refused_ = nullptr;
  metrics::Counter* failed_ = nullptr;
  metrics::Counter* redelivered_ = nullptr;
  metrics::Counter* dead_lettered_ = nullptr;
};

class KafkaProducer final : public Producer {
 public:
  explicit KafkaProducer(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  absl::Status Publish(std::vector<Message> messages, std::chrono::milliseconds timeout) override {
    return core_->Publish(std::move(messages), {}, timeout);
  }

 private:
  std::shared_ptr<Core> core_;
};

void RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                       void* opaque);

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(std::shared_ptr<Core> core, ConsumerConfig config)
      : core_(std::move(core)), config_(std::move(config)), full_topic_(core_->Full(config_.topic)) {}

  ~KafkaConsumer() override {
    Stop();
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  // Creates the client (it joins the group only in Start).
  absl::Status Connect() {
    const KafkaBusConfig& kc = core_->config();
    const size_t fetch_bytes = kc.message_max_bytes + kFramingAllowance;
    Conf conf;
    SetCommon(conf, kc);
    conf.Set("group.id", core_->Full(config_.group));
    conf.Set("enable.auto.commit", "false");
    conf.Set("enable.auto.offset.store", "false");
    conf.Set("auto.offset.reset", "earliest");
    conf.Set("enable.partition.eof", "false");
    conf.Set("session.timeout.ms", "10000");
    conf.Set("heartbeat.interval.ms", "1000");
    conf.Set("max.poll.interval.ms", "300000");
    conf.Set("message.max.bytes", std::to_string(fetch_bytes));
    conf.Set("fetch.max.bytes", std::to_string(fetch_bytes));
    conf.Set("receive.message.max.bytes", std::to_string(fetch_bytes + (1u << 20)));
    conf.Set("queued.max.messages.kbytes", "32768");
    // The broker answers a fetch once it holds 1 MiB for it or after 100 ms, not as soon as one record
    // arrives: broker CPU per stored span fell 20-25 % at 6k spans/s (deploy/local, two interleaved
    // pairs of runs), for at most 100 ms more before a quiet topic's records reach the writer.
    conf.Set("fetch.min.bytes", "1048576");
    conf.Set("fetch.wait.max.ms", "100");
    OSPREY_RETURN_IF_ERROR(conf.status());
    rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
    rd_kafka_conf_set_rebalance_cb(conf.get(), RebalanceCallback);
    rd_kafka_conf_set_opaque(conf.get(), this);
    OSPREY_ASSIGN_OR_RETURN(rk_, conf.New(RD_KAFKA_CONSUMER));
    rd_kafka_poll_set_consumer(rk_);
    return absl::OkStatus();
  }

  absl::Status Start(Handler handler) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return absl::FailedPreconditionError("consumer already started");
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, full_topic_.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return base::Retryable(absl::StatusCode::kUnavailable,
                             absl::StrCat("subscribing to ", config_.topic, ": ", Err(err)));
    }
    started_ = true;
    handler_ = std::move(handler);
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void Stop() override {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Called by librdkafka from inside rd_kafka_consumer_poll on the consumer thread.
  void Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk_, partitions);
      return;
    }
    // Revoked: messages of those partitions that are not handled yet go to their next owner.
    for (int i = 0; i < partitions->cnt; ++i) {
      const int32_t p = partitions->elems[i].partition;
      pending_.erase(
          std::remove_if(pending_.begin(), pending_.end(), [p](const Delivery& d) { return d.partition == p; }),
          pending_.end());
      failures_.erase(p);
    }
    rd_kafka_assign(rk_, nullptr);
  }

 private:
  struct Failure {
    int64_t upto = -1;  // highest offset of the failed batches
    int count = 0;
  };

  void Run() {
    pthread_setname_np(pthread_self(), "kafka-consumer");
    std::chrono::milliseconds backoff = config_.retry_backoff;
    while (!stop_) {
      Fill();
      if (pending_.empty()) continue;
      std::vector<Delivery> batch = std::move(pending_);
      pending_.clear();
      // Per partition: first and last offset in the batch.
      std::map<int32_t, std::pair<int64_t, int64_t>> ranges;
      size_t redelivered = 0;
      for (const auto& d : batch) {
        auto [it, inserted] = ranges.emplace(d.partition, std::make_pair(d.offset, d.offset));
        if (!inserted) {
          it->second.first = std::min(it->second.first, d.offset);
          it->second.second = std::max(it->second.second, d.offset);
        }
        if (d.attempt > 1) ++redelivered;
      }
      if (redelivered > 0 && core_->redelivered() != nullptr)
        core_->redelivered()->Inc(static_cast<double>(redelivered));
      absl::Status status;
      try {
        status = handler_(batch);
      } catch (const std::exception& e) {
        status = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
      } catch (...) {
        status = absl::InternalError("handler threw");
      }
      if (status.ok()) {
        std::vector<const Delivery*> marked;
        for (const auto& d : batch) {
          if (!d.dead_letter_error.empty()) marked.push_back(&d);
        }
        // The rest of the batch is handled; if the marked messages cannot be parked, the whole batch is
        // redelivered (handlers are idempotent) rather than losing them.
        if (!marked.empty()) status = DeadLetter(marked, absl::OkStatus());
      } else if (!base::IsRetryable(status)) {
        std::vector<const Delivery*> all;
        for (const auto& d : batch) all.push_back(&d);
        absl::Status dead = DeadLetter(all, status);
        if (dead.ok()) {
          status = absl::OkStatus();
        } else {
          log::Error("bus could not dead-letter a batch; retrying it",
                     {{"topic", config_.topic}, {"error", std::string(dead.message())}});
          status = dead;
        }
      }
      if (status.ok()) {
        Commit(ranges);
        for (const auto& [p, range] : ranges) {
          auto it = failures_.find(p);
          if (it != failures_.end() && it->second.upto <= range.second) failures_.erase(it);
        }
        backoff = config_.retry_backoff;
        continue;
      }
      log::Warn("bus batch failed", {{"topic", config_.topic},
                                     {"messages", static_cast<int64_t>(batch.size())},
                                     {"retryable", true},
                                     {"error", std::string(status.message())}});
      for (const auto& [p, range] : ranges) {
        Failure& f = failures_[p];
        f.upto = std::max(f.upto, range.second);
        ++f.count;
      }
      Rewind(ranges);
      auto until = std::chrono::steady_clock::now() + backoff;
      while (!stop_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
      backoff = std::min(backoff * 2, config_.max_retry_backoff);
    }
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) log::Warn("kafka consumer close", {{"error", Err(err)}});
  }

  // Polls until a batch is ready (size, bytes or max_wait after the first message) or Stop().
  void Fill() {
    size_t bytes = 0;
    std::chrono::steady_clock::time_point fill_until{};
    while (!stop_ || !pending_.empty()) {
      int wait_ms = 100;
      if (!pending_.empty()) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(fill_until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        wait_ms = static_cast<int>(left.count());
      }
      rd_kafka_message_t* rkm = rd_kafka_consumer_poll(rk_, wait_ms);
      if (rkm == nullptr) {
        if (pending_.empty() && stop_) return;
        continue;
      }
      if (rkm->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          log::Warn("kafka consumer", {{"topic", config_.topic}, {"error", Err(rkm->err)}});
        }
        rd_kafka_message_destroy(rkm);
        continue;
      }
      Delivery d;
      d.topic = core_->Short(rd_kafka_topic_name(rkm->rkt));
      d.partition = rkm->partition;
      d.offset = rkm->offset;
      if (rkm->key != nullptr) d.key.assign(static_cast<const char*>(rkm->key), rkm->key_len);
      if (rkm->payload != nullptr) d.payload.assign(static_cast<const char*>(rkm->payload), rkm->len);
      rd_kafka_message_destroy(rkm);
      auto f = failures_.find(d.partition);
      d.attempt = (f != failures_.end() && d.offset <= f->second.upto) ? f->second.count + 1 : 1;
      if (pending_.empty()) fill_until = std::chrono::steady_clock::now() + config_.max_wait;
      bytes += d.payload.size();
      pending_.push_back(std::move(d));
      if (pending_.size() >= config_.max_batch_messages || bytes >= config_.max_batch_bytes) return;
    }
  }

  rd_kafka_topic_partition_list_t* Offsets(const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges, bool next) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(ranges.size()));
    for (const auto& [p, range] : ranges) {
      rd_kafka_topic_partition_list_add(list, full_topic_.c_str(), p)->offset = next ? range.second + 1 : range.first;
    }
    return list;
  }

  void Commit(const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges) {
    rd_kafka_topic_partition_list_t* list = Offsets(ranges, /*next=*/true);
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_, list);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = rd_kafka_commit(rk_, list, /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The batch is stored; its messages may be delivered again (handlers are idempotent).
      log::Warn("kafka offset commit failed", {{"topic", config_.topic}, {"error", Err(err)}});
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  // Every partition of the failed batch starts again at its first uncommitted offset.
  void Rewind(const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges) {
    rd_kafka_topic_partition_list_t* list = Offsets(ranges, /*next=*/false);
    rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list, 5000);
    if (error != nullptr) {
      log::Warn("kafka seek failed", {{"topic", config_.topic}, {"error", std::string(rd_kafka_error_string(error))}});
      rd_kafka_error_destroy(error);
    }
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log::Warn("kafka seek failed", {{"topic", config_.topic},
                                        {"partition", static_cast<int64_t>(list->elems[i].partition)},
                                        {"error", Err(list->elems[i].err)}});
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  // Moves `messages` to the dead-letter topic with their error in the headers: `batch_error` when it is
  // not OK (a permanent handler error), else each message's own dead_letter_error.
  absl::Status DeadLetter(const std::vector<const Delivery*>& messages, const absl::Status& batch_error) {
    const std::string& dlq = core_->config().dead_letter_topic;
    OSPREY_RETURN_IF_ERROR(core_->CreateTopic(TopicSpec{dlq, 1, core_->config().message_max_bytes}));
    std::vector<Message> out;
    std::vector<std::vector<std::pair<std::string, std::string>>> headers;
    for (const Delivery* d : messages) {
      const bool own = batch_error.ok();
      out.push_back(Message{dlq, d->key, d->payload});
      headers.push_back({{kErrorHeader, own ? d->dead_letter_error : std::string(batch_error.message())},
                         {kErrorCodeHeader, own ? absl::StatusCodeToString(absl::StatusCode::kInvalidArgument)
                                                : absl::StatusCodeToString(batch_error.code())},
                         {kSourceTopicHeader, d->topic},
                         {kSourcePartitionHeader, std::to_string(d->partition)},
                         {kSourceOffsetHeader, std::to_string(d->offset)},
                         {kGroupHeader, config_.group}});
    }
    OSPREY_RETURN_IF_ERROR(core_->Publish(std::move(out), std::move(headers), core_->config().delivery_timeout + 5s));
    if (core_->dead_lettered() != nullptr) core_->dead_lettered()->Inc(static_cast<double>(messages.size()));
    log::Error("bus dead-lettered messages",
               {{"topic", config_.topic},
                {"dead_letter_topic", dlq},
                {"messages", static_cast<int64_t>(messages.size())},
                {"error", batch_error.ok() ? messages.front()->dead_letter_error : std::string(batch_error.message())}});
    return absl::OkStatus();
  }

  std::shared_ptr<Core> core_;
  const ConsumerConfig config_;
  const std::string full_topic_;
  rd_kafka_t* rk_ = nullptr;
  std::mutex mu_;  // Start/Stop
  bool started_ = false;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Consumer thread only.
  std::vector<Delivery> pending_;
  std::map<int32_t, Failure> failures_;
};

void RebalanceCallback(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                       void* opaque) {
  static_cast<KafkaConsumer*>(opaque)->Rebalance(err, partitions);
}

class KafkaBus final : public Bus {
 public:
  explicit KafkaBus(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~KafkaBus() override = default;

  absl::Status CreateTopic(const TopicSpec& spec) override { return core_->CreateTopic(spec); }
  std::unique_ptr<Producer> NewProducer() override { return std::make_unique<KafkaProducer>(core_); }

  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(const ConsumerConfig& config) override {
    if (config.group.empty() || config.topic.empty()) {
      return base::Permanent(absl::StatusCode::kInvalidArgument, "consumer needs a group and a topic");
    }
    if (config.max_batch_messages == 0 || config.max_batch_bytes == 0) {
      return base::Permanent(absl::StatusCode::kInvalidArgument, "consumer batch limits must be positive");
    }
    auto consumer = std::make_unique<KafkaConsumer>(core_, config);
    OSPREY_RETURN_IF_ERROR(consumer->Connect());
    return std::unique_ptr<Consumer>(std::move(consumer));
  }

  absl::Status Ping() override { return core_->Ping(); }
  void Shutdown() override { core_->Shutdown(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Bus>> NewKafkaBus(const KafkaBusConfig& config, metrics::Registry* metrics) {
  if (config.brokers.empty()) return base::Permanent(absl::StatusCode::kInvalidArgument, "kafka bus: brokers is empty");
  if (config.message_max_bytes == 0 || config.message_max_bytes > (512u << 20)) {
    return base::Permanent(absl::StatusCode::kInvalidArgument,
                           "kafka bus: message_max_bytes must be between 1 and 512 MiB");
  }
  if (config.linger_ms < 0 || config.delivery_timeout.count() <= 0 || config.request_timeout.count() <= 0) {
    return base::Permanent(absl::StatusCode::kInvalidArgument, "kafka bus: linger and timeouts must not be negative");
  }
  Conf conf;
  SetCommon(conf, config);
  conf.Set("enable.idempotence", "true");
  conf.Set("acks", "all");
  conf.Set("linger.ms", std::to_string(config.linger_ms));
  conf.Set("batch.size", std::to_string(config.batch_bytes));
  conf.Set("compression.type", "lz4");
  conf.Set("message.max.bytes", std::to_string(config.message_max_bytes + kFramingAllowance));
  conf.Set("queue.buffering.max.kbytes", std::to_string(std::max<size_t>(config.producer_queue_bytes >> 10, 1)));
  conf.Set("queue.buffering.max.messages", "1000000");
  conf.Set("message.timeout.ms", std::to_string(config.delivery_timeout.count()));
  OSPREY_RETURN_IF_ERROR(conf.status());
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), DeliveryReport);
  OSPREY_ASSIGN_OR_RETURN(rd_kafka_t * producer, conf.New(RD_KAFKA_PRODUCER));
  return std::unique_ptr<Bus>(std::make_unique<KafkaBus>(std::make_shared<Core>(config, producer, metrics)));
}

}  // namespace osprey::bus
