#pragma once

// OTLP trace decoding and normalization: the first stage of a span's journey.
//
//   bytes --Decode{Protobuf,Json}--> ExportTraceServiceRequest (arena-allocated)
//         --Normalize--> osprey.model.v1.Span per valid span (+ a count and reason per invalid one)
//
// Nothing here throws or aborts on outside input: malformed input becomes INVALID_ARGUMENT with a
// precise message; an invalid span is reported and skipped while the rest of the request is kept.
// Thread safety: free functions, no shared state.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/arena.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "osprey/costs/costs.hpp"
#include "osprey/model/v1/span.pb.h"

namespace osprey::otlp {

using ExportRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

// Parses a binary protobuf ExportTraceServiceRequest into `arena`. The returned message is owned
// by the arena. INVALID_ARGUMENT on malformed protobuf.
absl::StatusOr<ExportRequest*> DecodeProtobuf(std::string_view body, google::protobuf::Arena* arena);

// Parses OTLP/JSON per the OTLP specification: lowerCamelCase keys (snake_case names rejected as
// unknown and ignored), traceId/spanId as hex (case-insensitive), enums as integers, int64/fixed64
// as decimal strings or numbers, unknown fields ignored. INVALID_ARGUMENT with the JSON path of the
// offending value, e.g. `resourceSpans[0].scopeSpans[1].spans[3].traceId: not 32 hex characters`.
absl::StatusOr<ExportRequest*> DecodeJson(std::string_view body, google::protobuf::Arena* arena);

struct NormalizeOptions {
  // The OTLP/HTTP `x-project-name` header; wins over the resource attribute when non-empty.
  std::string project_override;
  std::string default_project = "default";
  // Characters of input.value / output.value copied to Span.input_preview / output_preview.
  size_t preview_chars = 256;
  // Prices LLM spans into Span.cost when set (not owned; must outlive the call).
  const costs::PriceTable* prices = nullptr;
};

struct RejectedSpan {
  std::string trace_id_hex;  // as far as it could be read
  std::string span_id_hex;
  std::string reason;  // e.g. "span_id must be 8 bytes, got 3"
};

struct NormalizeResult {
  std::vector<model::v1::Span> spans;  // valid spans, in request order
  std::vector<RejectedSpan> rejected;
  // For ExportTracePartialSuccess.error_message: empty when nothing was rejected, else a short
  // English summary naming the first few reasons.
  std::string ErrorMessage() const;
};

// Validates and normalizes every span of the request.
//  - validation: trace_id 16 bytes not all zero; span_id 8 bytes not all zero; parent_span_id empty
//    or 8 bytes; start_time > 0; end_time >= start_time; name, attribute keys and string values valid
//    UTF-8.
//  - project: options.project_override, else resource attribute `openinference.project.name`
//    (non-empty string), else options.default_project.
//  - attributes (as Phoenix does, phoenix-compat §3.3): OTel GenAI `gen_ai.*` translated to
//    OpenInference keys (existing OpenInference keys win); `llm.token_count.*` coerced to ints; keys
//    ending in `metadata`, `llm.prompt_template.variables`, `tool.parameters`, `document.metadata`
//    parsed from JSON strings (kept as strings when not JSON); non-string `input.value` JSON-dumped
//    with input.mime_type application/json; dotted keys un-flattened into one nested JSON object.
//  - span_kind: `openinference.span.kind` upper-cased; missing or unknown → "UNKNOWN".
//  - events: [{name, timestamp (ISO, +00:00), attributes}] JSON; an `exception` event keeps only
//    exception.type/.message/.escaped/.stacktrace.
//  - hot fields: session_id (`session.id`, stringified, trimmed), user_id (`user.id`),
//    llm_model_name, token counts (LLM spans only; total = prompt + completion when absent).
NormalizeResult Normalize(const ExportRequest& request, const NormalizeOptions& options);

// Normalize() for callers that keep spans on an arena: each valid span is created on `arena` and
// appended to `spans`; the rejected ones are returned. osprey-ingest uses it so that one arena per
// request holds the normalized spans and the bus batches built from them, freed at once.
std::vector<RejectedSpan> NormalizeOnArena(const ExportRequest& request, const NormalizeOptions& options,
                                           google::protobuf::Arena* arena, std::vector<model::v1::Span*>* spans);

// The text of NormalizeResult::ErrorMessage() for a list of rejected spans.
std::string RejectionMessage(const std::vector<RejectedSpan>& rejected);

}  // namespace osprey::otlp
