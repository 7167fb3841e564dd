#pragma once

// Shared infrastructure as runtime modules, so the runtime's reverse stop order covers them: the
// store is started (migrated) first and closed last; the bus is shut down after every service that
// publishes to or consumes from it has stopped.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin_routes.hpp"
#include "osprey/bus/bus.hpp"
#include "osprey/config/config.hpp"
#include "osprey/http/server.hpp"
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

// The admin listener of a process whose modules serve no HTTP of their own (a lone writer):
// /healthz, /readyz and /metrics on `listen`. Started last, stopped first.
class AdminServerModule final : public runtime::Module {
 public:
  // `runtime` and `metrics` must outlive the module.
  AdminServerModule(std::string listen, const runtime::Runtime& runtime, metrics::Registry& metrics)
      : listen_(std::move(listen)) {
    AddAdminRoutes(router_, runtime, metrics);
  }
  std::string Name() const override { return "admin"; }
  absl::Status Start() override {
    auto address = config::ParseHostPort(listen_);
    if (!address.ok()) return address.status();
    http::ServerConfig cfg;
    cfg.name = "admin";
    cfg.host = address->host;
    cfg.port = address->port;
    cfg.handler_threads = 2;
    server_ = std::make_unique<http::Server>(cfg, &router_, nullptr);
    return server_->Start();
  }
  void Stop() override {
    if (server_) server_->Stop();
  }
  absl::Status Ready() override { return absl::OkStatus(); }
  uint16_t port() const { return server_ ? server_->port() : 0; }

 private:
  std::string listen_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace osprey::app
