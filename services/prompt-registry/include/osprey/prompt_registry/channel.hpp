#pragma once

// How the query gateway reaches the prompt registry: one function, whatever the mode.
//
//   - This process runs a started PromptRegistryModule (the embedded `osprey`, or any --target list
//     that includes prompt-registry): an in-process channel to it.
//   - Otherwise: grpc::CreateChannel(query.prompt_registry_endpoint) with insecure credentials (the
//     endpoint is a loopback or cluster-internal address; default 127.0.0.1:6010). The channel connects
//     lazily and reconnects by itself, so the registry may start after the gateway; calls made while
//     it is down fail with UNAVAILABLE.
//
// Call it from the gateway's Start(), not its constructor: the runtime starts the registry module before
// the query module, and before that start there is no in-process server to connect to (a call made too
// early in a process that runs the registry logs a warning and falls back to the TCP endpoint).
// Thread safe.

#include <memory>

#include <grpcpp/channel.h>

#include "osprey/config/config.hpp"

namespace osprey::prompt_registry {

std::shared_ptr<grpc::Channel> PromptRegistryChannel(const config::QueryConfig& query);

}  // namespace osprey::prompt_registry
