#include "osprey/http/server.hpp"

#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "osprey/http/client.hpp"
#include "osprey/metrics/metrics.hpp"

namespace osprey::http {
namespace {

using namespace std::chrono_literals;

// Lets a test hold handlers inside their call and see when they entered.
class Gate {
 public:
  void Enter() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool WaitEntered(int n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

struct TestServer {
  explicit TestServer(ServerConfig config = {}) {
    config.name = "test";
    router.Add("GET", "/v1/projects/{project_identifier}/spans", [](const Request& request) {
      return Response::Text(200, request.path_params.at("project_identifier") + "|" + request.path);
    });
    router.Add("GET", "/query", [](const Request& request) {
      std::string text;
      for (const auto& [key, value] : request.query) text += key + "=" + value + ";";
      return Response::Text(200, text);
    });
    router.Add("POST", "/echo", [](const Request& request) {
      return Response::Bytes(200, "application/octet-stream", request.body)
          .WithHeader("X-Encoding", request.Header("content-encoding").value_or("none"));
    });
    router.Add("GET", "/peer", [](const Request& request) { return Response::Text(200, request.remote_address); });
    router.Add("GET", "/block", [this](const Request&) {
      gate.Enter();
      return Response::Text(200, "unblocked");
    });
    router.Add("GET", "/fast", [](const Request&) { return Response::Text(200, "fast"); });
    router.Add("DELETE", "/thing", [](const Request&) { return Response::NoContent(); });
    router.Add("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
    router.Add("GET", "/close",
               [](const Request&) { return Response::Text(200, "bye").WithHeader("Connection", "close"); });
    server = std::make_unique<Server>(config, &router, &registry);
    REQUIRE(server->Start().ok());
  }
  ~TestServer() {
    gate.Open();
    server->Stop();
  }

  absl::StatusOr<ClientResponse> Get(std::string_view target) {
    return Fetch("127.0.0.1", server->port(), "GET", target, {}, {}, 10s);
  }
  absl::StatusOr<ClientResponse> Post(std::string_view target, const Headers& headers, std::string_view body) {
    return Fetch("127.0.0.1", server->port(), "POST", target, headers, body, 10s);
  }
  double Rejected(const std::string& reason) {
    return registry.CounterFamily("osprey_http_rejected_total", "", {"server", "reason"})
        .With({"test", reason})
        .Value();
  }
  double Requests(const std::string& method, const std::string& code) {
    return registry.CounterFamily("osprey_http_requests_total", "", {"server", "method", "code"})
        .With({"test", method, code})
        .Value();
  }
  double InFlight() {
    return registry.GaugeFamily("osprey_http_inflight_requests", "", {"server"}).With({"test"}).Value();
  }

  Gate gate;
  metrics::Registry registry;
  Router router;
  std::unique_ptr<Server> server;
};

// Sends raw bytes and returns everything the server writes until it closes the connection.
std::string RawExchange(uint16_t port, const std::string& bytes) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(socket, boost::asio::buffer(bytes));
  std::string received;
  boost::system::error_code ec;
  boost::asio::read(socket, boost::asio::dynamic_buffer(received), ec);  // until EOF
  return received;
}

std::string GzipOfZeros(size_t size) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string chunk(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  for (size_t done = 0; done < size; done += chunk.size()) {
    stream.next_in = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_in = static_cast<uInt>(std::min(chunk.size(), size - done));
    int flush = done + chunk.size() >= size ? Z_FINISH : Z_NO_FLUSH;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof(buffer);
      deflate(&stream, flush);
      out.append(buffer, sizeof(buffer) - stream.avail_out);
    } while (stream.avail_out == 0);
  }
  deflateEnd(&stream);
  return out;
}

std::string Zlib(std::string_view input) {
  uLongf size = compressBound(input.size());
  std::string out(size, '\0');
  REQUIRE(compress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(input.data()),
                   input.size()) == Z_OK);
  out.resize(size);
  return out;
}

TEST_CASE("Server routes with path params, keeping an encoded slash inside the param", "[http][server]") {
  TestServer t;
  auto response = t.Get("/v1/projects/team%2Fproject%20one/spans");
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->body == "team/project one|/v1/projects/team/project one/spans");
  CHECK(t.Requests("GET", "200") == 1);
}

TEST_CASE("Server answers 404 and 405 from the router", "[http][server]") {
  TestServer t;
  auto missing = t.Get("/nowhere");
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(missing->body == "Not Found");
  CHECK(missing->Header("content-type") == "text/plain; charset=utf-8");

  auto wrong = t.Post("/fast", {}, "");
  REQUIRE(wrong.ok());
  CHECK(wrong->status == 405);
  CHECK(wrong->Header("allow") == "GET, HEAD");
}

TEST_CASE("Server parses the query string, keeping repeated keys", "[http][server]") {
  TestServer t;
  auto response = t.Get("/query?tag=a&tag=b+c&name=caf%C3%A9&empty");
  REQUIRE(response.ok());
  CHECK(response->body == "tag=a;tag=b c;name=caf\xc3\xa9;empty=;");

  auto bad = t.Get("/query?x=%zz");
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  CHECK(bad->body == "malformed percent-encoding in query string");
}

TEST_CASE("Server keeps a connection alive across requests", "[http][server]") {
  TestServer t;
  auto connection = ClientConnection::Open("127.0.0.1", t.server->port());
  REQUIRE(connection.ok());
  auto first = (*connection)->Send("GET", "/peer");
  REQUIRE(first.ok());
  auto second = (*connection)->Send("GET", "/peer");
  REQUIRE(second.ok());
  CHECK(first->body == second->body);  // same client port: the same TCP connection
  CHECK((*connection)->open());
  auto other = t.Get("/peer");
  REQUIRE(other.ok());
  CHECK(other->body != first->body);
}

TEST_CASE("Server honors Connection: close from the client and from the handler", "[http][server]") {
  TestServer t;
  auto connection = ClientConnection::Open("127.0.0.1", t.server->port());
  REQUIRE(connection.ok());
  auto response = (*connection)->Send("GET", "/fast", {{"Connection", "close"}});
  REQUIRE(response.ok());
  CHECK(response->Header("connection") == "close");
  CHECK_FALSE((*connection)->open());

  auto again = ClientConnection::Open("127.0.0.1", t.server->port());
  REQUIRE(again.ok());
  auto closing = (*again)->Send("GET", "/close");
  REQUIRE(closing.ok());
  CHECK(closing->body == "bye");
  CHECK_FALSE((*again)->open());
}

TEST_CASE("Server sets Content-Length and no Server header", "[http][server]") {
  TestServer t;
  auto response = t.Get("/fast");
  REQUIRE(response.ok());
  CHECK(response->Header("content-length") == "4");
  CHECK_FALSE(response->Header("server").has_value());
  auto empty = Fetch("127.0.0.1", t.server->port(), "DELETE", "/thing");
  REQUIRE(empty.ok());
  CHECK(empty->status == 204);
  CHECK(empty->body.empty());
}

TEST_CASE("Server answers 500 when a handler throws, and keeps serving", "[http][server]") {
  TestServer t;
  auto response = t.Get("/throw");
  REQUIRE(response.ok());
  CHECK(response->status == 500);
  auto next = t.Get("/fast");
  REQUIRE(next.ok());
  CHECK(next->status == 200);
}

TEST_CASE("Server decodes gzip and deflate bodies before the handler", "[http][server]") {
  TestServer t;
  std::string body = "{\"resourceSpans\":[]}";
  auto gzip = t.Post("/echo", {{"Content-Encoding", "gzip"}}, GzipCompress(body));
  REQUIRE(gzip.ok());
  CHECK(gzip->status == 200);
  CHECK(gzip->body == body);
  CHECK(gzip->Header("x-encoding") == "none");  // the header no longer describes the body

  auto deflate = t.Post("/echo", {{"Content-Encoding", "deflate"}}, Zlib(body));
  REQUIRE(deflate.ok());
  CHECK(deflate->body == body);

  auto identity = t.Post("/echo", {{"Content-Encoding", "identity"}}, body);
  REQUIRE(identity.ok());
  CHECK(identity->body == body);

  auto corrupt = t.Post("/echo", {{"Content-Encoding", "gzip"}}, "not gzip at all");
  REQUIRE(corrupt.ok());
  CHECK(corrupt->status == 400);
  CHECK(t.Rejected("bad_encoding") == 1);
}

TEST_CASE("Server answers 415 to an unsupported Content-Encoding", "[http][server]") {
  TestServer t;
  auto response = t.Post("/echo", {{"Content-Encoding", "br"}}, "xxxx");
  REQUIRE(response.ok());
  CHECK(response->status == 415);
  CHECK(response->body == "unsupported Content-Encoding: br");
  CHECK(response->Header("content-type") == "text/plain; charset=utf-8");
  CHECK(t.Rejected("bad_encoding") == 1);
}

TEST_CASE("Server answers 413 to an oversized raw body", "[http][server]") {
  ServerConfig config;
  config.max_body_bytes = 1 << 20;
  TestServer t(config);

  auto fits = t.Post("/echo", {}, std::string(1 << 20, 'a'));
  REQUIRE(fits.ok());
  CHECK(fits->status == 200);

  auto response = t.Post("/echo", {}, std::string((2 << 20), 'a'));
  REQUIRE(response.ok());
  CHECK(response->status == 413);
  CHECK(response->Header("connection") == "close");

  // The declared Content-Length alone is enough: the server answers without waiting for the body.
  auto declared = t.Post("/echo", {{"Content-Length", "100000000"}}, "tiny");
  REQUIRE(declared.ok());
  CHECK(declared->status == 413);
  CHECK(declared->body == "request body too large: Content-Length 100000000 exceeds 1048576 bytes");
  CHECK(t.Rejected("too_large") == 2);

  // Chunked bodies have no Content-Length; the parser's limit catches them.
  std::string chunk(512 << 10, 'b');
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  for (int i = 0; i < 3; ++i) chunked += size_line + chunk + "\r\n";
  chunked += "0\r\n\r\n";
  CHECK(RawExchange(t.server->port(), chunked).rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("Server answers 413 to a gzip bomb", "[http][server]") {
  ServerConfig config;
  config.max_body_bytes = 1 << 20;
  TestServer t(config);
  std::string bomb = GzipOfZeros(100 << 20);
  REQUIRE(bomb.size() < (1 << 20));
  auto response = t.Post("/echo", {{"Content-Encoding", "gzip"}}, bomb);
  REQUIRE(response.ok());
  CHECK(response->status == 413);
  CHECK(response->body == "request body too large: decompressed body exceeds 1048576 bytes");
  CHECK(t.Rejected("too_large") == 1);
}

TEST_CASE("Server answers Expect: 100-continue before reading the body", "[http][server]") {
  TestServer t;
  std::string reply = RawExchange(t.server->port(),
                                  "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                                  "Content-Length: 5\r\n\r\nhello");
  CHECK(reply.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(reply.size() >= 5);
  CHECK(reply.substr(reply.size() - 5) == "hello");
}

TEST_CASE("Server answers 400 to malformed HTTP and closes the connection", "[http][server]") {
  TestServer t;
  std::string reply = RawExchange(t.server->port(), "THIS IS NOT HTTP\r\n\r\n");
  CHECK(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(reply.find("Connection: close\r\n") != std::string::npos);
  CHECK(t.Rejected("malformed") == 1);
  // The server is still fine.
  auto response = t.Get("/fast");
  REQUIRE(response.ok());
  CHECK(response->status == 200);
}

TEST_CASE("A blocking handler does not stall another connection", "[http][server]") {
  ServerConfig config;
  config.handler_threads = 2;
  TestServer t(config);
  auto blocked = std::async(std::launch::async, [&] { return t.Get("/block"); });
  REQUIRE(t.gate.WaitEntered(1));
  auto start = std::chrono::steady_clock::now();
  auto fast = t.Get("/fast");
  REQUIRE(fast.ok());
  CHECK(fast->body == "fast");
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  t.gate.Open();
  auto slow = blocked.get();
  REQUIRE(slow.ok());
  CHECK(slow->body == "unblocked");
}

TEST_CASE("Server answers 503 with Retry-After when the handler queue is full", "[http][server]") {
  ServerConfig config;
  config.handler_threads = 1;
  config.max_queued_requests = 1;
  TestServer t(config);
  auto running = std::async(std::launch::async, [&] { return t.Get("/block"); });
  REQUIRE(t.gate.WaitEntered(1));
  auto queued = std::async(std::launch::async, [&] { return t.Get("/block"); });
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (t.InFlight() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  REQUIRE(t.InFlight() == 2);  // one running, one waiting

  auto rejected = t.Get("/fast");
  REQUIRE(rejected.ok());
  CHECK(rejected->status == 503);
  CHECK(rejected->Header("retry-after") == "1");
  CHECK(t.Rejected("overloaded") == 1);

  t.gate.Open();
  CHECK(running.get()->status == 200);
  CHECK(queued.get()->status == 200);
  CHECK(t.InFlight() == 0);
}

TEST_CASE("Stop lets an in-flight request finish, then refuses connections", "[http][server]") {
  TestServer t;
  uint16_t port = t.server->port();
  auto in_flight = std::async(std::launch::async, [&] { return t.Get("/block"); });
  REQUIRE(t.gate.WaitEntered(1));
  auto opener = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(200ms);
    t.gate.Open();
  });
  auto start = std::chrono::steady_clock::now();
  t.server->Stop();
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  auto response = in_flight.get();
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->body == "unblocked");
  CHECK(Fetch("127.0.0.1", port, "GET", "/fast", {}, {}, 2s).status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("Stop closes idle keep-alive connections", "[http][server]") {
  TestServer t;
  auto connection = ClientConnection::Open("127.0.0.1", t.server->port());
  REQUIRE(connection.ok());
  REQUIRE((*connection)->Send("GET", "/fast").ok());
  t.server->Stop();
  CHECK_FALSE((*connection)->Send("GET", "/fast").ok());
}

TEST_CASE("Stop is idempotent and safe without Start", "[http][server]") {
  Router router;
  Server never_started(ServerConfig{}, &router, nullptr);
  never_started.Stop();
  never_started.Stop();

  Server server(ServerConfig{}, &router, nullptr);
  REQUIRE(server.Start().ok());
  CHECK(server.port() != 0);
  server.Stop();
  server.Stop();
  CHECK(server.Start().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Start reports a port that is already bound", "[http][server]") {
  Router router;
  Server first(ServerConfig{}, &router, nullptr);
  REQUIRE(first.Start().ok());
  ServerConfig config;
  config.port = first.port();
  Server second(config, &router, nullptr);
  absl::Status status = second.Start();
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
}

TEST_CASE("Server closes keep-alive connections idle past the timeout", "[http][server]") {
  ServerConfig config;
  config.idle_timeout_seconds = 1;
  TestServer t(config);
  auto connection = ClientConnection::Open("127.0.0.1", t.server->port());
  REQUIRE(connection.ok());
  REQUIRE((*connection)->Send("GET", "/fast").ok());
  std::this_thread::sleep_for(1500ms);
  CHECK_FALSE((*connection)->Send("GET", "/fast").ok());
}

TEST_CASE("Server records request metrics", "[http][server]") {
  TestServer t;
  REQUIRE(t.Get("/fast").ok());
  REQUIRE(t.Get("/nowhere").ok());
  REQUIRE(t.Get("/fast").ok());
  CHECK(t.Requests("GET", "200") == 2);
  CHECK(t.Requests("GET", "404") == 1);
  auto& histogram =
      t.registry.HistogramFamily("osprey_http_request_duration_seconds", "", metrics::LatencyBuckets(), {"server"})
          .With({"test"});
  CHECK(histogram.Snap().count == 3);
  CHECK(t.InFlight() == 0);
}

}  // namespace
}  // namespace osprey::http
