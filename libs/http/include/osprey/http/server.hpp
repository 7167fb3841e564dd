#pragma once

// HTTP/1.1 server on Boost.Beast with a small router.
//
// Threads: `io_threads` run the sockets (read, write, keep-alive); complete requests are handed to
// a pool of `handler_threads`, so handlers may block (ingest waits for the writer's commit) without
// stalling other connections. When every handler thread is busy and `max_queued_requests` are
// waiting, new requests get 503 with Retry-After.
//
// Bodies: the limit `max_body_bytes` applies to the body as received AND after decompression
// (Content-Encoding gzip or deflate is undone before the handler runs; other encodings get 415).
// Over the limit: 413, counted. Handlers always see the decoded body.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace osprey::metrics {
class Registry;
}

namespace osprey::http {

struct Request {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as received, e.g. "/v1/projects/x/spans?limit=10"
  std::string path;                                          // percent-decoded path, without the query string
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order, repeated keys kept
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::map<std::string, std::string> path_params;            // filled by the Router from "{name}" segments
  std::string body;                                          // decompressed
  std::string remote_address;

  // Case-insensitive header lookup (first value).
  std::optional<std::string> Header(std::string_view name) const;
  // First value of a query parameter.
  std::optional<std::string> Query(std::string_view name) const;
  // Every value of a repeated query parameter, in order.
  std::vector<std::string> QueryAll(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type goes here too
  std::string body;

  static Response Text(int status, std::string body);  // text/plain; charset=utf-8
  static Response Json(int status, std::string body);  // application/json
  static Response Bytes(int status, std::string content_type, std::string body);
  static Response NoContent();  // 204
  Response& WithHeader(std::string name, std::string value);
};

using Handler = std::function<Response(const Request&)>;

// Routes by method and path pattern. Patterns are literal segments and "{name}" segments, e.g.
// "/v1/projects/{project_identifier}/spans"; a "{name}" segment matches one non-empty segment
// (percent-decoded, so an encoded "/" stays inside the parameter). Literal routes win over
// parameter routes. Unknown path: 404 text/plain "Not Found"; known path with another method: 405.
class Router final {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  // Fallback for unmatched GET requests (the UI's client-side routes, later). Optional.
  void SetFallback(Handler handler);
  Response Dispatch(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
  Handler fallback_;
};

struct ServerConfig {
  std::string name = "http";  // label for metrics and logs
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; see Server::port()
  size_t max_body_bytes = 64ull << 20;
  int io_threads = 1;
  int handler_threads = 16;
  size_t max_queued_requests = 1024;
  int idle_timeout_seconds = 120;  // keep-alive connections idle longer are closed
};

class Server final {
 public:
  // `router` must outlive the server. `metrics` may be null.
  Server(ServerConfig config, const Router* router, metrics::Registry* metrics);
  ~Server();  // calls Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the threads; returns quickly. Errors: the address cannot be bound.
  absl::Status Start();
  // The bound port (valid after Start()).
  uint16_t port() const;
  // Stops accepting, lets in-flight handlers finish and their responses be written (bounded by a
  // few seconds), closes connections, joins every thread. Idempotent; safe without Start().
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Undoes a Content-Encoding ("gzip", "deflate", "identity" or empty). Output is capped at
// `max_bytes`: past it, RESOURCE_EXHAUSTED (a decompression bomb costs at most max_bytes of memory).
// Unknown encodings: UNIMPLEMENTED. Corrupt data: INVALID_ARGUMENT.
absl::Status Decompress(std::string_view encoding, std::string_view input, size_t max_bytes, std::string& output);

// gzip-compresses `input` (for tests and clients).
std::string GzipCompress(std::string_view input);

// Percent-decodes a URL component ("+" stays "+" in paths; use `plus_as_space` for query strings).
// nullopt when a "%" is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space);

// Parses a query string (the part after "?") into decoded pairs, in order, repeated keys kept;
// "k" without "=" has an empty value, empty pieces ("a=1&&b=2") are skipped. nullopt on bad encoding.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace osprey::http
