#pragma once

// MutationStore for Postgres: free functions over an open transaction of a pooled connection. They
// take row locks in the writer's global order — traces by trace_id, then sessions by session_id —
// so they queue behind (or ahead of) a concurrent WriteSpans instead of deadlocking. They may throw
// libpqxx exceptions; the caller maps them to a Status, and commits only on OK (any error, thrown
// or returned, leaves the transaction to be rolled back). Contracts: osprey/store/mutations.hpp.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/store/mutations.hpp"

namespace osprey::store::internal {

absl::Status PgUpdateProjectDescription(pqxx::work& tx, int64_t id, const std::optional<std::string>& description);
absl::Status PgDeleteProject(pqxx::work& tx, int64_t id);
absl::Status PgRenameProject(pqxx::work& tx, int64_t id, const std::string& name);
absl::StatusOr<std::vector<std::string>> PgStoredSpanIds(pqxx::work& tx, const std::vector<std::string>& span_ids);
absl::Status PgDeleteSpan(pqxx::work& tx, const RowKey& span);
absl::Status PgDeleteTrace(pqxx::work& tx, const RowKey& trace);
absl::StatusOr<int64_t> PgDeleteSessions(pqxx::work& tx, const std::vector<RowKey>& sessions);
absl::StatusOr<TransferResult> PgTransferTraces(pqxx::work& tx, const std::vector<RowKey>& traces,
                                                int64_t destination_project_id);

}  // namespace osprey::store::internal
