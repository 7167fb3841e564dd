#include "osprey/bustest/conformance.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "osprey/base/status.hpp"

namespace osprey::bustest {
namespace {

using namespace std::chrono_literals;

constexpr char kTopic[] = "osprey.test.v1";

std::unique_ptr<bus::Bus> MakeBus(const Backend& backend, size_t capacity = 64u << 20, int partitions = 4) {
  auto b = backend.make_bus(capacity);
  REQUIRE(b->CreateTopic(bus::TopicSpec{kTopic, partitions, 1u << 20}).ok());
  return b;
}

std::unique_ptr<bus::Consumer> MakeConsumer(bus::Bus& b, std::string group = "test-group") {
  bus::ConsumerConfig cfg;
  cfg.group = std::move(group);
  cfg.topic = kTopic;
  cfg.max_batch_messages = 50;
  cfg.retry_backoff = 10ms;
  auto c = b.NewConsumer(cfg);
  REQUIRE(c.ok());
  return std::move(c).value();
}

// Collects deliveries; thread safe.
struct Sink {
  std::mutex mu;
  std::vector<bus::Delivery> seen;
  void Add(const std::vector<bus::Delivery>& batch) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  size_t Size() {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size();
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (Size() < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }
};

bus::Message Msg(std::string key, std::string payload) {
  return bus::Message{kTopic, std::move(key), std::move(payload)};
}

}  // namespace

void DeliversEveryMessageWithKeyAndPayload(const Backend& backend) {
  auto b = MakeBus(backend);
  Sink sink;
  auto consumer = MakeConsumer(*b);
  REQUIRE(consumer
              ->Start([&](std::vector<bus::Delivery>& batch) {
                sink.Add(batch);
                return absl::OkStatus();
              })
              .ok());
  auto producer = b->NewProducer();
  std::vector<bus::Message> messages;
  for (int i = 0; i < 200; ++i) messages.push_back(Msg("k" + std::to_string(i % 7), "payload-" + std::to_string(i)));
  REQUIRE(producer->Publish(std::move(messages), 10s).ok());
  REQUIRE(sink.WaitFor(200));
  consumer->Stop();
  std::set<std::string> payloads;
  for (const auto& d : sink.seen) {
    CHECK(d.topic == kTopic);
    int i = std::stoi(d.payload.substr(8));
    CHECK(d.key == "k" + std::to_string(i % 7));
    payloads.insert(d.payload);
  }
  CHECK(payloads.size() == 200);
}

void KeepsOrderPerKey(const Backend& backend) {
  auto b = MakeBus(backend);
  Sink sink;
  auto consumer = MakeConsumer(*b);
  REQUIRE(consumer
              ->Start([&](std::vector<bus::Delivery>& batch) {
                sink.Add(batch);
                return absl::OkStatus();
              })
              .ok());
  std::vector<std::thread> publishers;
  for (int k = 0; k < 3; ++k) {
    publishers.emplace_back([&, k] {
      auto producer = b->NewProducer();
      for (int i = 0; i < 100; ++i) {
        CHECK(producer->Publish({Msg("key" + std::to_string(k), std::to_string(i))}, 10s).ok());
      }
    });
  }
  for (auto& t : publishers) t.join();
  REQUIRE(sink.WaitFor(300));
  consumer->Stop();
  std::map<std::string, int> last;
  for (const auto& d : sink.seen) {
    int i = std::stoi(d.payload);
    auto it = last.find(d.key);
    if (it != last.end()) CHECK(i == it->second + 1);
    last[d.key] = i;
  }
  CHECK(last.size() == 3);
}

void RedeliversAfterHandlerFailure(const Backend& backend) {
  auto b = MakeBus(backend);
  std::atomic<int> calls{0};
  Sink committed;
  auto consumer = MakeConsumer(*b);
  REQUIRE(consumer
              ->Start([&](std::vector<bus::Delivery>& batch) {
                if (calls.fetch_add(1) < 2) {
                  return base::Retryable(absl::StatusCode::kUnavailable, "database busy");
                }
                committed.Add(batch);
                return absl::OkStatus();
              })
              .ok());
  auto producer = b->NewProducer();
  REQUIRE(producer->Publish({Msg("a", "one"), Msg("a", "two")}, 10s).ok());
  REQUIRE(committed.WaitFor(2));
  consumer->Stop();
  CHECK(calls.load() >= 3);
  CHECK(committed.seen.size() == 2);
  CHECK(committed.seen[0].payload == "one");
  CHECK(committed.seen[0].attempt >= 3);
}

void DoesNotCommitBeforeHandlerOk(const Backend& backend) {
  auto b = MakeBus(backend);
  auto producer = b->NewProducer();
  // A consumer that never succeeds: nothing may be committed.
  auto failing = MakeConsumer(*b);
  std::atomic<int> failures{0};
  REQUIRE(failing
              ->Start([&](std::vector<bus::Delivery>&) {
                failures.fetch_add(1);
                return base::Retryable(absl::StatusCode::kUnavailable, "not yet");
              })
              .ok());
  auto published = std::async(std::launch::async, [&] { return producer->Publish({Msg("k", "precious")}, 10s); });
  while (failures.load() == 0) std::this_thread::sleep_for(1ms);
  if (backend.publish_waits_for_commit) {
    CHECK(published.wait_for(100ms) == std::future_status::timeout);
  }
  failing->Stop();
  // Another consumer of the same group gets the message that was never committed.
  Sink sink;
  auto second = MakeConsumer(*b);
  REQUIRE(second
              ->Start([&](std::vector<bus::Delivery>& batch) {
                sink.Add(batch);
                return absl::OkStatus();
              })
              .ok());
  REQUIRE(sink.WaitFor(1));
  CHECK(published.get().ok());
  second->Stop();
  CHECK(sink.seen[0].payload == "precious");
}

void RefusesPastCapacity(const Backend& backend) {
  if (!backend.publish_waits_for_commit) return;  // brokers buffer on disk; bounded elsewhere
  auto b = MakeBus(backend, /*capacity=*/1u << 20);
  auto producer = b->NewProducer();
  // No consumer: messages queue up until the bound.
  std::vector<std::future<absl::Status>> pending;
  std::string payload(300 * 1024, 'x');
  for (int i = 0; i < 3; ++i) {
    pending.push_back(std::async(std::launch::async, [&] { return producer->Publish({Msg("k", payload)}, 5s); }));
  }
  std::this_thread::sleep_for(50ms);
  auto refused = producer->Publish({Msg("k", payload)}, 5s);
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(base::IsRetryable(refused));
  CHECK(base::RetryAfter(refused).has_value());
  // Draining makes room again, and the queued messages were kept.
  Sink sink;
  auto consumer = MakeConsumer(*b);
  REQUIRE(consumer
              ->Start([&](std::vector<bus::Delivery>& batch) {
                sink.Add(batch);
                return absl::OkStatus();
              })
              .ok());
  for (auto& f : pending) CHECK(f.get().ok());
  CHECK(producer->Publish({Msg("k", payload)}, 5s).ok());
  consumer->Stop();
  CHECK(sink.seen.size() == 4);
}

void RejectsOversizedMessages(const Backend& backend) {
  auto b = MakeBus(backend);
  auto producer = b->NewProducer();
  auto st = producer->Publish({Msg("k", std::string((1u << 20) + 1, 'x'))}, 1s);
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(base::IsRetryable(st));
  auto unknown = producer->Publish({bus::Message{"no.such.topic", "k", "v"}}, 1s);
  CHECK_FALSE(unknown.ok());
  CHECK_FALSE(base::IsRetryable(unknown));
}

void StopsCleanly(const Backend& backend) {
  auto b = MakeBus(backend);
  {
    auto never_started = MakeConsumer(*b);
    never_started->Stop();
    never_started->Stop();
  }
  std::atomic<bool> in_handler{false};
  std::atomic<bool> handler_done{false};
  auto consumer = MakeConsumer(*b);
  REQUIRE(consumer
              ->Start([&](std::vector<bus::Delivery>&) {
                in_handler = true;
                std::this_thread::sleep_for(100ms);
                handler_done = true;
                return absl::OkStatus();
              })
              .ok());
  auto producer = b->NewProducer();
  auto published = std::async(std::launch::async, [&] { return producer->Publish({Msg("k", "v")}, 10s); });
  while (!in_handler) std::this_thread::sleep_for(1ms);
  consumer->Stop();  // waits for the batch in progress
  CHECK(handler_done.load());
  CHECK(published.get().ok());
  consumer->Stop();
  b->Shutdown();
  auto after = producer->Publish({Msg("k", "late")}, 1s);
  CHECK(after.code() == absl::StatusCode::kUnavailable);
  CHECK(base::IsRetryable(after));
}

}  // namespace osprey::bustest
