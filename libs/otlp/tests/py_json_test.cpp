#include "py_json.hpp"

#include <catch2/catch.hpp>

#include "test_util.hpp"

namespace osprey::otlp::internal {
namespace {

TEST_CASE("PyFloatRepr matches Python's repr(float)", "[py_json]") {
  CHECK(PyFloatRepr(0.1) == "0.1");
  CHECK(PyFloatRepr(1.0) == "1.0");
  CHECK(PyFloatRepr(-2.5) == "-2.5");
  CHECK(PyFloatRepr(0.0001) == "0.0001");
  CHECK(PyFloatRepr(0.00001) == "1e-05");
  CHECK(PyFloatRepr(1.5e-7) == "1.5e-07");
  CHECK(PyFloatRepr(1e15) == "1000000000000000.0");
  CHECK(PyFloatRepr(1e16) == "1e+16");
  CHECK(PyFloatRepr(123.456) == "123.456");
  CHECK(PyFloatRepr(0.0) == "0.0");
}

TEST_CASE("PyJsonDumps uses Python's separators and ASCII escaping", "[py_json]") {
  const rapidjson::Document doc = testing::ParseJson(R"({"a": [1, 2.0, true, null], "é": "😀\n"})");
  CHECK(PyJsonDumps(doc, true) == R"({"a": [1, 2.0, true, null], "\u00e9": "\ud83d\ude00\n"})");
  CHECK(PyJsonDumps(doc, false) == "{\"a\": [1, 2.0, true, null], \"\xc3\xa9\": \"\xf0\x9f\x98\x80\\n\"}");
  CHECK(PyJsonDumps(testing::ParseJson("[]"), true) == "[]");
  CHECK(PyJsonDumps(testing::ParseJson("\"\\u0001\\u007f\""), true) == "\"\\u0001\\u007f\"");
}

TEST_CASE("PyStr and PyTruthy follow Python", "[py_json]") {
  CHECK(PyStr(rapidjson::Value("s")) == "s");
  CHECK(PyStr(rapidjson::Value(true)) == "True");
  CHECK(PyStr(rapidjson::Value(42)) == "42");
  CHECK(PyStr(rapidjson::Value(1.5)) == "1.5");
  CHECK_FALSE(PyTruthy(rapidjson::Value(0)));
  CHECK_FALSE(PyTruthy(rapidjson::Value("")));
  CHECK_FALSE(PyTruthy(rapidjson::Value(rapidjson::kObjectType)));
  CHECK(PyTruthy(rapidjson::Value(0.5)));
  CHECK(PyTruthy(testing::ParseJson("[0]")));
}

}  // namespace
}  // namespace osprey::otlp::internal
