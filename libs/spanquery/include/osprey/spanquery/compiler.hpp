#pragma once

// Compiles a span query (QuerySpec plus the request's window) to one parameterized SELECT for the
// store's dialect (SQLite JSON1 or Postgres jsonb). Never splices user text into SQL: column and
// table names come from a fixed whitelist, output columns are named c0, c1, ..., and every string,
// number and JSON path travels as a bound parameter. Pure functions; thread-safe.
//
// Filter semantics (phoenix-compat §5.3): columns span_id, trace_id, parent_id, name, span_kind,
// status_code, status_message (text; span_kind/status_code literals are uppercased), latency_ms and
// cumulative_llm_token_count_{prompt,completion,total} (numbers), start_time/end_time (compared with
// ISO-8601 strings); any other name or dotted path is an attribute (`llm.model_name`,
// `attributes["a"]["b"]`, `metadata["k"]`, integer subscripts index lists); `evals["x"].score|label|
// explanation` and `annotations[...]`, `trace_annotations[...]` read annotations (a bare reference
// tests existence); `parent_span is None` selects roots including orphans. An attribute compared with
// a number is read as a number (numeric JSON or numeric string, else NULL), with True/False as a
// boolean, otherwise as text. `"s" in x` is a case-insensitive substring test (ASCII case folding on
// SQLite, Unicode on Postgres). `/` is float division and yields NULL for a zero divisor.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "osprey/spanquery/parser.hpp"
#include "osprey/spanquery/query.hpp"
#include "osprey/store/sql_reader.hpp"

namespace osprey::spanquery {

// How the REST layer renders a result column.
enum class ColumnKind {
  kText,
  kFloat,
  kInteger,
  kBool,
  kTime,        // integer nanoseconds since the epoch
  kJson,        // JSON text of an attribute value (NULL when absent)
  kAttributes,  // the whole attributes document (all-spans frame only)
  kEvents,      // the events JSON array (all-spans frame only)
};

struct OutputColumn {
  std::string label;
  ColumnKind kind = ColumnKind::kText;
};

struct QueryWindow {
  int64_t project_id = 0;
  std::optional<int64_t> start_time_ns;  // inclusive, on span start time
  std::optional<int64_t> end_time_ns;    // exclusive
  int64_t limit = 1000;                  // rows of SQL (spans), ordered by start time DESC, id DESC
  bool root_spans_only = false;
  bool orphan_span_as_root_span = true;  // with root_spans_only: a span whose parent is absent is a root
};

struct CompileLimits {
  ParseLimits parse;
  int64_t max_limit = 100000;
  size_t max_select = 256;      // select + kwargs entries
  size_t max_path_length = 32;  // keys in one attribute path
};

struct CompiledQuery {
  store::SqlQuery sql;
  // One entry per SQL result column, in order. The first is the index (select mode) or, in the
  // all-spans frame, the fixed columns of Phoenix's spans dataframe.
  std::vector<OutputColumn> columns;
  bool all_spans = false;  // no select/explode/concat: Phoenix's "all spans" frame
  // explode/concat: the result column holding the list (JSON), not itself an output column.
  std::optional<size_t> list_column;
};

// INVALID_ARGUMENT "<what is wrong> at column N" for a filter or key outside the subset, naming the
// member it came from ("filter: ...", "select.x: ...", "explode.key: ...").
absl::StatusOr<CompiledQuery> CompileQuery(const QuerySpec& spec, const QueryWindow& window, store::Dialect dialect,
                                           const CompileLimits& limits = {});

// A filter condition alone as an SQL boolean expression over `spans s JOIN traces t`, with its
// parameters (placeholders already numbered for `dialect`). For tests and tools.
absl::StatusOr<store::SqlQuery> CompileCondition(std::string_view condition, store::Dialect dialect,
                                                 const CompileLimits& limits = {});

}  // namespace osprey::spanquery
