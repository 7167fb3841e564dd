#include "osprey/prompts/validate.hpp"

#include <array>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "json_util.hpp"
#include "osprey/base/status.hpp"
#include "rapidjson/document.h"

namespace osprey::prompts {
namespace {

namespace v1 = osprey::prompts::v1;
using rapidjson::Value;

// A rule for one key of a JSON object: whether it must be present and how its value is checked.
// `check` gets the value and the value's path.
using Check = std::function<absl::Status(const Value&, const std::string&)>;
struct KeyRule {
  std::string_view key;
  bool required;
  Check check;
};
using ObjectRules = std::vector<KeyRule>;

absl::Status Invalid(const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(Cat(path, ": ", what));
}

std::string Quoted(std::string_view s) { return Cat("\"", s, "\""); }

std::string Member(const std::string& path, std::string_view key) { return Cat(path, ".", key); }

// Objects forbid extra keys (Phoenix's models use extra=forbid / additionalProperties:false).
absl::Status CheckObject(const Value& value, const std::string& path, const ObjectRules& rules) {
  if (!value.IsObject()) return Invalid(path, Cat("expected an object, got ", JsonTypeName(value)));
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    bool known = false;
    for (const KeyRule& rule : rules) known = known || rule.key == key;
    if (!known) return Invalid(path, Cat("unknown key ", Quoted(key)));
  }
  for (const KeyRule& rule : rules) {
    const Value* member = FindMember(value, rule.key);
    if (member == nullptr) {
      if (rule.required) return Invalid(path, Cat("missing required key ", Quoted(rule.key)));
      continue;
    }
    OSPREY_RETURN_IF_ERROR(rule.check(*member, Member(path, rule.key)));
  }
  return absl::OkStatus();
}

// A union discriminated by the "type" key: the variant named by "type" checks the whole object.
absl::Status CheckTagged(const Value& value, const std::string& path,
                         const std::vector<std::pair<std::string_view, const ObjectRules*>>& variants) {
  if (!value.IsObject()) return Invalid(path, Cat("expected an object, got ", JsonTypeName(value)));
  std::vector<std::string_view> names;
  for (const auto& variant : variants) names.push_back(variant.first);
  const Value* type = FindMember(value, "type");
  if (type == nullptr) {
    return Invalid(path, Cat("missing required key \"type\" (one of ", Join(names, ", "), ")"));
  }
  if (!type->IsString()) return Invalid(Member(path, "type"), Cat("expected a string, got ", JsonTypeName(*type)));
  std::string_view name(type->GetString(), type->GetStringLength());
  for (const auto& variant : variants) {
    if (variant.first == name) return CheckObject(value, path, *variant.second);
  }
  return Invalid(Member(path, "type"), Cat(Quoted(name), " is not one of ", Join(names, ", ")));
}

absl::Status IsString(const Value& v, const std::string& path) {
  return v.IsString() ? absl::OkStatus() : Invalid(path, Cat("expected a string, got ", JsonTypeName(v)));
}

absl::Status IsNumber(const Value& v, const std::string& path) {
  return v.IsNumber() ? absl::OkStatus() : Invalid(path, Cat("expected a number, got ", JsonTypeName(v)));
}

// Integral floats (2.0) pass, as pydantic's lax int accepts them.
absl::Status IsInteger(const Value& v, const std::string& path) {
  if (v.IsInt64() || v.IsUint64()) return absl::OkStatus();
  if (v.IsDouble() && std::isfinite(v.GetDouble()) && std::floor(v.GetDouble()) == v.GetDouble()) {
    return absl::OkStatus();
  }
  return Invalid(path, Cat("expected an integer, got ", JsonTypeName(v)));
}

absl::Status IsBool(const Value& v, const std::string& path) {
  return v.IsBool() ? absl::OkStatus() : Invalid(path, Cat("expected a boolean, got ", JsonTypeName(v)));
}

// `dict` fields (extra_body, parameters, schema, raw): any JSON object.
absl::Status IsDict(const Value& v, const std::string& path) {
  return v.IsObject() ? absl::OkStatus() : Invalid(path, Cat("expected an object, got ", JsonTypeName(v)));
}

absl::Status IsAny(const Value&, const std::string&) { return absl::OkStatus(); }

absl::Status IsStringList(const Value& v, const std::string& path) {
  if (!v.IsArray()) return Invalid(path, Cat("expected an array of strings, got ", JsonTypeName(v)));
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    OSPREY_RETURN_IF_ERROR(IsString(v[i], Cat(path, "[", i, "]")));
  }
  return absl::OkStatus();
}

Check Enum(std::vector<std::string_view> allowed) {
  return [allowed = std::move(allowed)](const Value& v, const std::string& path) -> absl::Status {
    OSPREY_RETURN_IF_ERROR(IsString(v, path));
    std::string_view s(v.GetString(), v.GetStringLength());
    for (std::string_view a : allowed) {
      if (a == s) return absl::OkStatus();
    }
    return Invalid(path, Cat(Quoted(s), " is not one of ", Join(allowed, ", ")));
  };
}

Check Const(std::string_view expected) {
  return [expected](const Value& v, const std::string& path) -> absl::Status {
    OSPREY_RETURN_IF_ERROR(IsString(v, path));
    std::string_view s(v.GetString(), v.GetStringLength());
    if (s != expected) return Invalid(path, Cat("expected ", Quoted(expected), ", got ", Quoted(s)));
    return absl::OkStatus();
  };
}

Check IntegerAtLeast(int64_t minimum) {
  return [minimum](const Value& v, const std::string& path) -> absl::Status {
    OSPREY_RETURN_IF_ERROR(IsInteger(v, path));
    if (v.GetDouble() < static_cast<double>(minimum)) {
      return Invalid(path, Cat("must be at least ", minimum));
    }
    return absl::OkStatus();
  };
}

Check Object(const ObjectRules* rules) {
  return [rules](const Value& v, const std::string& path) { return CheckObject(v, path, *rules); };
}

// --- Templates -------------------------------------------------------------------------------------

const ObjectRules kToolCallFunction = {
    {"type", true, Const("function")}, {"name", true, IsString}, {"arguments", true, IsString}};
const ObjectRules kTextPart = {{"type", true, Const("text")}, {"text", true, IsString}};
const ObjectRules kToolCallPart = {
    {"type", true, Const("tool_call")},
    {"tool_call_id", true, IsString},
    {"tool_call", true,
     [](const Value& v, const std::string& path) { return CheckTagged(v, path, {{"function", &kToolCallFunction}}); }}};
const ObjectRules kToolResultPart = {
    {"type", true, Const("tool_result")}, {"tool_call_id", true, IsString}, {"tool_result", true, IsAny}};

absl::Status CheckContent(const Value& v, const std::string& path) {
  if (v.IsString()) return absl::OkStatus();
  if (!v.IsArray()) return Invalid(path, Cat("expected a string or an array of parts, got ", JsonTypeName(v)));
  if (v.Empty()) return Invalid(path, "expected at least one content part");
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    OSPREY_RETURN_IF_ERROR(CheckTagged(
        v[i], Cat(path, "[", i, "]"),
        {{"text", &kTextPart}, {"tool_call", &kToolCallPart}, {"tool_result", &kToolResultPart}}));
  }
  return absl::OkStatus();
}

const ObjectRules kMessage = {
    {"role", true, Enum({"user", "assistant", "model", "ai", "tool", "system", "developer"})},
    {"content", true, CheckContent}};

absl::Status CheckMessages(const Value& v, const std::string& path) {
  if (!v.IsArray()) return Invalid(path, Cat("expected an array of messages, got ", JsonTypeName(v)));
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    OSPREY_RETURN_IF_ERROR(CheckObject(v[i], Cat(path, "[", i, "]"), kMessage));
  }
  return absl::OkStatus();
}

const ObjectRules kChatTemplate = {{"type", true, Const("chat")}, {"messages", true, CheckMessages}};
const ObjectRules kStringTemplate = {{"type", true, Const("string")}, {"template", true, IsString}};

// --- Invocation parameters -------------------------------------------------------------------------

const std::vector<std::string_view> kReasoningEffort = {"none", "minimal", "low", "medium", "high", "xhigh"};

// OpenAI and every OpenAI-compatible provider share one parameter set.
const ObjectRules kOpenAILike = {
    {"temperature", false, IsNumber},       {"max_tokens", false, IsInteger},
    {"max_completion_tokens", false, IsInteger}, {"frequency_penalty", false, IsNumber},
    {"presence_penalty", false, IsNumber},  {"top_p", false, IsNumber},
    {"seed", false, IsInteger},             {"stop", false, IsStringList},
    {"reasoning_effort", false, Enum(kReasoningEffort)}, {"extra_body", false, IsDict}};

const ObjectRules kAnthropicOutputConfig = {{"effort", false, Enum({"low", "medium", "high", "xhigh", "max"})}};
const ObjectRules kThinkingDisabled = {{"type", true, Const("disabled")}};
const ObjectRules kThinkingEnabled = {{"type", true, Const("enabled")},
                                      {"budget_tokens", true, IntegerAtLeast(1024)},
                                      {"display", false, Enum({"summarized", "omitted"})}};
const ObjectRules kThinkingAdaptive = {{"type", true, Const("adaptive")},
                                       {"display", false, Enum({"summarized", "omitted"})}};
const ObjectRules kAnthropic = {
    {"max_tokens", true, IsInteger},
    {"temperature", false, IsNumber},
    {"top_p", false, IsNumber},
    {"stop_sequences", false, IsStringList},
    {"output_config", false, Object(&kAnthropicOutputConfig)},
    {"thinking", false,
     [](const Value& v, const std::string& path) {
       return CheckTagged(v, path,
                          {{"disabled", &kThinkingDisabled}, {"enabled", &kThinkingEnabled}, {"adaptive", &kThinkingAdaptive}});
     }},
    {"extra_body", false, IsDict}};

const ObjectRules kGoogleThinking = {{"thinking_budget", false, IsInteger},
                                     {"thinking_level", false, Enum({"minimal", "low", "medium", "high"})},
                                     {"include_thoughts", false, IsBool}};
const ObjectRules kGoogle = {{"temperature", false, IsNumber},      {"max_output_tokens", false, IsInteger},
                             {"stop_sequences", false, IsStringList}, {"presence_penalty", false, IsNumber},
                             {"frequency_penalty", false, IsNumber}, {"top_p", false, IsNumber},
                             {"top_k", false, IsInteger},           {"thinking_config", false, Object(&kGoogleThinking)}};

const ObjectRules kAws = {{"max_tokens", false, IsInteger},
                          {"temperature", false, IsNumber},
                          {"top_p", false, IsNumber},
                          {"stop_sequences", false, IsStringList}};

struct Provider {
  std::string_view name;        // ModelProvider
  std::string_view parameters;  // invocation_parameters discriminator
  const ObjectRules* rules;
};

const std::array<Provider, 14> kProviders = {{
    {"OPENAI", "openai", &kOpenAILike},
    {"AZURE_OPENAI", "azure_openai", &kOpenAILike},
    {"ANTHROPIC", "anthropic", &kAnthropic},
    {"GOOGLE", "google", &kGoogle},
    {"DEEPSEEK", "deepseek", &kOpenAILike},
    {"XAI", "xai", &kOpenAILike},
    {"OLLAMA", "ollama", &kOpenAILike},
    {"AWS", "aws", &kAws},
    {"CEREBRAS", "cerebras", &kOpenAILike},
    {"FIREWORKS", "fireworks", &kOpenAILike},
    {"GROQ", "groq", &kOpenAILike},
    {"MOONSHOT", "moonshot", &kOpenAILike},
    {"PERPLEXITY", "perplexity", &kOpenAILike},
    {"TOGETHER", "together", &kOpenAILike},
}};

const Provider* FindProvider(std::string_view name) {
  for (const Provider& p : kProviders) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const Provider* FindProviderByParameters(std::string_view type) {
  for (const Provider& p : kProviders) {
    if (p.parameters == type) return &p;
  }
  return nullptr;
}

std::string ProviderNames() {
  std::vector<std::string_view> names;
  for (const Provider& p : kProviders) names.push_back(p.name);
  return Join(names, ", ");
}

absl::Status CheckInvocationParameters(const Value& v, const std::string& path, const Provider& provider) {
  if (!v.IsObject()) return Invalid(path, Cat("expected an object, got ", JsonTypeName(v)));
  const Value* type = FindMember(v, "type");
  if (type == nullptr) return Invalid(path, "missing required key \"type\"");
  if (!type->IsString()) return Invalid(Member(path, "type"), Cat("expected a string, got ", JsonTypeName(*type)));
  std::string_view name(type->GetString(), type->GetStringLength());
  if (FindProviderByParameters(name) == nullptr) {
    std::vector<std::string_view> names;
    for (const Provider& p : kProviders) names.push_back(p.parameters);
    return Invalid(Member(path, "type"), Cat(Quoted(name), " is not one of ", Join(names, ", ")));
  }
  if (name != provider.parameters) {
    return Invalid(Member(path, "type"), Cat(Quoted(name), " does not match model_provider ", provider.name,
                                                      " (expected ", Quoted(provider.parameters), ")"));
  }
  const ObjectRules outer = {{"type", true, IsString}, {provider.parameters, true, Object(provider.rules)}};
  return CheckObject(v, path, outer);
}

// --- Tools and response format ---------------------------------------------------------------------

const ObjectRules kFunctionDefinition = {{"name", true, IsString},
                                         {"description", false, IsString},
                                         {"parameters", false, IsDict},
                                         {"strict", false, IsBool}};
const ObjectRules kToolFunction = {{"type", true, Const("function")}, {"function", true, Object(&kFunctionDefinition)}};
const ObjectRules kToolRaw = {{"type", true, Const("raw")}, {"raw", true, IsDict}};
const ObjectRules kChoiceNone = {{"type", true, Const("none")}};
const ObjectRules kChoiceZeroOrMore = {{"type", true, Const("zero_or_more")}};
const ObjectRules kChoiceOneOrMore = {{"type", true, Const("one_or_more")}};
const ObjectRules kChoiceSpecific = {{"type", true, Const("specific_function")}, {"function_name", true, IsString}};

absl::Status CheckToolList(const Value& v, const std::string& path) {
  if (!v.IsArray()) return Invalid(path, Cat("expected an array of tools, got ", JsonTypeName(v)));
  if (v.Empty()) return Invalid(path, "expected at least one tool");
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    OSPREY_RETURN_IF_ERROR(
        CheckTagged(v[i], Cat(path, "[", i, "]"), {{"function", &kToolFunction}, {"raw", &kToolRaw}}));
  }
  return absl::OkStatus();
}

const ObjectRules kTools = {
    {"type", true, Const("tools")},
    {"tools", true, CheckToolList},
    {"tool_choice", false,
     [](const Value& v, const std::string& path) {
       return CheckTagged(v, path,
                          {{"none", &kChoiceNone},
                           {"zero_or_more", &kChoiceZeroOrMore},
                           {"one_or_more", &kChoiceOneOrMore},
                           {"specific_function", &kChoiceSpecific}});
     }},
    {"disable_parallel_tool_calls", false, IsBool}};

const ObjectRules kJsonSchemaDefinition = {{"name", true, IsString},
                                           {"description", false, IsString},
                                           {"schema", false, IsDict},
                                           {"strict", false, IsBool}};
const ObjectRules kResponseFormat = {{"type", true, Const("json_schema")},
                                     {"json_schema", true, Object(&kJsonSchemaDefinition)}};

absl::StatusOr<rapidjson::Document> ParseField(std::string_view json, const std::string& path) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return Invalid(path, std::string(doc.status().message()));
  return doc;
}

}  // namespace

absl::Status ValidateIdentifier(std::string_view name, std::string_view field) {
  auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && is_alnum(name.front()) && is_alnum(name.back());
  for (char c : name) ok = ok && (is_alnum(c) || c == '_' || c == '-');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat(field, ": ", Quoted(name),
                                                 " is not a valid identifier: use lowercase letters, digits, '-' and "
                                                 "'_', starting and ending with a letter or digit "
                                                 "(^[a-z0-9]([_a-z0-9-]*[a-z0-9])?$)"));
}

bool IsModelProvider(std::string_view provider) { return FindProvider(provider) != nullptr; }

std::string_view InvocationParametersType(std::string_view provider) {
  const Provider* p = FindProvider(provider);
  return p == nullptr ? std::string_view() : p->parameters;
}

absl::Status ValidateVersion(const v1::PromptVersion& version) {
  const Provider* provider = FindProvider(version.model_provider());
  if (provider == nullptr) {
    return Invalid("version.model_provider",
                   Cat(Quoted(version.model_provider()), " is not one of ", ProviderNames()));
  }
  if (version.model_name().empty()) return Invalid("version.model_name", "must not be empty");

  const std::string template_path = "version.template";
  std::string_view expected_type;
  switch (version.template_type()) {
    case v1::TEMPLATE_TYPE_CHAT:
      expected_type = "chat";
      break;
    case v1::TEMPLATE_TYPE_STR:
      expected_type = "string";
      break;
    default:
      return Invalid("version.template_type", "must be CHAT or STR");
  }
  switch (version.template_format()) {
    case v1::TEMPLATE_FORMAT_MUSTACHE:
    case v1::TEMPLATE_FORMAT_F_STRING:
    case v1::TEMPLATE_FORMAT_NONE:
      break;
    default:
      return Invalid("version.template_format", "must be MUSTACHE, F_STRING or NONE");
  }
  {
    OSPREY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseField(version.template_json(), template_path));
    OSPREY_RETURN_IF_ERROR(
        CheckTagged(doc, template_path, {{"chat", &kChatTemplate}, {"string", &kStringTemplate}}));
    std::string_view type(doc["type"].GetString(), doc["type"].GetStringLength());
    if (type != expected_type) {
      return Invalid(Member(template_path, "type"),
                     Cat(Quoted(type), " does not match template_type ",
                                  version.template_type() == v1::TEMPLATE_TYPE_CHAT ? "CHAT" : "STR", " (expected ",
                                  Quoted(expected_type), ")"));
    }
  }
  {
    const std::string path = "version.invocation_parameters";
    OSPREY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseField(version.invocation_parameters_json(), path));
    OSPREY_RETURN_IF_ERROR(CheckInvocationParameters(doc, path, *provider));
  }
  if (version.has_tools_json()) {
    const std::string path = "version.tools";
    OSPREY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseField(version.tools_json(), path));
    if (!doc.IsNull()) OSPREY_RETURN_IF_ERROR(CheckObject(doc, path, kTools));
  }
  if (version.has_response_format_json()) {
    const std::string path = "version.response_format";
    OSPREY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseField(version.response_format_json(), path));
    if (!doc.IsNull()) {
      OSPREY_RETURN_IF_ERROR(CheckTagged(doc, path, {{"json_schema", &kResponseFormat}}));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMetadataJson(std::string_view metadata_json, std::string_view field) {
  const std::string path(field);
  OSPREY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseField(metadata_json, path));
  return IsDict(doc, path);
}

}  // namespace osprey::prompts
