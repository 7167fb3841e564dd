#include <catch2/catch.hpp>

#include "osprey/otlp/otlp.hpp"
#include "test_util.hpp"

namespace osprey::otlp {
namespace {

std::string ErrorOf(std::string_view body) {
  google::protobuf::Arena arena;
  auto result = DecodeJson(body, &arena);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}

std::string WithSpan(std::string_view span_fields) {
  return R"({"resourceSpans":[{"scopeSpans":[{},{"spans":[{}, {)" + std::string(span_fields) + "}]}]}]}";
}

TEST_CASE("DecodeJson reads every OTLP field of the fixture", "[decode_json]") {
  google::protobuf::Arena arena;
  ExportRequest* request = testing::DecodeFixture("openinference_llm.json", &arena);
  REQUIRE(request->resource_spans_size() == 1);
  const auto& rs = request->resource_spans(0);
  CHECK(rs.resource().attributes_size() == 2);
  CHECK(rs.scope_spans(0).scope().name() == "openinference.instrumentation.openai");
  const auto& span = rs.scope_spans(0).spans(0);
  CHECK(span.trace_id() == std::string("\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c", 16));
  CHECK(span.span_id().size() == 8);
  CHECK(span.kind() == opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
  CHECK(span.start_time_unix_nano() == 1700000000123456789ULL);
  CHECK(span.status().code() == opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK);
  CHECK(rs.scope_spans(0).spans(1).start_time_unix_nano() == 1700000000200000000ULL);  // as a number
  CHECK(rs.scope_spans(0).spans(2).status().code() == opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
}

TEST_CASE("AnyValue forms decode", "[decode_json]") {
  google::protobuf::Arena arena;
  auto request = DecodeJson(WithSpan(R"("attributes":[
      {"key":"s","value":{"stringValue":"x"}}, {"key":"b","value":{"boolValue":true}},
      {"key":"i","value":{"intValue":"-9007199254740993"}}, {"key":"i2","value":{"intValue":5}},
      {"key":"d","value":{"doubleValue":1.5}}, {"key":"d2","value":{"doubleValue":"NaN"}},
      {"key":"y","value":{"bytesValue":"AAH/"}},
      {"key":"a","value":{"arrayValue":{"values":[{"intValue":1},{"stringValue":"two"}]}}},
      {"key":"k","value":{"kvlistValue":{"values":[{"key":"n","value":{"boolValue":false}}]}}},
      {"key":"e","value":{}}], "kind": "server")"),
                            &arena);
  INFO(request.status().ToString());
  REQUIRE(request.ok());
  const auto& span = (*request)->resource_spans(0).scope_spans(1).spans(1);
  REQUIRE(span.attributes_size() == 10);
  CHECK(span.attributes(0).value().string_value() == "x");
  CHECK(span.attributes(1).value().bool_value());
  CHECK(span.attributes(2).value().int_value() == -9007199254740993LL);
  CHECK(span.attributes(3).value().int_value() == 5);
  CHECK(span.attributes(4).value().double_value() == 1.5);
  CHECK(std::isnan(span.attributes(5).value().double_value()));
  CHECK(span.attributes(6).value().bytes_value() == std::string("\x00\x01\xff", 3));
  CHECK(span.attributes(7).value().array_value().values(1).string_value() == "two");
  CHECK(span.attributes(8).value().kvlist_value().values(0).key() == "n");
  CHECK(span.attributes(9).value().value_case() == opentelemetry::proto::common::v1::AnyValue::VALUE_NOT_SET);
  CHECK(span.kind() == opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
}

TEST_CASE("unknown and snake_case keys are ignored", "[decode_json]") {
  google::protobuf::Arena arena;
  auto request = DecodeJson(
      R"({"resource_spans":[{}],"resourceSpans":[{"scopeSpans":[{"spans":[{"trace_id":"zz","future":{"x":[1]},"name":"n"}]}]}]})",
      &arena);
  REQUIRE(request.ok());
  REQUIRE((*request)->resource_spans_size() == 1);
  const auto& span = (*request)->resource_spans(0).scope_spans(0).spans(0);
  CHECK(span.name() == "n");
  CHECK(span.trace_id().empty());
}

TEST_CASE("decode errors name the JSON path of the offending value", "[decode_json]") {
  CHECK(ErrorOf(WithSpan(R"("traceId":"abc")")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].traceId: not 32 hex characters");
  CHECK(ErrorOf(WithSpan(R"("spanId":"zz00000000000000")")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].spanId: not 16 hex characters");
  CHECK(ErrorOf(WithSpan(R"("startTimeUnixNano":"12x")")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].startTimeUnixNano: expected a decimal integer string in [0, "
        "18446744073709551615]");
  CHECK(ErrorOf(WithSpan(R"("endTimeUnixNano":-1)")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].endTimeUnixNano: integer out of range in [0, 18446744073709551615]");
  CHECK(ErrorOf(WithSpan(R"("kind":"SIDEWAYS")")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].kind: unknown enum value 'SIDEWAYS'");
  CHECK(ErrorOf(WithSpan(R"("attributes":[{"key":"k","value":{"bytesValue":"!!"}}])")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].attributes[0].value.bytesValue: not valid base64");
  CHECK(ErrorOf(WithSpan(R"("attributes":[{"key":"k","value":{"intValue":"1.5"}}])")) ==
        "resourceSpans[0].scopeSpans[1].spans[1].attributes[0].value.intValue: expected a decimal integer string in "
        "[-9223372036854775808, 9223372036854775807]");
  CHECK(ErrorOf(WithSpan(R"("name":7)")) == "resourceSpans[0].scopeSpans[1].spans[1].name: expected a string");
  CHECK(ErrorOf(R"({"resourceSpans":{}})") == "resourceSpans: expected an array");
  CHECK(ErrorOf("[1]") == "request: expected a JSON object at the top level");
  CHECK(ErrorOf(R"({"resourceSpans":[)").rfind("invalid JSON at offset 18: ", 0) == 0);
}

TEST_CASE("hostile nesting is refused without recursion", "[decode_json]") {
  std::string value = R"({"stringValue":"x"})";
  for (int i = 0; i < 100; ++i) value = R"({"arrayValue":{"values":[)" + value + "]}}";
  const std::string error = ErrorOf(WithSpan(R"("attributes":[{"key":"k","value":)" + value + "}]"));
  CHECK(error.find("value nests deeper than 64 levels") != std::string::npos);
  // Deep nesting in an ignored field parses iteratively and is never walked.
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  google::protobuf::Arena arena;
  CHECK(DecodeJson(R"({"ignored":)" + deep + "}", &arena).ok());
}

TEST_CASE("empty ids decode so that Normalize can report the span", "[decode_json]") {
  google::protobuf::Arena arena;
  auto request = DecodeJson(WithSpan(R"("traceId":"","spanId":null)"), &arena);
  REQUIRE(request.ok());
  const auto result = Normalize(**request, {});
  REQUIRE(result.rejected.size() == 2);
  CHECK(result.rejected[1].reason == "trace_id must be 16 bytes, got 0");
}

TEST_CASE("valid hex of the wrong length is kept so only that span is rejected", "[decode_json]") {
  google::protobuf::Arena arena;
  auto request = DecodeJson(R"({"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b17400","name":"long",
       "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000001"},
      {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"ok",
       "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000001"}]}]}]})",
                            &arena);
  REQUIRE(request.ok());
  CHECK((*request)->resource_spans(0).scope_spans(0).spans(0).span_id().size() == 9);
  auto normalized = Normalize(**request, NormalizeOptions{});
  REQUIRE(normalized.spans.size() == 1);
  CHECK(normalized.spans[0].name() == "ok");
  REQUIRE(normalized.rejected.size() == 1);
  CHECK(normalized.rejected[0].reason.find("span_id") != std::string::npos);
}

}  // namespace
}  // namespace osprey::otlp
