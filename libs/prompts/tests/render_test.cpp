#include "osprey/prompts/render.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace v1 = osprey::prompts::v1;
using osprey::prompts::RenderTemplate;
using osprey::prompts::RenderText;
using osprey::prompts::RenderVersion;

TEST_CASE("a chat template renders string contents and text parts only", "[render]") {
  const std::string chat =
      R"({"type":"chat","messages":[{"role":"system","content":"You are {{persona}}."},)"
      R"({"role":"user","content":[{"type":"text","text":"Hi {{name}}, {{missing}}"},)"
      R"({"type":"tool_result","tool_call_id":"{{id}}","tool_result":"{{name}}"}]},)"
      R"({"role":"assistant","content":[{"type":"tool_call","tool_call_id":"c","tool_call":)"
      R"({"type":"function","name":"f","arguments":"{\"q\":\"{{name}}\"}"}}]}]})";
  auto rendered = RenderTemplate(chat, v1::TEMPLATE_FORMAT_MUSTACHE, R"({"persona":"a pirate","name":"Ann"})");
  REQUIRE(rendered.ok());
  CHECK(rendered->template_json ==
        R"({"type":"chat","messages":[{"role":"system","content":"You are a pirate."},)"
        R"({"role":"user","content":[{"type":"text","text":"Hi Ann, "},)"
        R"({"type":"tool_result","tool_call_id":"{{id}}","tool_result":"{{name}}"}]},)"
        R"({"role":"assistant","content":[{"type":"tool_call","tool_call_id":"c","tool_call":)"
        R"({"type":"function","name":"f","arguments":"{\"q\":\"{{name}}\"}"}}]}]})");
  CHECK(rendered->missing_variables == std::vector<std::string>{"missing"});
}

TEST_CASE("a string template renders with F_STRING", "[render]") {
  auto rendered = RenderTemplate(R"({"type":"string","template":"Summarize {text} in {n} words"})",
                                 v1::TEMPLATE_FORMAT_F_STRING, R"({"text":"the \"doc\"","n":5})");
  REQUIRE(rendered.ok());
  CHECK(rendered->template_json == R"({"type":"string","template":"Summarize the \"doc\" in 5 words"})");
  CHECK(rendered->missing_variables.empty());
}

TEST_CASE("NONE leaves every brace alone", "[render]") {
  auto rendered = RenderTemplate(R"({"type":"chat","messages":[{"role":"user","content":"{{a}} {b} {"}]})",
                                 v1::TEMPLATE_FORMAT_NONE, R"({"a":"x","b":"y"})");
  REQUIRE(rendered.ok());
  CHECK(rendered->template_json == R"({"type":"chat","messages":[{"role":"user","content":"{{a}} {b} {"}]})");
  CHECK(rendered->missing_variables.empty());
}

TEST_CASE("template errors name the message", "[render]") {
  auto rendered = RenderTemplate(R"({"type":"chat","messages":[{"role":"user","content":"ok"},)"
                                 R"({"role":"user","content":[{"type":"text","text":"bad {"}]}]})",
                                 v1::TEMPLATE_FORMAT_F_STRING, "{}");
  REQUIRE(rendered.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(rendered.status().message()) ==
        "template.messages[1].content[0].text: f-string template, offset 4: Single '{' encountered in format string");
  CHECK(RenderTemplate(R"({"type":"poem"})", v1::TEMPLATE_FORMAT_NONE, "{}").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(RenderTemplate("{", v1::TEMPLATE_FORMAT_NONE, "{}").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(RenderText("x", v1::TEMPLATE_FORMAT_UNSPECIFIED, "{}").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a version renders with the request's string variables", "[render]") {
  v1::PromptVersion version;
  version.set_template_type(v1::TEMPLATE_TYPE_CHAT);
  version.set_template_format(v1::TEMPLATE_FORMAT_MUSTACHE);
  version.set_template_json(
      R"({"type":"chat","messages":[{"role":"user","content":"{{#topic}}About {{topic}}: {{/topic}}{{question}} {{n}}"}]})");
  std::map<std::string, std::string> variables = {{"topic", "birds"}, {"question", "why <fly>?"}, {"n", "3"}};
  auto rendered = RenderVersion(version, variables);
  REQUIRE(rendered.ok());
  CHECK(rendered->template_json ==
        R"({"type":"chat","messages":[{"role":"user","content":"About birds: why <fly>? 3"}]})");

  google::protobuf::Map<std::string, std::string> proto_variables;
  proto_variables.insert({std::string("question"), std::string(1, 'q')});
  auto from_proto = RenderVersion(version, proto_variables);
  REQUIRE(from_proto.ok());
  CHECK(from_proto->template_json == R"({"type":"chat","messages":[{"role":"user","content":"q "}]})");
  CHECK(from_proto->missing_variables == std::vector<std::string>{"topic", "n"});

  version.set_template_format(v1::TEMPLATE_FORMAT_F_STRING);
  version.set_template_json(R"({"type":"string","template":"{question}!"})");
  auto fstring = RenderVersion(version, proto_variables);
  REQUIRE(fstring.ok());
  CHECK(fstring->template_json == R"({"type":"string","template":"q!"})");
}

TEST_CASE("every prefix of a template renders or is refused", "[render]") {
  // Truncated templates are what a half-typed editor sends: each must answer, never crash.
  const std::string mustache = "{{#items}}- {{name}}{{^last}},{{/last}}\n{{/items}}{{! done }}{{=<% %>=}}<%x%>";
  const std::string fstring = "{a[k]!r:>5} and {{literal}} {b:.2} }}{{";
  const std::string variables = R"({"items":[{"name":"a"},{"name":"b","last":true}],"a":{"k":"v"},"b":"xyz"})";
  for (size_t n = 0; n <= mustache.size(); ++n) {
    auto rendered = RenderText(mustache.substr(0, n), v1::TEMPLATE_FORMAT_MUSTACHE, variables);
    INFO(mustache.substr(0, n));
    CHECK((rendered.ok() || rendered.status().code() == absl::StatusCode::kInvalidArgument));
  }
  for (size_t n = 0; n <= fstring.size(); ++n) {
    auto rendered = RenderText(fstring.substr(0, n), v1::TEMPLATE_FORMAT_F_STRING, variables);
    INFO(fstring.substr(0, n));
    CHECK((rendered.ok() || rendered.status().code() == absl::StatusCode::kInvalidArgument));
  }
  auto whole = RenderText(mustache, v1::TEMPLATE_FORMAT_MUSTACHE, variables);
  REQUIRE(whole.ok());
  CHECK(whole->text == "- a,\n- b\n");
  auto deep = RenderText("{{x}}", v1::TEMPLATE_FORMAT_MUSTACHE,
                         R"({"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
  CHECK(std::string(deep.status().message()) == "variables: JSON nests deeper than 256 levels");
}
