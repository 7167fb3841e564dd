#include "osprey/query/attributes.hpp"

#include <catch2/catch.hpp>

using osprey::query::FlattenAttributesJson;

namespace {
std::string Flat(const std::string& nested, const std::vector<std::string>& drop = {}) {
  auto out = FlattenAttributesJson(nested, drop);
  REQUIRE(out.ok());
  return *out;
}
}  // namespace

TEST_CASE("nested objects flatten to dotted keys in document order") {
  CHECK(Flat(R"({"llm":{"model_name":"gpt-4o","token_count":{"prompt":10,"total":15}},"input":{"value":"hi"}})") ==
        R"({"llm.model_name":"gpt-4o","llm.token_count.prompt":10,"llm.token_count.total":15,"input.value":"hi"})");
}

TEST_CASE("lists of objects are recursed into by index") {
  CHECK(Flat(R"({"llm":{"input_messages":[{"message":{"role":"system","content":"be brief"}},)"
             R"({"message":{"role":"user","contents":[{"message_content":{"type":"text"}}]}}]}})") ==
        R"({"llm.input_messages.0.message.role":"system","llm.input_messages.0.message.content":"be brief",)"
        R"("llm.input_messages.1.message.role":"user",)"
        R"("llm.input_messages.1.message.contents.0.message_content.type":"text"})");
}

TEST_CASE("lists of scalars and empty lists stay whole") {
  CHECK(Flat(R"({"tag":{"tags":["a","b"]},"embedding":{"vector":[0.5,1.0]},"empty":[]})") ==
        R"({"tag.tags":["a","b"],"embedding.vector":[0.5,1.0],"empty":[]})");
}

TEST_CASE("mixed lists keep only their objects, by original index") {
  CHECK(Flat(R"({"x":[1,{"a":2},"s",{"b":3}]})") == R"({"x.1.a":2,"x.3.b":3})");
}

TEST_CASE("empty objects and nulls contribute nothing") {
  CHECK(Flat(R"({"metadata":{},"a":null,"b":{"c":{}},"d":1})") == R"({"d":1})");
  CHECK(Flat("{}") == "{}");
  CHECK(Flat("") == "{}");
}

TEST_CASE("scalar types survive flattening unchanged") {
  CHECK(Flat(R"({"b":true,"i":-3,"f":12.0,"s":"x\"y","big":12345678901234})") ==
        R"({"b":true,"i":-3,"f":12.0,"s":"x\"y","big":12345678901234})");
}

TEST_CASE("a dotted key colliding with a nested path keeps the first position and the last value") {
  CHECK(Flat(R"({"a.b":1,"c":2,"a":{"b":3}})") == R"({"a.b":3,"c":2})");
}

TEST_CASE("dropped keys are left out") {
  CHECK(Flat(R"({"openinference":{"span":{"kind":"LLM"}},"input":{"value":"q"}})", {"openinference.span.kind"}) ==
        R"({"input.value":"q"})");
}

TEST_CASE("a non-object document flattens to nothing; malformed JSON is an error") {
  CHECK(Flat("[1,2]") == "{}");
  auto bad = FlattenAttributesJson("{not json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("an empty key flattens like Python: its children lose the dot and may collide") {
  CHECK(Flat(R"({"":{"x":1},"x":2,"y":3})") == R"({"x":2,"y":3})");
  CHECK(Flat(R"({"a":{"":{"b":1}}})") == R"({"a..b":1})");
}

TEST_CASE("a key repeated in one object keeps its first position and its last value") {
  CHECK(Flat(R"({"a":1,"b":2,"a":3})") == R"({"a":3,"b":2})");
  CHECK(Flat(R"({"m":{"k":{"x":1},"j":0,"k":{"y":2}}})") == R"({"m.k.x":1,"m.j":0,"m.k.y":2})");
}

TEST_CASE("repeated keys inside a list kept whole are written as stored") {
  CHECK(Flat(R"({"v":[[{"a":1,"a":2}]],"w":1})") == R"({"v":[[{"a":1,"a":2}]],"w":1})");
}

TEST_CASE("keys and strings are escaped as JSON, runs of any length copied as they are") {
  CHECK(Flat(R"({"s":"a\u0001\n\t\"\\/é\u007f\u0000z","k\"ey":{"x":"\r\b\f\u001f"}})") ==
        R"({"s":"a\u0001\n\t\"\\/é)"
        "\x7f"  // DEL is not escaped, as rapidjson's Writer leaves it
        R"(\u0000z","k\"ey.x":"\r\b\f\u001F"})");
  CHECK(Flat(R"({"long":"0123456789abcdef\"0123456789abcdefgh\\","tail":"01234567\n","plain":"0123456789abcdef"})") ==
        R"({"long":"0123456789abcdef\"0123456789abcdefgh\\","tail":"01234567\n","plain":"0123456789abcdef"})");
}
