#pragma once

// The prompt registry as a runtime module: PromptRegistryService on a grpc::Server with the standard
// gRPC health service (grpc.health.v1.Health) and server reflection.
//
//   - `listen` empty: no port at all. The server exists only for in-process channels — the embedded
//     `osprey`, where the query gateway reaches it through PromptRegistryChannel (channel.hpp) without
//     a socket or a serialization round trip through the kernel.
//   - `listen` "host:port": also a TCP listener (`osprey-prompt-registry`, `osprey --target=prompt-registry`);
//     port 0 picks a free port (see port()).
//
// While started, the module is this process's local registry for PromptRegistryChannel. Ready() is the
// store's Ping (the registry is ready when its database answers); the gRPC health service follows it,
// re-checked every `health_interval` (SERVING / NOT_SERVING for "" and the registry's service name). Start/Stop follow runtime::Module's
// contract; Stop() shuts the server down with a 5 s grace for calls in flight.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/channel.h>
#include <grpcpp/server.h>

#include "osprey/prompt_registry/service.hpp"
#include "osprey/runtime/runtime.hpp"
#include "osprey/store/store.hpp"

namespace osprey::prompt_registry {

class PromptRegistryModule final : public runtime::Module {
 public:
  // `store` must outlive the module (it is started before and stopped after it); `metrics` may be null.
  PromptRegistryModule(std::string listen, store::Store& store, metrics::Registry* metrics,
                       std::chrono::milliseconds health_interval = std::chrono::seconds(1));
  ~PromptRegistryModule() override;

  std::string Name() const override { return "prompt-registry"; }
  absl::Status Start() override;
  void Stop() override;
  absl::Status Ready() override;

  // The bound TCP port; 0 without a listener or before Start().
  uint16_t port() const { return port_; }
  // A channel to this server that never leaves the process; null before Start() and after Stop().
  std::shared_ptr<grpc::Channel> InProcessChannel();

 private:
  // Polls the store until Stop(), flipping the health status when Ping's answer changes.
  void WatchHealth(bool serving);
  void SetServing(bool serving);

  std::string listen_;
  store::Store& store_;
  std::chrono::milliseconds health_interval_;
  PromptRegistryService service_;
  std::unique_ptr<grpc::Server> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread health_thread_;
};

}  // namespace osprey::prompt_registry
