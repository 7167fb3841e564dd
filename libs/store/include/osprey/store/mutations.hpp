#pragma once

// Mutations of stored tracing data (projects, spans, traces, sessions), used by the REST routes of
// Phoenix's write side. Part of the Store seam: every Store implements MutationStore and passes the
// mutation conformance cases (libs/store/testing/src/mutations_conformance.cpp).
//
// Contract shared by every method:
//  - each call is one transaction: on error nothing changed;
//  - rollups stay exact: a trace's summary (span/error/token counts, time range, root span) and a
//    session's (trace count, tokens, time range) equal what a fresh write of the remaining spans
//    would produce;
//  - a trace left without spans is deleted, and a session left without traces is deleted;
//  - calls are serialized against WriteSpans (SQLite: the writer connection; Postgres: row locks in
//    the writer's global order — traces by trace_id, then sessions by session_id, then projects), so
//    a concurrent write never resurrects half of a deleted trace: a span of a deleted trace that
//    arrives later creates a new trace row (new row id) in the project its span names;
//  - a project's last_span_at is an activity marker and is not lowered by deletes.
// Thread safety: as Store (any thread).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace osprey::store {

// A row named by its row id (from a GlobalID) or by its natural key: the OTel hex id of a span or
// trace (any case), or the session.id text of a session.
using RowKey = std::variant<int64_t, std::string>;

struct TransferResult {
  int64_t transferred = 0;  // traces moved (traces already in the destination count too)
};

class MutationStore {
 public:
  virtual ~MutationStore() = default;

  // Replaces the description (nullopt clears it) and bumps updated_at. NOT_FOUND when no project
  // has row id `id`.
  virtual absl::Status UpdateProjectDescription(int64_t id, const std::optional<std::string>& description) = 0;

  // Renames a project (Osprey; Phoenix cannot). NOT_FOUND when absent; ALREADY_EXISTS when another
  // project has the name; FAILED_PRECONDITION for "default" (spans without a project are stored there by
  // name); INVALID_ARGUMENT for an empty name. Spans sent later under the old name create a new project
  // with that name.
  virtual absl::Status RenameProject(int64_t id, const std::string& name) = 0;

  // Deletes the project with its traces, spans, sessions and everything attached to them.
  // NOT_FOUND when absent; FAILED_PRECONDITION for the project named "default".
  virtual absl::Status DeleteProject(int64_t id) = 0;

  // The span ids (lowercase hex) among `span_ids` (hex, any case) that are stored, in any project.
  virtual absl::StatusOr<std::vector<std::string>> StoredSpanIds(const std::vector<std::string>& span_ids) = 0;

  // Deletes one span; its children stay (orphaned). The trace's summary is recomputed from the
  // remaining spans, and its session's rollups follow. NOT_FOUND when no such span.
  virtual absl::Status DeleteSpan(const RowKey& span) = 0;

  // Deletes a trace and its spans; its session's rollups follow. NOT_FOUND when no such trace.
  virtual absl::Status DeleteTrace(const RowKey& trace) = 0;

  // Deletes sessions with their traces and spans. Unknown keys are skipped; returns how many
  // sessions were deleted.
  virtual absl::StatusOr<int64_t> DeleteSessions(const std::vector<RowKey>& sessions) = 0;

  // Moves traces (with their spans) to `destination_project_id`. Every trace must exist
  // (NOT_FOUND naming the first missing one) and all must be in one source project
  // (INVALID_ARGUMENT otherwise); NOT_FOUND when the destination does not exist. A session whose
  // traces all end up in the destination moves with them; a session that keeps traces in the
  // source stays there and keeps every trace (session ids are globally unique, so it cannot be split).
  virtual absl::StatusOr<TransferResult> TransferTraces(const std::vector<RowKey>& traces,
                                                        int64_t destination_project_id) = 0;
};

}  // namespace osprey::store
