#pragma once

// Helpers shared by the otlp tests: fixtures, JSON comparison, span builders.

#include <string>
#include <string_view>

#include "osprey/otlp/otlp.hpp"
#include "rapidjson/document.h"

namespace osprey::otlp::testing {

using OtlpSpan = opentelemetry::proto::trace::v1::Span;

std::string ReadFixture(std::string_view name);
// Decodes tests/fixtures/otlp/<name> with DecodeJson; fails the test on error.
ExportRequest* DecodeFixture(std::string_view name, google::protobuf::Arena* arena);

// Parses JSON text; fails the test on error.
rapidjson::Document ParseJson(std::string_view text);
// True when both texts are JSON documents with equal values (object member order ignored).
bool SameJson(std::string_view actual, std::string_view expected);

// A normalized span as one JSON document (ids hex, attributes/events parsed), for comparisons
// with the *.normalized.json fixtures.
std::string SpanToJson(const model::v1::Span& span);

// A valid span (16-byte trace id, 8-byte span id, times) with no attributes.
OtlpSpan ValidSpan();
void AddString(OtlpSpan* span, std::string_view key, std::string_view value);
void AddInt(OtlpSpan* span, std::string_view key, int64_t value);
void AddDouble(OtlpSpan* span, std::string_view key, double value);

// Normalizes a request holding `span` under a resource with the given attributes.
NormalizeResult NormalizeOne(const OtlpSpan& span, const NormalizeOptions& options = {});
// The attributes document of the single span `span` normalizes to; fails the test if rejected.
std::string AttributesOf(const OtlpSpan& span);

}  // namespace osprey::otlp::testing
