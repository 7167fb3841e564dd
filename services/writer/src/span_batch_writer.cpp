#include "osprey/writer/span_batch_writer.hpp"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "osprey/bus/v1/spans.pb.h"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"

namespace osprey::writer {

SpanBatchWriter::SpanBatchWriter(store::SpanWriter& store, metrics::Registry* metrics) : store_(store) {
  if (metrics == nullptr) return;
  spans_written_ = &metrics->GetCounter("osprey_writer_spans_written_total", "Spans stored for the first time");
  spans_duplicate_ = &metrics->GetCounter("osprey_writer_spans_duplicate_total",
                                          "Spans received again (redelivery or client retry) and ignored");
  poison_messages_ = &metrics->GetCounter("osprey_writer_poison_messages_total",
                                          "Bus messages that could not be decoded as a SpanBatch");
  batches_failed_ = &metrics->GetCounter("osprey_writer_batches_failed_total",
                                         "Batches whose store transaction failed (they are redelivered)");
  batch_seconds_ = &metrics->GetHistogram("osprey_writer_batch_duration_seconds", "Time to decode and commit one batch",
                                          metrics::LatencyBuckets());
  batch_spans_ = &metrics->GetHistogram("osprey_writer_batch_spans", "Spans per committed batch",
                                        {1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000});
}

absl::Status SpanBatchWriter::Handle(std::vector<bus::Delivery>& batch) {
  auto start = std::chrono::steady_clock::now();
  // One arena for the whole batch: thousands of spans decoded and freed without per-field mallocs.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 256 * 1024;
  arena_options.max_block_size = 8 * 1024 * 1024;
  google::protobuf::Arena arena(arena_options);
  std::vector<const model::v1::Span*> spans;
  int64_t poison = 0;
  for (auto& delivery : batch) {
    auto* decoded = google::protobuf::Arena::CreateMessage<bus::v1::SpanBatch>(&arena);
    if (!decoded->ParseFromString(delivery.payload)) {
      ++poison;
      delivery.dead_letter_error = absl::StrCat("payload of ", delivery.payload.size(),
                                                " bytes does not decode as osprey.bus.v1.SpanBatch");
      continue;
    }
    for (const auto& span : decoded->spans()) spans.push_back(&span);
  }
  if (poison > 0) {
    if (poison_messages_) poison_messages_->Inc(static_cast<double>(poison));
    log::Error("undecodable span batches dead-lettered", {{"messages", poison}, {"topic", batch.front().topic}});
  }
  if (spans.empty()) return absl::OkStatus();
  auto result = store_.WriteSpans(spans);
  if (!result.ok()) {
    if (batches_failed_) batches_failed_->Inc();
    return result.status();
  }
  if (spans_written_) spans_written_->Inc(static_cast<double>(result->inserted));
  if (spans_duplicate_) spans_duplicate_->Inc(static_cast<double>(result->duplicates));
  if (batch_spans_) batch_spans_->Observe(static_cast<double>(spans.size()));
  if (batch_seconds_) {
    batch_seconds_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return absl::OkStatus();
}

}  // namespace osprey::writer
