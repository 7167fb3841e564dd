#pragma once

// Shared infrastructure as runtime modules, so the runtime's reverse stop order covers them: the
// store is started (migrated) first and closed last; the bus is shut down after every service that
// publishes to or consumes from it has stopped.

#include <memory>

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

class BusModule final : public runtime::Module {
 public:
  explicit BusModule(bus::Bus& bus) : bus_(bus) {}
  std::string Name() const override { return "bus"; }
  absl::Status Start() override { return absl::OkStatus(); }
  void Stop() override { bus_.Shutdown(); }
  absl::Status Ready() override { return bus_.Ping(); }

 private:
  bus::Bus& bus_;
};

}  // namespace osprey::app
