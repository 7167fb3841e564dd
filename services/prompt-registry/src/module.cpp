#include "osprey/prompt_registry/module.hpp"

#include <chrono>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "local_registry.hpp"
#include "osprey/config/config.hpp"
#include "osprey/log/log.hpp"

namespace osprey::prompt_registry {

PromptRegistryModule::PromptRegistryModule(std::string listen, store::Store& store, metrics::Registry* metrics)
    : listen_(std::move(listen)), store_(store), service_(store, metrics) {
  internal::ModuleConstructed();
}

PromptRegistryModule::~PromptRegistryModule() {
  Stop();
  internal::ModuleDestroyed();
}

absl::Status PromptRegistryModule::Start() {
  if (server_) return absl::OkStatus();
  // Both are process-wide switches read by every ServerBuilder built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  if (!listen_.empty()) {
    auto address = config::ParseHostPort(listen_);
    if (!address.ok()) return address.status();
    builder.AddListeningPort(address->host + ":" + std::to_string(address->port), grpc::InsecureServerCredentials(),
                             &selected_port);
  }
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (!server_ || (!listen_.empty() && selected_port == 0)) {
    server_.reset();
    return absl::UnavailableError("prompt registry: cannot listen on " + listen_);
  }
  port_ = static_cast<uint16_t>(selected_port);
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(osprey::prompts::v1::PromptRegistry::service_full_name(), true);
  }
  internal::SetStarted(this);
  log::Info("prompt registry started", {{"module", "prompt-registry"},
                                        {"listen", listen_.empty() ? std::string("in-process") : listen_},
                                        {"port", static_cast<int64_t>(port_)}});
  return absl::OkStatus();
}

void PromptRegistryModule::Stop() {
  internal::ClearStarted(this);
  if (!server_) return;
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
  server_.reset();
  port_ = 0;
  log::Info("prompt registry stopped", {{"module", "prompt-registry"}});
}

absl::Status PromptRegistryModule::Ready() { return store_.Ping(); }

std::shared_ptr<grpc::Channel> PromptRegistryModule::InProcessChannel() {
  if (!server_) return nullptr;
  return server_->InProcessChannel(grpc::ChannelArguments());
}

}  // namespace osprey::prompt_registry
