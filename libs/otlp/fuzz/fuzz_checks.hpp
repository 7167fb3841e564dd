#pragma once

// Invariants every fuzz target checks after decoding and normalizing arbitrary input. A violation
// aborts (that is what the fuzzer reports); the corpus regression tests run the same checks.

#include <cstddef>
#include <cstdint>

#include "osprey/otlp/otlp.hpp"

namespace osprey::otlp::fuzz {

// Aborts unless `result` is a faithful normalization of `request`: one outcome per input span,
// ids/times valid, span kind known, attributes a JSON object, events a JSON array, every string
// valid UTF-8, and ErrorMessage() empty exactly when nothing was rejected.
void CheckNormalized(const ExportRequest& request, const NormalizeResult& result);

// Aborts unless the two results are identical (same spans, same rejection reasons).
void CheckSameResult(const NormalizeResult& a, const NormalizeResult& b);

// Aborts unless NormalizeOnArena(request, options) gives exactly `expected` (Normalize's result).
void CheckSameOnArena(const ExportRequest& request, const NormalizeOptions& options, const NormalizeResult& expected);

// Discards protobuf's library log lines (invalid UTF-8 warnings) so fuzzing output stays readable.
void QuietProtobufLogs();

}  // namespace osprey::otlp::fuzz
