#include "attributes.hpp"

#include <catch2/catch.hpp>

#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "test_util.hpp"

namespace osprey::otlp::internal {
namespace {

using testing::AddDouble;
using testing::AddInt;
using testing::AddString;
using testing::AttributesOf;
using testing::SameJson;
using testing::ValidSpan;

TEST_CASE("dotted keys are un-flattened into one nested document", "[attributes]") {
  auto span = ValidSpan();
  AddInt(&span, "llm.token_count.prompt", 10);
  AddString(&span, "llm.model_name", "m");
  CHECK(SameJson(AttributesOf(span), R"({"llm":{"token_count":{"prompt":10},"model_name":"m"}})"));
}

TEST_CASE("a numeric segment is an array index only when more segments follow", "[attributes]") {
  auto span = ValidSpan();
  AddString(&span, "retrieval.documents.1.document.content", "B");
  AddString(&span, "retrieval.documents.0.document.content", "A");
  AddString(&span, "x.0", "a");
  CHECK(SameJson(AttributesOf(span),
                 R"({"retrieval":{"documents":[{"document":{"content":"A"}},{"document":{"content":"B"}}]},)"
                 R"("x":{"0":"a"}})"));
}

TEST_CASE("sparse indices are compacted in index order; leading zeros normalized", "[attributes]") {
  auto span = ValidSpan();
  AddString(&span, "m.10.role", "c");
  AddString(&span, "m.002.role", "b");
  AddString(&span, "m.0.role", "a");
  AddString(&span, "y.007", "seven");
  CHECK(SameJson(AttributesOf(span), R"({"m":[{"role":"a"},{"role":"b"},{"role":"c"}],"y":{"7":"seven"}})"));
}

TEST_CASE("empty segments vanish, unset values are skipped, the last write wins", "[attributes]") {
  auto span = ValidSpan();
  AddString(&span, "a..b", "1");
  AddString(&span, "c.", "2");
  AddString(&span, "dup", "first");
  AddString(&span, "dup", "second");
  auto* unset = span.add_attributes();
  unset->set_key("nothing");
  CHECK(SameJson(AttributesOf(span), R"({"a":{"b":"1"},"c":"2","dup":"second"})"));
}

TEST_CASE("with many keys a repeated key keeps its first position and takes the last value", "[attributes]") {
  auto span = ValidSpan();
  for (int i = 0; i < 40; ++i) AddString(&span, "k" + std::to_string(i), "v");  // past the linear-scan limit
  AddString(&span, "k3", "flat repeat");
  AddString(&span, ".k5", "empty segment repeat");  // the empty segment vanishes: emitted as "k5" again
  const std::string attributes = AttributesOf(span);
  CHECK(SameJson(attributes, [] {
    std::string expected = "{";
    for (int i = 0; i < 40; ++i) {
      const std::string value = i == 3 ? "flat repeat" : i == 5 ? "empty segment repeat" : "v";
      expected += (i > 0 ? "," : "") + ("\"k" + std::to_string(i) + "\":\"" + value + "\"");
    }
    return expected + "}";
  }()));
  CHECK(attributes.find("\"k3\"") < attributes.find("\"k4\""));
  CHECK(attributes.find("\"k5\"") < attributes.find("\"k6\""));
}

TEST_CASE("a dotted extension of a key holding a value stays a literal dotted key", "[attributes]") {
  auto span = ValidSpan();
  auto* kv = span.add_attributes();
  kv->set_key("meta");
  auto* inner = kv->mutable_value()->mutable_kvlist_value()->add_values();
  inner->set_key("k");
  inner->mutable_value()->set_string_value("v");
  AddString(&span, "meta.extra", "e");
  AddString(&span, "n.0.a", "x");
  AddString(&span, "n.0", "y");  // index 0 now holds a value: becomes a branch, not an array
  CHECK(SameJson(AttributesOf(span), R"({"meta":{"k":"v"},"meta.extra":"e","n":{"0":"y","0.a":"x"}})"));
}

TEST_CASE("JSON-string keys are parsed; other strings are not", "[attributes]") {
  auto span = ValidSpan();
  AddString(&span, "metadata", R"({"a": 1})");
  AddString(&span, "llm.prompt_template.variables", R"({"city": "Paris"})");
  AddString(&span, "tool.parameters", R"({"type": "object"})");
  AddString(&span, "retrieval.documents.0.document.metadata", R"({"src": "wiki"})");
  AddString(&span, "session.metadata", "[1, 2]");
  AddString(&span, "output.value", R"({"not": "parsed"})");
  CHECK(SameJson(AttributesOf(span), R"({"metadata":{"a":1},"llm":{"prompt_template":{"variables":{"city":"Paris"}}},)"
                                     R"("tool":{"parameters":{"type":"object"}},)"
                                     R"("retrieval":{"documents":[{"document":{"metadata":{"src":"wiki"}}}]},)"
                                     R"("session":{"metadata":[1,2]},"output":{"value":"{\"not\": \"parsed\"}"}})"));
}

TEST_CASE("JSON-string keys: not JSON stays a string, empty JSON drops the key", "[attributes]") {
  auto span = ValidSpan();
  AddString(&span, "metadata", "{broken");
  AddString(&span, "tool.parameters", "{}");
  AddInt(&span, "x.metadata", 5);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  AddString(&span, "deep.metadata", deep);
  CHECK(SameJson(AttributesOf(span),
                 R"({"metadata":"{broken","x":{"metadata":5},"deep":{"metadata":")" + deep + R"("}})"));
}

TEST_CASE("AnyValue conversion: bytes as base64, kvlists, non-finite doubles dropped", "[attributes]") {
  auto span = ValidSpan();
  auto* kv = span.add_attributes();
  kv->set_key("blob");
  kv->mutable_value()->set_bytes_value(std::string("\x00\x01\xff", 3));
  AddDouble(&span, "nan", std::nan(""));
  AddDouble(&span, "pi", 3.5);
  kv = span.add_attributes();
  kv->set_key("kv");
  auto* list = kv->mutable_value()->mutable_kvlist_value();
  auto* a = list->add_values();
  a->set_key("a");
  a->mutable_value()->set_bool_value(true);
  auto* a2 = list->add_values();
  a2->set_key("a");
  a2->mutable_value()->set_bool_value(false);
  CHECK(SameJson(AttributesOf(span), R"({"blob":"AAH/","pi":3.5,"kv":{"a":false}})"));
}

TEST_CASE("AnyValue nesting deeper than the limit is rejected, not recursed", "[attributes]") {
  opentelemetry::proto::common::v1::AnyValue root;
  auto* v = &root;
  for (int i = 0; i < 200; ++i) v = v->mutable_array_value()->add_values();
  v->set_string_value("bottom");
  rapidjson::Document doc;
  rapidjson::Value out;
  const absl::Status status = AnyValueToJson(root, doc.GetAllocator(), &out);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "value nests deeper than 64 levels");
}

TEST_CASE("invalid UTF-8 inside a nested value is reported with its path", "[attributes]") {
  opentelemetry::proto::common::v1::AnyValue root;
  auto* kv = root.mutable_kvlist_value()->add_values();
  kv->set_key("items");
  kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("ok");
  kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("\xfe");
  rapidjson::Document doc;
  rapidjson::Value out;
  const absl::Status status = AnyValueToJson(root, doc.GetAllocator(), &out);
  CHECK(std::string(status.message()) == "string value at items[1] is not valid UTF-8");
}

TEST_CASE("CoerceInt accepts ints, integral floats and decimal strings", "[attributes]") {
  int64_t n = 0;
  CHECK((CoerceInt(rapidjson::Value(7), &n) && n == 7));
  CHECK((CoerceInt(rapidjson::Value(12.0), &n) && n == 12));
  CHECK((CoerceInt(rapidjson::Value("12"), &n) && n == 12));
  CHECK((CoerceInt(rapidjson::Value(" -3 "), &n) && n == -3));
  CHECK_FALSE(CoerceInt(rapidjson::Value("1.5"), &n));
  CHECK_FALSE(CoerceInt(rapidjson::Value("99999999999999999999"), &n));
  CHECK_FALSE(CoerceInt(rapidjson::Value(true), &n));
  CHECK_FALSE(CoerceInt(rapidjson::Value(""), &n));
}

TEST_CASE("TruncateUtf8 cuts on code point boundaries", "[attributes]") {
  CHECK(TruncateUtf8("abc", 5) == "abc");
  CHECK(TruncateUtf8("abc", 2) == "ab");
  CHECK(TruncateUtf8("\xc3\xa9\xc3\xa9", 1) == "\xc3\xa9");
  CHECK(TruncateUtf8("x", 0).empty());
}

}  // namespace
}  // namespace osprey::otlp::internal
