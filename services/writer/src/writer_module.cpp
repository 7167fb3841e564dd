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
  // SpanBatchWriter::Handle is safe to call from several consumer threads (the store serializes or
  // pools its connections).
  for (int i = 0; i < config_.consumers; ++i) {
    OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<bus::Consumer> consumer, bus_.NewConsumer(cfg));
    OSPREY_RETURN_IF_ERROR(
        consumer->Start([this](std::vector<bus::Delivery>& batch) { return batch_writer_.Handle(batch); }));
    consumers_.push_back(std::move(consumer));
  }
  return absl::OkStatus();
}

void WriterModule::Stop() {
  for (auto& consumer : consumers_) consumer->Stop();
}

absl::Status WriterModule::Ready() { return store_.Ping(); }

}  // namespace osprey::writer
