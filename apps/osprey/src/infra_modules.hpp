#pragma once

// Shared infrastructure as runtime modules, so the runtime's reverse stop order covers them: the
// store is started (migrated) first and closed last; the bus is shut down after every service that
// publishes to or consumes from it has stopped.

#include <memory>
#include <vector>

#include "osprey/bus/bus.hpp"
#include "osprey/runtime/runtime.hpp"
#include "osprey/store/store.hpp"

namespace osprey::app {

class StoreModule final : public runtime::Module {
 public:
  explicit StoreModule(store::Store& store) : store_(store) {}
  std::string Name() const override { return "store"; }
  absl::Status Start() override { return store_.Migrate(); }
  void Stop() override { store_.Close(); }
  absl::Status Ready() override { return store_.Ping(); }

 private:
  store::Store& store_;
};

// Creates Osprey's topics at start (idempotent), so producers and consumers find them in any order.
class BusModule final : public runtime::Module {
 public:
  BusModule(bus::Bus& bus, std::vector<bus::TopicSpec> topics) : bus_(bus), topics_(std::move(topics)) {}
  std::string Name() const override { return "bus"; }
  absl::Status Start() override {
    for (const auto& t : topics_) {
      if (auto st = bus_.CreateTopic(t); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
  void Stop() override { bus_.Shutdown(); }
  absl::Status Ready() override { return bus_.Ping(); }

 private:
  bus::Bus& bus_;
  std::vector<bus::TopicSpec> topics_;
};

}  // namespace osprey::app
