#include "osprey/ingest/ingestor.hpp"

#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/log/log.hpp"
#include "osprey/bus/v1/spans.pb.h"
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
  otlp::NormalizeResult normalized = otlp::Normalize(request, options);
  outcome.rejected_spans = static_cast<int64_t>(normalized.rejected.size());
  outcome.error_message = normalized.ErrorMessage();

  // One message per trace group, in a deterministic order; chunked under the message limit.
  std::map<std::string, std::vector<model::v1::Span*>> by_trace;
  for (auto& span : normalized.spans) by_trace[span.trace_id()].push_back(&span);
  std::vector<bus::Message> messages;
  int64_t oversized = 0;
  for (auto& [trace_id, spans] : by_trace) {
    bus::v1::SpanBatch batch;
    size_t batch_bytes = 0;
    auto flush = [&] {
      if (batch.spans_size() == 0) return;
      messages.push_back(bus::Message{bus::kSpansTopic, trace_id, batch.SerializeAsString()});
      outcome.accepted_spans += batch.spans_size();
      batch.Clear();
      batch_bytes = 0;
    };
    for (auto* span : spans) {
      size_t span_bytes = span->ByteSizeLong() + 16;  // field tag and length prefix
      if (span_bytes > config_.max_message_bytes) {
        ++oversized;
        continue;
      }
      if (batch_bytes + span_bytes > config_.max_message_bytes) flush();
      *batch.add_spans() = std::move(*span);
      batch_bytes += span_bytes;
    }
    flush();
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
