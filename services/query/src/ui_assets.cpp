#include "osprey/query/ui_assets.hpp"

#include <array>
#include <memory>
#include <utility>

namespace osprey::query {
namespace {

constexpr std::array<std::string_view, 7> kApiPrefixes = {
    "/v1/", "/osprey/", "/healthz", "/readyz", "/metrics", "/graphql", "/arize_phoenix_version"};

bool StartsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool AcceptsGzip(const http::Request& request) {
  auto accept = request.Header("accept-encoding");
  return accept && accept->find("gzip") != std::string::npos;
}

http::Response NotFound() { return http::Response::Text(404, "Not Found"); }

}  // namespace

std::string_view ContentTypeFor(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (EndsWith(path, ext)) return type;
  }
  return "application/octet-stream";
}

UiAssets::UiAssets(std::span<const EmbeddedFile> files) {
  for (const EmbeddedFile& f : files) {
    File file{ContentTypeFor(f.path), f.data, {}};
    const bool compressible = StartsWith(file.content_type, "text/") || file.content_type == "application/json" ||
                              file.content_type == "image/svg+xml";
    if (compressible && f.data.size() > 1024) {
      std::string gz = http::GzipCompress(f.data);
      if (gz.size() < f.data.size()) file.gzip = std::move(gz);
    }
    files_.emplace(std::string(f.path), std::move(file));
  }
}

http::Response UiAssets::Reply(const std::string& path, const File& file, const http::Request& request) const {
  const bool gzip = !file.gzip.empty() && AcceptsGzip(request);
  http::Response response =
      http::Response::Bytes(200, std::string(file.content_type), std::string(gzip ? file.gzip : file.body));
  if (gzip) response.WithHeader("Content-Encoding", "gzip");
  if (!file.gzip.empty()) response.WithHeader("Vary", "Accept-Encoding");
  response.WithHeader("Cache-Control",
                      StartsWith(path, "assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  response.WithHeader("X-Content-Type-Options", "nosniff");
  return response;
}

http::Response UiAssets::Serve(const http::Request& request) const {
  const std::string_view path = request.path.empty() ? std::string_view("/") : std::string_view(request.path);
  for (std::string_view prefix : kApiPrefixes) {
    if (StartsWith(path, prefix) || path == prefix.substr(0, prefix.size() - (EndsWith(prefix, "/") ? 1 : 0))) {
      return NotFound();
    }
  }
  std::string relative(path.substr(1));
  if (auto it = files_.find(relative); it != files_.end() && !relative.empty())
    return Reply(relative, it->second, request);
  if (StartsWith(relative, "assets/")) return NotFound();
  auto index = files_.find("index.html");
  if (index == files_.end()) {
    return http::Response::Text(404, "The web UI is not part of this build (Node.js was not found at build time).");
  }
  return Reply("index.html", index->second, request);
}

void RegisterUiAssets(http::Router& router) {
  auto assets = std::make_shared<const UiAssets>(EmbeddedUiFiles());
  router.SetFallback([assets](const http::Request& request) { return assets->Serve(request); });
}

}  // namespace osprey::query
