// The page-cache wrapper (src/sqlite_pcache.hpp): its bookkeeping on its own, then SQLite running on it —
// commits that grow a database skip the truncation scan, and rollbacks, which must drop the pages past the
// end, still do, leaving a database that passes integrity_check with exactly the committed rows.
#include "sqlite_pcache.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "sqlite_db.hpp"

namespace osprey::store::sqlite {
namespace {

TEST_CASE("TruncateFilter: fetched keys bound the cache; a truncation past them is a no-op") {
  TruncateFilter filter;
  CHECK_FALSE(filter.MayHoldFrom(1));
  for (unsigned key = 1; key <= 100; ++key) filter.Fetched(key);
  CHECK(filter.MayHoldFrom(100));
  CHECK_FALSE(filter.MayHoldFrom(101));  // the commit-time xTruncate(dbSize + 1)
  filter.Truncated(51);                  // a rollback to 50 pages
  CHECK(filter.max_key() == 50);
  CHECK_FALSE(filter.MayHoldFrom(51));
  filter.Truncated(0);  // the cache is cleared
  CHECK_FALSE(filter.MayHoldFrom(1));
}

TEST_CASE("TruncateFilter: a page parked far away and moved back does not raise the bound") {
  TruncateFilter filter;
  for (unsigned key = 1; key <= 500; ++key) filter.Fetched(key);
  // balance_nonroot swaps two sibling pages through the pending-byte page number.
  const unsigned pending = 0x40000000 / 4096 + 1;
  filter.Rekeyed(300, pending);
  CHECK(filter.parked() == 1);
  CHECK(filter.MayHoldFrom(501));  // while parked, a truncation must go through
  filter.Rekeyed(400, 300);
  filter.Rekeyed(pending, 400);
  CHECK(filter.parked() == 0);
  CHECK(filter.max_key() == 500);
  CHECK_FALSE(filter.MayHoldFrom(501));
}

TEST_CASE("TruncateFilter: a page left parked is dropped by the truncation that covers it") {
  TruncateFilter filter;
  filter.Fetched(10);
  filter.Rekeyed(10, 5000);  // e.g. a page moved past the end of the file
  CHECK(filter.MayHoldFrom(11));
  filter.Truncated(11);
  CHECK(filter.parked() == 0);
  CHECK_FALSE(filter.MayHoldFrom(11));
  filter.Rekeyed(3, 2000);  // more than 1024 past the largest key (10): parked
  CHECK(filter.parked() == 1);
  filter.Rekeyed(4, 900);  // within 1024 of it: growth, the bound moves
  CHECK(filter.max_key() == 900);
}

int64_t Count(Connection& db, const std::string& sql) {
  auto stmt = db.Prepare(sql);
  REQUIRE(stmt.ok());
  auto row = (*stmt)->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return (*stmt)->Int(0);
}

void InsertRandomRows(Connection& db, std::mt19937_64& rng, int rows) {
  auto insert = db.Cached("INSERT INTO t (k, v) VALUES (?, ?)");
  REQUIRE(insert.ok());
  const std::string payload(300, 'x');
  for (int i = 0; i < rows; ++i) {
    (*insert)->BindInt(1, static_cast<int64_t>(rng() >> 1));  // random index positions: page splits, balances
    (*insert)->BindText(2, payload);
    REQUIRE((*insert)->Run().ok());
    (*insert)->Reset();
  }
}

TEST_CASE("SQLite on the wrapped cache: commits skip the scan, rollbacks drop their pages, data intact") {
  REQUIRE(InstallPageCache());  // first SQLite use in this process
  auto dir = std::filesystem::temp_directory_path() / ("osprey-pcache-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "t.db").string();
  {
    auto opened = Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    REQUIRE(opened.ok());
    Connection& db = **opened;
    REQUIRE(db.Exec("PRAGMA journal_mode = WAL").ok());
    REQUIRE(db.Exec("PRAGMA cache_size = -65536").ok());
    REQUIRE(db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, v TEXT NOT NULL)").ok());
    REQUIRE(db.Exec("CREATE INDEX t_k ON t (k)").ok());
    std::mt19937_64 rng(7);

    PageCacheCounts before = PageCacheTruncations();
    for (int batch = 0; batch < 40; ++batch) {
      REQUIRE(db.Exec("BEGIN IMMEDIATE").ok());
      InsertRandomRows(db, rng, 500);
      REQUIRE(db.Exec("COMMIT").ok());
    }
    PageCacheCounts after = PageCacheTruncations();
    // Every commit asks for a truncation; with 40 growing commits, most (all but the few where a balance
    // left its parked page behind) are skipped.
    CHECK(after.skipped - before.skipped >= 30);

    // A rolled-back transaction grew the file in the cache; those pages must be dropped.
    before = PageCacheTruncations();
    REQUIRE(db.Exec("BEGIN IMMEDIATE").ok());
    InsertRandomRows(db, rng, 5000);
    REQUIRE(db.Exec("ROLLBACK").ok());
    after = PageCacheTruncations();
    CHECK(after.passed > before.passed);
    CHECK(Count(db, "SELECT count(*) FROM t") == 20000);

    // The cache keeps working after the rollback: more growth, then a check of every page.
    REQUIRE(db.Exec("BEGIN IMMEDIATE").ok());
    InsertRandomRows(db, rng, 2000);
    REQUIRE(db.Exec("COMMIT").ok());
    auto check = db.QueryPragma("integrity_check");
    REQUIRE(check.ok());
    CHECK(*check == "ok");
    CHECK(Count(db, "SELECT count(*) FROM t") == 22000);
  }
  {
    // A fresh connection (cold cache) reads what was committed.
    auto opened = Connection::Open(path, SQLITE_OPEN_READONLY);
    REQUIRE(opened.ok());
    CHECK(Count(**opened, "SELECT count(*) FROM t") == 22000);
    CHECK(Count(**opened, "SELECT count(*) FROM t INDEXED BY t_k WHERE k >= 0") == 22000);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace osprey::store::sqlite
