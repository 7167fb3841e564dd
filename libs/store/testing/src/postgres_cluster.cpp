#include "osprey/storetest/postgres_cluster.hpp"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace osprey::storetest {
namespace {

std::mutex& Mutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

PostgresTestCluster& PostgresTestCluster::Get(const std::string& deploy_dir) {
  static PostgresTestCluster cluster(deploy_dir);
  return cluster;
}

PostgresTestCluster::PostgresTestCluster(std::string deploy_dir) : deploy_dir_(std::move(deploy_dir)) {
  char tmpl[] = "/tmp/osprey-test-pg-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(addr);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), size) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0);
  close(fd);
  port_ = ntohs(addr.sin_port);
  const std::string start = deploy_dir_ + "/start '" + dir_ + "' " + std::to_string(port_) + " >/dev/null 2>&1";
  REQUIRE(std::system(start.c_str()) == 0);
}

PostgresTestCluster::~PostgresTestCluster() {
  (void)std::system((deploy_dir_ + "/stop '" + dir_ + "' >/dev/null 2>&1").c_str());
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PostgresTestCluster::NewDatabaseDsn() {
  std::lock_guard lock(Mutex());
  const std::string name = "osprey_t" + std::to_string(++databases_);
  const std::string server = "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres";
  const std::string psql = "psql -q '" + server + " dbname=postgres' -c 'CREATE DATABASE " + name + "' >/dev/null";
  REQUIRE(std::system(psql.c_str()) == 0);
  return server + " dbname=" + name;
}

}  // namespace osprey::storetest
