#include "migrations.hpp"

#include <algorithm>
#include <string>

#include "osprey/base/status.hpp"

namespace osprey::store {

absl::Status ValidateMigrations(std::span<const Migration> migrations) {
  int expected = 1;
  for (const Migration& migration : migrations) {
    if (migration.version != expected) {
      return base::Permanent(absl::StatusCode::kInternal, "migration " + std::string(migration.name) + " has version " +
                                                              std::to_string(migration.version) + ", expected " +
                                                              std::to_string(expected));
    }
    ++expected;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<const Migration*>> PendingMigrations(std::span<const Migration> migrations,
                                                                const std::vector<int>& applied) {
  for (int version : applied) {
    bool known = std::any_of(migrations.begin(), migrations.end(),
                             [version](const Migration& m) { return m.version == version; });
    if (!known) {
      return base::Permanent(absl::StatusCode::kFailedPrecondition,
                             "database has schema version " + std::to_string(version) +
                                 ", unknown to this binary (migrated by a newer Osprey?)");
    }
  }
  std::vector<const Migration*> pending;
  for (const Migration& migration : migrations) {
    if (std::find(applied.begin(), applied.end(), migration.version) == applied.end()) {
      pending.push_back(&migration);
    }
  }
  return pending;
}

absl::Status RunMigrations(MigrationTarget& target, std::span<const Migration> migrations) {
  OSPREY_RETURN_IF_ERROR(ValidateMigrations(migrations));
  OSPREY_RETURN_IF_ERROR(target.Begin());
  auto run = [&]() -> absl::Status {
    OSPREY_RETURN_IF_ERROR(target.EnsureVersionTable());
    OSPREY_ASSIGN_OR_RETURN(std::vector<int> applied, target.AppliedVersions());
    OSPREY_ASSIGN_OR_RETURN(std::vector<const Migration*> pending, PendingMigrations(migrations, applied));
    for (const Migration* migration : pending) {
      absl::Status status = target.Apply(*migration);
      if (!status.ok()) {
        // Keep the payloads (the retryable flag) while naming the failing migration.
        absl::Status named(status.code(), "migration " + std::to_string(migration->version) + "_" +
                                              std::string(migration->name) + ": " + std::string(status.message()));
        status.ForEachPayload(
            [&named](absl::string_view type_url, const absl::Cord& payload) { named.SetPayload(type_url, payload); });
        return named;
      }
    }
    return target.Commit();
  };
  absl::Status status = run();
  if (!status.ok()) target.Rollback();
  return status;
}

}  // namespace osprey::store
