#pragma once

// Builds OTLP ExportTraceServiceRequests shaped like what an OpenInference-instrumented agent sends:
// traces of 5–10 spans (a CHAIN root, then RETRIEVER, LLM, TOOL, LLM, TOOL, ...), LLM spans carrying
// ~1.7 KB of attributes (messages, a tool call, invocation parameters, token counts), every span of a
// trace sharing a session.id and user.id. Ids are random and never zero.
//
// Thread safety: none; one factory per thread (each with its own seed).

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace osprey::bench {

struct TraceShape {
  std::string project = "loadgen";
  // Every `large_every`-th LLM span gets one extra message of `large_bytes` bytes; 0 disables.
  // LLM spans are 2 of every 5 spans on average, so large_every = 20 makes 1 span in 50 large.
  uint64_t large_every = 0;
  size_t large_bytes = 256 * 1024;
  // When greater than `large_bytes`, each large message's size is drawn uniformly from
  // [large_bytes, large_bytes_max] instead.
  size_t large_bytes_max = 0;
};

class TraceFactory final {
 public:
  TraceFactory(TraceShape shape, uint64_t seed);

  // Replaces `request`'s content with exactly `spans` spans (one resource, one scope): whole traces,
  // the last one cut short when it does not fit (parents always precede their children, so a cut
  // trace only lacks some children). Timestamps are around `now_unix_nanos`.
  void Fill(size_t spans, uint64_t now_unix_nanos,
            opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest* request);

  uint64_t llm_spans() const { return llm_spans_; }
  uint64_t large_spans() const { return large_spans_; }

 private:
  std::string RandomBytes(size_t n);
  std::string Text(size_t n);

  TraceShape shape_;
  std::mt19937_64 rng_;
  uint64_t llm_spans_ = 0;
  uint64_t large_spans_ = 0;
  uint64_t session_counter_ = 0;
};

}  // namespace osprey::bench
