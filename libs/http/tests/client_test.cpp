#include "osprey/http/client.hpp"

#include <catch2/catch.hpp>

#include "osprey/http/server.hpp"

namespace osprey::http {
namespace {

// A server that echoes what it received.
struct EchoServer {
  EchoServer() {
    router.Add("POST", "/echo", [](const Request& request) {
      std::string text = request.method + " " + request.target + " " + request.Header("x-token").value_or("-") + " " +
                         request.Header("host").value_or("-") + " " + request.body;
      return Response::Text(200, text).WithHeader("X-Reply", "yes");
    });
    router.Add("GET", "/data", [](const Request&) { return Response::Text(200, "0123456789"); });
    server = std::make_unique<Server>(ServerConfig{}, &router, nullptr);
    REQUIRE(server->Start().ok());
  }
  Router router;
  std::unique_ptr<Server> server;
};

TEST_CASE("Fetch sends method, target, headers and body and reads the response", "[http][client]") {
  EchoServer echo;
  auto response = Fetch("127.0.0.1", echo.server->port(), "POST", "/echo?x=1", {{"X-Token", "t1"}}, "payload");
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->body == "POST /echo?x=1 t1 127.0.0.1:" + std::to_string(echo.server->port()) + " payload");
  CHECK(response->Header("x-reply") == "yes");
  CHECK(response->Header("X-REPLY") == "yes");
}

TEST_CASE("Fetch reads a HEAD response without a body", "[http][client]") {
  EchoServer echo;
  auto response = Fetch("127.0.0.1", echo.server->port(), "HEAD", "/data");
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->Header("content-length") == "10");
  CHECK(response->body.empty());
}

TEST_CASE("ClientConnection reuses one connection", "[http][client]") {
  EchoServer echo;
  auto connection = ClientConnection::Open("127.0.0.1", echo.server->port());
  REQUIRE(connection.ok());
  for (int i = 0; i < 3; ++i) {
    auto response = (*connection)->Send("GET", "/data");
    REQUIRE(response.ok());
    CHECK(response->body == "0123456789");
    CHECK((*connection)->open());
  }
}

TEST_CASE("Fetch reports an unreachable server as UNAVAILABLE", "[http][client]") {
  uint16_t port;
  {
    EchoServer echo;
    port = echo.server->port();
  }  // stopped: nothing listens there any more
  auto response = Fetch("127.0.0.1", port, "GET", "/data", {}, {}, std::chrono::seconds(2));
  CHECK(response.status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace osprey::http
