#include <catch2/catch.hpp>

#include "osprey/http/server.hpp"

namespace osprey::http {
namespace {

TEST_CASE("Request::Header is case-insensitive and returns the first value", "[http][message]") {
  Request request;
  request.headers = {{"content-type", "application/json"}, {"x-tag", "one"}, {"x-tag", "two"}};
  CHECK(request.Header("Content-Type") == "application/json");
  CHECK(request.Header("X-TAG") == "one");
  CHECK_FALSE(request.Header("accept").has_value());
}

TEST_CASE("Request::Query and QueryAll keep repeated keys in order", "[http][message]") {
  Request request;
  request.query = {{"tag", "a"}, {"limit", "10"}, {"tag", "b"}};
  CHECK(request.Query("tag") == "a");
  CHECK(request.Query("limit") == "10");
  CHECK_FALSE(request.Query("cursor").has_value());
  CHECK(request.QueryAll("tag") == std::vector<std::string>{"a", "b"});
  CHECK(request.QueryAll("cursor").empty());
}

TEST_CASE("Response factories set status, content type and body", "[http][message]") {
  Response text = Response::Text(404, "Not Found");
  CHECK(text.status == 404);
  CHECK(text.body == "Not Found");
  REQUIRE(text.headers.size() == 1);
  CHECK(text.headers[0] == std::pair<std::string, std::string>{"Content-Type", "text/plain; charset=utf-8"});

  Response json = Response::Json(201, "{}");
  CHECK(json.status == 201);
  CHECK(json.headers[0].second == "application/json");

  Response bytes = Response::Bytes(200, "application/x-protobuf", std::string("\0\1", 2));
  CHECK(bytes.headers[0].second == "application/x-protobuf");
  CHECK(bytes.body.size() == 2);

  Response empty = Response::NoContent();
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
  CHECK(empty.headers.empty());
}

TEST_CASE("Response::WithHeader chains", "[http][message]") {
  Response response = Response::Text(503, "busy").WithHeader("Retry-After", "1").WithHeader("X-A", "b");
  REQUIRE(response.headers.size() == 3);
  CHECK(response.headers[1] == std::pair<std::string, std::string>{"Retry-After", "1"});
  CHECK(response.headers[2] == std::pair<std::string, std::string>{"X-A", "b"});
}

}  // namespace
}  // namespace osprey::http
