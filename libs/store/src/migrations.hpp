#pragma once

// Versioned schema migrations, dialect-neutral. Each dialect keeps its SQL files in
// libs/store/migrations/<dialect>/NNNN_name.sql; the build embeds them (cmake/embed_migrations.cmake)
// as a sorted table returned by <Dialect>Migrations(). RunMigrations() applies the pending ones
// through a MigrationTarget, which supplies the dialect's locking and SQL execution.

#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace osprey::store {

struct Migration {
  int version;            // 1, 2, 3, ... without gaps
  std::string_view name;  // from the file name, for messages
  std::string_view sql;   // one or more statements
};

// The embedded SQLite migrations (generated source in the build tree).
std::span<const Migration> SqliteMigrations();

// OK when versions are 1..N, strictly increasing, without gaps.
absl::Status ValidateMigrations(std::span<const Migration> migrations);

// The migrations not yet in `applied`, in version order. FAILED_PRECONDITION when the database has a
// version this binary does not know (it was migrated by a newer Osprey).
absl::StatusOr<std::vector<const Migration*>> PendingMigrations(std::span<const Migration> migrations,
                                                                const std::vector<int>& applied);

// One database connection seen by the runner. Begin() must take a lock that serializes concurrent
// migrators (SQLite: BEGIN IMMEDIATE; Postgres: a transaction plus pg_advisory_xact_lock) and
// EnsureVersionTable() creates `schema_migrations(version, applied_at)` if missing.
class MigrationTarget {
 public:
  virtual ~MigrationTarget() = default;
  virtual absl::Status Begin() = 0;
  virtual absl::Status EnsureVersionTable() = 0;
  virtual absl::StatusOr<std::vector<int>> AppliedVersions() = 0;
  // Runs the migration's SQL and records its version, inside the open transaction.
  virtual absl::Status Apply(const Migration& migration) = 0;
  virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
};

// Applies every pending migration in one transaction: all or nothing. Running it again, or
// concurrently from another process, is a no-op once the first runner committed.
absl::Status RunMigrations(MigrationTarget& target, std::span<const Migration> migrations);

}  // namespace osprey::store
