#include "osprey/prompts/validate.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace v1 = osprey::prompts::v1;
using osprey::prompts::InvocationParametersType;
using osprey::prompts::IsModelProvider;
using osprey::prompts::ValidateIdentifier;
using osprey::prompts::ValidateMetadataJson;
using osprey::prompts::ValidateVersion;

namespace {

v1::PromptVersion ChatVersion() {
  v1::PromptVersion v;
  v.set_model_provider("OPENAI");
  v.set_model_name("gpt-4o-mini");
  v.set_template_type(v1::TEMPLATE_TYPE_CHAT);
  v.set_template_format(v1::TEMPLATE_FORMAT_MUSTACHE);
  v.set_template_json(R"({"type":"chat","messages":[{"role":"system","content":"You are {{persona}}."},)"
                      R"({"role":"user","content":[{"type":"text","text":"Hi {{name}}"}]}]})");
  v.set_invocation_parameters_json(R"({"type":"openai","openai":{"temperature":0.2}})");
  return v;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// The error of a version changed by `edit`; empty when it validates.
template <typename Edit>
std::string ErrorOf(Edit edit) {
  v1::PromptVersion v = ChatVersion();
  edit(v);
  absl::Status status = ValidateVersion(v);
  if (!status.ok()) CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  return Message(status);
}

}  // namespace

TEST_CASE("identifiers follow Phoenix's pattern", "[validate]") {
  for (const char* ok : {"a", "0", "my-prompt", "my_prompt", "a1-b_2", "x9"}) {
    INFO(ok);
    CHECK(ValidateIdentifier(ok).ok());
  }
  for (const char* bad : {"", "-a", "a-", "_a", "a_", "A", "My-Prompt", "a b", "a/b", "a.b", "é", "a\n"}) {
    INFO(bad);
    absl::Status status = ValidateIdentifier(bad, "prompt.name");
    REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(status).rfind("prompt.name: ", 0) == 0);
    CHECK_THAT(Message(status), Catch::Contains("not a valid identifier"));
  }
}

TEST_CASE("model providers and their invocation-parameter types", "[validate]") {
  CHECK(IsModelProvider("OPENAI"));
  CHECK(IsModelProvider("TOGETHER"));
  CHECK_FALSE(IsModelProvider("openai"));
  CHECK_FALSE(IsModelProvider("MISTRAL"));
  CHECK(InvocationParametersType("AZURE_OPENAI") == "azure_openai");
  CHECK(InvocationParametersType("ANTHROPIC") == "anthropic");
  CHECK(InvocationParametersType("NOPE").empty());
}

TEST_CASE("a well-formed chat version validates", "[validate]") {
  CHECK(ErrorOf([](v1::PromptVersion&) {}) == "");
}

TEST_CASE("every provider validates with its own parameters", "[validate]") {
  struct Case {
    const char* provider;
    const char* params;
  };
  for (const Case& c : {
           Case{"OPENAI", R"({"type":"openai","openai":{"temperature":1,"max_tokens":10,"max_completion_tokens":5,)"
                          R"("frequency_penalty":0.1,"presence_penalty":-0.1,"top_p":0.9,"seed":42,)"
                          R"("stop":["\n"],"reasoning_effort":"xhigh","extra_body":{"a":[1]}}})"},
           Case{"AZURE_OPENAI", R"({"type":"azure_openai","azure_openai":{}})"},
           Case{"ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":1024,"temperature":0.5,"top_p":1,)"
                             R"("stop_sequences":["x"],"output_config":{"effort":"max"},)"
                             R"("thinking":{"type":"enabled","budget_tokens":1024,"display":"omitted"},)"
                             R"("extra_body":{}}})"},
           Case{"ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":1,"thinking":{"type":"adaptive"}}})"},
           Case{"GOOGLE", R"({"type":"google","google":{"temperature":0.1,"max_output_tokens":100,"top_k":40,)"
                          R"("stop_sequences":[],"thinking_config":{"thinking_budget":0,"thinking_level":"low",)"
                          R"("include_thoughts":true}}})"},
           Case{"AWS", R"({"type":"aws","aws":{"max_tokens":5,"temperature":0,"top_p":1,"stop_sequences":["a"]}})"},
           Case{"DEEPSEEK", R"({"type":"deepseek","deepseek":{"seed":1}})"},
           Case{"XAI", R"({"type":"xai","xai":{}})"},
           Case{"OLLAMA", R"({"type":"ollama","ollama":{}})"},
           Case{"CEREBRAS", R"({"type":"cerebras","cerebras":{}})"},
           Case{"FIREWORKS", R"({"type":"fireworks","fireworks":{}})"},
           Case{"GROQ", R"({"type":"groq","groq":{}})"},
           Case{"MOONSHOT", R"({"type":"moonshot","moonshot":{}})"},
           Case{"PERPLEXITY", R"({"type":"perplexity","perplexity":{}})"},
           Case{"TOGETHER", R"({"type":"together","together":{"max_tokens":2.0}})"},
       }) {
    INFO(c.provider << " " << c.params);
    CHECK(ErrorOf([&](v1::PromptVersion& v) {
            v.set_model_provider(c.provider);
            v.set_invocation_parameters_json(c.params);
          }) == "");
  }
}

TEST_CASE("invocation parameters: precise errors", "[validate]") {
  auto with_params = [](const char* provider, const char* params) {
    return ErrorOf([&](v1::PromptVersion& v) {
      v.set_model_provider(provider);
      v.set_invocation_parameters_json(params);
    });
  };
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"foo":1}})") ==
        R"(version.invocation_parameters.openai: unknown key "foo")");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{},"extra":1})") ==
        R"(version.invocation_parameters: unknown key "extra")");
  CHECK(with_params("OPENAI", R"({"type":"anthropic","anthropic":{"max_tokens":1}})") ==
        R"(version.invocation_parameters.type: "anthropic" does not match model_provider OPENAI (expected "openai"))");
  CHECK_THAT(with_params("OPENAI", R"({"type":"mistral","mistral":{}})"),
             Catch::StartsWith(R"(version.invocation_parameters.type: "mistral" is not one of openai, azure_openai)"));
  CHECK(with_params("OPENAI", R"({"openai":{}})") == R"(version.invocation_parameters: missing required key "type")");
  CHECK(with_params("OPENAI", R"({"type":"openai"})") ==
        R"(version.invocation_parameters: missing required key "openai")");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"temperature":"hot"}})") ==
        "version.invocation_parameters.openai.temperature: expected a number, got a string");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"max_tokens":1.5}})") ==
        "version.invocation_parameters.openai.max_tokens: expected an integer, got a number");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"seed":true}})") ==
        "version.invocation_parameters.openai.seed: expected an integer, got a boolean");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"stop":["a",1]}})") ==
        "version.invocation_parameters.openai.stop[1]: expected a string, got a number");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"reasoning_effort":"extreme"}})") ==
        R"(version.invocation_parameters.openai.reasoning_effort: "extreme" is not one of none, minimal, low, medium, high, xhigh)");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"extra_body":[1]}})") ==
        "version.invocation_parameters.openai.extra_body: expected an object, got an array");
  CHECK(with_params("OPENAI", R"({"type":"openai","openai":{"temperature":null}})") ==
        "version.invocation_parameters.openai.temperature: expected a number, got null");
  CHECK(with_params("ANTHROPIC", R"({"type":"anthropic","anthropic":{"temperature":1}})") ==
        R"(version.invocation_parameters.anthropic: missing required key "max_tokens")");
  CHECK(with_params("ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1023}}})") ==
        "version.invocation_parameters.anthropic.thinking.budget_tokens: must be at least 1024");
  CHECK(with_params("ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":9,"thinking":{"type":"enabled"}}})") ==
        R"(version.invocation_parameters.anthropic.thinking: missing required key "budget_tokens")");
  CHECK(with_params("ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":9,"thinking":{"type":"disabled","budget_tokens":2000}}})") ==
        R"(version.invocation_parameters.anthropic.thinking: unknown key "budget_tokens")");
  CHECK(with_params("ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":9,"thinking":{"type":"on"}}})") ==
        R"(version.invocation_parameters.anthropic.thinking.type: "on" is not one of disabled, enabled, adaptive)");
  CHECK(with_params("ANTHROPIC", R"({"type":"anthropic","anthropic":{"max_tokens":9,"output_config":{"effort":"huge"}}})") ==
        R"(version.invocation_parameters.anthropic.output_config.effort: "huge" is not one of low, medium, high, xhigh, max)");
  CHECK(with_params("GOOGLE", R"({"type":"google","google":{"max_tokens":5}})") ==
        R"(version.invocation_parameters.google: unknown key "max_tokens")");
  CHECK(with_params("GOOGLE", R"({"type":"google","google":{"thinking_config":{"include_thoughts":"yes"}}})") ==
        "version.invocation_parameters.google.thinking_config.include_thoughts: expected a boolean, got a string");
  CHECK(with_params("AWS", R"({"type":"aws","aws":{"seed":1}})") == R"(version.invocation_parameters.aws: unknown key "seed")");
  CHECK_THAT(with_params("OPENAI", R"({"type":"openai",)"),
             Catch::StartsWith("version.invocation_parameters: invalid JSON at offset"));
  CHECK(with_params("OPENAI", R"(["openai"])") == "version.invocation_parameters: expected an object, got an array");
  CHECK_THAT(with_params("OPENAI", R"({"type":"openai","openai":{}} trailing)"),
             Catch::StartsWith("version.invocation_parameters: invalid JSON"));
}

TEST_CASE("model provider, name, template type and format", "[validate]") {
  CHECK_THAT(ErrorOf([](v1::PromptVersion& v) { v.set_model_provider("openai"); }),
             Catch::StartsWith(R"(version.model_provider: "openai" is not one of OPENAI, AZURE_OPENAI, ANTHROPIC)"));
  CHECK(ErrorOf([](v1::PromptVersion& v) { v.set_model_name(""); }) == "version.model_name: must not be empty");
  CHECK(ErrorOf([](v1::PromptVersion& v) { v.set_template_type(v1::TEMPLATE_TYPE_UNSPECIFIED); }) ==
        "version.template_type: must be CHAT or STR");
  CHECK(ErrorOf([](v1::PromptVersion& v) { v.set_template_format(v1::TEMPLATE_FORMAT_UNSPECIFIED); }) ==
        "version.template_format: must be MUSTACHE, F_STRING or NONE");
  CHECK(ErrorOf([](v1::PromptVersion& v) { v.set_template_type(v1::TEMPLATE_TYPE_STR); }) ==
        R"(version.template.type: "chat" does not match template_type STR (expected "string"))");
  CHECK(ErrorOf([](v1::PromptVersion& v) {
          v.set_template_type(v1::TEMPLATE_TYPE_STR);
          v.set_template_json(R"({"type":"string","template":"Hello {name}"})");
        }) == "");
  CHECK(ErrorOf([](v1::PromptVersion& v) { v.set_template_json(R"({"type":"string","template":"x"})"); }) ==
        R"(version.template.type: "string" does not match template_type CHAT (expected "chat"))");
  CHECK(ErrorOf([](v1::PromptVersion& v) {
          v.set_template_type(v1::TEMPLATE_TYPE_STR);
          v.set_template_json(R"({"type":"string","template":7})");
        }) == "version.template.template: expected a string, got a number");
}

TEST_CASE("chat templates: messages, roles and content parts", "[validate]") {
  auto with_template = [](const std::string& json) {
    return ErrorOf([&](v1::PromptVersion& v) { v.set_template_json(json); });
  };
  CHECK(with_template(R"({"type":"chat","messages":[]})") == "");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"ai","content":"x"},{"role":"model","content":"y"},)"
                      R"({"role":"developer","content":"z"},{"role":"tool","content":[{"type":"tool_result",)"
                      R"("tool_call_id":"c1","tool_result":{"ok":[1,null]}}]},{"role":"assistant","content":)"
                      R"([{"type":"tool_call","tool_call_id":"c1","tool_call":{"type":"function","name":"f",)"
                      R"("arguments":"{\"a\":1}"}}]}]})") == "");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"tool","content":[{"type":"tool_result",)"
                      R"("tool_call_id":"c","tool_result":null}]}]})") == "");
  CHECK(with_template(R"({"type":"chat"})") == R"(version.template: missing required key "messages")");
  CHECK(with_template(R"({"messages":[]})") ==
        R"(version.template: missing required key "type" (one of chat, string))");
  CHECK(with_template(R"({"type":"prose","messages":[]})") ==
        R"(version.template.type: "prose" is not one of chat, string)");
  CHECK(with_template(R"({"type":"chat","messages":[],"x":1})") == R"(version.template: unknown key "x")");
  CHECK(with_template(R"({"type":"chat","messages":{}})") ==
        "version.template.messages: expected an array of messages, got an object");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user","content":"a"},{"role":"human","content":"b"}]})") ==
        R"(version.template.messages[1].role: "human" is not one of user, assistant, model, ai, tool, system, developer)");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user"}]})") ==
        R"(version.template.messages[0]: missing required key "content")");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user","content":"a","name":"bob"}]})") ==
        R"(version.template.messages[0]: unknown key "name")");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user","content":[]}]})") ==
        "version.template.messages[0].content: expected at least one content part");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user","content":5}]})") ==
        "version.template.messages[0].content: expected a string or an array of parts, got a number");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user","content":[{"type":"image","url":"x"}]}]})") ==
        R"(version.template.messages[0].content[0].type: "image" is not one of text, tool_call, tool_result)");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"user","content":[{"type":"text"}]}]})") ==
        R"(version.template.messages[0].content[0]: missing required key "text")");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"assistant","content":[{"type":"tool_call",)"
                      R"("tool_call_id":"c","tool_call":{"type":"function","name":"f","arguments":{"a":1}}}]}]})") ==
        "version.template.messages[0].content[0].tool_call.arguments: expected a string, got an object");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"assistant","content":[{"type":"tool_call",)"
                      R"("tool_call_id":"c","tool_call":{"type":"builtin","name":"f","arguments":""}}]}]})") ==
        R"(version.template.messages[0].content[0].tool_call.type: "builtin" is not one of function)");
  CHECK(with_template(R"({"type":"chat","messages":[{"role":"tool","content":[{"type":"tool_result","tool_result":1}]}]})") ==
        R"(version.template.messages[0].content[0]: missing required key "tool_call_id")");
  CHECK_THAT(with_template("not json"), Catch::Equals("version.template: invalid JSON at offset 1: Invalid value."));
}

TEST_CASE("tools and tool choice", "[validate]") {
  auto with_tools = [](const char* json) { return ErrorOf([&](v1::PromptVersion& v) { v.set_tools_json(json); }); };
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"name":"get_weather",)"
                   R"("description":"d","parameters":{"type":"object"},"strict":true}},{"type":"raw","raw":{"x":1}}],)"
                   R"("tool_choice":{"type":"specific_function","function_name":"get_weather"},)"
                   R"("disable_parallel_tool_calls":true})") == "");
  for (const char* choice : {"none", "zero_or_more", "one_or_more"}) {
    std::string json = std::string(R"({"type":"tools","tools":[{"type":"function","function":{"name":"f"}}],)") +
                       R"("tool_choice":{"type":")" + choice + R"("}})";
    CHECK(with_tools(json.c_str()) == "");
  }
  CHECK(with_tools("null") == "");
  CHECK(with_tools(R"({"type":"tools","tools":[]})") == "version.tools.tools: expected at least one tool");
  CHECK(with_tools(R"({"type":"toolbox","tools":[]})") == R"(version.tools.type: expected "tools", got "toolbox")");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"description":"no name"}}]})") ==
        R"(version.tools.tools[0].function: missing required key "name")");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}]})") ==
        "version.tools.tools[0].function.parameters: expected an object, got a string");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"name":"f"},"strict":true}]})") ==
        R"(version.tools.tools[0]: unknown key "strict")");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"raw","raw":[]}]})") ==
        "version.tools.tools[0].raw: expected an object, got an array");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"auto"}})") ==
        R"(version.tools.tool_choice.type: "auto" is not one of none, zero_or_more, one_or_more, specific_function)");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"specific_function"}})") ==
        R"(version.tools.tool_choice: missing required key "function_name")");
  CHECK(with_tools(R"({"type":"tools","tools":[{"type":"function","function":{"name":"f"}}],"disable_parallel_tool_calls":1})") ==
        "version.tools.disable_parallel_tool_calls: expected a boolean, got a number");
}

TEST_CASE("response format", "[validate]") {
  auto with_format = [](const char* json) {
    return ErrorOf([&](v1::PromptVersion& v) { v.set_response_format_json(json); });
  };
  CHECK(with_format(R"({"type":"json_schema","json_schema":{"name":"answer","description":"d",)"
                    R"("schema":{"type":"object"},"strict":false}})") == "");
  CHECK(with_format("null") == "");
  CHECK(with_format(R"({"type":"json_object"})") == R"(version.response_format.type: "json_object" is not one of json_schema)");
  CHECK(with_format(R"({"type":"json_schema","json_schema":{"schema":{}}})") ==
        R"(version.response_format.json_schema: missing required key "name")");
  CHECK(with_format(R"({"type":"json_schema","json_schema":{"name":"a","strict":"yes"}})") ==
        "version.response_format.json_schema.strict: expected a boolean, got a string");
  CHECK(with_format(R"({"type":"json_schema","json_schema":{"name":"a"},"x":{}})") ==
        R"(version.response_format: unknown key "x")");
}

TEST_CASE("metadata must be a JSON object", "[validate]") {
  CHECK(ValidateMetadataJson("{}").ok());
  CHECK(ValidateMetadataJson(R"({"team":"search","n":[1]})").ok());
  CHECK(Message(ValidateMetadataJson("[]", "prompt.metadata")) == "prompt.metadata: expected an object, got an array");
  CHECK(Message(ValidateMetadataJson("null")) == "metadata: expected an object, got null");
  CHECK_THAT(Message(ValidateMetadataJson("{")), Catch::StartsWith("metadata: invalid JSON"));
}

TEST_CASE("deeply nested JSON is refused, never a crash", "[validate]") {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(ErrorOf([&](v1::PromptVersion& v) {
          v.set_template_json(R"({"type":"chat","messages":[{"role":"tool","content":[{"type":"tool_result",)"
                              R"("tool_call_id":"c","tool_result":)" + nested(250) + "}]}]}");
        }) == "");
  CHECK(ErrorOf([&](v1::PromptVersion& v) {
          v.set_template_json(R"({"type":"chat","messages":[{"role":"tool","content":[{"type":"tool_result",)"
                              R"("tool_call_id":"c","tool_result":)" + nested(300) + "}]}]}");
        }) == "version.template: JSON nests deeper than 256 levels");
  // Two million levels: the parser does not recurse.
  CHECK(ErrorOf([&](v1::PromptVersion& v) { v.set_tools_json(nested(2'000'000)); }) ==
        "version.tools: JSON nests deeper than 256 levels");
  CHECK(Message(ValidateMetadataJson(nested(1'000'000))) == "metadata: JSON nests deeper than 256 levels");
}
