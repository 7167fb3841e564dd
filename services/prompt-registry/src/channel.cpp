#include "osprey/prompt_registry/channel.hpp"

#include <mutex>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "local_registry.hpp"
#include "osprey/log/log.hpp"
#include "osprey/prompt_registry/module.hpp"

namespace osprey::prompt_registry {
namespace internal {
namespace {

struct Slot {
  std::mutex mu;
  int modules = 0;
  PromptRegistryModule* started = nullptr;
};

Slot& TheSlot() {
  static Slot* slot = new Slot();  // never destroyed: modules may outlive static destruction order
  return *slot;
}

}  // namespace

void ModuleConstructed() {
  std::lock_guard lock(TheSlot().mu);
  ++TheSlot().modules;
}

void ModuleDestroyed() {
  std::lock_guard lock(TheSlot().mu);
  --TheSlot().modules;
}

void SetStarted(PromptRegistryModule* module) {
  std::lock_guard lock(TheSlot().mu);
  TheSlot().started = module;
}

void ClearStarted(PromptRegistryModule* module) {
  std::lock_guard lock(TheSlot().mu);
  if (TheSlot().started == module) TheSlot().started = nullptr;
}

std::shared_ptr<grpc::Channel> LocalChannel(bool& module_exists) {
  std::lock_guard lock(TheSlot().mu);
  module_exists = TheSlot().modules > 0;
  return TheSlot().started != nullptr ? TheSlot().started->InProcessChannel() : nullptr;
}

}  // namespace internal

std::shared_ptr<grpc::Channel> PromptRegistryChannel(const config::QueryConfig& query) {
  bool module_exists = false;
  if (auto local = internal::LocalChannel(module_exists)) return local;
  if (module_exists) {
    log::Warn("prompt registry channel requested while the local registry is not running; using the endpoint",
              {{"module", "prompt-registry"}, {"endpoint", query.prompt_registry_endpoint}});
  }
  return grpc::CreateChannel(query.prompt_registry_endpoint, grpc::InsecureChannelCredentials());
}

}  // namespace osprey::prompt_registry
