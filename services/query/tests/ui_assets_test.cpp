#include "osprey/query/ui_assets.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace osprey;

namespace {

const std::string kIndex = "<!doctype html><div id=root></div><script src=/assets/app-1a2b.js></script>";
const std::string kScript = "console.log('osprey');\n" + std::string(4000, ' ') + "export{};";

http::Request Get(std::string path, bool gzip = false) {
  http::Request r;
  r.method = "GET";
  r.target = path;
  r.path = path;
  if (gzip) r.headers.emplace_back("accept-encoding", "gzip, deflate, br");
  return r;
}

std::string HeaderOf(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

const query::EmbeddedFile kFiles[] = {{"index.html", kIndex}, {"assets/app-1a2b.js", kScript}};

}  // namespace

TEST_CASE("client-side routes are deep links: unknown non-API paths get index.html, revalidated") {
  query::UiAssets assets(kFiles);
  for (std::string path : {"/", "/projects/default", "/projects/default/traces/0123456789abcdef?span=1"}) {
    http::Response r = assets.Serve(Get(path.substr(0, path.find('?'))));
    INFO(path);
    CHECK(r.status == 200);
    CHECK(r.body == kIndex);
    CHECK(HeaderOf(r, "Content-Type") == "text/html; charset=utf-8");
    CHECK(HeaderOf(r, "Cache-Control") == "no-cache");
  }
}

TEST_CASE("hashed assets: JavaScript content type, cached for a year, gzip only when accepted") {
  query::UiAssets assets(kFiles);
  http::Response plain = assets.Serve(Get("/assets/app-1a2b.js"));
  CHECK(plain.status == 200);
  CHECK(plain.body == kScript);
  CHECK(HeaderOf(plain, "Content-Type") == "text/javascript; charset=utf-8");
  CHECK(HeaderOf(plain, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(HeaderOf(plain, "Content-Encoding").empty());

  http::Response gz = assets.Serve(Get("/assets/app-1a2b.js", true));
  CHECK(HeaderOf(gz, "Content-Encoding") == "gzip");
  CHECK(gz.body.size() < kScript.size());
  std::string decoded;
  REQUIRE(http::Decompress("gzip", gz.body, 1 << 20, decoded).ok());
  CHECK(decoded == kScript);
}

TEST_CASE("a missing asset and API paths stay 404, never index.html") {
  query::UiAssets assets(kFiles);
  for (std::string path : {"/assets/app-old.js", "/v1/nope", "/v1", "/osprey/v1/nope", "/healthz", "/metrics"}) {
    INFO(path);
    http::Response r = assets.Serve(Get(path));
    CHECK(r.status == 404);
    CHECK(r.body != kIndex);
  }
}

TEST_CASE("API routes win over the UI fallback in the router") {
  http::Router router;
  router.Add("GET", "/v1/projects", [](const http::Request&) { return http::Response::Json(200, "{\"data\":[]}"); });
  auto assets = std::make_shared<query::UiAssets>(kFiles);
  router.SetFallback([assets](const http::Request& r) { return assets->Serve(r); });
  http::Request api = Get("/v1/projects");
  CHECK(router.Dispatch(api).body == "{\"data\":[]}");
  http::Request page = Get("/projects/alpha");
  CHECK(router.Dispatch(page).body == kIndex);
  http::Request post = Get("/projects/alpha");
  post.method = "POST";
  CHECK(router.Dispatch(post).status == 404);
}

TEST_CASE("content types by extension") {
  CHECK(query::ContentTypeFor("a/b.css") == "text/css; charset=utf-8");
  CHECK(query::ContentTypeFor("x.svg") == "image/svg+xml");
  CHECK(query::ContentTypeFor("index.html") == "text/html; charset=utf-8");
  CHECK(query::ContentTypeFor("blob") == "application/octet-stream");
}

TEST_CASE("the build embedded the UI: index.html references its hashed bundle") {
  auto files = query::EmbeddedUiFiles();
  REQUIRE(!files.empty());
  query::UiAssets assets(files);
  http::Response index = assets.Serve(Get("/"));
  REQUIRE(index.status == 200);
  auto at = index.body.find("/assets/");
  REQUIRE(at != std::string::npos);
  auto end = index.body.find('"', at);
  std::string script = index.body.substr(at, end - at);
  http::Response js = assets.Serve(Get(script));
  CHECK(js.status == 200);
  CHECK(HeaderOf(js, "Cache-Control") == "public, max-age=31536000, immutable");
}
