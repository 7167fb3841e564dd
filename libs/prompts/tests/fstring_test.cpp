// Expected outputs and error texts were checked against CPython's str.format.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "osprey/prompts/render.hpp"

using osprey::prompts::RenderFString;

namespace {

std::string Render(const std::string& text, const std::string& variables = "{}") {
  auto rendered = RenderFString(text, variables);
  if (!rendered.ok()) return "ERROR: " + std::string(rendered.status().message());
  return rendered->text;
}

}  // namespace

TEST_CASE("f-string substitution and brace escapes", "[fstring]") {
  CHECK(Render("Hello {name}!", R"({"name":"World"})") == "Hello World!");
  CHECK(Render("{{a}}", R"({"a":"x"})") == "{a}");
  CHECK(Render("{{{a}}}", R"({"a":"x"})") == "{x}");
  CHECK(Render("}}{{") == "}{");
  CHECK(Render("{ a }", R"({" a ":1})") == "1");
  CHECK(Render("{a}", R"({"a":1.0})") == "1.0");
  CHECK(Render("{a}|{b}|{c}", R"({"a":true,"b":null,"c":[1,"x"]})") == "True|None|[1, 'x']");
  CHECK(Render("{a} {{mustache}}", R"({"a":"{b}"})") == "{b} {mustache}");
  CHECK(Render("héllo {a}", R"({"a":"wörld"})") == "héllo wörld");
}

TEST_CASE("f-string missing variables render empty and are reported", "[fstring]") {
  auto rendered = RenderFString("{a}-{b}-{a}-{c[k]}", R"({"c":{}})");
  REQUIRE(rendered.ok());
  CHECK(rendered->text == "---");
  CHECK(rendered->missing_variables == std::vector<std::string>{"a", "b", "c[k]"});
}

TEST_CASE("f-string indexing", "[fstring]") {
  CHECK(Render("{a[k]}", R"({"a":{"k":1}})") == "1");
  CHECK(Render("{a[0]}|{a[1][x]}", R"({"a":[5,{"x":"y"}]})") == "5|y");
  CHECK(Render("{a[9]}", R"({"a":[5]})") == "");
  CHECK(Render("{a.b}", R"({"a":{"b":1}})") ==
        "ERROR: f-string template, offset 0: attribute access in {a.b} is not supported; use {name[key]}");
  CHECK(Render("{a[k]x}", R"({"a":{"k":1}})") ==
        "ERROR: f-string template, offset 0: Only '.' or '[' may follow ']' in format field specifier");
  CHECK(Render("{a[}") == "ERROR: f-string template, offset 0: expected '}' before end of string");
}

TEST_CASE("f-string conversions and string format specs", "[fstring]") {
  CHECK(Render("{a!r}", R"({"a":"x"})") == "'x'");
  CHECK(Render("{a!s}", R"({"a":"x"})") == "x");
  CHECK(Render("{a!a}", R"({"a":"é"})") == "'\\xe9'");
  CHECK(Render("{a!r}", R"({"a":"it's"})") == "\"it's\"");
  CHECK(Render("{a:>5}|", R"({"a":"x"})") == "    x|");
  CHECK(Render("{a:*^7.2}|", R"({"a":"xyz"})") == "**xy***|");
  CHECK(Render("{a:05}", R"({"a":"x"})") == "x0000");
  CHECK(Render("{a:s}", R"({"a":"x"})") == "x");
  CHECK(Render("{a:<}", R"({"a":"x"})") == "x");
  CHECK(Render("{a:10.3s}|", R"({"a":"abcdef"})") == "abc       |");
  CHECK(Render("{a:é>3}", R"({"a":"x"})") == "ééx");
  CHECK(Render("{a!r:>5}", R"({"a":1})") == "    1");
  CHECK(Render("{a:=5}", R"({"a":"x"})") ==
        "ERROR: f-string template, offset 0: '=' alignment not allowed in string format specifier");
  CHECK(Render("{a:+}", R"({"a":"x"})") == "ERROR: f-string template, offset 0: Sign not allowed in string format specifier");
  CHECK(Render("{a: }", R"({"a":"x"})") == "ERROR: f-string template, offset 0: Space not allowed in string format specifier");
  CHECK(Render("{a:#}", R"({"a":"x"})") ==
        "ERROR: f-string template, offset 0: Alternate form (#) not allowed in string format specifier");
  CHECK(Render("{a:,}", R"({"a":"x"})") == "ERROR: f-string template, offset 0: Cannot specify ',' with 's'.");
  CHECK(Render("{a:d}", R"({"a":"x"})") ==
        "ERROR: f-string template, offset 0: Unknown format code 'd' for object of type 'str'");
  CHECK(Render("{a:.}", R"({"a":"x"})") == "ERROR: f-string template, offset 0: Format specifier missing precision");
  CHECK(Render("{a!x}", R"({"a":"x"})") == "ERROR: f-string template, offset 0: Unknown conversion specifier x");
  CHECK(Render("{a!rr}", R"({"a":1})") == "ERROR: f-string template, offset 0: expected ':' after conversion specifier");
  CHECK_THAT(Render("{a:>5}", R"({"a":5})"), Catch::Contains("a format spec on a non-string value ({a:>5})"));
  CHECK_THAT(Render("{a:{b}}", R"({"a":"x","b":3})"), Catch::Contains("nested replacement fields"));
}

TEST_CASE("f-string syntax errors", "[fstring]") {
  CHECK(Render("{a", R"({"a":"x"})") == "ERROR: f-string template, offset 0: expected '}' before end of string");
  CHECK(Render("a}") == "ERROR: f-string template, offset 1: Single '}' encountered in format string");
  CHECK(Render("ab{") == "ERROR: f-string template, offset 2: Single '{' encountered in format string");
  CHECK(Render("x {}", R"({"a":1})") ==
        "ERROR: f-string template, offset 2: positional field {} is not supported: templates take named variables, "
        "e.g. {name}");
  CHECK_THAT(Render("{0}"), Catch::Contains("positional field {0}"));
  CHECK(Render("{a{b}") == "ERROR: f-string template, offset 0: unexpected '{' in field name");
}
