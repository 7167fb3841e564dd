// The span query language executed on a real SQLite store (migrated, spans written through the
// Store), with the shared case table of fixture.cpp.
#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "fixture.hpp"
#include "osprey/spanquery/compiler.hpp"
#include "osprey/store/sqlite_store.hpp"

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-spanquery-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

}  // namespace

TEST_CASE("sqlite: span queries return the expected rows", "[spanquery][sqlite]") {
  TempDir dir;
  osprey::store::SqliteConfig config;
  config.path = (dir.path / "osprey.db").string();
  auto store = osprey::store::OpenSqliteStore(config);
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  CHECK((*store)->dialect() == osprey::store::Dialect::kSqlite);
  auto run_sql = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(config.path.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    INFO(sql << ": " << (error ? error : ""));
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
  };
  osprey::spanquery::testing::RunExecutionSuite(**store, run_sql);
}

TEST_CASE("sqlite: RunReadQuery is read-only, bounded and parameterized", "[spanquery][sqlite]") {
  TempDir dir;
  osprey::store::SqliteConfig config;
  config.path = (dir.path / "osprey.db").string();
  auto opened = osprey::store::OpenSqliteStore(config);
  REQUIRE(opened.ok());
  auto& store = **opened;
  REQUIRE(store.Migrate().ok());

  osprey::store::SqlQuery write{"DELETE FROM projects", {}};
  auto denied = store.RunReadQuery(write);
  REQUIRE(!denied.ok());
  CHECK_THAT(std::string(denied.status().message()), Catch::Contains("read-only"));

  osprey::store::SqlQuery two{"SELECT 1; DELETE FROM projects", {}};
  auto multiple = store.RunReadQuery(two);
  REQUIRE(!multiple.ok());
  CHECK_THAT(std::string(multiple.status().message()), Catch::Contains("more than one statement"));

  osprey::store::SqlQuery bound{"SELECT ?1 || 'x', ?2 + 1, ?3", {std::string("a'; --"), int64_t{41}, 0.5}};
  auto rows = store.RunReadQuery(bound);
  REQUIRE(rows.ok());
  REQUIRE(rows->rows.size() == 1);
  CHECK(std::get<std::string>(rows->rows[0][0]) == "a'; --x");
  CHECK(std::get<int64_t>(rows->rows[0][1]) == 42);
  CHECK(std::get<double>(rows->rows[0][2]) == 0.5);

  osprey::store::SqlQuery many{
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i FROM n", {}};
  many.max_rows = 10;
  auto exhausted = store.RunReadQuery(many);
  REQUIRE(!exhausted.ok());
  CHECK(exhausted.status().code() == absl::StatusCode::kResourceExhausted);

  osprey::store::SqlQuery slow{"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
                               {}};
  slow.timeout_ms = 100;
  auto deadline = store.RunReadQuery(slow);
  REQUIRE(!deadline.ok());
  CHECK(deadline.status().code() == absl::StatusCode::kDeadlineExceeded);

  // The connection is usable after a timeout (the progress handler was removed).
  auto again = store.RunReadQuery(osprey::store::SqlQuery{"SELECT count(*) FROM projects", {}});
  REQUIRE(again.ok());
  CHECK(std::get<int64_t>(again->rows[0][0]) == 1);
}
