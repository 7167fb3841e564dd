// osprey-loadgen: an OTLP/gRPC load generator with OpenInference-shaped traces.
//
//   osprey-loadgen --target 127.0.0.1:4317 --rate 10000 --duration 30 --concurrency 8
//
// N threads, each with its own channel (own HTTP/2 connection), make blocking Export calls. With
// --rate > 0 requests are scheduled at fixed intervals shared by all threads (open loop); a thread that
// falls behind sends at once, and "latency from schedule" then includes the time the request waited
// (coordinated-omission corrected). Bounded: --duration (at most 3600 s) and optional --max-requests.
// Targets loopback addresses only.
//
// --protocol http sends the same requests as OTLP/HTTP (binary protobuf, POST /v1/traces, one keep-alive
// HTTP/1.1 connection per thread). --retries N resends a request that failed with a retryable status
// (gRPC UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED; HTTP 429, 502, 503, 504) up to N
// times with exponential backoff, as an OTLP exporter would. With --seed and --max-requests, thread i
// sends requests i, i+N, i+2N, ... so two runs send the same spans whatever the server's speed.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "histogram.hpp"
#include "request_template.hpp"
#include "osprey/http/client.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "trace_factory.hpp"

namespace osprey::bench {
namespace {

using Clock = std::chrono::steady_clock;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

struct Options {
  std::string target = "127.0.0.1:4317";
  double rate = 0;  // spans/s; 0 = as fast as possible
  double duration_s = 10;
  int concurrency = 4;
  size_t spans_per_request = 50;
  std::string project = "loadgen";
  uint64_t large_every = 0;
  size_t large_bytes = 256 * 1024;
  uint64_t max_requests = 0;  // 0 = no limit besides duration
  int timeout_ms = 30000;
  uint64_t seed = 0;
  bool json = false;
  std::string protocol = "grpc";  // grpc | http
  std::string http_path = "/v1/traces";
  size_t large_bytes_max = 0;
  int retries = 0;
};

void Usage(FILE* out) {
  std::fputs(
      "usage: osprey-loadgen [--target HOST:PORT] [--rate SPANS_PER_S] [--duration S] [--concurrency N]\n"
      "                      [--spans-per-request N] [--project NAME] [--large-every N] [--large-bytes B]\n"
      "                      [--max-requests N] [--timeout-ms MS] [--seed N] [--json]\n"
      "                      [--protocol grpc|http] [--http-path /v1/traces] [--large-bytes-max B] [--retries N]\n"
      "  --target             OTLP endpoint, loopback only (default 127.0.0.1:4317)\n"
      "  --protocol           grpc (default) or http (OTLP/HTTP protobuf, POST --http-path)\n"
      "  --rate               spans per second, 0 = max (default 0)\n"
      "  --duration           seconds to send for, 0 < S <= 3600 (default 10)\n"
      "  --concurrency        sender threads, each with its own connection (default 4)\n"
      "  --spans-per-request  spans in each Export call (default 50)\n"
      "  --project            openinference.project.name (default loadgen)\n"
      "  --large-every        every N-th LLM span carries one extra large message (default 0 = never)\n"
      "  --large-bytes        size of that message (default 262144)\n"
      "  --large-bytes-max    if larger, sizes are uniform in [--large-bytes, --large-bytes-max]\n"
      "  --retries            resend a request failed with a retryable status up to N times (default 0)\n"
      "  --max-requests       stop after this many requests (default 0 = only the duration bounds it)\n"
      "  --json               print the report as one JSON object\n",
      out);
}

std::optional<std::string> HostOf(const std::string& target) {
  std::string t = target;
  if (t.rfind("dns:", 0) == 0) t = t.substr(4);
  if (t.rfind("ipv4:", 0) == 0) t = t.substr(5);
  if (t.rfind("ipv6:", 0) == 0) t = t.substr(5);
  if (!t.empty() && t[0] == '[') {
    const auto close = t.find(']');
    if (close == std::string::npos) return std::nullopt;
    return t.substr(1, close - 1);
  }
  const auto colon = t.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  return t.substr(0, colon);
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool ParseArgs(int argc, char** argv, Options& o, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    }
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      error = "unexpected argument " + arg;
      return false;
    }
    std::string name = arg.substr(2);
    std::string value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      error = "--" + name + " needs a value";
      return false;
    }
    try {
      size_t used = 0;
      auto number = [&](auto parse) {
        auto v = parse(value, &used);
        if (used != value.size()) throw std::invalid_argument(value);
        return v;
      };
      auto to_u64 = [&]() {
        if (!value.empty() && value[0] == '-') throw std::invalid_argument(value);
        return number([](const std::string& s, size_t* u) { return std::stoull(s, u); });
      };
      if (name == "target")
        o.target = value;
      else if (name == "rate")
        o.rate = number([](const std::string& s, size_t* u) { return std::stod(s, u); });
      else if (name == "duration")
        o.duration_s = number([](const std::string& s, size_t* u) { return std::stod(s, u); });
      else if (name == "concurrency")
        o.concurrency = static_cast<int>(to_u64());
      else if (name == "spans-per-request")
        o.spans_per_request = to_u64();
      else if (name == "project")
        o.project = value;
      else if (name == "large-every")
        o.large_every = to_u64();
      else if (name == "large-bytes")
        o.large_bytes = to_u64();
      else if (name == "large-bytes-max")
        o.large_bytes_max = to_u64();
      else if (name == "protocol")
        o.protocol = value;
      else if (name == "http-path")
        o.http_path = value;
      else if (name == "retries")
        o.retries = static_cast<int>(to_u64());
      else if (name == "max-requests")
        o.max_requests = to_u64();
      else if (name == "timeout-ms")
        o.timeout_ms = static_cast<int>(to_u64());
      else if (name == "seed")
        o.seed = to_u64();
      else {
        error = "unknown flag --" + name;
        return false;
      }
    } catch (const std::exception&) {
      error = "bad value for --" + name + ": " + value;
      return false;
    }
  }
  if (o.rate < 0)
    error = "--rate must be >= 0";
  else if (!(o.duration_s > 0 && o.duration_s <= 3600))
    error = "--duration must be in (0, 3600]";
  else if (o.concurrency < 1 || o.concurrency > 256)
    error = "--concurrency must be in [1, 256]";
  else if (o.spans_per_request < 1 || o.spans_per_request > 100000)
    error = "--spans-per-request must be in [1, 100000]";
  else if (o.large_bytes > (64u << 20) || o.large_bytes_max > (64u << 20))
    error = "--large-bytes and --large-bytes-max must be <= 64 MiB";
  else if (o.protocol != "grpc" && o.protocol != "http")
    error = "--protocol must be grpc or http";
  else if (o.http_path.empty() || o.http_path[0] != '/')
    error = "--http-path must start with /";
  else if (o.retries < 0 || o.retries > 100)
    error = "--retries must be in [0, 100]";
  else if (o.timeout_ms < 1)
    error = "--timeout-ms must be >= 1";
  else if (o.project.empty())
    error = "--project must not be empty";
  else {
    const auto host = HostOf(o.target);
    if (!host)
      error = "--target must be HOST:PORT, got " + o.target;
    else if (!IsLoopback(*host))
      error = "--target must be a loopback address (127.0.0.0/8, ::1, localhost), got " + *host;
    else if (const std::string port = o.target.substr(o.target.rfind(':') + 1);
             port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
             std::stoul(port) == 0 || std::stoul(port) > 65535)
      error = "--target port must be in 1..65535, got " + o.target;
  }
  return error.empty();
}

struct ThreadStats {
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;
  uint64_t spans_sent = 0;
  uint64_t spans_acked = 0;
  uint64_t spans_rejected = 0;  // partial_success.rejected_spans of OK replies
  uint64_t spans_failed = 0;
  uint64_t bytes_sent = 0;
  uint64_t llm_spans = 0;
  uint64_t large_spans = 0;
  uint64_t retries = 0;
  std::map<std::string, uint64_t> errors;  // status code name or partial-success message → count
  LatencyHistogram ack_us;                 // from the call to its reply
  LatencyHistogram schedule_us;            // from the scheduled send time to the reply (rate > 0 only)
};

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

uint64_t UnixNanos() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// The result of one Export attempt: ok, or an error name and whether an OTLP exporter would retry it.
struct Attempt {
  bool ok = false;
  bool retryable = false;
  std::string error;
};

// One connection to the server; Export is blocking. One per sender thread.
class Exporter {
 public:
  virtual ~Exporter() = default;
  // `request`: a serialized ExportTraceServiceRequest.
  virtual Attempt Export(const std::string& request, ExportTraceServiceResponse* response) = 0;
};

class GrpcExporter final : public Exporter {
 public:
  explicit GrpcExporter(const Options& o)
      : o_(o),
        channel_(MakeChannel(o.target)),
        method_("/opentelemetry.proto.collector.trace.v1.TraceService/Export", grpc::internal::RpcMethod::NORMAL_RPC,
                channel_) {}
  // The serialized request goes out as it is: the unary call the generated TraceService stub makes,
  // with a ByteBuffer (which gRPC sends without serializing) as the request type.
  Attempt Export(const std::string& request, ExportTraceServiceResponse* response) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o_.timeout_ms));
    grpc::Slice slice(request.data(), request.size());
    const grpc::ByteBuffer buffer(&slice, 1);
    const grpc::Status status =
        grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, ExportTraceServiceResponse>(channel_.get(), method_,
                                                                                      &context, buffer, response);
    if (status.ok()) return {true, false, ""};
    const auto code = status.error_code();
    const bool retryable = code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                           code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::ABORTED;
    return {false, retryable, CodeName(code)};
  }

 private:
  const Options& o_;
  std::shared_ptr<grpc::Channel> channel_;
  const grpc::internal::RpcMethod method_;
};

// OTLP/HTTP with binary protobuf bodies over one keep-alive HTTP/1.1 connection (reopened after an error).
class HttpExporter final : public Exporter {
 public:
  explicit HttpExporter(const Options& o) : o_(o) {
    const std::string host = HostOf(o.target).value_or("127.0.0.1");
    host_ = host;
    port_ = static_cast<uint16_t>(std::stoul(o.target.substr(o.target.rfind(':') + 1)));
  }
  Attempt Export(const std::string& request, ExportTraceServiceResponse* response) override {
    if (!connection_ || !connection_->open()) {
      auto opened = http::ClientConnection::Open(host_, port_, std::chrono::milliseconds(o_.timeout_ms));
      if (!opened.ok()) return {false, true, "CONNECT_FAILED"};
      connection_ = std::move(*opened);
    }
    auto reply = connection_->Send("POST", o_.http_path, {{"Content-Type", "application/x-protobuf"}}, request);
    if (!reply.ok()) {
      connection_.reset();
      return {false, true, "HTTP_CONNECTION_ERROR"};
    }
    if (reply->status == 200) {
      // An unparseable body is counted as a full success: the status is the acknowledgement.
      response->Clear();
      if (!reply->body.empty() && !response->ParseFromString(reply->body)) response->Clear();
      return {true, false, ""};
    }
    const int code = reply->status;
    return {false, code == 429 || code == 502 || code == 503 || code == 504, "HTTP_" + std::to_string(code)};
  }

 private:
  const Options& o_;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<http::ClientConnection> connection_;
};

void Sender(const Options& o, int index, Clock::time_point start, Clock::time_point end,
            std::atomic<uint64_t>& next_request, ThreadStats& stats) {
  std::unique_ptr<Exporter> exporter;
  if (o.protocol == "http")
    exporter = std::make_unique<HttpExporter>(o);
  else
    exporter = std::make_unique<GrpcExporter>(o);
  TraceShape shape;
  shape.project = o.project;
  shape.large_every = o.large_every;
  shape.large_bytes = o.large_bytes;
  shape.large_bytes_max = o.large_bytes_max;
  const uint64_t seed = o.seed != 0 ? o.seed + static_cast<uint64_t>(index)
                                    : std::random_device{}() ^ (static_cast<uint64_t>(index) << 32) ^ UnixNanos();
  TraceFactory factory(shape, seed);
  // kTemplates requests built up front (each with its LLM and large span counts), then restamped per send.
  constexpr size_t kTemplates = 16;
  std::vector<RequestTemplate> templates;
  std::vector<std::pair<uint64_t, uint64_t>> template_counts;
  {
    ExportTraceServiceRequest request;
    for (size_t i = 0; i < kTemplates; ++i) {
      const uint64_t llm = factory.llm_spans(), large = factory.large_spans();
      const uint64_t now = UnixNanos();
      factory.Fill(o.spans_per_request, now, &request);
      templates.emplace_back(request, now);
      template_counts.emplace_back(factory.llm_spans() - llm, factory.large_spans() - large);
    }
  }
  std::mt19937_64 ids(seed ^ 0x9e3779b97f4a7c15ull);
  uint64_t sent = 0;
  const double interval_s = o.rate > 0 ? static_cast<double>(o.spans_per_request) / o.rate : 0.0;
  // Reproducible split: with a seed and a request budget each thread owns a fixed share of the requests.
  const bool fixed_split = o.seed != 0 && o.max_requests != 0;
  uint64_t own = static_cast<uint64_t>(index);
  ExportTraceServiceResponse response;
  while (true) {
    uint64_t n = 0;
    if (fixed_split) {
      n = own;
      own += static_cast<uint64_t>(o.concurrency);
    } else {
      n = next_request.fetch_add(1, std::memory_order_relaxed);
    }
    if (o.max_requests != 0 && n >= o.max_requests) break;
    Clock::time_point scheduled = Clock::now();
    if (interval_s > 0) {
      scheduled = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(interval_s * static_cast<double>(n)));
      if (scheduled >= end) break;
    } else if (scheduled >= end) {
      break;
    }
    const size_t which = sent++ % kTemplates;
    RequestTemplate& next = templates[which];
    stats.llm_spans += template_counts[which].first;
    stats.large_spans += template_counts[which].second;
    const std::string& request = next.Restamp(ids, UnixNanos());
    std::this_thread::sleep_until(scheduled);
    const size_t spans = next.spans();
    stats.bytes_sent += request.size();
    stats.spans_sent += spans;
    const auto t0 = Clock::now();
    Attempt attempt = exporter->Export(request, &response);
    auto backoff = std::chrono::milliseconds(100);
    for (int retry = 0; !attempt.ok && attempt.retryable && retry < o.retries; ++retry) {
      ++stats.retries;
      ++stats.errors["retried: " + attempt.error];
      std::this_thread::sleep_for(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(2));
      attempt = exporter->Export(request, &response);
    }
    const auto t1 = Clock::now();
    if (attempt.ok) {
      ++stats.requests_ok;
      const auto rejected = static_cast<uint64_t>(std::max<int64_t>(0, response.partial_success().rejected_spans()));
      stats.spans_rejected += rejected;
      stats.spans_acked += spans - std::min<uint64_t>(spans, rejected);
      if (rejected > 0) ++stats.errors["partial_success: " + response.partial_success().error_message().substr(0, 120)];
      stats.ack_us.Record(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
      if (interval_s > 0) {
        stats.schedule_us.Record(
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - scheduled).count()));
      }
    } else {
      ++stats.requests_failed;
      stats.spans_failed += spans;
      ++stats.errors[attempt.error];
    }
  }
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

void Report(const Options& o, const ThreadStats& total, double elapsed_s) {
  const double spans_per_s = elapsed_s > 0 ? static_cast<double>(total.spans_acked) / elapsed_s : 0.0;
  const auto& h = total.ack_us;
  if (o.json) {
    std::printf(
        "{\"target\":\"%s\",\"project\":\"%s\",\"rate\":%.0f,\"duration_s\":%.3f,\"elapsed_s\":%.3f,"
        "\"protocol\":\"%s\",\"retries\":%" PRIu64 ",\"concurrency\":%d,\"spans_per_request\":%zu,"
        "\"requests\":{\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
        "},"
        "\"spans\":{\"sent\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"failed\":%" PRIu64
        ",\"llm\":%" PRIu64 ",\"large\":%" PRIu64
        "},"
        "\"bytes_sent\":%" PRIu64
        ",\"spans_per_second\":%.1f,"
        "\"ack_latency_ms\":{\"count\":%" PRIu64
        ",\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
        "\"p999\":%.3f,\"max\":%.3f}",
        JsonEscape(o.target).c_str(), JsonEscape(o.project).c_str(), o.rate, o.duration_s, elapsed_s,
        o.protocol.c_str(), total.retries, o.concurrency,
        o.spans_per_request, total.requests_ok, total.requests_failed, total.spans_sent, total.spans_acked,
        total.spans_rejected, total.spans_failed, total.llm_spans, total.large_spans, total.bytes_sent, spans_per_s,
        h.count(), h.Mean() / 1000.0, Ms(h.Percentile(50)), Ms(h.Percentile(90)), Ms(h.Percentile(99)),
        Ms(h.Percentile(99.9)), Ms(h.max()));
    if (o.rate > 0) {
      const auto& s = total.schedule_us;
      std::printf(",\"latency_from_schedule_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
                  Ms(s.Percentile(50)), Ms(s.Percentile(99)), Ms(s.Percentile(99.9)), Ms(s.max()));
    }
    std::printf(",\"errors\":{");
    bool first = true;
    for (const auto& [what, count] : total.errors) {
      std::printf("%s\"%s\":%" PRIu64, first ? "" : ",", JsonEscape(what).c_str(), count);
      first = false;
    }
    std::printf("}}\n");
    return;
  }
  std::printf("osprey-loadgen: target=%s project=%s rate=%s duration=%.0fs concurrency=%d spans/request=%zu\n",
              o.target.c_str(), o.project.c_str(),
              o.rate > 0 ? (std::to_string(static_cast<uint64_t>(o.rate)) + " spans/s").c_str() : "max", o.duration_s,
              o.concurrency, o.spans_per_request);
  std::printf("requests: %" PRIu64 " ok, %" PRIu64 " failed, %" PRIu64 " retries (%s); %.1f MiB sent in %.2f s\n",
              total.requests_ok, total.requests_failed, total.retries, o.protocol.c_str(),
              static_cast<double>(total.bytes_sent) / (1 << 20), elapsed_s);
  std::printf("spans:    %" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " rejected, %" PRIu64 " failed (%" PRIu64
              " LLM, %" PRIu64 " large)\n",
              total.spans_sent, total.spans_acked, total.spans_rejected, total.spans_failed, total.llm_spans,
              total.large_spans);
  std::printf("rate:     %.0f acked spans/s\n", spans_per_s);
  std::printf("ack latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (n=%" PRIu64 ")\n",
              Ms(h.Percentile(50)), Ms(h.Percentile(90)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)), Ms(h.max()),
              h.count());
  if (o.rate > 0) {
    const auto& s = total.schedule_us;
    std::printf("latency from schedule ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", Ms(s.Percentile(50)),
                Ms(s.Percentile(99)), Ms(s.Percentile(99.9)), Ms(s.max()));
  }
  for (const auto& [what, count] : total.errors) std::printf("error:    %s x%" PRIu64 "\n", what.c_str(), count);
}

int Main(int argc, char** argv) {
  Options o;
  std::string error;
  if (!ParseArgs(argc, argv, o, error)) {
    std::fprintf(stderr, "osprey-loadgen: %s\n", error.c_str());
    Usage(stderr);
    return 2;
  }
  if (o.protocol == "grpc") {
    auto probe = MakeChannel(o.target);
    if (!probe->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "osprey-loadgen: cannot connect to %s within 10 s\n", o.target.c_str());
      return 1;
    }
  }
  std::vector<ThreadStats> stats(static_cast<size_t>(o.concurrency));
  std::atomic<uint64_t> next_request{0};
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back(Sender, std::cref(o), i, start, end, std::ref(next_request),
                         std::ref(stats[static_cast<size_t>(i)]));
  }
  for (auto& t : threads) t.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  ThreadStats total;
  for (const auto& s : stats) {
    total.requests_ok += s.requests_ok;
    total.requests_failed += s.requests_failed;
    total.spans_sent += s.spans_sent;
    total.spans_acked += s.spans_acked;
    total.spans_rejected += s.spans_rejected;
    total.spans_failed += s.spans_failed;
    total.bytes_sent += s.bytes_sent;
    total.llm_spans += s.llm_spans;
    total.large_spans += s.large_spans;
    total.retries += s.retries;
    for (const auto& [k, v] : s.errors) total.errors[k] += v;
    total.ack_us.Merge(s.ack_us);
    total.schedule_us.Merge(s.schedule_us);
  }
  Report(o, total, elapsed_s);
  return total.requests_ok > 0 ? 0 : 1;
}

}  // namespace
}  // namespace osprey::bench

int main(int argc, char** argv) { return osprey::bench::Main(argc, argv); }
