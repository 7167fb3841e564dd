// The SQLite Store against the shared conformance suite, plus its configuration checks.
#include "osprey/store/sqlite_store.hpp"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "osprey/storetest/store_conformance.hpp"

namespace {

// A fresh database file in its own temporary directory, removed with the harness.
class SqliteHarness final : public osprey::storetest::StoreHarness {
 public:
  SqliteHarness() {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-store-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
  }
  ~SqliteHarness() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<osprey::store::Store>> Open() override {
    osprey::store::SqliteConfig config;
    config.path = (dir_ / "osprey.db").string();
    config.read_connections = 2;
    return osprey::store::OpenSqliteStore(config);
  }

  std::filesystem::path dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace

OSPREY_STORE_CONFORMANCE_TESTS("sqlite", [] { return std::make_unique<SqliteHarness>(); })

TEST_CASE("sqlite: invalid configuration is refused with a precise error", "[sqlite]") {
  SqliteHarness harness;
  osprey::store::SqliteConfig config;
  config.path = (harness.dir() / "x.db").string();

  CHECK(osprey::store::ValidateSqliteConfig(config).ok());
  auto check = [](const osprey::store::SqliteConfig& c, const std::string& needle) {
    CHECK(osprey::store::ValidateSqliteConfig(c).code() == absl::StatusCode::kInvalidArgument);
    auto store = osprey::store::OpenSqliteStore(c);
    REQUIRE(!store.ok());
    CHECK(store.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(store.status().message()), Catch::Contains(needle));
  };
  auto bad = config;
  bad.synchronous = "off";
  check(bad, "synchronous");
  bad = config;
  bad.read_connections = 0;
  check(bad, "read_connections");
  bad = config;
  bad.busy_timeout_ms = -1;
  check(bad, "busy_timeout_ms");
  bad = config;
  bad.path = "";
  check(bad, "path");

  bad = config;
  bad.path = (harness.dir() / "missing-dir" / "x.db").string();
  auto store = osprey::store::OpenSqliteStore(bad);
  REQUIRE(!store.ok());
  CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(store.status().message()), Catch::Contains("missing-dir"));
}

TEST_CASE("sqlite: two stores on one file migrate once and share data", "[sqlite]") {
  SqliteHarness harness;
  auto a = harness.Open();
  auto b = harness.Open();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // Concurrent migrators: BEGIN IMMEDIATE serializes them and the second finds nothing pending.
  absl::Status status_a;
  absl::Status status_b;
  std::thread thread_a([&] { status_a = (*a)->Migrate(); });
  std::thread thread_b([&] { status_b = (*b)->Migrate(); });
  thread_a.join();
  thread_b.join();
  REQUIRE(status_a.ok());
  REQUIRE(status_b.ok());
  auto created = (*a)->CreateProject("shared", std::nullopt);
  REQUIRE(created.ok());
  auto seen = (*b)->GetProjectByName("shared");
  REQUIRE(seen.ok());
  REQUIRE(seen->has_value());
  auto projects = (*b)->ListProjects({});
  REQUIRE(projects.ok());
  CHECK(projects->items.size() == 2);  // "shared" and one seeded "default"
}

TEST_CASE("sqlite: synchronous=full is accepted", "[sqlite]") {
  SqliteHarness harness;
  osprey::store::SqliteConfig config;
  config.path = (harness.dir() / "full.db").string();
  config.synchronous = "full";
  auto store = osprey::store::OpenSqliteStore(config);
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  CHECK((*store)->Ping().ok());
}
