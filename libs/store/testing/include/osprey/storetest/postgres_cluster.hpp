#pragma once

// A private Postgres cluster for tests that need a real database beyond the conformance suite (the
// prompt registry's gRPC test, ...): deploy/postgres/start on a free loopback port in a temporary
// directory, started on first use and stopped when the process exits. Each NewDatabaseDsn() is a fresh,
// empty database. Needs Debian's postgresql-15 (deploy/postgres/README.md); failures are Catch2 REQUIREs.

#include <string>

namespace osprey::storetest {

class PostgresTestCluster final {
 public:
  // `deploy_dir`: the checkout's deploy/postgres (the first call decides).
  static PostgresTestCluster& Get(const std::string& deploy_dir);
  ~PostgresTestCluster();
  PostgresTestCluster(const PostgresTestCluster&) = delete;
  PostgresTestCluster& operator=(const PostgresTestCluster&) = delete;

  // libpq DSN of a new database in the cluster.
  std::string NewDatabaseDsn();

 private:
  explicit PostgresTestCluster(std::string deploy_dir);

  std::string deploy_dir_;
  std::string dir_;
  int port_ = 0;
  int databases_ = 0;
};

}  // namespace osprey::storetest
