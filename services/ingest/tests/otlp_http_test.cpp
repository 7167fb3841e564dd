#include "osprey/ingest/otlp_http.hpp"

#include <catch2/catch.hpp>

#include "google/rpc/status.pb.h"
#include "osprey/base/status.hpp"
#include "osprey/bus/inprocess_bus.hpp"
#include "test_requests.hpp"

using namespace osprey;
using namespace osprey::ingest::testing;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

namespace {

struct Harness {
  explicit Harness(bool with_writer = true) {
    bus = bus::NewInProcessBus({}, nullptr);
    REQUIRE(bus->CreateTopic({bus::kSpansTopic, 1, config.max_message_bytes}).ok());
    config.ack_timeout_ms = 100;
    producer = bus->NewProducer();
    ingestor = std::make_unique<ingest::Ingestor>(config, *producer, nullptr);
    handler = ingest::MakeOtlpHttpHandler(*ingestor);
    if (with_writer) {
      consumer = *bus->NewConsumer({"writer", bus::kSpansTopic});
      REQUIRE(consumer->Start([](std::vector<bus::Delivery>&) { return absl::OkStatus(); }).ok());
    }
  }
  ~Harness() {
    if (consumer) consumer->Stop();
  }
  http::Response Post(const std::string& content_type, const std::string& body) {
    http::Request req;
    req.method = "POST";
    req.path = "/v1/traces";
    req.headers = {{"content-type", content_type}};
    req.body = body;
    return handler(req);
  }
  config::IngestConfig config;
  std::unique_ptr<bus::Bus> bus;
  std::unique_ptr<bus::Producer> producer;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<bus::Consumer> consumer;
  http::Handler handler;
};

std::string HeaderOf(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) return v;
  }
  return "";
}

}  // namespace

TEST_CASE("protobuf requests get a protobuf reply; a clean request has no partial_success") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  auto r = h.Post("application/x-protobuf", req.SerializeAsString());
  CHECK(r.status == 200);
  CHECK(HeaderOf(r, "content-type") == "application/x-protobuf");
  ExportTraceServiceResponse reply;
  REQUIRE(reply.ParseFromString(r.body));
  CHECK_FALSE(reply.has_partial_success());
}

TEST_CASE("rejected spans are reported in partial_success with the valid ones kept") {
  Harness h;
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  AddSpan(req, 1, 2)->set_end_time_unix_nano(1);  // ends before it starts
  auto r = h.Post("application/x-protobuf; charset=binary", req.SerializeAsString());
  REQUIRE(r.status == 200);
  ExportTraceServiceResponse reply;
  REQUIRE(reply.ParseFromString(r.body));
  CHECK(reply.partial_success().rejected_spans() == 1);
  CHECK_FALSE(reply.partial_success().error_message().empty());
}

TEST_CASE("JSON requests get a JSON reply") {
  Harness h;
  std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"ok",
     "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"},
    {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"0000000000000000","name":"bad",
     "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"}]}]}]})";
  auto r = h.Post("application/json", body);
  REQUIRE(r.status == 200);
  CHECK(HeaderOf(r, "content-type") == "application/json");
  CHECK(r.body.find("\"partialSuccess\":{\"rejectedSpans\":\"1\"") != std::string::npos);
}

TEST_CASE("an unsupported content type is a 415 naming the supported ones") {
  Harness h;
  auto r = h.Post("text/plain", "hello");
  CHECK(r.status == 415);
  CHECK(r.body == "unsupported Content-Type 'text/plain': use application/x-protobuf or application/json");
}

TEST_CASE("a malformed body is a 400 with a google.rpc.Status in the request's encoding") {
  Harness h;
  auto proto = h.Post("application/x-protobuf", "\x0a\xff\xff\xff\xff\x0f garbage");
  CHECK(proto.status == 400);
  google::rpc::Status st;
  REQUIRE(st.ParseFromString(proto.body));
  CHECK(st.code() == 3);
  CHECK_FALSE(st.message().empty());
  auto json = h.Post("application/json", "{\"resourceSpans\": [");
  CHECK(json.status == 400);
  CHECK(json.body.find("\"code\":3") != std::string::npos);
}

TEST_CASE("when the writer cannot commit in time the client is told to retry") {
  Harness h(/*with_writer=*/false);
  ExportTraceServiceRequest req;
  AddSpan(req, 1, 1);
  auto r = h.Post("application/x-protobuf", req.SerializeAsString());
  CHECK(r.status == 503);
  CHECK(HeaderOf(r, "retry-after") == "1");
}

TEST_CASE("status mapping follows the OTLP retryable rules") {
  CHECK(ingest::HttpStatusFor(base::Retryable(absl::StatusCode::kResourceExhausted, "x")) == 429);
  CHECK(ingest::HttpStatusFor(absl::UnavailableError("x")) == 503);
  CHECK(ingest::HttpStatusFor(absl::InvalidArgumentError("x")) == 400);
  CHECK(ingest::HttpStatusFor(absl::InternalError("x")) == 500);
}
