#include "osprey/http/server.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>

#include "osprey/metrics/metrics.hpp"

namespace osprey::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kDrainTimeout{5};
constexpr std::chrono::seconds kWriteTimeout{30};
// After an early rejection (413 before the body was read, 400) the unread request is drained for at
// most this long before closing, so the client reads our answer instead of a TCP reset.
constexpr std::chrono::seconds kLingerTimeout{1};
constexpr uint32_t kHeaderLimit = 64 << 10;

std::string ToString(beast::string_view sv) { return std::string(sv.data(), sv.size()); }

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Bounded label cardinality: anything else is "OTHER".
std::string MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  for (std::string_view known : kKnown) {
    if (method == known) return std::string(known);
  }
  return "OTHER";
}

bool SafeHeaderText(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// A fixed set of threads taking jobs from a bounded queue. Thread-safe.
class HandlerPool final {
 public:
  HandlerPool(int threads, size_t max_queued) : max_queued_(max_queued), idle_(threads) {
    threads_.reserve(threads);
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "http-handler");
        Run();
      });
    }
  }
  ~HandlerPool() { Shutdown(); }
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // False when every thread is busy and max_queued jobs already wait, or after Shutdown().
  bool TryPost(std::function<void()> job) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || queue_.size() >= max_queued_ + idle_) return false;
    queue_.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }

  // Drops queued jobs, waits for running ones, joins. Idempotent.
  void Shutdown() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    dropped.clear();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      std::function<void()> job = std::move(queue_.front());
      queue_.pop_front();
      --idle_;
      lock.unlock();
      job();
      job = nullptr;
      lock.lock();
      ++idle_;
    }
  }

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t idle_;
  bool closed_ = false;
  std::vector<std::thread> threads_;
};

struct ServerMetrics {
  metrics::Family<metrics::Counter>* requests = nullptr;
  metrics::Histogram* duration = nullptr;
  metrics::Counter* too_large = nullptr;
  metrics::Counter* bad_encoding = nullptr;
  metrics::Counter* malformed = nullptr;
  metrics::Counter* overloaded = nullptr;
  metrics::Gauge* inflight = nullptr;
};

enum class Reject { kTooLarge, kBadEncoding, kMalformed, kOverloaded };

// State shared by the server and its sessions. Sessions hold it by shared_ptr because the last ones
// are destroyed with the io_context, after Server::Impl has released its own reference.
struct Shared {
  ServerConfig config;
  const Router* router = nullptr;
  ServerMetrics metrics;
  std::unique_ptr<HandlerPool> pool;
  std::atomic<bool> stopping{false};

  std::mutex drain_mu;
  std::condition_variable drain_cv;
  size_t in_flight = 0;  // requests handed to the pool whose response is not yet written

  void Count(Reject reason) const {
    metrics::Counter* counter = nullptr;
    switch (reason) {
      case Reject::kTooLarge:
        counter = metrics.too_large;
        break;
      case Reject::kBadEncoding:
        counter = metrics.bad_encoding;
        break;
      case Reject::kMalformed:
        counter = metrics.malformed;
        break;
      case Reject::kOverloaded:
        counter = metrics.overloaded;
        break;
    }
    if (counter != nullptr) counter->Inc();
  }
  void BeginInFlight() {
    std::lock_guard<std::mutex> lock(drain_mu);
    ++in_flight;
  }
  void EndInFlight() {
    std::lock_guard<std::mutex> lock(drain_mu);
    if (--in_flight == 0) drain_cv.notify_all();
  }
};

// Runs on the handler pool: undoes the Content-Encoding, then routes.
Response Handle(const Shared& shared, Request& request) {
  auto encoding = request.Header("content-encoding");
  if (encoding) {
    std::string decoded;
    absl::Status status = Decompress(*encoding, request.body, shared.config.max_body_bytes, decoded);
    if (absl::IsUnimplemented(status)) {
      shared.Count(Reject::kBadEncoding);
      return Response::Text(415, std::string(status.message()));
    }
    if (absl::IsResourceExhausted(status)) {
      shared.Count(Reject::kTooLarge);
      return Response::Text(413, "request body too large: " + std::string(status.message()));
    }
    if (!status.ok()) {
      shared.Count(Reject::kBadEncoding);
      return Response::Text(400, "cannot decode " + *encoding + " body: " + std::string(status.message()));
    }
    request.body = std::move(decoded);
    // Handlers see the decoded body; the header no longer describes it.
    request.headers.erase(std::remove_if(request.headers.begin(), request.headers.end(),
                                         [](const auto& h) { return h.first == "content-encoding"; }),
                          request.headers.end());
  }
  if (shared.router == nullptr) return Response::Text(404, "Not Found");
  try {
    return shared.router->Dispatch(request);
  } catch (...) {  // a throwing handler fails its request, never the server
    return Response::Text(500, "internal error");
  }
}

// One connection. Every member is touched only on the connection's strand, except the response
// posted back from the handler pool (handed over through net::post).
class Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // No limit while reading the header: OnHeader checks a declared Content-Length itself, so the
    // 413 can name it, then sets the limit that also bounds chunked bodies.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    method_.clear();
    stream_.expires_after(std::chrono::seconds(shared_->config.idle_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    started_ = Clock::now();
    if (ec) {
      OnReadError(ec);
      return;
    }
    auto& message = parser_->get();
    method_ = ToString(message.method_string());
    auto content_length = parser_->content_length();
    if (content_length && *content_length > shared_->config.max_body_bytes) {
      shared_->Count(Reject::kTooLarge);
      WriteEarly(413, "request body too large: Content-Length " + std::to_string(*content_length) + " exceeds " +
                          std::to_string(shared_->config.max_body_bytes) + " bytes");
      return;
    }
    parser_->body_limit(shared_->config.max_body_bytes);
    if (parser_->is_done()) {
      OnRequest();
      return;
    }
    if (IEquals(ToString(message[bhttp::field::expect]), "100-continue")) {
      continue_.emplace(bhttp::status::continue_, message.version());
      stream_.expires_after(kWriteTimeout);
      bhttp::async_write(stream_, *continue_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) {
          self->Close();
          return;
        }
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(std::chrono::seconds(shared_->config.idle_timeout_seconds));
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->OnReadError(ec);
        return;
      }
      self->OnRequest();
    });
  }

  void OnReadError(beast::error_code ec) {
    if (parser_->is_header_done()) method_ = ToString(parser_->get().method_string());
    if (ec == bhttp::error::body_limit) {
      shared_->Count(Reject::kTooLarge);
      WriteEarly(413, "request body too large: exceeds " + std::to_string(shared_->config.max_body_bytes) + " bytes");
    } else if (ec == bhttp::error::header_limit) {
      shared_->Count(Reject::kTooLarge);
      WriteEarly(431, "request header fields too large");
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      shared_->Count(Reject::kMalformed);
      WriteEarly(400, "malformed HTTP request: " + ec.message());
    } else {
      Close();  // peer closed, reset, idle timeout or shutdown: nobody to answer
    }
  }

  void OnRequest() {
    auto message = parser_->release();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    Request request;
    request.method = method_;
    request.target = ToString(message.target());
    request.remote_address = remote_;
    for (const auto& field : message) {
      request.headers.emplace_back(Lower(ToString(field.name_string())), ToString(field.value()));
    }
    request.body = std::move(message.body());
    std::string_view target = request.target;
    size_t question = target.find('?');
    auto path = PercentDecode(target.substr(0, std::min(question, target.find('#'))), false);
    if (!path) {
      shared_->Count(Reject::kMalformed);
      Write(Response::Text(400, "malformed percent-encoding in path"), false);
      return;
    }
    request.path = std::move(*path);
    if (question != std::string_view::npos) {
      std::string_view query = target.substr(question + 1);
      query = query.substr(0, query.find('#'));
      auto pairs = ParseQuery(query);
      if (!pairs) {
        shared_->Count(Reject::kMalformed);
        Write(Response::Text(400, "malformed percent-encoding in query string"), false);
        return;
      }
      request.query = std::move(*pairs);
    }
    if (shared_->stopping.load()) {
      shared_->Count(Reject::kOverloaded);
      keep_alive_ = false;
      Write(Response::Text(503, "server is shutting down").WithHeader("Retry-After", "1"), false);
      return;
    }

    shared_->BeginInFlight();
    if (shared_->metrics.inflight != nullptr) shared_->metrics.inflight->Add(1);
    auto job = [self = shared_from_this(), request = std::move(request)]() mutable {
      Response response = Handle(*self->shared_, request);
      if (self->shared_->metrics.inflight != nullptr) self->shared_->metrics.inflight->Add(-1);
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable { self->Write(std::move(response), true); });
    };
    if (!shared_->pool->TryPost(std::move(job))) {
      if (shared_->metrics.inflight != nullptr) shared_->metrics.inflight->Add(-1);
      shared_->EndInFlight();
      shared_->Count(Reject::kOverloaded);
      Write(Response::Text(503, "server overloaded: too many queued requests").WithHeader("Retry-After", "1"), false);
    }
  }

  // Answers before the request was fully read; the connection cannot be reused.
  void WriteEarly(int status, std::string message) {
    keep_alive_ = false;
    linger_ = true;
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    Write(Response::Text(status, std::move(message)), false);
  }

  void Write(Response response, bool in_flight) {
    in_flight_ = in_flight;
    if (response.status < 100 || response.status > 999) response = Response::Text(500, "internal error");
    res_ = bhttp::response<bhttp::string_body>();
    res_.version(version_ == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(response.status));
    bool close = !keep_alive_ || shared_->stopping.load();
    for (auto& [name, value] : response.headers) {
      if (!SafeHeaderText(name) || !SafeHeaderText(value) || name.empty()) continue;
      if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding") || IEquals(name, "server")) continue;
      if (IEquals(name, "connection")) {
        if (IEquals(value, "close")) close = true;
        continue;
      }
      res_.insert(beast::string_view(name.data(), name.size()), beast::string_view(value.data(), value.size()));
    }
    bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
    if (no_body) {
      response.body.clear();
    } else if (method_ == "HEAD") {
      res_.content_length(response.body.size());
    } else {
      res_.body() = std::move(response.body);
      res_.content_length(res_.body().size());
    }
    res_.keep_alive(!close);
    close_ = close;
    // Counted when the response is handed to the socket, so a client that has read it sees it counted.
    const ServerMetrics& m = shared_->metrics;
    if (m.requests != nullptr) {
      m.requests->With({shared_->config.name, MethodLabel(method_), std::to_string(response.status)}).Inc();
    }
    if (m.duration != nullptr) m.duration->Observe(std::chrono::duration<double>(Clock::now() - started_).count());
    stream_.expires_after(kWriteTimeout);
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (in_flight_) {
      in_flight_ = false;
      shared_->EndInFlight();
    }
    if (ec) {
      Close();
      return;
    }
    if (close_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (linger_) {
        linger_deadline_ = Clock::now() + kLingerTimeout;
        Discard();
      } else {
        Close();
      }
      return;
    }
    ReadHeader();
  }

  void Discard() {
    stream_.expires_at(linger_deadline_);
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->Close();
        return;
      }
      self->Discard();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  std::string remote_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  bhttp::response<bhttp::string_body> res_;
  std::string method_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool close_ = false;
  bool linger_ = false;
  bool in_flight_ = false;
  Clock::time_point started_ = Clock::now();
  Clock::time_point linger_deadline_;
  std::array<char, 16 << 10> discard_;
};

// Accepts connections until its acceptor is closed (on the acceptor's strand).
class Listener final : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<Shared> shared)
      : ioc_(ioc),
        acceptor_(net::make_strand(ioc)),
        retry_timer_(acceptor_.get_executor()),
        shared_(std::move(shared)) {}

  absl::Status Bind(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError("http server '" + shared_->config.name + "' cannot listen on " +
                                    shared_->config.host + ":" + std::to_string(shared_->config.port) + ": " +
                                    ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    return absl::OkStatus();
  }

  uint16_t port() const { return port_; }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                             self->OnAccept(ec, std::move(socket));
                           });
  }

  void Close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->retry_timer_.cancel();
      self->acceptor_.close(ignored);
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || ec == net::error::operation_aborted) return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->Accept();
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), shared_)->Run();
    Accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::shared_ptr<Shared> shared_;
  uint16_t port_ = 0;
};

}  // namespace

class Server::Impl {
 public:
  Impl(ServerConfig config, const Router* router, metrics::Registry* registry) : shared_(std::make_shared<Shared>()) {
    shared_->config = std::move(config);
    shared_->router = router;
    if (registry != nullptr) {
      ServerMetrics& m = shared_->metrics;
      const std::string& name = shared_->config.name;
      m.requests = &registry->CounterFamily("osprey_http_requests_total", "HTTP requests answered, by status code.",
                                            {"server", "method", "code"});
      m.duration = &registry
                        ->HistogramFamily("osprey_http_request_duration_seconds",
                                          "Time from a request's headers to its response written.",
                                          metrics::LatencyBuckets(), {"server"})
                        .With({name});
      auto& rejected =
          registry->CounterFamily("osprey_http_rejected_total",
                                  "HTTP requests refused before reaching a handler, by reason.", {"server", "reason"});
      m.too_large = &rejected.With({name, "too_large"});
      m.bad_encoding = &rejected.With({name, "bad_encoding"});
      m.malformed = &rejected.With({name, "malformed"});
      m.overloaded = &rejected.With({name, "overloaded"});
      m.inflight = &registry
                        ->GaugeFamily("osprey_http_inflight_requests",
                                      "HTTP requests queued for or running in a handler.", {"server"})
                        .With({name});
    }
  }

  ~Impl() { Stop(); }

  absl::Status Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ || stopped_) return absl::FailedPreconditionError("http server already started or stopped");
    const ServerConfig& config = shared_->config;
    if (config.io_threads < 1 || config.handler_threads < 1) {
      return absl::InvalidArgumentError("http server needs io_threads >= 1 and handler_threads >= 1");
    }
    if (config.idle_timeout_seconds < 1) return absl::InvalidArgumentError("http idle_timeout_seconds must be >= 1");
    beast::error_code ec;
    net::ip::address address = net::ip::make_address(config.host, ec);
    tcp::endpoint endpoint;
    if (ec) {
      net::io_context resolver_context;
      tcp::resolver resolver(resolver_context);
      auto results = resolver.resolve(config.host, std::to_string(config.port), ec);
      if (ec || results.empty()) {
        return absl::InvalidArgumentError("http server cannot resolve host '" + config.host +
                                          "': " + (ec ? ec.message() : std::string("no address")));
      }
      endpoint = results.begin()->endpoint();
    } else {
      endpoint = tcp::endpoint(address, config.port);
    }

    ioc_ = std::make_unique<net::io_context>(config.io_threads);
    listener_ = std::make_shared<Listener>(*ioc_, shared_);
    if (absl::Status status = listener_->Bind(endpoint); !status.ok()) {
      listener_.reset();
      ioc_.reset();
      return status;
    }
    port_ = listener_->port();
    shared_->pool = std::make_unique<HandlerPool>(config.handler_threads, config.max_queued_requests);
    work_.emplace(ioc_->get_executor());
    listener_->Accept();
    for (int i = 0; i < config.io_threads; ++i) {
      io_threads_.emplace_back([ioc = ioc_.get()] {
        pthread_setname_np(pthread_self(), "http-io");
        while (true) {
          try {
            ioc->run();
            return;
          } catch (...) {
            // A throwing completion handler loses its own connection only; keep serving the rest.
          }
        }
      });
    }
    started_ = true;
    return absl::OkStatus();
  }

  uint16_t port() const { return port_; }

  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
    shared_->stopping = true;
    listener_->Close();
    {
      std::unique_lock<std::mutex> drain(shared_->drain_mu);
      shared_->drain_cv.wait_for(drain, kDrainTimeout, [this] { return shared_->in_flight == 0; });
    }
    work_.reset();
    ioc_->stop();
    for (std::thread& thread : io_threads_) thread.join();
    io_threads_.clear();
    shared_->pool->Shutdown();  // waits for handlers still running past the drain timeout
    listener_.reset();
    ioc_.reset();  // destroys the remaining sessions, closing their sockets
  }

 private:
  std::mutex mu_;
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<net::io_context> ioc_;
  std::shared_ptr<Listener> listener_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> io_threads_;
};

Server::Server(ServerConfig config, const Router* router, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(config), router, metrics)) {}

Server::~Server() { Stop(); }

absl::Status Server::Start() { return impl_->Start(); }

uint16_t Server::port() const { return impl_->port(); }

void Server::Stop() { impl_->Stop(); }

}  // namespace osprey::http
