#include "osprey/http/client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace osprey::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr uint64_t kMaxResponseBody = 1ull << 30;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

beast::string_view Bsv(std::string_view sv) { return beast::string_view(sv.data(), sv.size()); }

}  // namespace

std::optional<std::string> ClientResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return value;
  }
  return std::nullopt;
}

class ClientConnection::Impl {
 public:
  Impl(std::string host, uint16_t port, std::chrono::milliseconds timeout)
      : host_(std::move(host)), port_(port), timeout_(timeout), stream_(ioc_) {}

  absl::Status Connect() {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) return absl::UnavailableError("cannot resolve " + host_ + ": " + ec.message());
    stream_.expires_after(timeout_);
    beast::error_code result = net::error::would_block;
    stream_.async_connect(endpoints, [&result](beast::error_code e, const tcp::endpoint&) { result = e; });
    RunIo();
    if (result) return absl::UnavailableError("cannot connect to " + Where() + ": " + result.message());
    open_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<ClientResponse> Send(std::string_view method, std::string_view target, const Headers& headers,
                                      std::string_view body) {
    if (!open_) return absl::FailedPreconditionError("connection to " + Where() + " is closed");
    bhttp::request<bhttp::string_body> request;
    request.method_string(Bsv(method));
    request.target(Bsv(target));
    request.version(11);
    bool has_host = false;
    bool has_length = false;
    for (const auto& [name, value] : headers) {
      has_host |= IEquals(name, "host");
      has_length |= IEquals(name, "content-length");
      request.insert(Bsv(name), Bsv(value));
    }
    if (!has_host) request.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
    request.body().assign(body.data(), body.size());
    if (!has_length && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")) {
      request.content_length(body.size());
    }

    beast::error_code write_ec = Run([&](auto handler) { bhttp::async_write(stream_, request, handler); });
    // Even when the write failed (the server may answer early and close), a response may be readable.
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    if (method == "HEAD") parser.skip(true);
    beast::error_code read_ec = Run([&](auto handler) { bhttp::async_read(stream_, buffer_, parser, handler); });
    if (read_ec) {
      open_ = false;
      beast::error_code ec = write_ec ? write_ec : read_ec;
      return absl::UnavailableError(std::string(method) + " " + std::string(target) + " to " + Where() +
                                    " failed: " + ec.message());
    }
    auto& message = parser.get();
    ClientResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string().data(), field.name_string().size());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      response.headers.emplace_back(std::move(name), std::string(field.value().data(), field.value().size()));
    }
    response.body = std::move(message.body());
    if (write_ec || !message.keep_alive()) open_ = false;
    return response;
  }

  bool open() const { return open_; }

  ~Impl() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  // Runs one asynchronous operation to completion on the private io_context, under the timeout.
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result = net::error::would_block;
    stream_.expires_after(timeout_);
    start([&result](beast::error_code e, size_t) { result = e; });
    RunIo();
    return result;
  }

  void RunIo() {
    ioc_.restart();
    ioc_.run();
  }

  std::string Where() const { return host_ + ":" + std::to_string(port_); }

  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

ClientConnection::ClientConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientConnection::~ClientConnection() = default;

absl::StatusOr<std::unique_ptr<ClientConnection>> ClientConnection::Open(const std::string& host, uint16_t port,
                                                                         std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>(host, port, timeout);
  if (absl::Status status = impl->Connect(); !status.ok()) return status;
  return std::unique_ptr<ClientConnection>(new ClientConnection(std::move(impl)));
}

absl::StatusOr<ClientResponse> ClientConnection::Send(std::string_view method, std::string_view target,
                                                      const Headers& headers, std::string_view body) {
  try {
    return impl_->Send(method, target, headers, body);
  } catch (const std::exception& e) {  // Beast throws on invalid method or header text
    return absl::InvalidArgumentError(std::string("cannot send request: ") + e.what());
  }
}

bool ClientConnection::open() const { return impl_->open(); }

absl::StatusOr<ClientResponse> Fetch(const std::string& host, uint16_t port, std::string_view method,
                                     std::string_view target, const Headers& headers, std::string_view body,
                                     std::chrono::milliseconds timeout) {
  auto connection = ClientConnection::Open(host, port, timeout);
  if (!connection.ok()) return connection.status();
  return (*connection)->Send(method, target, headers, body);
}

}  // namespace osprey::http
