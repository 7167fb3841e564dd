#pragma once

// Serves the web UI (ui/, built by Vite) from files embedded into the binary at build time
// (services/query/cmake/embed_ui.cmake writes them into a generated source), so `osprey` is one file.
//
// Routing: a GET/HEAD that no API route matched is the UI's: an existing file is served with its
// content type; a path under /assets/ that does not exist is 404 (a stale hashed file must not turn
// into HTML); a path under an API prefix (/v1/, /osprey/, /healthz, /readyz, /metrics, /graphql,
// /arize_phoenix_version) is 404 text/plain as before; any other path is index.html, so client-side
// routes are deep links. Hashed files under /assets/ are cached for a year (immutable); index.html
// is revalidated on every load. Bodies are gzip-compressed once at start-up and sent compressed to
// clients that accept gzip.
// Thread safety: immutable after construction.

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "osprey/http/server.hpp"

namespace osprey::query {

struct EmbeddedFile {
  std::string_view path;  // relative to the dist directory, e.g. "index.html", "assets/index-abc.js"
  std::string_view data;
};

// The files embedded at build time (generated source); empty when the UI was not built.
std::span<const EmbeddedFile> EmbeddedUiFiles();

// "text/javascript; charset=utf-8" for ".js", ... "application/octet-stream" when unknown.
std::string_view ContentTypeFor(std::string_view path);

class UiAssets final {
 public:
  explicit UiAssets(std::span<const EmbeddedFile> files);
  http::Response Serve(const http::Request& request) const;
  bool empty() const { return files_.empty(); }

 private:
  struct File {
    std::string_view content_type;
    std::string_view body;
    std::string gzip;  // empty when compression does not pay
  };
  http::Response Reply(const std::string& path, const File& file, const http::Request& request) const;
  std::map<std::string, File, std::less<>> files_;
};

// Installs the UI as `router`'s fallback (embedded files). The router owns the assets.
void RegisterUiAssets(http::Router& router);

}  // namespace osprey::query
