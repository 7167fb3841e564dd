#pragma once

// The Postgres write path: validation of a span for this server, and one WriteSpans transaction
// over an open transaction of a pooled connection (the store retries it and commits it). May throw
// libpqxx exceptions; the caller maps them to a Status.

#include <cstddef>
#include <pqxx/pqxx>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/model/v1/span.pb.h"
#include "osprey/store/store.hpp"
#include "span_rows.hpp"

namespace osprey::store::internal {

// The shared checks, plus UTF-8 in every text field: the server's encoding refuses anything else.
absl::StatusOr<SpanRow> PgValidateSpan(const model::v1::Span* span, size_t index);

// Writes `rows` (sorted by trace id, then span id) in `tx`, filling `result`.
absl::Status PgWriteSpans(pqxx::work& tx, const std::vector<SpanRow>& rows, WriteResult& result);

}  // namespace osprey::store::internal
