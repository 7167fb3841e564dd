#include "osprey/bus/kafka_bus.hpp"

#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "osprey/base/status.hpp"
#include "osprey/bustest/conformance.hpp"
#include "osprey/metrics/metrics.hpp"

// A real Kafka broker for this test binary: started once with deploy/kafka/start on a free port in a
// temporary directory and stopped at exit. OSPREY_TEST_KAFKA_BROKERS=host:port uses a running broker.

namespace {

using namespace std::chrono_literals;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A broker in its own temporary directory, started with deploy/kafka/start on a free port.
class Broker {
 public:
  // The broker shared by most tests (OSPREY_TEST_KAFKA_BROKERS=host:port uses a running one instead).
  static Broker& Shared() {
    static Broker broker(/*use_env=*/true);
    return broker;
  }

  explicit Broker(bool use_env = false) {
    if (const char* env = std::getenv("OSPREY_TEST_KAFKA_BROKERS"); use_env && env != nullptr && *env != '\0') {
      brokers_ = env;
      return;
    }
    char tmpl[] = "/tmp/osprey-kafka-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    port_ = FreePort();
    Start();
  }

  ~Broker() {
    if (dir_.empty()) return;
    Stop();
    std::string rm = "rm -rf " + dir_;
    (void)std::system(rm.c_str());
  }

  // Empty when the broker could not be started (the reason is in error()).
  const std::string& brokers() const { return brokers_; }
  const std::string& error() const { return error_; }

  // Starts (again, keeping the data) on the same port; waits until the broker answers metadata.
  bool Start() {
    std::string start = "OSPREY_KAFKA_PARENT_PID=" + std::to_string(getpid()) + " " + OSPREY_SOURCE_DIR +
                        "/deploy/kafka/start " + dir_ + " " + std::to_string(port_) + " >" + dir_ + "/start.out 2>&1";
    auto began = std::chrono::steady_clock::now();
    if (std::system(start.c_str()) != 0) {
      error_ = "deploy/kafka/start failed; see " + dir_ + "/start.out";
      std::string cat = "cat " + dir_ + "/start.out >&2";
      (void)std::system(cat.c_str());
      brokers_.clear();
      return false;
    }
    brokers_ = "127.0.0.1:" + std::to_string(port_);
    // The port answers before the broker finished registering with its controller.
    osprey::bus::KafkaBusConfig cfg;
    cfg.brokers = brokers_;
    auto bus = osprey::bus::NewKafkaBus(cfg, nullptr);
    auto until = std::chrono::steady_clock::now() + 60s;
    while (bus.ok() && !(*bus)->Ping().ok() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(100ms);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began).count();
    std::fprintf(stderr, "kafka_bus_test: broker %s ready in %lld ms (dir %s)\n", brokers_.c_str(),
                 static_cast<long long>(ms), dir_.c_str());
    return true;
  }

  void Stop() {
    std::string stop = std::string(OSPREY_SOURCE_DIR) + "/deploy/kafka/stop " + dir_;
    if (std::system(stop.c_str()) != 0) std::fprintf(stderr, "kafka_bus_test: %s failed\n", stop.c_str());
  }

 private:
  std::string dir_;
  int port_ = 0;
  std::string brokers_;
  std::string error_;
};

// Each bus gets its own topic and group namespace on the shared broker.
std::string FreshPrefix() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ".";
}

osprey::bus::KafkaBusConfig Config() {
  const Broker& broker = Broker::Shared();
  INFO(broker.error());
  REQUIRE_FALSE(broker.brokers().empty());
  osprey::bus::KafkaBusConfig cfg;
  cfg.brokers = broker.brokers();
  cfg.client_id = "kafka_bus_test";
  cfg.namespace_prefix = FreshPrefix();
  cfg.linger_ms = 5;
  return cfg;
}

osprey::bustest::Backend Kafka() {
  osprey::bustest::Backend backend;
  backend.make_bus = [](size_t /*capacity: the broker buffers on disk*/) {
    auto bus = osprey::bus::NewKafkaBus(Config(), nullptr);
    REQUIRE(bus.ok());
    return std::move(bus).value();
  };
  backend.publish_waits_for_commit = false;
  return backend;
}

// Reads up to `n` messages of partition 0 of `topic` from the beginning, with their headers.
struct RawMessage {
  std::string key;
  std::string payload;
  std::map<std::string, std::string> headers;
};

std::vector<RawMessage> ReadFromStart(const std::string& brokers, const std::string& topic, size_t n) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "group.id", "raw-reader", errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  REQUIRE(rk != nullptr);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<RawMessage> out;
  auto until = std::chrono::steady_clock::now() + 20s;
  while (out.size() < n && std::chrono::steady_clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      RawMessage raw;
      if (m->key != nullptr) raw.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) raw.payload.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          raw.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      out.push_back(std::move(raw));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

double CounterValue(const osprey::metrics::Registry& metrics, const std::string& name) {
  std::string text = metrics.Render();
  auto pos = text.find("\n" + name + " ");
  if (pos == std::string::npos) return 0;
  return std::stod(text.substr(pos + name.size() + 2));
}

}  // namespace

OSPREY_BUS_CONFORMANCE_TESTS("kafka bus", Kafka())

TEST_CASE("kafka bus: a permanent handler error dead-letters the batch with the error and the partition moves on") {
  osprey::metrics::Registry metrics;
  auto cfg = Config();
  auto made = osprey::bus::NewKafkaBus(cfg, &metrics);
  REQUIRE(made.ok());
  auto& bus = **made;
  REQUIRE(bus.CreateTopic({"spans", 1, 1024}).ok());
  std::atomic<int> poison_seen{0};
  std::mutex mu;
  std::vector<std::string> stored;
  auto consumer = *bus.NewConsumer({"writers", "spans"});
  REQUIRE(consumer
              ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                for (const auto& d : batch) {
                  if (d.payload == "poison") {
                    poison_seen.fetch_add(1);
                    return osprey::base::Permanent(absl::StatusCode::kInvalidArgument, "undecodable payload");
                  }
                }
                std::lock_guard<std::mutex> lock(mu);
                for (const auto& d : batch) stored.push_back(d.payload);
                return absl::OkStatus();
              })
              .ok());
  auto producer = bus.NewProducer();
  REQUIRE(producer->Publish({{"spans", "trace-1", "poison"}}, 10s).ok());
  auto until = std::chrono::steady_clock::now() + 20s;
  while (CounterValue(metrics, "osprey_bus_dead_lettered_messages_total") < 1 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(CounterValue(metrics, "osprey_bus_dead_lettered_messages_total") == 1);
  REQUIRE(producer->Publish({{"spans", "trace-2", "good"}}, 10s).ok());
  until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!stored.empty() || std::chrono::steady_clock::now() > until) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  consumer->Stop();
  CHECK(stored == std::vector<std::string>{"good"});
  CHECK(poison_seen.load() == 1);

  auto dead = ReadFromStart(cfg.brokers, cfg.namespace_prefix + osprey::bus::kSpansDeadLetterTopic, 1);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].key == "trace-1");
  CHECK(dead[0].payload == "poison");
  CHECK(dead[0].headers["osprey-error"] == "undecodable payload");
  CHECK(dead[0].headers["osprey-error-code"] == "INVALID_ARGUMENT");
  CHECK(dead[0].headers["osprey-source-topic"] == "spans");
  CHECK(dead[0].headers["osprey-source-offset"] == "0");
  CHECK(dead[0].headers["osprey-consumer-group"] == "writers");
}

TEST_CASE("kafka bus: a message the handler marks undeliverable is dead-lettered alone; the rest commits") {
  osprey::metrics::Registry metrics;
  auto cfg = Config();
  auto made = osprey::bus::NewKafkaBus(cfg, &metrics);
  REQUIRE(made.ok());
  auto& bus = **made;
  REQUIRE(bus.CreateTopic({"spans", 1, 1024}).ok());
  auto producer = bus.NewProducer();
  // Published before the consumer starts, so the first batch holds both messages.
  REQUIRE(producer->Publish({{"spans", "trace-1", "poison"}, {"spans", "trace-2", "good"}}, 10s).ok());
  std::mutex mu;
  std::vector<std::string> handled;
  auto consumer = *bus.NewConsumer({"writers", "spans"});
  REQUIRE(consumer
              ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                std::lock_guard<std::mutex> lock(mu);
                for (auto& d : batch) {
                  if (d.payload == "poison") {
                    d.dead_letter_error = "does not decode";
                  } else {
                    handled.push_back(d.payload);
                  }
                }
                return absl::OkStatus();
              })
              .ok());
  auto until = std::chrono::steady_clock::now() + 20s;
  while (CounterValue(metrics, "osprey_bus_dead_lettered_messages_total") < 1 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(producer->Publish({{"spans", "trace-3", "after"}}, 10s).ok());
  until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (handled.size() >= 2 || std::chrono::steady_clock::now() > until) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  consumer->Stop();
  CHECK(CounterValue(metrics, "osprey_bus_dead_lettered_messages_total") == 1);
  CHECK(handled == std::vector<std::string>{"good", "after"});
  auto dead = ReadFromStart(cfg.brokers, cfg.namespace_prefix + osprey::bus::kSpansDeadLetterTopic, 1);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].key == "trace-1");
  CHECK(dead[0].payload == "poison");
  CHECK(dead[0].headers["osprey-error"] == "does not decode");
  CHECK(dead[0].headers["osprey-source-offset"] == "0");
}

TEST_CASE("kafka bus: a consumer of the same group resumes after the committed offset") {
  auto made = osprey::bus::NewKafkaBus(Config(), nullptr);
  REQUIRE(made.ok());
  auto& bus = **made;
  REQUIRE(bus.CreateTopic({"spans", 2, 1024}).ok());
  auto producer = bus.NewProducer();
  REQUIRE(producer->Publish({{"spans", "a", "1"}, {"spans", "b", "2"}}, 10s).ok());
  std::atomic<int> first_count{0};
  {
    auto first = *bus.NewConsumer({"writers", "spans"});
    REQUIRE(first
                ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                  first_count.fetch_add(static_cast<int>(batch.size()));
                  return absl::OkStatus();
                })
                .ok());
    auto until = std::chrono::steady_clock::now() + 20s;
    while (first_count.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    first->Stop();
  }
  REQUIRE(first_count.load() == 2);
  REQUIRE(producer->Publish({{"spans", "a", "3"}}, 10s).ok());
  std::mutex mu;
  std::vector<std::string> seen;
  auto second = *bus.NewConsumer({"writers", "spans"});
  REQUIRE(second
              ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                std::lock_guard<std::mutex> lock(mu);
                for (const auto& d : batch) seen.push_back(d.payload);
                return absl::OkStatus();
              })
              .ok());
  auto until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!seen.empty() || std::chrono::steady_clock::now() > until) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(300ms);  // anything redelivered would show up now
  second->Stop();
  CHECK(seen == std::vector<std::string>{"3"});
}

TEST_CASE("kafka bus: configuration errors and an unreachable broker are reported precisely") {
  osprey::bus::KafkaBusConfig empty;
  auto none = osprey::bus::NewKafkaBus(empty, nullptr);
  CHECK(none.status().code() == absl::StatusCode::kInvalidArgument);

  osprey::bus::KafkaBusConfig bad;
  bad.brokers = "127.0.0.1:9";
  bad.linger_ms = -1;
  CHECK(osprey::bus::NewKafkaBus(bad, nullptr).status().code() == absl::StatusCode::kInvalidArgument);

  osprey::bus::KafkaBusConfig unreachable;
  unreachable.brokers = "127.0.0.1:" + std::to_string(FreePort());
  unreachable.request_timeout = 1s;
  auto bus = osprey::bus::NewKafkaBus(unreachable, nullptr);
  REQUIRE(bus.ok());
  auto ping = (*bus)->Ping();
  CHECK(ping.code() == absl::StatusCode::kUnavailable);
  CHECK(osprey::base::IsRetryable(ping));
  auto publish = (*bus)->NewProducer()->Publish({{"spans", "k", "v"}}, 1s);
  CHECK_FALSE(publish.ok());
  CHECK(osprey::base::IsRetryable(publish));
}

TEST_CASE("kafka bus: a multi-megabyte message passes broker, topic and client limits whole") {
  auto made = osprey::bus::NewKafkaBus(Config(), nullptr);
  REQUIRE(made.ok());
  auto& bus = **made;
  REQUIRE(bus.CreateTopic({"big", 1, 24u << 20}).ok());
  std::string payload(20u << 20, 'a');
  for (size_t i = 0; i < payload.size(); i += 4096) payload[i] = static_cast<char>('a' + (i / 4096) % 26);
  REQUIRE(bus.NewProducer()->Publish({{"big", "k", payload}}, 30s).ok());
  std::promise<std::string> got;
  auto consumer = *bus.NewConsumer({"writers", "big"});
  REQUIRE(consumer
              ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                got.set_value(batch.at(0).payload);
                return absl::OkStatus();
              })
              .ok());
  auto future = got.get_future();
  REQUIRE(future.wait_for(30s) == std::future_status::ready);
  consumer->Stop();
  std::string received = future.get();
  CHECK(received.size() == payload.size());
  CHECK(received == payload);
}

TEST_CASE("kafka bus: while the broker is down Publish fails retryably, never OK, and recovers after a restart") {
  Broker broker;
  INFO(broker.error());
  REQUIRE_FALSE(broker.brokers().empty());
  osprey::bus::KafkaBusConfig cfg;
  cfg.brokers = broker.brokers();
  cfg.delivery_timeout = 2s;
  cfg.producer_queue_bytes = 512u << 10;
  auto made = osprey::bus::NewKafkaBus(cfg, nullptr);
  REQUIRE(made.ok());
  auto& bus = **made;
  REQUIRE(bus.CreateTopic({"spans", 1, 1u << 20}).ok());
  auto producer = bus.NewProducer();
  REQUIRE(producer->Publish({{"spans", "k", "before"}}, 10s).ok());

  broker.Stop();
  // The delivery report times out: retryable, and not success.
  auto lost = producer->Publish({{"spans", "k", "during"}}, 10s);
  CHECK(lost.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(osprey::base::IsRetryable(lost));
  // The caller's own deadline is the same answer.
  auto waited = producer->Publish({{"spans", "k", "during-2"}}, 200ms);
  CHECK(waited.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(osprey::base::IsRetryable(waited));
  // Past the local buffer, Publish fails fast with a retry hint.
  std::string big(300u << 10, 'x');
  auto full = producer->Publish({{"spans", "k", big}, {"spans", "k", big}}, 10s);
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(osprey::base::IsRetryable(full));
  CHECK(osprey::base::RetryAfter(full).has_value());
  auto ping = bus.Ping();
  CHECK(ping.code() == absl::StatusCode::kUnavailable);
  std::this_thread::sleep_for(2500ms);  // let the buffered messages time out

  REQUIRE(broker.Start());
  auto until = std::chrono::steady_clock::now() + 30s;
  absl::Status after;
  do {
    after = producer->Publish({{"spans", "k", "after"}}, 10s);
  } while (!after.ok() && osprey::base::IsRetryable(after) && std::chrono::steady_clock::now() < until);
  REQUIRE(after.ok());
  CHECK(bus.Ping().ok());

  std::mutex mu;
  std::vector<std::string> seen;
  auto consumer = *bus.NewConsumer({"writers", "spans"});
  REQUIRE(consumer
              ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                std::lock_guard<std::mutex> lock(mu);
                for (const auto& d : batch) seen.push_back(d.payload);
                return absl::OkStatus();
              })
              .ok());
  until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if ((!seen.empty() && seen.back() == "after") || std::chrono::steady_clock::now() > until) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  consumer->Stop();
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.front() == "before");
  CHECK(seen.back() == "after");
}

TEST_CASE("kafka bus: two consumers of one group share the partitions and together see every message once") {
  auto made = osprey::bus::NewKafkaBus(Config(), nullptr);
  REQUIRE(made.ok());
  auto& bus = **made;
  REQUIRE(bus.CreateTopic({"spans", 4, 1024}).ok());
  std::mutex mu;
  std::map<std::string, int> times_seen;  // payload -> deliveries, over both consumers
  int seen_by[2] = {0, 0};
  auto handler = [&](int who) {
    return [&, who](std::vector<osprey::bus::Delivery>& batch) {
      std::lock_guard<std::mutex> lock(mu);
      // Warm-up messages may still arrive after the count starts: only the measured ones are counted.
      for (const auto& d : batch) {
        if (d.payload != "warm") ++times_seen[d.payload];
      }
      seen_by[who] += static_cast<int>(batch.size());
      return absl::OkStatus();
    };
  };
  auto first = *bus.NewConsumer({"writers", "spans"});
  auto second = *bus.NewConsumer({"writers", "spans"});
  REQUIRE(first->Start(handler(0)).ok());
  REQUIRE(second->Start(handler(1)).ok());
  auto producer = bus.NewProducer();
  // Warm up until the group settled with partitions on both members.
  auto until = std::chrono::steady_clock::now() + 30s;
  for (int round = 0;; ++round) {
    std::vector<osprey::bus::Message> warm;
    for (int k = 0; k < 16; ++k) warm.push_back({"spans", "key" + std::to_string(k), "warm"});
    REQUIRE(producer->Publish(std::move(warm), 10s).ok());
    std::this_thread::sleep_for(300ms);
    std::lock_guard<std::mutex> lock(mu);
    if ((seen_by[0] > 0 && seen_by[1] > 0) || std::chrono::steady_clock::now() > until) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(seen_by[0] > 0);
    REQUIRE(seen_by[1] > 0);
    times_seen.clear();
  }
  std::vector<osprey::bus::Message> messages;
  for (int i = 0; i < 200; ++i) messages.push_back({"spans", "key" + std::to_string(i % 16), "m" + std::to_string(i)});
  REQUIRE(producer->Publish(std::move(messages), 10s).ok());
  until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (times_seen.size() >= 200 || std::chrono::steady_clock::now() > until) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(200ms);
  first->Stop();
  second->Stop();
  CHECK(times_seen.size() == 200);
  int duplicates = 0;
  for (const auto& [payload, n] : times_seen) duplicates += n - 1;
  CHECK(duplicates == 0);
}
