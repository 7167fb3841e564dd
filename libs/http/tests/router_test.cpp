#include <catch2/catch.hpp>

#include "osprey/http/server.hpp"

namespace osprey::http {
namespace {

Handler Named(std::string name) {
  return [name](const Request& request) {
    std::string body = name;
    for (const auto& [key, value] : request.path_params) body += " " + key + "=" + value;
    return Response::Text(200, body);
  };
}

Response Call(const Router& router, std::string method, std::string target) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  return router.Dispatch(request);
}

std::optional<std::string> HeaderOf(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST_CASE("Router matches literal and parameter segments", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects", Named("list"));
  router.Add("GET", "/v1/projects/{project_identifier}/spans", Named("spans"));
  CHECK(Call(router, "GET", "/v1/projects").body == "list");
  CHECK(Call(router, "GET", "/v1/projects/default/spans?limit=3").body == "spans project_identifier=default");
  CHECK(Call(router, "GET", "/").status == 404);
}

TEST_CASE("Router percent-decodes parameters per segment, keeping an encoded slash inside", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects/{id}/spans", Named("spans"));
  CHECK(Call(router, "GET", "/v1/projects/a%2Fb%20c/spans").body == "spans id=a/b c");
  // A literal slash splits segments, so the same text unencoded is another (unknown) path.
  CHECK(Call(router, "GET", "/v1/projects/a/b/spans").status == 404);
  // "+" is not a space in paths.
  CHECK(Call(router, "GET", "/v1/projects/a+b/spans").body == "spans id=a+b");
}

TEST_CASE("Router prefers literal segments over parameters whatever the order of Add", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/datasets/{id}", Named("by-id"));
  router.Add("GET", "/v1/datasets/upload", Named("upload"));
  router.Add("GET", "/v1/{kind}/x", Named("kind-x"));
  router.Add("GET", "/v1/datasets/{id}/examples", Named("examples"));
  CHECK(Call(router, "GET", "/v1/datasets/upload").body == "upload");
  CHECK(Call(router, "GET", "/v1/datasets/abc").body == "by-id id=abc");
  CHECK(Call(router, "GET", "/v1/datasets/x").body == "by-id id=x");  // first literal decides
  CHECK(Call(router, "GET", "/v1/other/x").body == "kind-x kind=other");
}

TEST_CASE("Router answers 404 text/plain for unknown paths", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects/{id}", Named("one"));
  Response response = Call(router, "GET", "/v1/nothing");
  CHECK(response.status == 404);
  CHECK(response.body == "Not Found");
  CHECK(HeaderOf(response, "Content-Type") == "text/plain; charset=utf-8");
  // A parameter never matches an empty segment.
  CHECK(Call(router, "GET", "/v1/projects//").status == 404);
}

TEST_CASE("Router answers 405 with an Allow header for a known path and another method", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects/{id}", Named("get"));
  router.Add("DELETE", "/v1/projects/{id}", Named("delete"));
  router.Add("POST", "/v1/projects", Named("create"));
  Response response = Call(router, "PUT", "/v1/projects/p1");
  CHECK(response.status == 405);
  CHECK(HeaderOf(response, "Allow") == "DELETE, GET, HEAD");
  CHECK(Call(router, "DELETE", "/v1/projects/p1").body == "delete id=p1");
  CHECK(HeaderOf(Call(router, "GET", "/v1/projects"), "Allow") == "POST");
}

TEST_CASE("Router answers HEAD with the GET route", "[http][router]") {
  Router router;
  router.Add("GET", "/healthz", Named("health"));
  CHECK(Call(router, "HEAD", "/healthz").body == "health");
}

TEST_CASE("Router ignores one trailing slash", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects", Named("list"));
  CHECK(Call(router, "GET", "/v1/projects/").body == "list");
}

TEST_CASE("Router answers 400 to malformed percent-encoding in the path", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects/{id}", Named("get"));
  Response response = Call(router, "GET", "/v1/projects/%zz");
  CHECK(response.status == 400);
  CHECK(response.body == "malformed percent-encoding in path");
}

TEST_CASE("Router sends unmatched GET requests to the fallback only", "[http][router]") {
  Router router;
  router.Add("POST", "/v1/spans", Named("post"));
  router.SetFallback(Named("ui"));
  CHECK(Call(router, "GET", "/projects/abc").body == "ui");
  CHECK(Call(router, "POST", "/projects/abc").status == 404);
  CHECK(Call(router, "GET", "/v1/spans").status == 405);  // a known path is not the UI's
}

TEST_CASE("Router routes a request that has only a decoded path", "[http][router]") {
  Router router;
  router.Add("GET", "/v1/projects/{id}", Named("get"));
  Request request;
  request.method = "GET";
  request.path = "/v1/projects/p 1";
  CHECK(router.Dispatch(request).body == "get id=p 1");
  CHECK(request.path_params.at("id") == "p 1");
}

}  // namespace
}  // namespace osprey::http
