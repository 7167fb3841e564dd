#pragma once

// MutationStore for SQLite: free functions over the writer connection. Each runs one
// BEGIN IMMEDIATE transaction (rolled back on any error); the caller holds the store's writer mutex,
// which serializes them against WriteSpans. Contracts: osprey/store/mutations.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/store/mutations.hpp"
#include "sqlite_db.hpp"

namespace osprey::store::internal {

absl::Status SqliteUpdateProjectDescription(sqlite::Connection& db, int64_t id,
                                            const std::optional<std::string>& description);
absl::Status SqliteDeleteProject(sqlite::Connection& db, int64_t id);
absl::Status SqliteRenameProject(sqlite::Connection& db, int64_t id, const std::string& name);
absl::StatusOr<std::vector<std::string>> SqliteStoredSpanIds(sqlite::Connection& db,
                                                             const std::vector<std::string>& span_ids);
absl::Status SqliteDeleteSpan(sqlite::Connection& db, const RowKey& span);
absl::Status SqliteDeleteTrace(sqlite::Connection& db, const RowKey& trace);
absl::StatusOr<int64_t> SqliteDeleteSessions(sqlite::Connection& db, const std::vector<RowKey>& sessions);
absl::StatusOr<TransferResult> SqliteTransferTraces(sqlite::Connection& db, const std::vector<RowKey>& traces,
                                                    int64_t destination_project_id);

}  // namespace osprey::store::internal
