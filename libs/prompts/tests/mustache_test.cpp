// Expected outputs were checked against pystache (Renderer(escape=lambda u: u), as Phoenix configures
// it) except where the comment says Osprey refuses what pystache silently mangles.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "osprey/prompts/render.hpp"

using osprey::prompts::RenderMustache;

namespace {

std::string Render(const std::string& text, const std::string& variables = "{}") {
  auto rendered = RenderMustache(text, variables);
  if (!rendered.ok()) return "ERROR: " + std::string(rendered.status().message());
  return rendered->text;
}

std::vector<std::string> Missing(const std::string& text, const std::string& variables = "{}") {
  auto rendered = RenderMustache(text, variables);
  REQUIRE(rendered.ok());
  return rendered->missing_variables;
}

}  // namespace

TEST_CASE("mustache variables are substituted without HTML escaping", "[mustache]") {
  CHECK(Render("{{a}}|{{{a}}}|{{&a}}|{{ a }}|{{{ a }}}|{{& a }}", R"({"a":"<b>&\"'"})") ==
        "<b>&\"'|<b>&\"'|<b>&\"'|<b>&\"'|<b>&\"'|<b>&\"'");
  CHECK(Render("Hello {{name}}!", R"({"name":"World"})") == "Hello World!");
  CHECK(Render("{{a}}{{a}}", R"({"a":"x"})") == "xx");
  CHECK(Render("no tags at all") == "no tags at all");
  CHECK(Render("") == "");
  // A value is not itself a template.
  CHECK(Render("{{a}}", R"({"a":"{{b}}","b":"no"})") == "{{b}}");
}

TEST_CASE("mustache renders non-string values as Python's str()", "[mustache]") {
  CHECK(Render("{{n}}|{{f}}|{{t}}|{{u}}|{{z}}", R"({"n":3,"f":2.5,"t":true,"u":false,"z":null})") ==
        "3|2.5|True|False|None");
  CHECK(Render("{{l}}|{{d}}", R"({"l":[1,"a"],"d":{"k":"v"}})") == "[1, 'a']|{'k': 'v'}");
  CHECK(Render("{{f}}|{{g}}|{{h}}|{{i}}", R"({"f":1.0,"g":1e20,"h":1e-5,"i":0.1})") == "1.0|1e+20|1e-05|0.1");
  CHECK(Render("{{.}}") == "{}");
}

TEST_CASE("mustache reports missing variables and renders them empty", "[mustache]") {
  CHECK(Render("[{{a}}][{{b}}]", R"({"a":"x"})") == "[x][]");
  CHECK(Missing("{{b}}{{a}}{{b}}{{c.d}}", R"({"a":"x","c":{}})") == std::vector<std::string>{"b", "c.d"});
  CHECK(Missing("{{#s}}x{{/s}}") == std::vector<std::string>{"s"});
  // Inverted sections exist to test absence; names in sections that do not render are never looked up.
  CHECK(Missing("{{^s}}{{x}}{{/s}}", R"({"s":true})").empty());
  CHECK(Missing("{{^s}}none{{/s}}").empty());
  CHECK(Missing("{{#s}}{{inner}}{{/s}}", R"({"s":false})").empty());
  CHECK(Missing("{{a}}", R"({"a":""})").empty());
  CHECK(Missing("{{a}}", R"({"a":null})").empty());
}

TEST_CASE("mustache dotted names", "[mustache]") {
  CHECK(Render("{{a.b.c}}|{{a.x}}", R"({"a":{"b":{"c":"deep"}}})") == "deep|");
  CHECK(Render("{{a.b}}", R"({"a":{"b":[1,2]}})") == "[1, 2]");
  CHECK(Render("{{#a.b}}{{.}}{{/a.b}}", R"({"a":{"b":[1,2]}})") == "12");
  CHECK(Render("{{a.b}}", R"({"a":"str"})") == "");
  // Only the first part searches the context stack; later parts look inside what it found.
  CHECK(Render("{{#a}}{{b.c}}{{/a}}", R"({"a":{"b":{}},"b":{"c":"outer"}})") == "");
  CHECK(Render("{{#a}}{{b.c}}{{/a}}", R"({"a":{"x":1},"b":{"c":"outer"}})") == "outer");
}

TEST_CASE("mustache sections", "[mustache]") {
  CHECK(Render("{{#s}}yes{{/s}}", R"({"s":true})") == "yes");
  for (const char* falsy : {"false", "null", "0", "0.0", "\"\"", "[]", "{}"}) {
    INFO(falsy);
    CHECK(Render("{{#s}}yes{{/s}}", std::string(R"({"s":)") + falsy + "}") == "");
    CHECK(Render("{{^s}}no{{/s}}", std::string(R"({"s":)") + falsy + "}") == "no");
  }
  CHECK(Render("{{#s}}yes{{/s}}", R"({"s":"0"})") == "yes");
  CHECK(Render("{{#s}}{{.}},{{/s}}", R"({"s":[1,2]})") == "1,2,");
  CHECK(Render("{{#s}}{{.}}{{/s}}", R"({"s":"str"})") == "str");
  CHECK(Render("{{#a}}{{b}}{{/a}}", R"({"a":{"b":"inner"},"b":"outer"})") == "inner");
  CHECK(Render("{{#a}}{{b}}{{/a}}", R"({"a":{"c":1},"b":"outer"})") == "outer");
  CHECK(Render("{{#a}}{{#b}}{{c}}{{/b}}{{/a}}", R"({"a":[{"b":[{"c":1},{"c":2}]},{"b":false}]})") == "12");
  CHECK(Render("{{#a}}x{{/a}}", R"({"a":[[]]})") == "x");
  CHECK(Render("{{# a }}x{{/ a }}", R"({"a":1})") == "x");
  CHECK(Render("{{#items}}- {{name}}: {{price}}\n{{/items}}",
               R"({"items":[{"name":"tea","price":2},{"name":"cake","price":3.5}]})") ==
        "- tea: 2\n- cake: 3.5\n");
  CHECK(Render("{{^s}}none{{/s}}", R"({"s":[1]})") == "");
}

TEST_CASE("mustache comments, partials and set delimiters", "[mustache]") {
  CHECK(Render("{{! comment }}x") == "x");
  CHECK(Render("a{{! multi\nline }}b") == "ab");
  CHECK(Render("{{>p}}y") == "y");
  CHECK(Render("{{=<% %>=}}<%a%>{{a}}", R"({"a":1})") == "1{{a}}");
  CHECK(Render("{{=| |=}}|a|", R"({"a":1})") == "1");
  CHECK(Render("{{=<% %>=}}<%#a%>x<%/a%><%={{ }}=%>{{a}}", R"({"a":1})") == "x1");
  CHECK_THAT(Render("{{=<%=}}"), Catch::Contains("two delimiters"));
}

TEST_CASE("mustache standalone tags take their line", "[mustache]") {
  CHECK(Render("a\n  {{#s}}\n  x\n  {{/s}}\nb", R"({"s":true})") == "a\n  x\nb");
  CHECK(Render("  {{#a}}\n  x\n  {{/a}}", R"({"a":1})") == "  x\n");
  CHECK(Render("|\n{{#a}}\n{{/a}}\n|", R"({"a":1})") == "|\n|");
  CHECK(Render("  {{#a}}x{{/a}}\n", R"({"a":1})") == "  x\n");
  CHECK(Render("  {{! c }}\nx") == "x");
  CHECK(Render("\n{{!c}}\n") == "\n");
  CHECK(Render("{{=<% %>=}}\n<%a%>", R"({"a":1})") == "1");
  CHECK(Render("{{a}}\r\n{{#b}}\r\n1\r\n{{/b}}\r\n", R"({"a":1,"b":1})") == "1\r\n1\r\n");
  // A variable tag is never standalone.
  CHECK(Render("  {{a}}\n", R"({"a":1})") == "  1\n");
}

TEST_CASE("mustache literal braces and malformed templates", "[mustache]") {
  CHECK(Render("{{foo") == "{{foo");
  CHECK(Render("x{{a}", R"({"a":1})") == "x{{a}");
  CHECK(Render("{{}}x") == "{{}}x");
  CHECK(Render("{{{a}}}}", R"({"a":1})") == "1}");
  CHECK(Render("a{{/s}}b") == "ERROR: mustache template, line 1, column 2: {{/s}} closes a section that is not open");
  CHECK(Render("{{#a}}x{{/b}}") ==
        "ERROR: mustache template, line 1, column 8: {{/b}} does not close the open section {{#a}}");
  // pystache drops the text before an unclosed section; Osprey refuses the template instead.
  CHECK(Render("a\n{{#s}}b") == "ERROR: mustache template, line 2, column 1: section {{#s}} is not closed");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{{#a}}";
  CHECK_THAT(Render(deep, R"({"a":true})"), Catch::Contains("sections nest deeper than 64"));
}

TEST_CASE("mustache variables must be a JSON object", "[mustache]") {
  CHECK_THAT(Render("{{a}}", "[1]"), Catch::Contains("variables: expected a JSON object"));
  CHECK_THAT(Render("{{a}}", "{"), Catch::Contains("variables: invalid JSON"));
  CHECK(Render("{{a}}", "") == "");
}

TEST_CASE("mustache output is bounded", "[mustache]") {
  // 4096 items, each rendering a 8 KiB string: 32 MiB would exceed the 16 MiB bound.
  std::string items = "[";
  for (int i = 0; i < 4096; ++i) items += i == 0 ? "1" : ",1";
  items += "]";
  std::string variables = R"({"items":)" + items + R"(,"big":")" + std::string(8192, 'x') + "\"}";
  CHECK_THAT(Render("{{#items}}{{big}}{{/items}}", variables), Catch::Contains("renders to more than"));
}
