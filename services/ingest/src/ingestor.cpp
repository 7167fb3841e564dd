#include "osprey/ingest/ingestor.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/bus/v1/spans.pb.h"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"

namespace osprey::ingest {

const char* TransportName(Transport transport) { return transport == Transport::kGrpc ? "grpc" : "http"; }

bool InflightBudget::TryAcquire(uint64_t bytes) {
  uint64_t current = used_.load();
  do {
    // A request larger than the whole budget still gets through alone, so it is never refused forever.
    if (current != 0 && current + bytes > capacity_) return false;
  } while (!used_.compare_exchange_weak(current, current + bytes));
  return true;
}

void InflightBudget::Release(uint64_t bytes) { used_.fetch_sub(bytes); }

Ingestor::Ingestor(const config::IngestConfig& config, bus::Producer& producer, metrics::Registry* metrics)
    : config_(config), producer_(producer), budget_(config.inflight_bytes), metrics_(metrics) {
  if (metrics_ != nullptr) {
    inflight_bytes_ =
        &metrics_->GetGauge("osprey_ingest_inflight_bytes", "Request bytes being processed or awaiting their commit");
  }
  // The configuration's patterns were compiled when it was validated; a failure here means the
  // config was not validated, and then spans are priced with the built-in table only.
  auto prices = costs::PriceTable::Create(config.model_prices, config.builtin_model_prices);
  if (!prices.ok()) {
    log::Error("ingest: model prices rejected, using the built-in prices",
               {{"module", "ingest"}, {"error", std::string(prices.status().message())}});
    prices = costs::PriceTable::Create({}, true);
  }
  prices_ = *std::move(prices);
}

absl::Status Ingestor::ReserveBudget(uint64_t bytes) {
  if (!budget_.TryAcquire(bytes)) {
    return base::Retryable(absl::StatusCode::kResourceExhausted,
                           absl::StrCat("ingest is at capacity (", budget_.used(), " bytes in flight); retry later"),
                           std::chrono::milliseconds(1000));
  }
  if (inflight_bytes_) inflight_bytes_->Set(static_cast<double>(budget_.used()));
  return absl::OkStatus();
}

void Ingestor::ReleaseBudget(uint64_t bytes) {
  budget_.Release(bytes);
  if (inflight_bytes_) inflight_bytes_->Set(static_cast<double>(budget_.used()));
}

void Ingestor::CountRefused(Transport transport, const std::string& reason) {
  if (metrics_ == nullptr) return;
  metrics_
      ->CounterFamily("osprey_ingest_requests_total", "OTLP export requests by transport and outcome",
                      {"transport", "outcome"})
      .With({TransportName(transport), reason})
      .Inc();
}

ExportOutcome Ingestor::Export(const otlp::ExportRequest& request, const std::string& project_override,
                               Transport transport) {
  auto start = std::chrono::steady_clock::now();
  ExportOutcome outcome;
  otlp::NormalizeOptions options;
  options.project_override = project_override;
  options.default_project = config_.default_project;
  options.prices = prices_.get();
  // One arena per request holds the normalized spans and the batches that carry them: they are
  // built and serialized without copying a span, and freed at once.
  google::protobuf::Arena arena;
  std::vector<model::v1::Span*> spans;
  const std::vector<otlp::RejectedSpan> rejected = otlp::NormalizeOnArena(request, options, &arena, &spans);
  outcome.rejected_spans = static_cast<int64_t>(rejected.size());
  outcome.error_message = otlp::RejectionMessage(rejected);

  // One message per trace group, in trace id order (request order within a trace); chunked under
  // the message limit.
  std::stable_sort(spans.begin(), spans.end(),
                   [](const model::v1::Span* a, const model::v1::Span* b) { return a->trace_id() < b->trace_id(); });
  std::vector<bus::Message> messages;
  int64_t oversized = 0;
  for (auto group = spans.begin(); group != spans.end();) {
    const std::string& trace_id = (*group)->trace_id();
    const auto group_end =
        std::find_if(group, spans.end(), [&](const model::v1::Span* s) { return s->trace_id() != trace_id; });
    bus::v1::SpanBatch* batch = nullptr;
    size_t batch_bytes = 0;
    auto flush = [&] {
      if (batch == nullptr) return;
      messages.push_back(bus::Message{bus::kSpansTopic, trace_id, batch->SerializeAsString()});
      outcome.accepted_spans += batch->spans_size();
      batch = nullptr;
      batch_bytes = 0;
    };
    for (auto it = group; it != group_end; ++it) {
      model::v1::Span* span = *it;
      size_t span_bytes = span->ByteSizeLong() + 16;  // field tag and length prefix
      if (span_bytes > config_.max_message_bytes) {
        ++oversized;
        continue;
      }
      if (batch_bytes + span_bytes > config_.max_message_bytes) flush();
      if (batch == nullptr) batch = google::protobuf::Arena::CreateMessage<bus::v1::SpanBatch>(&arena);
      batch->mutable_spans()->AddAllocated(span);  // same arena: adopted, not copied
      batch_bytes += span_bytes;
    }
    flush();
    group = group_end;
  }
  if (oversized > 0) {
    outcome.rejected_spans += oversized;
    std::string note = absl::StrCat(oversized, " span(s) exceed the ", config_.max_message_bytes,
                                    "-byte message limit (ingest.max_message_bytes)");
    outcome.error_message = outcome.error_message.empty() ? note : absl::StrCat(outcome.error_message, "; ", note);
  }

  if (!messages.empty()) {
    outcome.status = producer_.Publish(std::move(messages), std::chrono::milliseconds(config_.ack_timeout_ms));
  }
  if (!outcome.status.ok()) outcome.accepted_spans = 0;

  if (metrics_ != nullptr) {
    const char* t = TransportName(transport);
    std::string result = !outcome.status.ok()         ? (base::IsRetryable(outcome.status) ? "retryable" : "failed")
                         : outcome.rejected_spans > 0 ? "partial"
                                                      : "ok";
    metrics_
        ->CounterFamily("osprey_ingest_requests_total", "OTLP export requests by transport and outcome",
                        {"transport", "outcome"})
        .With({t, result})
        .Inc();
    metrics_->CounterFamily("osprey_ingest_spans_accepted_total", "Spans acknowledged as durable", {"transport"})
        .With({t})
        .Inc(static_cast<double>(outcome.accepted_spans));
    metrics_
        ->CounterFamily("osprey_ingest_spans_rejected_total", "Invalid spans reported in partial_success",
                        {"transport"})
        .With({t})
        .Inc(static_cast<double>(outcome.rejected_spans));
    metrics_
        ->HistogramFamily("osprey_ingest_ack_duration_seconds", "Time from a decoded request to its acknowledgement",
                          metrics::LatencyBuckets(), {"transport"})
        .With({t})
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return outcome;
}

}  // namespace osprey::ingest
