#include "genai.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "py_json.hpp"

namespace osprey::otlp::internal {
namespace {

constexpr std::string_view kLlm = "LLM";
constexpr std::string_view kEmbedding = "EMBEDDING";
constexpr std::string_view kTool = "TOOL";
constexpr std::string_view kRetriever = "RETRIEVER";
constexpr std::string_view kAgent = "AGENT";

std::string_view View(const rapidjson::Value& v) { return std::string_view(v.GetString(), v.GetStringLength()); }

rapidjson::Value Str(std::string_view text, Allocator& allocator) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// Phoenix's _as_optional_str: absent/null → nullopt, strings as-is, anything else str()-ed.
std::optional<std::string> AsOptionalStr(const rapidjson::Value* v) {
  if (v == nullptr || v->IsNull()) return std::nullopt;
  return PyStr(*v);
}

// Non-empty string form (the `if x := _as_optional_str(...)` pattern).
std::optional<std::string> NonEmptyStr(const rapidjson::Value* v) {
  auto s = AsOptionalStr(v);
  if (s && s->empty()) return std::nullopt;
  return s;
}

// Phoenix's _as_string: strings as-is, other values json.dumps(ensure_ascii=False).
std::string AsString(const rapidjson::Value& v) {
  return v.IsString() ? std::string(View(v)) : PyJsonDumps(v, /*ensure_ascii=*/false);
}

// Phoenix's _coerce_int: bools no; ints; integral floats; decimal strings.
std::optional<int64_t> CoerceUsage(const rapidjson::Value* v) {
  if (v == nullptr || v->IsBool() || v->IsNull()) return std::nullopt;
  if (v->IsDouble()) {
    const double d = v->GetDouble();
    if (!std::isfinite(d) || std::floor(d) != d) return std::nullopt;
  }
  int64_t out;
  if (!CoerceInt(*v, &out)) return std::nullopt;
  return out;
}

// Phoenix's _coerce_string_sequence.
std::optional<std::vector<std::string>> CoerceStringSequence(const rapidjson::Value* v) {
  if (v == nullptr || v->IsNull()) return std::nullopt;
  if (v->IsString()) return std::vector<std::string>{std::string(View(*v))};
  if (!v->IsArray()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : v->GetArray()) out.push_back(PyStr(item));
  return out;
}

// A JSON-string attribute parsed into an array; empty when absent or malformed.
bool ParseList(const rapidjson::Value* v, Allocator& allocator, rapidjson::Value* out) {
  if (v == nullptr || !v->IsString()) return false;
  if (!ParseJsonBounded(View(*v), allocator, out)) return false;
  return out->IsArray();
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  return FindMemberValue(object, name);
}

bool Truthy(const rapidjson::Value* v) { return v != nullptr && PyTruthy(*v); }

class GenAi final {
 public:
  GenAi(const FlatAttributes& in, Allocator& allocator) : in_(in), allocator_(allocator) {}

  FlatAttributes Run() {
    const std::optional<std::string_view> kind = InferSpanKind();
    if (kind) SetStr("openinference.span.kind", *kind);
    Base();
    Request(kind);
    Usage();
    Messages();
    Response();
    Tools(kind);
    Retrieval(kind);
    return std::move(out_);
  }

 private:
  const rapidjson::Value* Get(std::string_view key) const { return in_.Find(key); }
  void SetStr(std::string key, std::string_view value) { out_.Set(std::move(key), Str(value, allocator_)); }
  void SetInt(std::string key, int64_t value) { out_.Set(std::move(key), rapidjson::Value(value)); }

  std::optional<std::string_view> InferSpanKind() const {
    const auto operation = AsOptionalStr(Get("gen_ai.operation.name"));
    if (!operation) {
      if (Truthy(Get("gen_ai.tool.call.id")) || Truthy(Get("gen_ai.tool.name"))) return kTool;
      if (Truthy(Get("gen_ai.retrieval.documents")) || Truthy(Get("gen_ai.retrieval.query.text"))) return kRetriever;
      if (const auto* dims = Get("gen_ai.embeddings.dimension.count"); dims != nullptr && !dims->IsNull()) {
        return kEmbedding;
      }
      if (Truthy(Get("gen_ai.input.messages")) || Truthy(Get("gen_ai.output.messages")) ||
          Truthy(Get("gen_ai.request.model"))) {
        return kLlm;
      }
      return std::nullopt;
    }
    if (*operation == "chat" || *operation == "text_completion" || *operation == "generate_content") return kLlm;
    if (*operation == "embeddings") return kEmbedding;
    if (*operation == "execute_tool") return kTool;
    if (*operation == "retrieval") return kRetriever;
    if (*operation == "invoke_agent" || *operation == "create_agent") return kAgent;
    return std::nullopt;
  }

  void Base() {
    std::optional<std::string> provider_name = AsOptionalStr(Get("gen_ai.provider.name"));
    if (!provider_name) {
      if (auto legacy = AsOptionalStr(Get("gen_ai.system"))) {
        for (char& c : *legacy) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        provider_name = std::move(legacy);
      }
    }
    if (provider_name) {
      struct Mapping {
        std::string_view name, provider, system;
      };
      static constexpr Mapping kProviders[] = {
          {"openai", "openai", "openai"},
          {"anthropic", "anthropic", "anthropic"},
          {"cohere", "cohere", "cohere"},
          {"mistral_ai", "mistralai", "mistralai"},
          {"deepseek", "deepseek", ""},
          {"groq", "groq", ""},
          {"perplexity", "perplexity", ""},
          {"x_ai", "xai", ""},
          {"azure.ai.openai", "azure", "openai"},
          {"azure.ai.inference", "azure", ""},
          {"aws.bedrock", "aws", ""},
          {"gcp.vertex_ai", "google", "vertexai"},
          {"gcp.gen_ai", "google", ""},
          {"gcp.gemini", "google", ""},
      };
      bool known = false;
      for (const auto& m : kProviders) {
        if (*provider_name != m.name) continue;
        known = true;
        SetStr("llm.provider", m.provider);
        if (!m.system.empty()) SetStr("llm.system", m.system);
      }
      if (!known) SetStr("llm.system", *provider_name);
    }
    if (auto conversation = NonEmptyStr(Get("gen_ai.conversation.id"))) SetStr("session.id", *conversation);
  }

  void Request(std::optional<std::string_view> kind) {
    const bool embedding = kind == kEmbedding;
    if (auto model = NonEmptyStr(Get("gen_ai.request.model"))) {
      SetStr(embedding ? "embedding.model_name" : "llm.model_name", *model);
    }
    rapidjson::Value params(rapidjson::kObjectType);
    static constexpr std::pair<const char*, const char*> kParams[] = {
        {"gen_ai.request.temperature", "temperature"},
        {"gen_ai.request.top_p", "top_p"},
        {"gen_ai.request.top_k", "top_k"},
        {"gen_ai.request.max_tokens", "max_tokens"},
        {"gen_ai.request.frequency_penalty", "frequency_penalty"},
        {"gen_ai.request.presence_penalty", "presence_penalty"},
        {"gen_ai.request.seed", "seed"},
        {"gen_ai.request.stream", "stream"},
        {"gen_ai.request.choice.count", "n"},
    };
    for (const auto& [genai_key, oi_key] : kParams) {
      const auto* value = Get(genai_key);
      if (value == nullptr || value->IsNull()) continue;
      params.AddMember(rapidjson::StringRef(oi_key), rapidjson::Value(*value, allocator_), allocator_);
    }
    if (auto stop = CoerceStringSequence(Get("gen_ai.request.stop_sequences")); stop && !stop->empty()) {
      rapidjson::Value list(rapidjson::kArrayType);
      for (const auto& s : *stop) list.PushBack(Str(s, allocator_), allocator_);
      params.AddMember("stop", std::move(list), allocator_);
    }
    if (auto formats = CoerceStringSequence(Get("gen_ai.request.encoding_formats")); formats && !formats->empty()) {
      if (formats->size() == 1) {
        params.AddMember("encoding_format", Str(formats->front(), allocator_), allocator_);
      } else {
        rapidjson::Value list(rapidjson::kArrayType);
        for (const auto& s : *formats) list.PushBack(Str(s, allocator_), allocator_);
        params.AddMember("encoding_formats", std::move(list), allocator_);
      }
    }
    if (auto output_type = NonEmptyStr(Get("gen_ai.output.type"))) {
      const char* format = *output_type == "json" ? "json_object" : *output_type == "text" ? "text" : nullptr;
      if (format != nullptr) {
        rapidjson::Value response_format(rapidjson::kObjectType);
        response_format.AddMember("type", rapidjson::StringRef(format), allocator_);
        params.AddMember("response_format", std::move(response_format), allocator_);
      }
    }
    if (params.MemberCount() > 0) {
      SetStr(embedding ? "embedding.invocation_parameters" : "llm.invocation_parameters",
             PyJsonDumps(params, /*ensure_ascii=*/false));
    }
  }

  void Usage() {
    const auto input = CoerceUsage(Get("gen_ai.usage.input_tokens"));
    const auto output = CoerceUsage(Get("gen_ai.usage.output_tokens"));
    auto cache_read = CoerceUsage(Get("gen_ai.usage.cache_read.input_tokens"));
    if (!cache_read) cache_read = CoerceUsage(Get("gen_ai.usage.cache_read_input_tokens"));
    auto cache_write = CoerceUsage(Get("gen_ai.usage.cache_creation.input_tokens"));
    if (!cache_write) cache_write = CoerceUsage(Get("gen_ai.usage.cache_creation_input_tokens"));
    if (input) SetInt("llm.token_count.prompt", *input);
    if (output) SetInt("llm.token_count.completion", *output);
    if (input && output) SetInt("llm.token_count.total", *input + *output);
    if (cache_read) SetInt("llm.token_count.prompt_details.cache_read", *cache_read);
    if (cache_write) SetInt("llm.token_count.prompt_details.cache_write", *cache_write);
  }

  // A message: {role, parts: [...], name?, finish_reason?}. Malformed entries make the whole list
  // unusable, as Phoenix's validation does.
  static bool ValidMessage(const rapidjson::Value& message) {
    if (!message.IsObject()) return false;
    const auto* role = Member(message, "role");
    const auto* parts = Member(message, "parts");
    if (role == nullptr || !role->IsString() || parts == nullptr || !parts->IsArray()) return false;
    for (const auto& part : parts->GetArray()) {
      if (!ValidPart(part)) return false;
    }
    return true;
  }
  static bool ValidPart(const rapidjson::Value& part) {
    const auto* type = Member(part, "type");
    return type != nullptr && type->IsString();
  }

  static std::string_view PartType(const rapidjson::Value& part) {
    const auto* type = Member(part, "type");
    const std::string_view t = View(*type);
    const auto* content = Member(part, "content");
    if (t == "text" && content != nullptr && content->IsString()) return "text";
    if (t == "tool_call" && Member(part, "name") != nullptr && Member(part, "name")->IsString()) return "tool_call";
    if (t == "tool_call_response" && Member(part, "response") != nullptr) return "tool_call_response";
    if (t == "uri" && Member(part, "uri") != nullptr && Member(part, "uri")->IsString()) return "uri";
    if (t == "blob" && content != nullptr && content->IsString()) return "blob";
    return "generic";
  }

  void FlattenMessage(const rapidjson::Value& role, const rapidjson::Value* name, const rapidjson::Value* finish_reason,
                      const rapidjson::Value& parts, const std::string& prefix, size_t index) {
    const std::string base = prefix + "." + std::to_string(index);
    SetStr(base + ".message.role", View(role));
    if (name != nullptr && name->IsString() && name->GetStringLength() > 0) SetStr(base + ".message.name", View(*name));
    if (finish_reason != nullptr && finish_reason->IsString() && finish_reason->GetStringLength() > 0) {
      SetStr(base + ".message.finish_reason", View(*finish_reason));
    }
    std::string text;
    size_t text_parts = 0;
    std::vector<const rapidjson::Value*> content_parts;
    std::vector<const rapidjson::Value*> tool_calls;
    const rapidjson::Value* tool_response = nullptr;
    bool has_non_text = false;
    for (const auto& part : parts.GetArray()) {
      const std::string_view type = PartType(part);
      if (type == "text") {
        text.append(View(*Member(part, "content")));
        ++text_parts;
        content_parts.push_back(&part);
      } else if (type == "uri" || type == "blob") {
        content_parts.push_back(&part);
        has_non_text = true;
      } else if (type == "tool_call") {
        tool_calls.push_back(&part);
      } else if (type == "tool_call_response") {
        tool_response = &part;
      }
    }
    if (tool_response != nullptr) {
      if (auto id = NonEmptyStr(Member(*tool_response, "id"))) SetStr(base + ".message.tool_call_id", *id);
      const auto* response = Member(*tool_response, "response");
      if (response != nullptr && !response->IsNull()) SetStr(base + ".message.content", AsString(*response));
      return;
    }
    if (!content_parts.empty() && (has_non_text || text_parts > 1)) {
      for (size_t i = 0; i < content_parts.size(); ++i) {
        const auto& part = *content_parts[i];
        const std::string content_prefix = base + ".message.contents." + std::to_string(i) + ".message_content";
        if (PartType(part) == "text") {
          SetStr(content_prefix + ".type", "text");
          SetStr(content_prefix + ".text", View(*Member(part, "content")));
        } else {
          SetStr(content_prefix + ".type", "image");
          std::string url;
          if (PartType(part) == "uri") {
            url = std::string(View(*Member(part, "uri")));
          } else {
            const auto* mime = Member(part, "mime_type");
            url = "data:" +
                  (mime != nullptr && mime->IsString() && mime->GetStringLength() > 0
                       ? std::string(View(*mime))
                       : std::string("application/octet-stream")) +
                  ";base64," + std::string(View(*Member(part, "content")));
          }
          if (!url.empty()) SetStr(content_prefix + ".image.image.url", url);
        }
      }
    } else if (text_parts > 0) {
      SetStr(base + ".message.content", text);
    }
    for (size_t i = 0; i < tool_calls.size(); ++i) {
      const auto& call = *tool_calls[i];
      const std::string call_prefix = base + ".message.tool_calls." + std::to_string(i) + ".tool_call";
      if (auto id = NonEmptyStr(Member(call, "id"))) SetStr(call_prefix + ".id", *id);
      SetStr(call_prefix + ".function.name", View(*Member(call, "name")));
      const auto* arguments = Member(call, "arguments");
      if (arguments != nullptr && !arguments->IsNull())
        SetStr(call_prefix + ".function.arguments", AsString(*arguments));
    }
  }

  void Messages() {
    size_t next_input = 0;
    rapidjson::Value system_parts;
    if (ParseList(Get("gen_ai.system_instructions"), allocator_, &system_parts) && !system_parts.Empty()) {
      bool valid = true;
      for (const auto& part : system_parts.GetArray()) valid = valid && ValidPart(part);
      if (valid) {
        const rapidjson::Value role("system");
        FlattenMessage(role, nullptr, nullptr, system_parts, "llm.input_messages", next_input++);
      }
    }
    for (const auto& [key, prefix, output] : {std::tuple{"gen_ai.input.messages", "llm.input_messages", false},
                                              std::tuple{"gen_ai.output.messages", "llm.output_messages", true}}) {
      rapidjson::Value list;
      if (!ParseList(Get(key), allocator_, &list)) continue;
      bool valid = true;
      for (const auto& message : list.GetArray()) valid = valid && ValidMessage(message);
      if (!valid) continue;
      size_t index = output ? 0 : next_input;
      for (const auto& message : list.GetArray()) {
        FlattenMessage(*Member(message, "role"), Member(message, "name"),
                       output ? Member(message, "finish_reason") : nullptr, *Member(message, "parts"), prefix, index++);
      }
    }
  }

  void Response() {
    if (auto reasons = CoerceStringSequence(Get("gen_ai.response.finish_reasons")); reasons && !reasons->empty()) {
      if (reasons->size() == 1) {
        SetStr("llm.finish_reason", reasons->front());
      } else {
        rapidjson::Value list(rapidjson::kArrayType);
        for (const auto& r : *reasons) list.PushBack(Str(r, allocator_), allocator_);
        out_.Set("llm.finish_reason", std::move(list));
      }
    }
    rapidjson::Value payload(rapidjson::kObjectType);
    if (auto id = NonEmptyStr(Get("gen_ai.response.id"))) payload.AddMember("id", Str(*id, allocator_), allocator_);
    if (auto model = NonEmptyStr(Get("gen_ai.response.model"))) {
      payload.AddMember("model", Str(*model, allocator_), allocator_);
    }
    if (payload.MemberCount() > 0) {
      SetStr("output.value", PyJsonDumps(payload, /*ensure_ascii=*/false));
      SetStr("output.mime_type", "application/json");
    }
  }

  void Tools(std::optional<std::string_view> kind) {
    rapidjson::Value definitions;
    if (ParseList(Get("gen_ai.tool.definitions"), allocator_, &definitions)) {
      bool valid = true;
      for (const auto& d : definitions.GetArray()) {
        const auto* name = Member(d, "name");
        const auto* type = Member(d, "type");
        valid = valid && d.IsObject() && name != nullptr && name->IsString() && (type == nullptr || type->IsString());
      }
      if (valid) {
        size_t index = 0;
        for (const auto& d : definitions.GetArray()) {
          const auto* type = Member(d, "type");
          rapidjson::Value function(rapidjson::kObjectType);
          function.AddMember("name", rapidjson::Value(*Member(d, "name"), allocator_), allocator_);
          if (const auto* description = Member(d, "description"); Truthy(description)) {
            function.AddMember("description", rapidjson::Value(*description, allocator_), allocator_);
          }
          if (const auto* parameters = Member(d, "parameters"); parameters != nullptr && !parameters->IsNull()) {
            function.AddMember("parameters", rapidjson::Value(*parameters, allocator_), allocator_);
          }
          rapidjson::Value schema(rapidjson::kObjectType);
          schema.AddMember("type", type != nullptr ? rapidjson::Value(*type, allocator_) : rapidjson::Value("function"),
                           allocator_);
          schema.AddMember("function", std::move(function), allocator_);
          SetStr("llm.tools." + std::to_string(index++) + ".tool.json_schema",
                 PyJsonDumps(schema, /*ensure_ascii=*/false));
        }
      }
    }
    if (kind != kTool) return;
    if (auto name = NonEmptyStr(Get("gen_ai.tool.name"))) SetStr("tool.name", *name);
    if (auto description = NonEmptyStr(Get("gen_ai.tool.description"))) SetStr("tool.description", *description);
    if (auto id = NonEmptyStr(Get("gen_ai.tool.call.id"))) SetStr("tool.id", *id);
    if (const auto* arguments = Get("gen_ai.tool.call.arguments"); arguments != nullptr && !arguments->IsNull()) {
      rapidjson::Value parsed;
      if (arguments->IsString() && ParseJsonBounded(View(*arguments), allocator_, &parsed) && parsed.IsObject()) {
        SetStr("tool.parameters", PyJsonDumps(parsed, /*ensure_ascii=*/false));
      } else if (arguments->IsObject()) {
        SetStr("tool.parameters", PyJsonDumps(*arguments, /*ensure_ascii=*/false));
      } else {
        SetStr("tool.parameters", AsString(*arguments));
      }
    }
    if (const auto* result = Get("gen_ai.tool.call.result"); result != nullptr && !result->IsNull()) {
      SetStr("output.value", AsString(*result));
      rapidjson::Value parsed;
      const bool structured = result->IsObject() || result->IsArray() ||
                              (result->IsString() && ParseJsonBounded(View(*result), allocator_, &parsed) &&
                               (parsed.IsObject() || parsed.IsArray()));
      if (structured) SetStr("output.mime_type", "application/json");
    }
  }

  void Retrieval(std::optional<std::string_view> kind) {
    if (kind != kRetriever) return;
    if (auto query = NonEmptyStr(Get("gen_ai.retrieval.query.text"))) {
      SetStr("input.value", *query);
      SetStr("input.mime_type", "text/plain");
    }
    rapidjson::Value documents;
    if (!ParseList(Get("gen_ai.retrieval.documents"), allocator_, &documents)) return;
    for (const auto& d : documents.GetArray()) {
      const auto* score = Member(d, "score");
      if (!d.IsObject() || score == nullptr || !score->IsNumber()) return;
    }
    size_t index = 0;
    for (const auto& d : documents.GetArray()) {
      const std::string base = "retrieval.documents." + std::to_string(index++) + ".document";
      if (auto id = NonEmptyStr(Member(d, "id"))) SetStr(base + ".id", *id);
      out_.Set(base + ".score", rapidjson::Value(Member(d, "score")->GetDouble()));
      if (const auto* content = Member(d, "content"); content != nullptr && !content->IsNull()) {
        SetStr(base + ".content", AsString(*content));
      }
      if (const auto* metadata = Member(d, "metadata"); metadata != nullptr && !metadata->IsNull()) {
        SetStr(base + ".metadata", AsString(*metadata));
      }
    }
  }

  const FlatAttributes& in_;
  Allocator& allocator_;
  FlatAttributes out_;
};

}  // namespace

FlatAttributes GenAiToOpenInference(const FlatAttributes& attributes, Allocator& allocator) {
  bool any = false;
  for (const auto& entry : attributes.entries()) {
    if (entry.key.rfind("gen_ai.", 0) == 0) {
      any = true;
      break;
    }
  }
  if (!any) return FlatAttributes();
  return GenAi(attributes, allocator).Run();
}

void MergeGenAi(FlatAttributes* attributes, Allocator& allocator) {
  FlatAttributes translated = GenAiToOpenInference(*attributes, allocator);
  for (auto& entry : translated.entries()) {
    if (!attributes->Contains(entry.key)) attributes->Set(std::string(entry.key), std::move(entry.value));
  }
}

}  // namespace osprey::otlp::internal
