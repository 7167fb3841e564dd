#include "osprey/query/prompts_api.hpp"

#include <charconv>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "osprey/base/status.hpp"
#include "osprey/http/json.hpp"
#include "osprey/prompts/validate.hpp"
#include "osprey/query/global_id.hpp"
#include "osprey/query/params.hpp"
#include "rapidjson/document.h"

namespace osprey::query {
namespace {

namespace v1 = osprey::prompts::v1;
using http::JsonWriter;
using rapidjson::Value;
using Reply = Parsed<http::Response>;

constexpr char kIdentifierPattern[] = "^[a-z0-9]([_a-z0-9-]*[a-z0-9])?$";
constexpr int kMaxPageSize = 1000;  // the registry's bound; a larger limit is served in pages of this size

void WriteStr(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

std::string Json(const Value& value) { return http::ToString(value); }

const Value* Member(const Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Stored JSON text (validated by the registry) written as a JSON value; `fallback` if it does not parse.
void WriteStoredJson(JsonWriter& w, const std::string& json, std::string_view fallback) {
  rapidjson::Document doc;
  if (http::ParseJson(json, doc).ok()) {
    doc.Accept(w);
  } else {
    w.RawValue(fallback.data(), fallback.size(), rapidjson::kObjectType);
  }
}

std::string_view TemplateTypeName(v1::TemplateType type) { return type == v1::TEMPLATE_TYPE_STR ? "STR" : "CHAT"; }

std::string_view TemplateFormatName(v1::TemplateFormat format) {
  switch (format) {
    case v1::TEMPLATE_FORMAT_F_STRING:
      return "F_STRING";
    case v1::TEMPLATE_FORMAT_NONE:
      return "NONE";
    default:
      return "MUSTACHE";
  }
}

// ---------------------------------------------------------------- response bodies

void WritePrompt(JsonWriter& w, const v1::Prompt& prompt) {
  w.StartObject();
  w.Key("name");
  WriteStr(w, prompt.name());
  if (prompt.has_description()) {
    w.Key("description");
    WriteStr(w, prompt.description());
  }
  if (prompt.has_source_prompt_id()) {
    w.Key("source_prompt_id");
    WriteStr(w, EncodeGlobalId(kPromptType, prompt.source_prompt_id()));
  }
  w.Key("metadata");
  WriteStoredJson(w, prompt.metadata_json().empty() ? "{}" : prompt.metadata_json(), "{}");
  w.Key("id");
  WriteStr(w, EncodeGlobalId(kPromptType, prompt.id()));
  w.EndObject();
}

void WriteVersion(JsonWriter& w, const v1::PromptVersion& version) {
  w.StartObject();
  if (version.has_description()) {
    w.Key("description");
    WriteStr(w, version.description());
  }
  w.Key("model_provider");
  WriteStr(w, version.model_provider());
  w.Key("model_name");
  WriteStr(w, version.model_name());
  w.Key("template");
  WriteStoredJson(w, version.template_json(), "null");
  w.Key("template_type");
  WriteStr(w, TemplateTypeName(version.template_type()));
  w.Key("template_format");
  WriteStr(w, TemplateFormatName(version.template_format()));
  w.Key("invocation_parameters");
  WriteStoredJson(w, version.invocation_parameters_json(), "null");
  if (version.has_tools_json() && version.tools_json() != "null") {
    w.Key("tools");
    WriteStoredJson(w, version.tools_json(), "null");
  }
  if (version.has_response_format_json() && version.response_format_json() != "null") {
    w.Key("response_format");
    WriteStoredJson(w, version.response_format_json(), "null");
  }
  w.Key("id");
  WriteStr(w, EncodeGlobalId(kPromptVersionType, version.id()));
  w.EndObject();
}

void WriteTag(JsonWriter& w, const v1::Tag& tag) {
  w.StartObject();
  w.Key("name");
  WriteStr(w, tag.name());
  if (tag.has_description()) {
    w.Key("description");
    WriteStr(w, tag.description());
  }
  w.Key("id");
  WriteStr(w, EncodeGlobalId(kPromptVersionTagType, tag.id()));
  w.EndObject();
}

template <typename Write>
http::Response DataReply(Write write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  write(w);
  w.EndObject();
  return http::Response::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

// {"data":[...], "next_cursor": GlobalID|null}.
template <typename Item, typename Write>
http::Response PageReply(const google::protobuf::RepeatedPtrField<Item>& items, size_t count,
                         const std::optional<std::string>& next_cursor, Write write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("data");
  w.StartArray();
  for (size_t i = 0; i < count; ++i) write(w, items[static_cast<int>(i)]);
  w.EndArray();
  w.Key("next_cursor");
  if (next_cursor) {
    WriteStr(w, *next_cursor);
  } else {
    w.Null();
  }
  w.EndObject();
  return http::Response::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

// ---------------------------------------------------------------- registry errors

// The registry's INVALID_ARGUMENT message is "<field path>: <what>" with paths like
// `version.template.messages[1].role`; this splits the path into FastAPI `loc` parts.
std::vector<std::string> SplitFieldPath(std::string_view path) {
  std::vector<std::string> loc;
  std::string current;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!current.empty()) loc.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) loc.push_back(std::move(current));
  return loc;
}

// The value at `loc` inside the request body, if any.
const Value* ValueAt(const Value& body, const std::vector<std::string>& loc) {
  const Value* current = &body;
  for (const std::string& part : loc) {
    if (current->IsObject()) {
      current = Member(*current, part.c_str());
    } else if (current->IsArray() && !part.empty() && part.size() < 10 &&
               part.find_first_not_of("0123456789") == std::string::npos) {
      size_t index = std::stoul(part);
      current = index < current->Size() ? &(*current)[static_cast<rapidjson::SizeType>(index)] : nullptr;
    } else {
      current = nullptr;
    }
    if (current == nullptr) return nullptr;
  }
  return current;
}

// An INVALID_ARGUMENT from the registry about the posted body as a pydantic-style 422.
Rejection BodyFieldRejection(std::string_view message, const Value& body) {
  size_t colon = message.find(": ");
  if (colon == std::string_view::npos || message.substr(0, colon).find(' ') != std::string_view::npos) {
    return BodyValidationRejection({BodyIssue{{}, "value_error", std::string(message), Json(body), ""}});
  }
  std::vector<std::string> loc = SplitFieldPath(message.substr(0, colon));
  std::string what(message.substr(colon + 2));
  const Value* at = ValueAt(body, loc);
  std::string input = at != nullptr ? Json(*at) : "null";
  auto quoted_key = [&](std::string_view prefix) -> std::optional<std::string> {
    if (what.rfind(prefix, 0) != 0 || what.size() < prefix.size() + 2 || what[prefix.size()] != '"') return std::nullopt;
    size_t end = what.find('"', prefix.size() + 1);
    if (end == std::string::npos) return std::nullopt;
    return what.substr(prefix.size() + 1, end - prefix.size() - 1);
  };
  if (auto key = quoted_key("unknown key ")) {
    loc.push_back(*key);
    const Value* extra = ValueAt(body, loc);
    return BodyValidationRejection(
        {BodyIssue{loc, "extra_forbidden", "Extra inputs are not permitted", extra ? Json(*extra) : "null", ""}});
  }
  if (auto key = quoted_key("missing required key ")) {
    loc.push_back(*key);
    return BodyValidationRejection({BodyIssue{loc, "missing", "Field required", input, ""}});
  }
  return BodyValidationRejection({BodyIssue{loc, "value_error", what, input, ""}});
}

Rejection RegistryRejection(const grpc::Status& status) {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return TextRejection(404, "not_found", message);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return TextRejection(422, "invalid_argument", message);
    case grpc::StatusCode::ALREADY_EXISTS:
      return TextRejection(409, "already_exists", message);
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return StoreErrorRejection(base::Retryable(absl::StatusCode::kUnavailable, "prompt registry: " + message));
    default:
      return StoreErrorRejection(base::Permanent(absl::StatusCode::kInternal, "prompt registry: " + message));
  }
}

// ---------------------------------------------------------------- request parsing

// A prompt_identifier: a Prompt GlobalID, else a name.
v1::PromptRef PromptRefOf(const std::string& identifier) {
  v1::PromptRef ref;
  if (std::optional<int64_t> id = DecodeGlobalIdOfType(identifier, kPromptType)) {
    ref.set_id(*id);
  } else {
    ref.set_name(identifier);
  }
  return ref;
}

Parsed<int64_t> VersionIdOf(const http::Request& request) {
  std::string text = PathValue(request, "prompt_version_id");
  if (std::optional<int64_t> id = DecodeGlobalIdOfType(text, kPromptVersionType)) return *id;
  return TextRejection(422, "invalid_identifier", "Invalid prompt version ID: " + text);
}

struct PageRequest {
  int limit = 100;
  std::string page_token;  // the registry's keyset token: the decimal id of the page's first row
};

Parsed<PageRequest> ParsePage(const http::Request& request, std::string_view cursor_type) {
  std::vector<ValidationIssue> issues;
  PageRequest page;
  page.limit = ParseLimit(request, 100, std::nullopt, issues);
  if (!issues.empty()) return ValidationRejection(issues);
  page.limit = std::min(page.limit, kMaxPageSize);
  Parsed<std::optional<int64_t>> cursor = ParseCursor(request, cursor_type);
  if (auto* rejection = std::get_if<Rejection>(&cursor)) return std::move(*rejection);
  if (auto id = std::get<std::optional<int64_t>>(cursor)) page.page_token = std::to_string(*id);
  return page;
}

// Phoenix's next_cursor (GlobalID of the next page's first row) from the registry's token.
std::optional<std::string> NextCursor(const std::string& page_token, std::string_view type) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(page_token.data(), page_token.data() + page_token.size(), id);
  if (page_token.empty() || ec != std::errc() || end != page_token.data() + page_token.size()) return std::nullopt;
  return EncodeGlobalId(type, id);
}

// Field checks of a JSON body object that append pydantic-style issues.
class BodyFields final {
 public:
  BodyFields(const Value& object, std::vector<std::string> loc, std::vector<BodyIssue>& issues)
      : object_(object), loc_(std::move(loc)), issues_(issues) {}

  // A required string (or, with `nullable`, absent / null / string).
  std::optional<std::string> String(const char* key, bool required, bool nullable = false) {
    const Value* value = Member(object_, key);
    if (value == nullptr || (nullable && value->IsNull())) {
      if (required) Issue(key, "missing", "Field required", Json(object_));
      return std::nullopt;
    }
    if (!value->IsString()) {
      Issue(key, "string_type", "Input should be a valid string", Json(*value));
      return std::nullopt;
    }
    return std::string(value->GetString(), value->GetStringLength());
  }

  // Phoenix's Identifier.
  std::optional<std::string> Identifier(const char* key) {
    std::optional<std::string> name = String(key, true);
    if (name && !prompts::ValidateIdentifier(*name).ok()) {
      Issue(key, "string_pattern_mismatch", std::string("String should match pattern '") + kIdentifierPattern + "'",
            Json(*Member(object_, key)), std::string("{\"pattern\":\"") + kIdentifierPattern + "\"}");
      return std::nullopt;
    }
    return name;
  }

  // One of `allowed`.
  std::optional<std::string> Enum(const char* key, const std::vector<std::string_view>& allowed) {
    std::optional<std::string> text = String(key, true);
    if (!text) return std::nullopt;
    for (std::string_view a : allowed) {
      if (a == *text) return text;
    }
    std::string expected;
    for (size_t i = 0; i < allowed.size(); ++i) {
      expected += i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ";
      expected += "'" + std::string(allowed[i]) + "'";
    }
    Issue(key, "enum", "Input should be " + expected, Json(*Member(object_, key)),
          "{\"expected\":" + Json(Value(rapidjson::StringRef(expected.c_str()))) + "}");
    return std::nullopt;
  }

  // An object (a dict; with `nullable`, absent / null / object); returned as JSON text.
  std::optional<std::string> Object(const char* key, bool required, bool nullable) {
    const Value* value = Member(object_, key);
    if (value == nullptr || (nullable && value->IsNull())) {
      if (required) Issue(key, "missing", "Field required", Json(object_));
      return std::nullopt;
    }
    if (!value->IsObject()) {
      Issue(key, "dict_type", "Input should be a valid dictionary", Json(*value));
      return std::nullopt;
    }
    return Json(*value);
  }

  const Value* Get(const char* key) const { return Member(object_, key); }

  void Issue(const char* key, std::string type, std::string msg, std::string input, std::string ctx = "") {
    std::vector<std::string> loc = loc_;
    loc.emplace_back(key);
    issues_.push_back(BodyIssue{std::move(loc), std::move(type), std::move(msg), std::move(input), std::move(ctx)});
  }

 private:
  const Value& object_;
  std::vector<std::string> loc_;
  std::vector<BodyIssue>& issues_;
};

const std::vector<std::string_view>& ModelProviders() {
  static const std::vector<std::string_view> kProviders = {
      "OPENAI", "AZURE_OPENAI", "ANTHROPIC", "GOOGLE", "DEEPSEEK", "XAI", "OLLAMA", "AWS", "CEREBRAS",
      "FIREWORKS", "GROQ", "MOONSHOT", "PERPLEXITY", "TOGETHER"};
  return kProviders;
}

// A body member that must be an object: its fields, or an issue.
const Value* RequireObject(BodyFields& fields, const char* key) {
  const Value* value = fields.Get(key);
  if (value == nullptr) {
    fields.Issue(key, "missing", "Field required", "null");
    return nullptr;
  }
  if (!value->IsObject()) {
    fields.Issue(key, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from",
                 Json(*value));
    return nullptr;
  }
  return value;
}

}  // namespace

struct PromptsApi::State {
  std::shared_ptr<Stub> registry;
  RouteMetrics metrics;
  std::chrono::milliseconds deadline;

  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response& response) const {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    return (registry.get()->*method)(&context, request, &response);
  }

  Reply CreatePrompt(const http::Request& request) const;
  Reply ListPrompts(const http::Request& request) const;
  Reply ListVersions(const http::Request& request) const;
  Reply GetVersion(const http::Request& request, v1::GetPromptVersionRequest selector) const;
  Reply GetVersionById(const http::Request& request) const;
  Reply GetVersionByTag(const http::Request& request) const;
  Reply GetLatestVersion(const http::Request& request) const;
  Reply ListTags(const http::Request& request) const;
  Reply CreateTag(const http::Request& request) const;
  Reply DeleteTag(const http::Request& request) const;
  Reply PatchPrompt(const http::Request& request) const;
  Reply DeletePrompt(const http::Request& request) const;
};

PromptsApi::PromptsApi(std::shared_ptr<Stub> registry, metrics::Registry* metrics, std::chrono::milliseconds deadline)
    : state_(std::make_shared<State>(State{std::move(registry), RouteMetrics(metrics), deadline})) {}

void PromptsApi::Register(http::Router& router) {
  auto add = [&](const char* method, const char* route, Reply (State::*handler)(const http::Request&) const) {
    std::shared_ptr<State> state = state_;
    // The wrapper refers to state->metrics; the handler it wraps keeps the state alive.
    router.Add(method, route,
               state->metrics.Wrap(route, [state, handler](const http::Request& r) { return (*state.*handler)(r); }));
  };
  add("POST", "/v1/prompts", &State::CreatePrompt);
  add("GET", "/v1/prompts", &State::ListPrompts);
  add("GET", "/v1/prompts/{prompt_identifier}/versions", &State::ListVersions);
  add("GET", "/v1/prompts/{prompt_identifier}/latest", &State::GetLatestVersion);
  add("GET", "/v1/prompts/{prompt_identifier}/tags/{tag_name}", &State::GetVersionByTag);
  add("PATCH", "/v1/prompts/{prompt_identifier}", &State::PatchPrompt);
  add("DELETE", "/v1/prompts/{prompt_identifier}", &State::DeletePrompt);
  add("GET", "/v1/prompt_versions/{prompt_version_id}", &State::GetVersionById);
  add("GET", "/v1/prompt_versions/{prompt_version_id}/tags", &State::ListTags);
  add("POST", "/v1/prompt_versions/{prompt_version_id}/tags", &State::CreateTag);
  add("DELETE", "/v1/prompt_versions/{prompt_version_id}/tags/{tag_name}", &State::DeleteTag);
}

Reply PromptsApi::State::CreatePrompt(const http::Request& request) const {
  Parsed<std::unique_ptr<rapidjson::Document>> parsed = ParseObjectBody(request);
  if (auto* rejection = std::get_if<Rejection>(&parsed)) return std::move(*rejection);
  const rapidjson::Document& body = *std::get<std::unique_ptr<rapidjson::Document>>(parsed);

  std::vector<BodyIssue> issues;
  BodyFields top(body, {}, issues);
  v1::CreatePromptVersionRequest create;
  if (const Value* prompt = RequireObject(top, "prompt")) {
    BodyFields fields(*prompt, {"prompt"}, issues);
    if (auto name = fields.Identifier("name")) create.set_name(*name);
    if (auto description = fields.String("description", false, true)) create.set_description(*description);
    if (auto metadata = fields.Object("metadata", false, true)) create.set_metadata_json(*metadata);
  }
  bool chat = true;
  if (const Value* version = RequireObject(top, "version")) {
    BodyFields fields(*version, {"version"}, issues);
    v1::PromptVersion& out = *create.mutable_version();
    if (auto description = fields.String("description", false, true)) out.set_description(*description);
    if (auto provider = fields.Enum("model_provider", ModelProviders())) out.set_model_provider(*provider);
    if (auto model = fields.String("model_name", true)) out.set_model_name(*model);
    if (auto tmpl = fields.Object("template", true, false)) {
      out.set_template_json(*tmpl);
      const Value* type = Member(*fields.Get("template"), "type");
      chat = chat && type != nullptr && type->IsString() && std::string_view(type->GetString()) == "chat";
    }
    if (auto type = fields.Enum("template_type", {"STR", "CHAT"})) {
      out.set_template_type(*type == "CHAT" ? v1::TEMPLATE_TYPE_CHAT : v1::TEMPLATE_TYPE_STR);
      chat = chat && *type == "CHAT";
    }
    if (auto format = fields.Enum("template_format", {"MUSTACHE", "F_STRING", "NONE"})) {
      out.set_template_format(*format == "MUSTACHE"   ? v1::TEMPLATE_FORMAT_MUSTACHE
                              : *format == "F_STRING" ? v1::TEMPLATE_FORMAT_F_STRING
                                                      : v1::TEMPLATE_FORMAT_NONE);
    }
    if (auto params = fields.Object("invocation_parameters", true, false)) out.set_invocation_parameters_json(*params);
    if (auto tools = fields.Object("tools", false, true)) out.set_tools_json(*tools);
    if (auto format = fields.Object("response_format", false, true)) out.set_response_format_json(*format);
  }
  if (!issues.empty()) return BodyValidationRejection(issues);
  if (!chat) return TextRejection(422, "invalid_template_type", "Only CHAT template type is supported for prompts");

  v1::CreatePromptVersionResponse response;
  grpc::Status status = Call(&Stub::CreatePromptVersion, create, response);
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return BodyFieldRejection(status.error_message(), body);
  }
  if (!status.ok()) return RegistryRejection(status);
  return DataReply([&](JsonWriter& w) { WriteVersion(w, response.version()); });
}

Reply PromptsApi::State::ListPrompts(const http::Request& request) const {
  Parsed<PageRequest> page = ParsePage(request, kPromptType);
  if (auto* rejection = std::get_if<Rejection>(&page)) return std::move(*rejection);
  v1::ListPromptsRequest list;
  list.set_page_size(std::get<PageRequest>(page).limit);
  list.set_page_token(std::get<PageRequest>(page).page_token);
  v1::ListPromptsResponse response;
  grpc::Status status = Call(&Stub::ListPrompts, list, response);
  if (!status.ok()) return RegistryRejection(status);
  return PageReply(response.prompts(), static_cast<size_t>(response.prompts_size()),
                   NextCursor(response.next_page_token(), kPromptType), WritePrompt);
}

Reply PromptsApi::State::ListVersions(const http::Request& request) const {
  Parsed<PageRequest> page = ParsePage(request, kPromptVersionType);
  if (auto* rejection = std::get_if<Rejection>(&page)) return std::move(*rejection);
  v1::ListPromptVersionsRequest list;
  *list.mutable_prompt() = PromptRefOf(PathValue(request, "prompt_identifier"));
  list.set_page_size(std::get<PageRequest>(page).limit);
  list.set_page_token(std::get<PageRequest>(page).page_token);
  v1::ListPromptVersionsResponse response;
  grpc::Status status = Call(&Stub::ListPromptVersions, list, response);
  if (!status.ok()) return RegistryRejection(status);
  return PageReply(response.versions(), static_cast<size_t>(response.versions_size()),
                   NextCursor(response.next_page_token(), kPromptVersionType), WriteVersion);
}

Reply PromptsApi::State::GetVersion(const http::Request&, v1::GetPromptVersionRequest selector) const {
  v1::PromptVersion version;
  grpc::Status status = Call(&Stub::GetPromptVersion, selector, version);
  if (!status.ok()) return RegistryRejection(status);
  return DataReply([&](JsonWriter& w) { WriteVersion(w, version); });
}

Reply PromptsApi::State::GetVersionById(const http::Request& request) const {
  Parsed<int64_t> id = VersionIdOf(request);
  if (auto* rejection = std::get_if<Rejection>(&id)) return std::move(*rejection);
  v1::GetPromptVersionRequest selector;
  selector.set_version_id(std::get<int64_t>(id));
  return GetVersion(request, std::move(selector));
}

Reply PromptsApi::State::GetVersionByTag(const http::Request& request) const {
  v1::GetPromptVersionRequest selector;
  *selector.mutable_tag()->mutable_prompt() = PromptRefOf(PathValue(request, "prompt_identifier"));
  selector.mutable_tag()->set_tag_name(PathValue(request, "tag_name"));
  return GetVersion(request, std::move(selector));
}

Reply PromptsApi::State::GetLatestVersion(const http::Request& request) const {
  v1::GetPromptVersionRequest selector;
  *selector.mutable_latest_of() = PromptRefOf(PathValue(request, "prompt_identifier"));
  return GetVersion(request, std::move(selector));
}

Reply PromptsApi::State::ListTags(const http::Request& request) const {
  Parsed<int64_t> id = VersionIdOf(request);
  if (auto* rejection = std::get_if<Rejection>(&id)) return std::move(*rejection);
  Parsed<PageRequest> page = ParsePage(request, kPromptVersionTagType);
  if (auto* rejection = std::get_if<Rejection>(&page)) return std::move(*rejection);
  v1::ListTagsRequest list;
  list.set_version_id(std::get<int64_t>(id));
  list.set_page_size(std::get<PageRequest>(page).limit);
  list.set_page_token(std::get<PageRequest>(page).page_token);
  v1::ListTagsResponse response;
  grpc::Status status = Call(&Stub::ListTags, list, response);
  if (!status.ok()) return RegistryRejection(status);
  return PageReply(response.tags(), static_cast<size_t>(response.tags_size()),
                   NextCursor(response.next_page_token(), kPromptVersionTagType), WriteTag);
}

Reply PromptsApi::State::CreateTag(const http::Request& request) const {
  Parsed<int64_t> id = VersionIdOf(request);
  if (auto* rejection = std::get_if<Rejection>(&id)) return std::move(*rejection);
  Parsed<std::unique_ptr<rapidjson::Document>> parsed = ParseObjectBody(request);
  if (auto* rejection = std::get_if<Rejection>(&parsed)) return std::move(*rejection);
  const rapidjson::Document& body = *std::get<std::unique_ptr<rapidjson::Document>>(parsed);
  std::vector<BodyIssue> issues;
  BodyFields fields(body, {}, issues);
  v1::SetTagRequest set;
  set.set_version_id(std::get<int64_t>(id));
  if (auto name = fields.Identifier("name")) set.set_name(*name);
  if (auto description = fields.String("description", false, true)) set.set_description(*description);
  if (!issues.empty()) return BodyValidationRejection(issues);
  v1::Tag tag;
  grpc::Status status = Call(&Stub::SetTag, set, tag);
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return BodyFieldRejection(status.error_message(), body);
  }
  if (!status.ok()) return RegistryRejection(status);
  return http::Response::NoContent();
}

Reply PromptsApi::State::DeleteTag(const http::Request& request) const {
  Parsed<int64_t> id = VersionIdOf(request);
  if (auto* rejection = std::get_if<Rejection>(&id)) return std::move(*rejection);
  v1::DeleteTagRequest remove;
  remove.set_version_id(std::get<int64_t>(id));
  remove.set_name(PathValue(request, "tag_name"));
  v1::DeleteTagResponse response;
  grpc::Status status = Call(&Stub::DeleteTag, remove, response);
  if (!status.ok()) return RegistryRejection(status);
  return http::Response::NoContent();
}

Reply PromptsApi::State::PatchPrompt(const http::Request& request) const {
  Parsed<std::unique_ptr<rapidjson::Document>> parsed = ParseObjectBody(request);
  if (auto* rejection = std::get_if<Rejection>(&parsed)) return std::move(*rejection);
  const rapidjson::Document& body = *std::get<std::unique_ptr<rapidjson::Document>>(parsed);
  std::vector<BodyIssue> issues;
  BodyFields fields(body, {}, issues);
  v1::PatchPromptRequest patch;
  *patch.mutable_prompt() = PromptRefOf(PathValue(request, "prompt_identifier"));
  if (const Value* description = fields.Get("description"); description != nullptr && description->IsNull()) {
    patch.set_clear_description(true);
  } else if (auto text = fields.String("description", false)) {
    patch.set_description(*text);
  }
  if (auto metadata = fields.Object("metadata", false, false)) patch.set_metadata_json(*metadata);
  if (!issues.empty()) return BodyValidationRejection(issues);
  v1::Prompt prompt;
  grpc::Status status = Call(&Stub::PatchPrompt, patch, prompt);
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return BodyFieldRejection(status.error_message(), body);
  }
  if (!status.ok()) return RegistryRejection(status);
  return DataReply([&](JsonWriter& w) { WritePrompt(w, prompt); });
}

Reply PromptsApi::State::DeletePrompt(const http::Request& request) const {
  v1::DeletePromptRequest remove;
  *remove.mutable_prompt() = PromptRefOf(PathValue(request, "prompt_identifier"));
  v1::DeletePromptResponse response;
  grpc::Status status = Call(&Stub::DeletePrompt, remove, response);
  if (!status.ok()) return RegistryRejection(status);
  return http::Response::NoContent();
}

}  // namespace osprey::query
