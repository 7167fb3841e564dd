#pragma once

// Reads for the web UI (services/query/src/ui_api.cpp) that Phoenix's REST API has no shape for:
// per-project summaries over a time window, all-time per-project totals, and a trace's spans without their attributes,
// paged in start-time order. Written once over the store's read-only SQL entry point (SqlReader), in the store's
// dialect, so the SQLite and Postgres stores both have them with no code of their own.
//
// Errors: those of SqlReader::RunReadQuery (retryable when the database is busy or unreachable);
// INVALID_ARGUMENT for a limit below 1.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "osprey/store/sql_reader.hpp"

namespace osprey::store {

// Traces whose start time is in [start_time_ns, end_time_ns); either bound may be absent.
struct SummaryWindow {
  std::optional<int64_t> start_time_ns;
  std::optional<int64_t> end_time_ns;
};

struct ProjectSummary {
  int64_t project_id = 0;
  int64_t trace_count = 0;
  int64_t error_trace_count = 0;  // traces with at least one ERROR span
  // Nearest-rank percentiles of trace latency (end - start of the trace), in nanoseconds; absent
  // when the window holds no trace.
  std::optional<int64_t> latency_p50_ns;
  std::optional<int64_t> latency_p99_ns;
  int64_t token_count_prompt = 0;
  int64_t token_count_completion = 0;
  int64_t token_count_total = 0;
  double cost_total = 0;                       // US dollars, the sum of its traces' known costs
  std::optional<int64_t> last_trace_start_ns;  // latest trace start in the window
};

// One summary per project that has a trace in the window (projects without one are absent). Without a
// window (neither bound), the counts, tokens and cost are the project rows' rollups (ReadProjectRollups)
// and only the latency percentiles and the last trace start read the traces (index probes per project);
// with a window, the project's traces in it are summed.
absl::StatusOr<std::vector<ProjectSummary>> ReadProjectSummaries(SqlReader& db, const SummaryWindow& window);

// A project's all-time totals, kept on its row by every write and mutation (migration 0007).
struct ProjectRollup {
  int64_t project_id = 0;
  std::string name;
  std::optional<std::string> description;
  int64_t trace_count = 0;
  int64_t span_count = 0;
  int64_t error_trace_count = 0;  // traces with at least one ERROR span
  int64_t token_count_prompt = 0;
  int64_t token_count_completion = 0;
  int64_t token_count_total = 0;
  double cost_total = 0;  // US dollars, the sum of its traces' known costs
};

// Every project's rollups in project id order: one read of the projects table, no trace is read.
absl::StatusOr<std::vector<ProjectRollup>> ReadProjectRollups(SqlReader& db);

struct OutlineSpan {
  int64_t id = 0;  // span row id
  std::string span_id;
  std::string parent_id;  // empty for a root span
  std::string name;
  std::string span_kind;
  std::string status_code;
  int64_t start_time_ns = 0;
  int64_t end_time_ns = 0;
  int64_t llm_token_count_total = 0;
};

// Position after which the next page starts: spans are ordered by (start_time, id).
struct OutlineCursor {
  int64_t start_time_ns = 0;
  int64_t id = 0;
};

struct OutlinePage {
  std::vector<OutlineSpan> items;
  std::optional<OutlineCursor> next;  // absent on the last page
};

// Spans of one trace (by trace row id) strictly after `after`, at most `limit` of them.
absl::StatusOr<OutlinePage> ReadTraceOutline(SqlReader& db, int64_t trace_rowid,
                                             const std::optional<OutlineCursor>& after, int limit);

}  // namespace osprey::store
