#pragma once

// Renders a compiled query's rows as the pandas "table"-orient JSON document Phoenix's POST /v1/spans
// sends for one query (phoenix-compat §1.3): {"schema": {"fields", "primaryKey", "pandas_version"},
// "data": [...]}, every index and column name prefixed with its position ("0_context.span_id",
// "1_name", ...) because the client strips everything up to the first '_'.
//
// Frames: the all-spans frame (name, span_kind, parent_id, start_time, end_time, status_code,
// status_message, events, context.trace_id, then attributes.<key> columns flattened down to known
// OpenInference keys, sorted) indexed by context.span_id; a select frame indexed by the index key;
// explode adds one row per list item, indexed by (primary key, <prefix>position) with prefix
// "document_" for retrieval.documents; concat joins a list's string fields with the separator.
// Datetimes are ISO-8601 strings in UTC with nanoseconds. Pure functions; thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "osprey/spanquery/compiler.hpp"
#include "osprey/spanquery/query.hpp"
#include "osprey/store/sql_reader.hpp"

namespace osprey::spanquery {

absl::StatusOr<std::string> RenderTable(const QuerySpec& spec, const CompiledQuery& compiled,
                                        const store::SqlRows& rows);

// Nanoseconds since the epoch as "2025-01-02T03:04:05.123456789+00:00".
std::string IsoNanos(int64_t ns);

}  // namespace osprey::spanquery
