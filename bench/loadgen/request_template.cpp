#include "request_template.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string_view>

namespace osprey::bench {
namespace {

// A protobuf wire-format reader over one message's bytes [pos, end).
struct Reader {
  const std::string& bytes;
  size_t pos;
  size_t end;

  uint64_t Varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= end) throw std::runtime_error("request template: truncated varint");
      const auto byte = static_cast<uint8_t>(bytes[pos++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw std::runtime_error("request template: varint too long");
  }

  // Calls fn(field, wire_type, value_offset, value_length) for each field; skips nothing it reports.
  template <typename Fn>
  void Fields(Fn&& fn) {
    while (pos < end) {
      const uint64_t key = Varint();
      const auto field = static_cast<uint32_t>(key >> 3);
      const auto wire = static_cast<uint32_t>(key & 7);
      size_t length = 0;
      switch (wire) {
        case 0: {
          const size_t at = pos;
          Varint();
          fn(field, wire, at, pos - at);
          continue;
        }
        case 1: length = 8; break;
        case 5: length = 4; break;
        case 2: length = static_cast<size_t>(Varint()); break;
        default: throw std::runtime_error("request template: unsupported wire type");
      }
      if (length > end - pos) throw std::runtime_error("request template: field past the end");
      fn(field, wire, pos, length);
      pos += length;
    }
  }
};

uint64_t Fixed64(const std::string& bytes, size_t at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  return value;
}

void SetFixed64(std::string& bytes, size_t at, uint64_t value) {
  for (size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
}

void RandomId(std::mt19937_64& rng, char* out, size_t n) {
  do {
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t word = rng();
      std::memcpy(out + i, &word, std::min<size_t>(8, n - i));
    }
  } while (std::all_of(out, out + n, [](char c) { return c == 0; }));
}

}  // namespace

RequestTemplate::RequestTemplate(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request, uint64_t built_unix_nanos)
    : bytes_(request.SerializeAsString()), stamped_unix_nanos_(built_unix_nanos) {
  Index();
}

// ExportTraceServiceRequest.resource_spans (1) -> ResourceSpans.scope_spans (2) -> ScopeSpans.spans (2) ->
// Span.trace_id (1), span_id (2), parent_span_id (4), start_time_unix_nano (7, fixed64), end (8, fixed64).
void RequestTemplate::Index() {
  Reader request{bytes_, 0, bytes_.size()};
  request.Fields([&](uint32_t field, uint32_t wire, size_t at, size_t length) {
    if (field != 1 || wire != 2) return;
    Reader resource_spans{bytes_, at, at + length};
    resource_spans.Fields([&](uint32_t field, uint32_t wire, size_t at, size_t length) {
      if (field != 2 || wire != 2) return;
      Reader scope_spans{bytes_, at, at + length};
      scope_spans.Fields([&](uint32_t field, uint32_t wire, size_t at, size_t length) {
        if (field != 2 || wire != 2) return;
        SpanOffsets span;
        size_t trace_id_length = 0, span_id_length = 0, parent_length = 0;
        Reader fields{bytes_, at, at + length};
        fields.Fields([&](uint32_t field, uint32_t wire, size_t at, size_t length) {
          if (field == 1 && wire == 2) span.trace_id = at, trace_id_length = length;
          if (field == 2 && wire == 2) span.span_id = at, span_id_length = length;
          if (field == 4 && wire == 2 && length > 0) span.parent_id = at, parent_length = length;
          if (field == 7 && wire == 1) span.start = at;
          if (field == 8 && wire == 1) span.end = at;
        });
        if (trace_id_length != 16 || span_id_length != 8 || (span.parent_id != 0 && parent_length != 8) ||
            span.start == 0 || span.end == 0) {
          throw std::runtime_error("request template: a span without 16/8-byte ids or times");
        }
        spans_.push_back(span);
      });
    });
  });
  // Parents and traces by the template's own ids, resolved once.
  std::map<std::string_view, size_t> by_span_id;
  std::map<std::string_view, size_t> first_of_trace;
  const std::string_view all(bytes_);
  for (size_t i = 0; i < spans_.size(); ++i) {
    by_span_id.emplace(all.substr(spans_[i].span_id, 8), i);
    first_of_trace.emplace(all.substr(spans_[i].trace_id, 16), i);
  }
  for (SpanOffsets& span : spans_) {
    span.trace_first = first_of_trace.at(all.substr(span.trace_id, 16));
    if (span.parent_id == 0) continue;
    auto parent = by_span_id.find(all.substr(span.parent_id, 8));
    span.parent_in_request = parent != by_span_id.end();
    if (span.parent_in_request) span.parent_index = parent->second;
  }
}

const std::string& RequestTemplate::Restamp(std::mt19937_64& rng, uint64_t now_unix_nanos) {
  const uint64_t shift = now_unix_nanos - stamped_unix_nanos_;  // modulo 2^64: also right backwards
  stamped_unix_nanos_ = now_unix_nanos;
  char* data = bytes_.data();
  for (size_t i = 0; i < spans_.size(); ++i) {
    SpanOffsets& span = spans_[i];
    if (span.trace_first == i) {
      RandomId(rng, data + span.trace_id, 16);
    } else {
      std::memcpy(data + span.trace_id, data + spans_[span.trace_first].trace_id, 16);
    }
    RandomId(rng, data + span.span_id, 8);
    SetFixed64(bytes_, span.start, Fixed64(bytes_, span.start) + shift);
    SetFixed64(bytes_, span.end, Fixed64(bytes_, span.end) + shift);
  }
  // Parents after every span has its new id (a parent may follow its child in the request).
  for (const SpanOffsets& span : spans_) {
    if (span.parent_in_request) std::memcpy(data + span.parent_id, data + spans_[span.parent_index].span_id, 8);
  }
  return bytes_;
}

}  // namespace osprey::bench
