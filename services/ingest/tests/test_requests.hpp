#pragma once

// Builders for OTLP requests used by ingest's tests.

#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace osprey::ingest::testing {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

inline std::string Id(int seed, size_t bytes) {
  std::string id(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) id[i] = static_cast<char>((seed * 31 + static_cast<int>(i) * 7 + 1) & 0xff);
  return id;
}

// Adds a span to the first ResourceSpans (created with `project` as openinference.project.name).
inline opentelemetry::proto::trace::v1::Span* AddSpan(ExportTraceServiceRequest& req, int trace_seed, int span_seed,
                                                      const std::string& project = "") {
  if (req.resource_spans_size() == 0) {
    auto* rs = req.add_resource_spans();
    if (!project.empty()) {
      auto* kv = rs->mutable_resource()->add_attributes();
      kv->set_key("openinference.project.name");
      kv->mutable_value()->set_string_value(project);
    }
    rs->add_scope_spans();
  }
  auto* span = req.mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans();
  span->set_trace_id(Id(trace_seed, 16));
  span->set_span_id(Id(1000 + span_seed, 8));
  span->set_name("span-" + std::to_string(span_seed));
  span->set_start_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(span_seed) * 1000);
  span->set_end_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(span_seed) * 1000 + 500);
  auto* kind = span->add_attributes();
  kind->set_key("openinference.span.kind");
  kind->mutable_value()->set_string_value("CHAIN");
  return span;
}

inline void AddAttribute(opentelemetry::proto::trace::v1::Span* span, const std::string& key,
                         const std::string& value) {
  auto* kv = span->add_attributes();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

}  // namespace osprey::ingest::testing
