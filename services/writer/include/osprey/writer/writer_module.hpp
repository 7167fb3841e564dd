#pragma once

// The writer module: consumes osprey.spans.v1 in a consumer group and commits each batch to the
// store through SpanBatchWriter. Stop() finishes the batch in flight (its commit) before returning.

#include <memory>

#include "osprey/bus/bus.hpp"
#include "osprey/config/config.hpp"
#include "osprey/runtime/runtime.hpp"
#include "osprey/store/store.hpp"
#include "osprey/writer/span_batch_writer.hpp"

namespace osprey::writer {

class WriterModule final : public runtime::Module {
 public:
  // `bus` and `store` must outlive the module; `metrics` may be null.
  WriterModule(const config::WriterConfig& config, bus::Bus& bus, store::Store& store, metrics::Registry* metrics);
  ~WriterModule() override;

  std::string Name() const override { return "writer"; }
  absl::Status Start() override;
  void Stop() override;
  absl::Status Ready() override;

 private:
  config::WriterConfig config_;
  bus::Bus& bus_;
  store::Store& store_;
  SpanBatchWriter batch_writer_;
  std::unique_ptr<bus::Consumer> consumer_;
};

}  // namespace osprey::writer
