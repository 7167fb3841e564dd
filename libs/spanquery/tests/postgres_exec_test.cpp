// The span query language executed on a real Postgres store (a private cluster this test starts
// with deploy/postgres/start), with the same case table and expected rows as the SQLite test.
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <pqxx/pqxx>
#include <string>

#include "fixture.hpp"
#include "osprey/store/postgres_store.hpp"

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t length = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

int Shell(const std::string& command, std::string& output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One private cluster per test process, stopped at exit; each test case gets a fresh database.
class Cluster final {
 public:
  static Cluster& Get() {
    static Cluster cluster;
    return cluster;
  }
  ~Cluster() {
    std::string output;
    Shell(std::string(OSPREY_PG_DEPLOY_DIR) + "/stop '" + dir_.string() + "' 2>&1", output);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Dsn(const std::string& database) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database;
  }
  std::string CreateDatabase() {
    std::string name = "spanquery_t" + std::to_string(++databases_);
    pqxx::connection admin(Dsn("postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + name);
    return name;
  }

 private:
  Cluster() {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-pg-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    port_ = FreePort();
    std::string output;
    int status =
        Shell(std::string(OSPREY_PG_DEPLOY_DIR) + "/start '" + dir_.string() + "' " + std::to_string(port_) + " 2>&1",
              output);
    INFO(output);
    REQUIRE(status == 0);
  }
  std::filesystem::path dir_;
  int port_ = 0;
  int databases_ = 0;
};

std::unique_ptr<osprey::store::Store> OpenStore(std::string& dsn) {
  dsn = Cluster::Get().Dsn(Cluster::Get().CreateDatabase());
  osprey::store::PostgresConfig config;
  config.dsn = dsn;
  config.pool_size = 2;
  auto store = osprey::store::OpenPostgresStore(config);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  return std::move(*store);
}

}  // namespace

TEST_CASE("postgres: span queries return the expected rows", "[spanquery][postgres]") {
  std::string dsn;
  auto store = OpenStore(dsn);
  CHECK(store->dialect() == osprey::store::Dialect::kPostgres);
  auto run_sql = [&](const std::string& sql) {
    pqxx::connection connection(dsn);
    pqxx::work tx(connection);
    tx.exec(sql);
    tx.commit();
  };
  osprey::spanquery::testing::RunExecutionSuite(*store, run_sql);
}

TEST_CASE("postgres: RunReadQuery is read-only, bounded and parameterized", "[spanquery][postgres]") {
  std::string dsn;
  auto store = OpenStore(dsn);
  auto denied = store->RunReadQuery(osprey::store::SqlQuery{"DELETE FROM projects", {}});
  REQUIRE(!denied.ok());
  CHECK_THAT(std::string(denied.status().message()), Catch::Contains("read-only"));
  auto still = store->RunReadQuery(osprey::store::SqlQuery{"SELECT count(*) FROM projects", {}});
  REQUIRE(still.ok());
  CHECK(std::get<int64_t>(still->rows[0][0]) == 1);

  osprey::store::SqlQuery bound{"SELECT $1::text || 'x', $2::bigint + 1, $3::float8, $4::boolean",
                                {std::string("a'; --"), int64_t{41}, 0.5, true}};
  auto rows = store->RunReadQuery(bound);
  REQUIRE(rows.ok());
  CHECK(std::get<std::string>(rows->rows[0][0]) == "a'; --x");
  CHECK(std::get<int64_t>(rows->rows[0][1]) == 42);
  CHECK(std::get<double>(rows->rows[0][2]) == 0.5);
  CHECK(std::get<bool>(rows->rows[0][3]));

  auto nul = store->RunReadQuery(osprey::store::SqlQuery{"SELECT $1::text", {std::string("a\0b", 3)}});
  REQUIRE(!nul.ok());
  CHECK_THAT(std::string(nul.status().message()), Catch::Contains("NUL"));

  osprey::store::SqlQuery slow{"SELECT pg_sleep(2)", {}};
  slow.timeout_ms = 100;
  auto deadline = store->RunReadQuery(slow);
  REQUIRE(!deadline.ok());
  CHECK(deadline.status().code() == absl::StatusCode::kDeadlineExceeded);
  auto again = store->RunReadQuery(osprey::store::SqlQuery{"SELECT 1", {}});
  CHECK(again.ok());
}
