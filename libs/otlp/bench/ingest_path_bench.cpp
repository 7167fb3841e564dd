// CPU cost of osprey-ingest's per-request path, without sockets: protobuf bytes of an OTLP Export
// request -> DecodeProtobuf into an arena -> Ingestor::Export (otlp::Normalize, grouping by trace,
// one serialized SpanBatch per trace group) -> a bus producer that drops the messages. The requests
// come from osprey-loadgen's TraceFactory (OpenInference agent traces of 5-10 spans, LLM spans with
// ~1.7 KB of attributes). Prints thread-CPU microseconds per span and spans/s per core, and a digest
// of every published message, so two builds can be checked to publish the same bytes. Not a test.
//
//   otlp_ingest_path_bench [--requests N] [--spans-per-request N] [--rounds N] [--seed N]
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "google/protobuf/arena.h"
#include "osprey/bus/bus.hpp"
#include "osprey/config/config.hpp"
#include "osprey/ingest/ingestor.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/otlp/otlp.hpp"
#include "trace_factory.hpp"

namespace {

// Stands in for Kafka: the messages are durable the moment they are handed over. Counts bytes and,
// when asked (outside the timed rounds), folds every key and payload into an FNV-1a digest.
class DigestProducer final : public osprey::bus::Producer {
 public:
  explicit DigestProducer(bool digest) : fold_(digest) {}
  absl::Status Publish(std::vector<osprey::bus::Message> messages, std::chrono::milliseconds) override {
    for (const auto& message : messages) {
      if (fold_) {
        Fold(message.key);
        Fold(message.payload);
      }
      bytes_ += message.payload.size();
      ++messages_;
    }
    return absl::OkStatus();
  }
  uint64_t digest() const { return digest_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t messages() const { return messages_; }

 private:
  void Fold(const std::string& text) {
    for (unsigned char c : text) digest_ = (digest_ ^ c) * 0x100000001b3ULL;
    digest_ = (digest_ ^ 0xff) * 0x100000001b3ULL;  // separator
  }
  const bool fold_;
  uint64_t digest_ = 0xcbf29ce484222325ULL;
  uint64_t bytes_ = 0;
  uint64_t messages_ = 0;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double WallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  size_t requests = 200;
  size_t spans_per_request = 50;
  int rounds = 7;
  uint64_t seed = 42;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--requests"))
      requests = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--spans-per-request"))
      spans_per_request = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (requests == 0 || spans_per_request == 0 || rounds < 1) {
    std::fprintf(stderr, "usage: %s [--requests N] [--spans-per-request N] [--rounds N] [--seed N]\n", argv[0]);
    return 2;
  }

  // The loadgen's default shape, serialized up front: the timed loop sees only wire bytes.
  osprey::bench::TraceFactory factory(osprey::bench::TraceShape{}, seed);
  std::vector<std::string> bodies(requests);
  size_t body_bytes = 0;
  for (auto& body : bodies) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
    factory.Fill(spans_per_request, 1'700'000'000'000'000'000ull, &request);
    request.SerializeToString(&body);
    body_bytes += body.size();
  }

  const osprey::config::IngestConfig config;
  osprey::metrics::Registry metrics;
  std::vector<double> us_per_span;
  for (int round = 0; round <= rounds; ++round) {  // round 0 warms up and is not reported
    DigestProducer producer(/*digest=*/round == 0);
    osprey::ingest::Ingestor ingestor(config, producer, &metrics);
    int64_t accepted = 0;
    const double cpu_start = ThreadCpuSeconds();
    const double wall_start = WallSeconds();
    for (const auto& body : bodies) {
      google::protobuf::Arena arena;
      auto decoded = osprey::otlp::DecodeProtobuf(body, &arena);
      if (!decoded.ok()) {
        std::fprintf(stderr, "decode failed: %s\n", std::string(decoded.status().message()).c_str());
        return 1;
      }
      const osprey::ingest::ExportOutcome outcome = ingestor.Export(**decoded, "", osprey::ingest::Transport::kGrpc);
      if (!outcome.status.ok() || outcome.rejected_spans != 0) {
        std::fprintf(stderr, "export failed: %s %s\n", std::string(outcome.status.message()).c_str(),
                     outcome.error_message.c_str());
        return 1;
      }
      accepted += outcome.accepted_spans;
    }
    const double cpu = ThreadCpuSeconds() - cpu_start;
    const double wall = WallSeconds() - wall_start;
    const double us = cpu * 1e6 / static_cast<double>(accepted);
    if (round == 0) {
      std::printf(
          "requests=%zu spans/request=%zu request_bytes=%.0f bus: %llu messages, %.0f bytes/span, "
          "digest %016llx\n",
          requests, spans_per_request, static_cast<double>(body_bytes) / static_cast<double>(requests),
          static_cast<unsigned long long>(producer.messages()),
          static_cast<double>(producer.bytes()) / static_cast<double>(accepted),
          static_cast<unsigned long long>(producer.digest()));
      continue;
    }
    us_per_span.push_back(us);
    std::printf("round %d: %lld spans, cpu %.3f s, wall %.3f s, %.2f us/span (cpu)\n", round,
                static_cast<long long>(accepted), cpu, wall, us);
  }
  std::sort(us_per_span.begin(), us_per_span.end());
  const double median = us_per_span[us_per_span.size() / 2];
  std::printf("median %.2f us/span (min %.2f, max %.2f) = %.0f spans/s per core\n", median, us_per_span.front(),
              us_per_span.back(), 1e6 / median);
  return 0;
}
