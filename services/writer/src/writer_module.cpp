#include "osprey/writer/writer_module.hpp"

#include "osprey/base/status.hpp"

namespace osprey::writer {

WriterModule::WriterModule(const config::WriterConfig& config, bus::Bus& bus, store::Store& store,
                           metrics::Registry* metrics)
    : config_(config), bus_(bus), store_(store), batch_writer_(store, metrics) {}

WriterModule::~WriterModule() { Stop(); }

absl::Status WriterModule::Start() {
  bus::ConsumerConfig cfg;
  cfg.group = "osprey-writer";
  cfg.topic = bus::kSpansTopic;
  cfg.max_batch_messages = static_cast<size_t>(config_.max_batch_messages);
  cfg.max_batch_bytes = config_.max_batch_bytes;
  cfg.max_wait = std::chrono::milliseconds(config_.max_wait_ms);
  OSPREY_ASSIGN_OR_RETURN(consumer_, bus_.NewConsumer(cfg));
  return consumer_->Start([this](std::vector<bus::Delivery>& batch) { return batch_writer_.Handle(batch); });
}

void WriterModule::Stop() {
  if (consumer_) consumer_->Stop();
}

absl::Status WriterModule::Ready() { return store_.Ping(); }

}  // namespace osprey::writer
