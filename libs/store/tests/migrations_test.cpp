#include "migrations.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "osprey/base/status.hpp"

namespace osprey::store {
namespace {

// Records what the runner does; fails Apply() of version `fail_version`.
class FakeTarget final : public MigrationTarget {
 public:
  absl::Status Begin() override {
    log.push_back("begin");
    return absl::OkStatus();
  }
  absl::Status EnsureVersionTable() override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<int>> AppliedVersions() override { return committed; }
  absl::Status Apply(const Migration& migration) override {
    if (migration.version == fail_version) {
      return base::Retryable(absl::StatusCode::kUnavailable, "database is locked");
    }
    log.push_back("apply " + std::to_string(migration.version));
    pending.push_back(migration.version);
    return absl::OkStatus();
  }
  absl::Status Commit() override {
    log.push_back("commit");
    committed.insert(committed.end(), pending.begin(), pending.end());
    pending.clear();
    return absl::OkStatus();
  }
  void Rollback() override {
    log.push_back("rollback");
    pending.clear();
  }

  std::vector<std::string> log;
  std::vector<int> committed;
  std::vector<int> pending;
  int fail_version = 0;
};

constexpr Migration kThree[] = {{1, "init", "A"}, {2, "more", "B"}, {3, "last", "C"}};

TEST_CASE("migrations: pending ones are applied in order, once", "[migrations]") {
  FakeTarget target;
  REQUIRE(RunMigrations(target, kThree).ok());
  CHECK(target.committed == std::vector<int>{1, 2, 3});
  target.log.clear();
  REQUIRE(RunMigrations(target, kThree).ok());
  CHECK(target.log == std::vector<std::string>{"begin", "commit"});
}

TEST_CASE("migrations: only the new versions run on an older database", "[migrations]") {
  FakeTarget target;
  target.committed = {1};
  REQUIRE(RunMigrations(target, kThree).ok());
  CHECK(target.log == std::vector<std::string>{"begin", "apply 2", "apply 3", "commit"});
}

TEST_CASE("migrations: a failure rolls everything back and names the migration", "[migrations]") {
  FakeTarget target;
  target.fail_version = 2;
  absl::Status status = RunMigrations(target, kThree);
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(base::IsRetryable(status));
  CHECK(std::string(status.message()).find("2_more") != std::string::npos);
  CHECK(target.committed.empty());
  CHECK(target.log.back() == "rollback");
}

TEST_CASE("migrations: a database from a newer binary is refused", "[migrations]") {
  FakeTarget target;
  target.committed = {1, 2, 3, 4};
  absl::Status status = RunMigrations(target, kThree);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(status.message()).find("4") != std::string::npos);
}

TEST_CASE("migrations: versions must be 1..N without gaps", "[migrations]") {
  constexpr Migration kGap[] = {{1, "init", "A"}, {3, "skip", "C"}};
  CHECK(!ValidateMigrations(kGap).ok());
  CHECK(ValidateMigrations(kThree).ok());
}

TEST_CASE("migrations: the embedded SQLite set is valid and starts with init", "[migrations]") {
  auto migrations = SqliteMigrations();
  REQUIRE(!migrations.empty());
  CHECK(ValidateMigrations(migrations).ok());
  CHECK(migrations[0].name == "init");
  CHECK(migrations[0].sql.find("CREATE TABLE spans") != std::string_view::npos);
}

}  // namespace
}  // namespace osprey::store
