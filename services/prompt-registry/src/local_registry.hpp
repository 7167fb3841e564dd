#pragma once

// The process-wide slot through which PromptRegistryChannel finds a registry running in this process.

#include <memory>

#include <grpcpp/channel.h>

namespace osprey::prompt_registry {

class PromptRegistryModule;

namespace internal {

// Counts modules that exist (started or not), to warn about a channel asked for too early.
void ModuleConstructed();
void ModuleDestroyed();
// The started module, or none. Set by Start(), cleared by Stop() before the server shuts down.
void SetStarted(PromptRegistryModule* module);
void ClearStarted(PromptRegistryModule* module);
// An in-process channel to the started module; null when none is started. `module_exists` tells
// whether a module exists in the process at all.
std::shared_ptr<grpc::Channel> LocalChannel(bool& module_exists);

}  // namespace internal
}  // namespace osprey::prompt_registry
