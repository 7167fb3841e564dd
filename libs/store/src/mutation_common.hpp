#pragma once

// Pieces shared by the SQLite and Postgres MutationStore implementations: error statuses with the
// same text in both stores, and key normalization.

#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "osprey/base/status.hpp"
#include "osprey/store/mutations.hpp"

namespace osprey::store::internal {

// "span 00000000000000ab" / "span row 12".
inline std::string DescribeKey(const char* what, const RowKey& key) {
  if (const int64_t* rowid = std::get_if<int64_t>(&key)) return std::string(what) + " row " + std::to_string(*rowid);
  return std::string(what) + " " + std::get<std::string>(key);
}

inline absl::Status NotFound(const char* what, const RowKey& key) {
  return base::Permanent(absl::StatusCode::kNotFound, DescribeKey(what, key) + " not found");
}

inline absl::Status ProjectNotFound(int64_t id) {
  return base::Permanent(absl::StatusCode::kNotFound, "project row " + std::to_string(id) + " not found");
}

inline absl::Status DefaultProjectUnrenamable() {
  return base::Permanent(absl::StatusCode::kFailedPrecondition, "The default project cannot be renamed");
}

inline absl::Status DefaultProjectUndeletable() {
  return base::Permanent(absl::StatusCode::kFailedPrecondition, "The default project cannot be deleted");
}

inline absl::Status SeveralSourceProjects() {
  return base::Permanent(absl::StatusCode::kInvalidArgument, "All traces must belong to the same source project");
}

// OTel hex ids are stored in lowercase; session ids are compared as given.
inline std::string LowerHex(const std::string& id) { return absl::AsciiStrToLower(id); }

// Project rollups (migration 0007): what a set of traces adds to its projects' rows. A mutation
// collects the totals of the traces it touches with a minus sign before it changes them and with a
// plus sign after (for the traces that remain), then applies the sum per project, last and in project
// id order (the writer's lock order on Postgres: traces, sessions, projects).
struct ProjectTotals {
  int64_t traces = 0;
  int64_t spans = 0;
  int64_t error_traces = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
  double cost = 0;

  bool Zero() const {
    return traces == 0 && spans == 0 && error_traces == 0 && tokens_prompt == 0 && tokens_completion == 0 &&
           tokens_total == 0 && cost == 0;
  }
};

// Adds what one write's new spans of a trace bring to its project: the trace itself when the write
// created it, its new spans, tokens and cost, and an error trace when `error_count_after` (the trace's
// error count after the write) equals the write's own errors, i.e. its first error spans. `Trace` is
// either writer's per-trace state (created, spans, errors, tokens_*, cost_total).
template <typename Trace>
void AddWrittenTrace(ProjectTotals& project, const Trace& trace, int64_t error_count_after) {
  if (trace.created) ++project.traces;
  project.spans += trace.spans;
  if (trace.errors > 0 && error_count_after == trace.errors) ++project.error_traces;
  project.tokens_prompt += trace.tokens_prompt;
  project.tokens_completion += trace.tokens_completion;
  project.tokens_total += trace.tokens_total;
  project.cost += trace.cost_total;
}

class ProjectDeltas final {
 public:
  // Adds `sign` times `totals` to the project's delta.
  void Add(int64_t project_id, const ProjectTotals& totals, int sign) {
    ProjectTotals& d = by_project_[project_id];
    d.traces += sign * totals.traces;
    d.spans += sign * totals.spans;
    d.error_traces += sign * totals.error_traces;
    d.tokens_prompt += sign * totals.tokens_prompt;
    d.tokens_completion += sign * totals.tokens_completion;
    d.tokens_total += sign * totals.tokens_total;
    d.cost += sign * totals.cost;
  }
  const std::map<int64_t, ProjectTotals>& by_project() const { return by_project_; }

 private:
  std::map<int64_t, ProjectTotals> by_project_;
};

// Per-project totals of the traces matching `condition` (SQL over `traces`, the same in both dialects
// but for its placeholders); columns in ProjectTotals order after project_id.
inline std::string TraceTotalsSql(const std::string& condition) {
  return "SELECT project_id, count(*), sum(span_count), sum(CASE WHEN error_count > 0 THEN 1 ELSE 0 END), "
         "sum(token_count_prompt), sum(token_count_completion), sum(token_count_total), sum(cost_total) "
         "FROM traces WHERE " +
         condition + " GROUP BY project_id";
}

// Adds one project's delta; parameters in ProjectTotals order, then the project id. A project left
// without traces gets a cost of exactly 0, not the rounding residue of adding and subtracting doubles.
inline std::string AddProjectTotalsSql(bool postgres) {
  auto p = [postgres](int n) { return (postgres ? "$" : "?") + std::to_string(n); };
  return "UPDATE projects SET trace_count = trace_count + " + p(1) + ", span_count = span_count + " + p(2) +
         ", error_trace_count = error_trace_count + " + p(3) + ", token_count_prompt = token_count_prompt + " + p(4) +
         ", token_count_completion = token_count_completion + " + p(5) + ", token_count_total = token_count_total + " +
         p(6) + ", cost_total = CASE WHEN trace_count + " + p(1) + " = 0 THEN 0 ELSE cost_total + " + p(7) + " END" +
         " WHERE id = " + p(8);
}

}  // namespace osprey::store::internal
