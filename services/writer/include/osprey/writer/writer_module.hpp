#pragma once

// The writer module: consumes osprey.spans.v1 in a consumer group and commits each batch to the
// store through SpanBatchWriter. `config.consumers` members of the group run in this process, each on its own
// thread with its own partitions, so their transactions overlap. Stop() finishes the batches in flight
// (their commits) before returning.

#include <memory>
#include <vector>

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
  std::vector<std::unique_ptr<bus::Consumer>> consumers_;
};

}  // namespace osprey::writer
