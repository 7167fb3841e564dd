#include "osprey/prompts/render.hpp"

#include <utility>

#include "json_util.hpp"
#include "mustache.hpp"
#include "osprey/base/status.hpp"

namespace osprey::prompts {
namespace {

namespace v1 = osprey::prompts::v1;
using rapidjson::Value;

absl::StatusOr<rapidjson::Document> ParseVariables(std::string_view variables_json) {
  if (variables_json.empty()) variables_json = "{}";
  auto doc = ParseJson(variables_json);
  if (!doc.ok()) return absl::InvalidArgumentError(Cat("variables: ", doc.status().message()));
  if (!doc->IsObject()) return absl::InvalidArgumentError("variables: expected a JSON object");
  return doc;
}

absl::StatusOr<RenderedText> RenderTextValue(std::string_view text, v1::TemplateFormat format, const Value& variables) {
  switch (format) {
    case v1::TEMPLATE_FORMAT_MUSTACHE:
      return RenderMustacheValue(text, variables);
    case v1::TEMPLATE_FORMAT_F_STRING:
      return RenderFStringValue(text, variables);
    case v1::TEMPLATE_FORMAT_NONE:
      return RenderedText{std::string(text), {}};
    default:
      return absl::InvalidArgumentError("template_format: must be MUSTACHE, F_STRING or NONE");
  }
}

void MergeMissing(std::vector<std::string>& into, std::vector<std::string>&& names) {
  for (std::string& name : names) {
    bool seen = false;
    for (const std::string& m : into) seen = seen || m == name;
    if (!seen) into.push_back(std::move(name));
  }
}

// Renders `holder[key]` (a string) in place.
absl::Status RenderMember(Value& holder, const char* key, const std::string& path, v1::TemplateFormat format,
                          const Value& variables, rapidjson::Document::AllocatorType& allocator,
                          std::vector<std::string>& missing) {
  Value& text = holder[key];
  auto rendered = RenderTextValue(std::string_view(text.GetString(), text.GetStringLength()), format, variables);
  if (!rendered.ok()) return absl::InvalidArgumentError(Cat(path, ": ", rendered.status().message()));
  text.SetString(rendered->text.data(), static_cast<rapidjson::SizeType>(rendered->text.size()), allocator);
  MergeMissing(missing, std::move(rendered->missing_variables));
  return absl::OkStatus();
}

absl::StatusOr<RenderedTemplate> RenderTemplateValue(std::string_view template_json, v1::TemplateFormat format,
                                                     const Value& variables) {
  auto parsed = ParseJson(template_json);
  if (!parsed.ok()) return absl::InvalidArgumentError(Cat("template: ", parsed.status().message()));
  rapidjson::Document doc = std::move(parsed).value();
  auto& allocator = doc.GetAllocator();
  RenderedTemplate out;
  const Value* type = FindMember(doc, "type");
  if (type == nullptr || !type->IsString()) return absl::InvalidArgumentError("template.type: expected a string");
  std::string_view kind(type->GetString(), type->GetStringLength());
  if (kind == "string") {
    const Value* text = FindMember(doc, "template");
    if (text == nullptr || !text->IsString()) return absl::InvalidArgumentError("template.template: expected a string");
    OSPREY_RETURN_IF_ERROR(
        RenderMember(doc, "template", "template.template", format, variables, allocator, out.missing_variables));
  } else if (kind == "chat") {
    const Value* messages = FindMember(doc, "messages");
    if (messages == nullptr || !messages->IsArray()) {
      return absl::InvalidArgumentError("template.messages: expected an array");
    }
    Value& list = doc["messages"];
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      Value& message = list[i];
      const std::string path = Cat("template.messages[", i, "].content");
      const Value* content = FindMember(message, "content");
      if (content == nullptr) continue;
      if (content->IsString()) {
        OSPREY_RETURN_IF_ERROR(
            RenderMember(message, "content", path, format, variables, allocator, out.missing_variables));
        continue;
      }
      if (!content->IsArray()) continue;
      Value& parts = message["content"];
      for (rapidjson::SizeType p = 0; p < parts.Size(); ++p) {
        const Value* part_type = FindMember(parts[p], "type");
        const Value* text = FindMember(parts[p], "text");
        if (part_type == nullptr || !part_type->IsString() || std::string_view(part_type->GetString()) != "text" ||
            text == nullptr || !text->IsString()) {
          continue;  // tool calls and tool results are data, not template text
        }
        OSPREY_RETURN_IF_ERROR(RenderMember(parts[p], "text", Cat(path, "[", p, "].text"), format, variables,
                                            allocator, out.missing_variables));
      }
    }
  } else {
    return absl::InvalidArgumentError(Cat("template.type: \"", kind, "\" is not one of chat, string"));
  }
  out.template_json = ToJson(doc);
  return out;
}

template <typename Map>
absl::StatusOr<RenderedTemplate> RenderVersionWith(const v1::PromptVersion& version, const Map& variables) {
  rapidjson::Document context(rapidjson::kObjectType);
  auto& allocator = context.GetAllocator();
  for (const auto& [name, value] : variables) {
    context.AddMember(Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator),
                      Value(value.data(), static_cast<rapidjson::SizeType>(value.size()), allocator), allocator);
  }
  return RenderTemplateValue(version.template_json(), version.template_format(), context);
}

}  // namespace

absl::StatusOr<RenderedText> RenderMustache(std::string_view text, std::string_view variables_json) {
  OSPREY_ASSIGN_OR_RETURN(rapidjson::Document variables, ParseVariables(variables_json));
  return RenderMustacheValue(text, variables);
}

absl::StatusOr<RenderedText> RenderFString(std::string_view text, std::string_view variables_json) {
  OSPREY_ASSIGN_OR_RETURN(rapidjson::Document variables, ParseVariables(variables_json));
  return RenderFStringValue(text, variables);
}

absl::StatusOr<RenderedText> RenderText(std::string_view text, v1::TemplateFormat format,
                                        std::string_view variables_json) {
  OSPREY_ASSIGN_OR_RETURN(rapidjson::Document variables, ParseVariables(variables_json));
  return RenderTextValue(text, format, variables);
}

absl::StatusOr<RenderedTemplate> RenderTemplate(std::string_view template_json, v1::TemplateFormat format,
                                                std::string_view variables_json) {
  OSPREY_ASSIGN_OR_RETURN(rapidjson::Document variables, ParseVariables(variables_json));
  return RenderTemplateValue(template_json, format, variables);
}

absl::StatusOr<RenderedTemplate> RenderVersion(const v1::PromptVersion& version,
                                               const std::map<std::string, std::string>& variables) {
  return RenderVersionWith(version, variables);
}

absl::StatusOr<RenderedTemplate> RenderVersion(const v1::PromptVersion& version,
                                               const google::protobuf::Map<std::string, std::string>& variables) {
  return RenderVersionWith(version, variables);
}

}  // namespace osprey::prompts
