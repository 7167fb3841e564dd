#pragma once

// A small blocking HTTP/1.1 client (Boost.Beast) for tests and internal tools. Not for production
// traffic: no TLS, no redirects, no connection pool.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace osprey::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientResponse {
  int status = 0;
  Headers headers;  // names lower-cased, in order
  std::string body;

  // Case-insensitive header lookup (first value).
  std::optional<std::string> Header(std::string_view name) const;
};

// One keep-alive connection. Blocking; not thread-safe (one request at a time).
class ClientConnection final {
 public:
  // Connects to host:port. Errors: UNAVAILABLE (refused, unresolvable, timeout).
  static absl::StatusOr<std::unique_ptr<ClientConnection>> Open(
      const std::string& host, uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Sends one request and reads its response. `Host` is added unless present; `Content-Length`
  // is set from `body` unless present (a caller-supplied value is sent as is). Errors: UNAVAILABLE
  // (connection closed or reset, timeout), INTERNAL (unparseable response).
  absl::StatusOr<ClientResponse> Send(std::string_view method, std::string_view target, const Headers& headers = {},
                                      std::string_view body = {});

  // False once the server asked to close or an error occurred.
  bool open() const;

 private:
  class Impl;
  explicit ClientConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
absl::StatusOr<ClientResponse> Fetch(const std::string& host, uint16_t port, std::string_view method,
                                     std::string_view target, const Headers& headers = {}, std::string_view body = {},
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace osprey::http
