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

PromptRegistryModule::PromptRegistryModule(std::string listen, store::Store& store, metrics::Registry* metrics,
                                           std::chrono::milliseconds health_interval)
    : listen_(std::move(listen)), store_(store), health_interval_(health_interval), service_(store, metrics) {
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
  const bool serving = store_.Ping().ok();
  SetServing(serving);
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  health_thread_ = std::thread([this, serving] { WatchHealth(serving); });
  internal::SetStarted(this);
  log::Info("prompt registry started", {{"module", "prompt-registry"},
                                        {"listen", listen_.empty() ? std::string("in-process") : listen_},
                                        {"port", static_cast<int64_t>(port_)}});
  return absl::OkStatus();
}

void PromptRegistryModule::Stop() {
  internal::ClearStarted(this);
  if (!server_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
  server_.reset();
  port_ = 0;
  log::Info("prompt registry stopped", {{"module", "prompt-registry"}});
}

absl::Status PromptRegistryModule::Ready() { return store_.Ping(); }

void PromptRegistryModule::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
    health->SetServingStatus(osprey::prompts::v1::PromptRegistry::service_full_name(), serving);
  }
}

void PromptRegistryModule::WatchHealth(bool serving) {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, health_interval_, [this] { return stopping_; })) {
    lock.unlock();
    const absl::Status ping = store_.Ping();
    if (ping.ok() != serving) {
      serving = ping.ok();
      SetServing(serving);
      log::Log(serving ? log::Level::kInfo : log::Level::kWarn, "prompt registry health changed",
               {{"module", "prompt-registry"}, {"serving", serving}, {"error", std::string(ping.message())}});
    }
    lock.lock();
  }
}

std::shared_ptr<grpc::Channel> PromptRegistryModule::InProcessChannel() {
  if (!server_) return nullptr;
  return server_->InProcessChannel(grpc::ChannelArguments());
}

}  // namespace osprey::prompt_registry
