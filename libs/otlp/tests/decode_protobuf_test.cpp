#include <catch2/catch.hpp>

#include "osprey/otlp/otlp.hpp"
#include "test_util.hpp"

namespace osprey::otlp {
namespace {

TEST_CASE("DecodeProtobuf parses a serialized request into the arena", "[decode_protobuf]") {
  ExportRequest original;
  auto* span = original.add_resource_spans()->add_scope_spans()->add_spans();
  *span = testing::ValidSpan();
  testing::AddString(span, "input.value", "hi");
  google::protobuf::Arena arena;
  auto decoded = DecodeProtobuf(original.SerializeAsString(), &arena);
  REQUIRE(decoded.ok());
  CHECK((*decoded)->GetArena() == &arena);
  CHECK((*decoded)->SerializeAsString() == original.SerializeAsString());
}

TEST_CASE("an empty body is an empty request", "[decode_protobuf]") {
  google::protobuf::Arena arena;
  auto decoded = DecodeProtobuf("", &arena);
  REQUIRE(decoded.ok());
  CHECK((*decoded)->resource_spans_size() == 0);
}

TEST_CASE("malformed protobuf is INVALID_ARGUMENT", "[decode_protobuf]") {
  google::protobuf::Arena arena;
  auto decoded = DecodeProtobuf(std::string("\x0a\xff\xff\xff\xff\x0f", 6), &arena);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(decoded.status().message()).rfind("malformed protobuf ExportTraceServiceRequest", 0) == 0);
}

TEST_CASE("protobuf and JSON decoding give the same normalized spans", "[decode_protobuf]") {
  for (const char* name : {"openinference_llm.json", "genai_chat.json", "exception_event.json", "mixed_invalid.json"}) {
    INFO(name);
    google::protobuf::Arena arena;
    ExportRequest* from_json = testing::DecodeFixture(name, &arena);
    auto from_protobuf = DecodeProtobuf(from_json->SerializeAsString(), &arena);
    REQUIRE(from_protobuf.ok());
    const NormalizeResult a = Normalize(*from_json, {});
    const NormalizeResult b = Normalize(**from_protobuf, {});
    REQUIRE(a.spans.size() == b.spans.size());
    REQUIRE(!a.spans.empty());
    for (size_t i = 0; i < a.spans.size(); ++i) {
      CHECK(a.spans[i].SerializeAsString() == b.spans[i].SerializeAsString());
    }
    CHECK(a.ErrorMessage() == b.ErrorMessage());
  }
}

}  // namespace
}  // namespace osprey::otlp
