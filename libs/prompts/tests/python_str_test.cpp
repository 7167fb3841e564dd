// Expected texts are what CPython prints for the same json.loads() values.

#include "python_str.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "rapidjson/document.h"

using osprey::prompts::CodePointCount;
using osprey::prompts::CodePointPrefix;
using osprey::prompts::PyConversion;
using osprey::prompts::PyFloatRepr;
using osprey::prompts::PyFormat;
using osprey::prompts::PyTruthy;

namespace {

std::string Py(const char* json, PyConversion conversion = PyConversion::kStr) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json);
  REQUIRE_FALSE(doc.HasParseError());
  return PyFormat(doc, conversion);
}

}  // namespace

TEST_CASE("floats print as Python's repr", "[python_str]") {
  CHECK(PyFloatRepr(1.0) == "1.0");
  CHECK(PyFloatRepr(0.1) == "0.1");
  CHECK(PyFloatRepr(-2.5) == "-2.5");
  CHECK(PyFloatRepr(1e16) == "1e+16");
  CHECK(PyFloatRepr(1234567890123456.0) == "1234567890123456.0");
  CHECK(PyFloatRepr(1e-5) == "1e-05");
  CHECK(PyFloatRepr(0.0001) == "0.0001");
  CHECK(PyFloatRepr(1.5e-7) == "1.5e-07");
  CHECK(PyFloatRepr(123.456) == "123.456");
  CHECK(PyFloatRepr(1e300) == "1e+300");
  CHECK(PyFloatRepr(0.0) == "0.0");
  CHECK(PyFloatRepr(-0.0) == "-0.0");
  CHECK(PyFloatRepr(0.30000000000000004) == "0.30000000000000004");
}

TEST_CASE("str, repr and ascii of JSON values", "[python_str]") {
  CHECK(Py(R"("plain")") == "plain");
  CHECK(Py(R"("plain")", PyConversion::kRepr) == "'plain'");
  CHECK(Py(R"(["it's", "a\"b", "x\ny", null, true, 1.5])") == R"(["it's", 'a"b', 'x\ny', None, True, 1.5])");
  CHECK(Py(R"(["both ' and \""])") == R"(['both \' and "'])");
  CHECK(Py(R"({"k": {"n": [1, -2]}, "b": false})") == "{'k': {'n': [1, -2]}, 'b': False}");
  CHECK(Py(R"(["tab\tback\\slash\u0001"])") == R"(['tab\tback\\slash\x01'])");
  CHECK(Py(R"(["é€😀"])") == "['é€😀']");
  CHECK(Py(R"("é€😀")", PyConversion::kAscii) == R"('\xe9\u20ac\U0001f600')");
  CHECK(Py("18446744073709551615") == "18446744073709551615");
  CHECK(Py("-9223372036854775808") == "-9223372036854775808");
  CHECK(Py("[]") == "[]");
  CHECK(Py("{}") == "{}");
}

TEST_CASE("Python truthiness", "[python_str]") {
  rapidjson::Document doc;
  for (const char* falsy : {"null", "false", "0", "0.0", "\"\"", "[]", "{}"}) {
    doc.Parse(falsy);
    CHECK_FALSE(PyTruthy(doc));
  }
  for (const char* truthy : {"true", "1", "-0.5", "\"0\"", "[0]", "{\"a\":null}"}) {
    doc.Parse(truthy);
    CHECK(PyTruthy(doc));
  }
}

TEST_CASE("code points of UTF-8 text", "[python_str]") {
  CHECK(CodePointCount("abc") == 3);
  CHECK(CodePointCount("é€😀") == 3);
  CHECK(CodePointPrefix("é€😀", 2) == 5);
  CHECK(CodePointPrefix("ab", 5) == 2);
  CHECK(CodePointCount("\xff\xfe") == 2);  // invalid bytes count one each
  CHECK(CodePointCount("\xe2\x82") == 2);  // truncated sequence
}
