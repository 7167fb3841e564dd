#pragma once

// A serialized ExportTraceServiceRequest sent again and again with fresh ids and current timestamps.
// Building a request (protobuf objects, ~30 attribute strings per LLM span) and serializing it cost the
// load generator ~9 of its ~13 µs of CPU per span; on this 2-core machine that CPU is taken from the
// system under test. A template is built once by TraceFactory and then only patched in place: every
// trace id, span id and parent span id (parents keep pointing at their trace's new span ids) and every
// start and end time (shifted by the time since the template was built). The content of a request
// repeats every `templates` requests of a sender; its ids never do.
//
// Thread safety: none; one set of templates per sender thread.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace osprey::bench {

class RequestTemplate final {
 public:
  // `request` (one or more resource/scope spans, every span with a 16-byte trace id and 8-byte span id)
  // built with timestamps around `built_unix_nanos`.
  RequestTemplate(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
                  uint64_t built_unix_nanos);

  // New random ids (trace ids per trace, span ids per span, never zero) and times shifted to
  // `now_unix_nanos`; returns the serialized request.
  const std::string& Restamp(std::mt19937_64& rng, uint64_t now_unix_nanos);

  const std::string& bytes() const { return bytes_; }
  size_t spans() const { return spans_.size(); }

 private:
  struct SpanOffsets {
    size_t trace_id = 0;
    size_t trace_first = 0;  // the first span of its trace in this request (itself, or whose trace id it copies)
    size_t span_id = 0;
    size_t parent_id = 0;  // 0: no parent field
    size_t parent_index = 0;  // the span (in this request) whose id the parent id is, when it is one
    bool parent_in_request = false;
    size_t start = 0;
    size_t end = 0;
  };

  void Index();

  std::string bytes_;
  std::vector<SpanOffsets> spans_;
  uint64_t stamped_unix_nanos_;
};

}  // namespace osprey::bench
