#include "osprey/bus/inprocess_bus.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "osprey/base/status.hpp"
#include "osprey/bustest/conformance.hpp"
#include "osprey/metrics/metrics.hpp"

namespace {

osprey::bustest::Backend InProcess() {
  osprey::bustest::Backend backend;
  backend.make_bus = [](size_t capacity) {
    osprey::bus::InProcessBusConfig cfg;
    cfg.capacity_bytes = capacity;
    return osprey::bus::NewInProcessBus(cfg, nullptr);
  };
  backend.publish_waits_for_commit = true;
  return backend;
}

}  // namespace

OSPREY_BUS_CONFORMANCE_TESTS("in-process bus", InProcess())

using namespace std::chrono_literals;

TEST_CASE("in-process bus: a permanent handler error fails the publisher instead of looping") {
  osprey::metrics::Registry metrics;
  auto b = osprey::bus::NewInProcessBus({}, &metrics);
  REQUIRE(b->CreateTopic({"t", 1, 1024}).ok());
  auto consumer = *b->NewConsumer({"g", "t"});
  REQUIRE(consumer
              ->Start([](std::vector<osprey::bus::Delivery>&) {
                return osprey::base::Permanent(absl::StatusCode::kInvalidArgument, "undecodable payload");
              })
              .ok());
  auto st = b->NewProducer()->Publish({{"t", "k", "garbage"}}, 5s);
  consumer->Stop();
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(st.message()) == "undecodable payload");
  CHECK(metrics.Render().find("osprey_bus_dead_lettered_messages_total 1") != std::string::npos);
}

TEST_CASE("in-process bus: a publisher that times out gets a retryable error and the message is still committed") {
  auto b = osprey::bus::NewInProcessBus({}, nullptr);
  REQUIRE(b->CreateTopic({"t", 1, 1024}).ok());
  auto producer = b->NewProducer();
  auto st = producer->Publish({{"t", "k", "v"}}, 20ms);  // no consumer yet
  CHECK(st.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(osprey::base::IsRetryable(st));
  std::promise<std::string> got;
  auto consumer = *b->NewConsumer({"g", "t"});
  REQUIRE(consumer
              ->Start([&](std::vector<osprey::bus::Delivery>& batch) {
                got.set_value(batch.at(0).payload);
                return absl::OkStatus();
              })
              .ok());
  CHECK(got.get_future().get() == "v");
  consumer->Stop();
}

TEST_CASE("in-process bus: a second consumer group on one topic is refused") {
  auto b = osprey::bus::NewInProcessBus({}, nullptr);
  REQUIRE(b->CreateTopic({"t", 1, 1024}).ok());
  REQUIRE(b->NewConsumer({"writers", "t"}).ok());
  auto other = b->NewConsumer({"evaluators", "t"});
  CHECK(other.status().code() == absl::StatusCode::kFailedPrecondition);
}
