#include "osprey/prompt_registry/service.hpp"

#include <charconv>
#include <chrono>
#include <map>
#include <string>
#include <utility>

#include "osprey/base/status.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/prompts/render.hpp"
#include "osprey/prompts/validate.hpp"
#include "osprey/store/store.hpp"

namespace osprey::prompt_registry {
namespace {

namespace pb = osprey::prompts::v1;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

grpc::Status Invalid(const std::string& message) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message); }
grpc::Status NotFound(const std::string& message) { return grpc::Status(grpc::StatusCode::NOT_FOUND, message); }

// A libs/prompts validation failure: INVALID_ARGUMENT with its field path, unchanged.
grpc::Status FromValidation(const absl::Status& status) { return Invalid(std::string(status.message())); }

// Store errors: the client's (not found, invalid, taken) keep their code; a store that is busy,
// unreachable or closed is UNAVAILABLE, so clients retry; the rest is INTERNAL.
grpc::Status FromStore(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return NotFound(message);
    case absl::StatusCode::kInvalidArgument:
      return Invalid(message);
    case absl::StatusCode::kAlreadyExists:
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, message);
    case absl::StatusCode::kFailedPrecondition:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "store unavailable: " + message);
    default:
      break;
  }
  if (base::IsRetryable(status)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "store unavailable: " + message);
  return grpc::Status(grpc::StatusCode::INTERNAL, "store error: " + message);
}

// The code's canonical name ("NOT_FOUND"): gRPC and Abseil number their codes alike.
std::string CodeName(grpc::StatusCode code) { return absl::StatusCodeToString(static_cast<absl::StatusCode>(code)); }

// Time in the store is nanoseconds; the API speaks microseconds.
int64_t Micros(int64_t ns) { return ns / 1000; }

const char* TemplateTypeText(pb::TemplateType type) { return type == pb::TEMPLATE_TYPE_STR ? "STR" : "CHAT"; }

pb::TemplateType TemplateTypeOf(const std::string& text) {
  return text == "STR" ? pb::TEMPLATE_TYPE_STR : pb::TEMPLATE_TYPE_CHAT;
}

const char* TemplateFormatText(pb::TemplateFormat format) {
  switch (format) {
    case pb::TEMPLATE_FORMAT_F_STRING:
      return "F_STRING";
    case pb::TEMPLATE_FORMAT_NONE:
      return "NONE";
    default:
      return "MUSTACHE";
  }
}

pb::TemplateFormat TemplateFormatOf(const std::string& text) {
  if (text == "F_STRING") return pb::TEMPLATE_FORMAT_F_STRING;
  if (text == "NONE") return pb::TEMPLATE_FORMAT_NONE;
  return pb::TEMPLATE_FORMAT_MUSTACHE;
}

void ToProto(const store::PromptRecord& in, pb::Prompt* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  if (in.description) out->set_description(*in.description);
  out->set_metadata_json(in.metadata_json);
  if (in.source_prompt_id) out->set_source_prompt_id(*in.source_prompt_id);
  out->set_created_at_unix_micros(Micros(in.created_at_ns));
  out->set_updated_at_unix_micros(Micros(in.updated_at_ns));
  out->set_version_count(in.version_count);
  if (in.latest_version_id) out->set_latest_version_id(*in.latest_version_id);
}

void ToProto(const store::PromptVersionRecord& in, pb::PromptVersion* out) {
  out->set_id(in.id);
  out->set_prompt_id(in.prompt_id);
  if (in.description) out->set_description(*in.description);
  out->set_model_provider(in.model_provider);
  out->set_model_name(in.model_name);
  out->set_template_type(TemplateTypeOf(in.template_type));
  out->set_template_format(TemplateFormatOf(in.template_format));
  out->set_template_json(in.template_json);
  out->set_invocation_parameters_json(in.invocation_parameters_json);
  if (in.tools_json) out->set_tools_json(*in.tools_json);
  if (in.response_format_json) out->set_response_format_json(*in.response_format_json);
  out->set_created_at_unix_micros(Micros(in.created_at_ns));
}

void ToProto(const store::PromptTagRecord& in, pb::Tag* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  if (in.description) out->set_description(*in.description);
  out->set_prompt_id(in.prompt_id);
  out->set_prompt_version_id(in.prompt_version_id);
}

store::PromptVersionRecord FromProto(const pb::PromptVersion& in) {
  store::PromptVersionRecord out;
  if (in.has_description()) out.description = in.description();
  out.model_provider = in.model_provider();
  out.model_name = in.model_name();
  out.template_type = TemplateTypeText(in.template_type());
  out.template_format = TemplateFormatText(in.template_format());
  out.template_json = in.template_json();
  out.invocation_parameters_json = in.invocation_parameters_json();
  if (in.has_tools_json()) out.tools_json = in.tools_json();
  if (in.has_response_format_json()) out.response_format_json = in.response_format_json();
  return out;
}

struct PageRequest {
  std::optional<int64_t> cursor;
  int limit = kDefaultPageSize;
};

// `field` prefixes the page fields in errors ("page_size", "page_token").
grpc::Status ParsePage(int32_t page_size, const std::string& page_token, PageRequest& out) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return Invalid("page_size: must be between 0 and " + std::to_string(kMaxPageSize) + ", got " +
                   std::to_string(page_size));
  }
  out.limit = page_size == 0 ? kDefaultPageSize : page_size;
  if (page_token.empty()) return grpc::Status::OK;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(page_token.data(), page_token.data() + page_token.size(), id);
  if (ec != std::errc() || end != page_token.data() + page_token.size() || id < 1) {
    return Invalid("page_token: not a token this service issued: '" + page_token + "'");
  }
  out.cursor = id;
  return grpc::Status::OK;
}

std::string NextToken(const std::optional<int64_t>& cursor) { return cursor ? std::to_string(*cursor) : std::string(); }

std::string Describe(const pb::PromptRef& ref) {
  return ref.ref_case() == pb::PromptRef::kId ? "Prompt " + std::to_string(ref.id()) : "Prompt '" + ref.name() + "'";
}

}  // namespace

PromptRegistryService::PromptRegistryService(store::PromptStore& store, metrics::Registry* metrics) : store_(store) {
  if (metrics != nullptr) {
    rpcs_ = &metrics->CounterFamily("osprey_prompt_registry_rpcs_total",
                                    "Prompt registry gRPC calls by method and status code", {"method", "code"});
    duration_ = &metrics->HistogramFamily("osprey_prompt_registry_rpc_duration_seconds",
                                          "Prompt registry gRPC call latency", metrics::LatencyBuckets(), {"method"});
  }
}

template <typename Fn>
grpc::Status PromptRegistryService::Observe(const char* method, Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = fn();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string code = CodeName(status.error_code());
  if (rpcs_ != nullptr) rpcs_->With({method, code}).Inc();
  if (duration_ != nullptr) duration_->With({method}).Observe(seconds);
  // The client's mistakes are its own business (counted, logged at debug); ours are warnings.
  const bool server_side =
      status.error_code() == grpc::StatusCode::INTERNAL || status.error_code() == grpc::StatusCode::UNAVAILABLE;
  log::Log(server_side ? log::Level::kWarn : log::Level::kDebug, "prompt registry call",
           {{"module", "prompt-registry"},
            {"method", method},
            {"code", code},
            {"error", status.error_message()},
            {"duration_ms", seconds * 1000.0}});
  return status;
}

namespace {

// Resolves a PromptRef to the stored prompt: INVALID_ARGUMENT without a ref or with a bad name,
// NOT_FOUND when there is none.
grpc::Status Resolve(store::PromptStore& store, const pb::PromptRef& ref, const char* field,
                     store::PromptRecord& out) {
  absl::StatusOr<std::optional<store::PromptRecord>> found;
  switch (ref.ref_case()) {
    case pb::PromptRef::kId:
      found = store.GetPromptById(ref.id());
      break;
    case pb::PromptRef::kName:
      if (ref.name().empty()) return Invalid(std::string(field) + ".name: must not be empty");
      found = store.GetPromptByName(ref.name());
      break;
    default:
      return Invalid(std::string(field) + ": an id or a name is required");
  }
  if (!found.ok()) return FromStore(found.status());
  if (!found->has_value()) return NotFound(Describe(ref) + " not found");
  out = std::move(**found);
  return grpc::Status::OK;
}

grpc::Status VersionOrNotFound(const absl::StatusOr<std::optional<store::PromptVersionRecord>>& version,
                               const std::string& what, pb::PromptVersion* out) {
  if (!version.ok()) return FromStore(version.status());
  if (!version->has_value()) return NotFound(what + " not found");
  ToProto(**version, out);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status PromptRegistryService::CreatePromptVersion(grpc::ServerContext*, const pb::CreatePromptVersionRequest* request,
                                                        pb::CreatePromptVersionResponse* response) {
  return Observe("CreatePromptVersion", [&] {
    if (auto st = prompts::ValidateIdentifier(request->name(), "name"); !st.ok()) return FromValidation(st);
    if (request->has_metadata_json()) {
      if (auto st = prompts::ValidateMetadataJson(request->metadata_json(), "metadata_json"); !st.ok()) {
        return FromValidation(st);
      }
    }
    if (!request->has_version()) return Invalid("version: required");
    if (auto st = prompts::ValidateVersion(request->version()); !st.ok()) return FromValidation(st);
    store::CreatePromptVersionInput input;
    input.name = request->name();
    if (request->has_description()) input.description = request->description();
    if (request->has_metadata_json()) input.metadata_json = request->metadata_json();
    input.fail_if_exists = request->fail_if_exists();
    input.version = FromProto(request->version());
    auto result = store_.CreatePromptVersion(input);
    if (!result.ok()) return FromStore(result.status());
    ToProto(result->prompt, response->mutable_prompt());
    ToProto(result->version, response->mutable_version());
    if (result->created_prompt) {
      log::Info("prompt created", {{"module", "prompt-registry"}, {"prompt_id", result->prompt.id}});
    }
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::GetPrompt(grpc::ServerContext*, const pb::GetPromptRequest* request,
                                              pb::Prompt* response) {
  return Observe("GetPrompt", [&] {
    store::PromptRecord prompt;
    if (auto st = Resolve(store_, request->prompt(), "prompt", prompt); !st.ok()) return st;
    ToProto(prompt, response);
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::GetPromptVersion(grpc::ServerContext*, const pb::GetPromptVersionRequest* request,
                                                     pb::PromptVersion* response) {
  return Observe("GetPromptVersion", [&] {
    store::PromptRecord prompt;
    switch (request->selector_case()) {
      case pb::GetPromptVersionRequest::kVersionId:
        return VersionOrNotFound(store_.GetPromptVersion(request->version_id()),
                                 "Prompt version " + std::to_string(request->version_id()), response);
      case pb::GetPromptVersionRequest::kTag: {
        if (request->tag().tag_name().empty()) return Invalid("tag.tag_name: must not be empty");
        if (auto st = Resolve(store_, request->tag().prompt(), "tag.prompt", prompt); !st.ok()) return st;
        return VersionOrNotFound(store_.GetPromptVersionByTag(prompt.id, request->tag().tag_name()),
                                 "Tag '" + request->tag().tag_name() + "' of prompt '" + prompt.name + "'", response);
      }
      case pb::GetPromptVersionRequest::kLatestOf:
        if (auto st = Resolve(store_, request->latest_of(), "latest_of", prompt); !st.ok()) return st;
        return VersionOrNotFound(store_.GetLatestPromptVersion(prompt.id),
                                 "A version of prompt '" + prompt.name + "'", response);
      default:
        return Invalid("selector: one of version_id, tag or latest_of is required");
    }
  });
}

grpc::Status PromptRegistryService::ListPrompts(grpc::ServerContext*, const pb::ListPromptsRequest* request,
                                                pb::ListPromptsResponse* response) {
  return Observe("ListPrompts", [&] {
    PageRequest page;
    if (auto st = ParsePage(request->page_size(), request->page_token(), page); !st.ok()) return st;
    auto result = store_.ListPrompts(page.cursor, page.limit);
    if (!result.ok()) return FromStore(result.status());
    for (const auto& prompt : result->items) ToProto(prompt, response->add_prompts());
    response->set_next_page_token(NextToken(result->next_cursor));
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::ListPromptVersions(grpc::ServerContext*,
                                                       const pb::ListPromptVersionsRequest* request,
                                                       pb::ListPromptVersionsResponse* response) {
  return Observe("ListPromptVersions", [&] {
    PageRequest page;
    if (auto st = ParsePage(request->page_size(), request->page_token(), page); !st.ok()) return st;
    store::PromptRecord prompt;
    if (auto st = Resolve(store_, request->prompt(), "prompt", prompt); !st.ok()) return st;
    auto result = store_.ListPromptVersions(prompt.id, page.cursor, page.limit);
    if (!result.ok()) return FromStore(result.status());
    for (const auto& version : result->items) ToProto(version, response->add_versions());
    response->set_next_page_token(NextToken(result->next_cursor));
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::ListTags(grpc::ServerContext*, const pb::ListTagsRequest* request,
                                             pb::ListTagsResponse* response) {
  return Observe("ListTags", [&] {
    PageRequest page;
    if (auto st = ParsePage(request->page_size(), request->page_token(), page); !st.ok()) return st;
    store::PromptTagQuery query;
    query.cursor_id = page.cursor;
    query.limit = page.limit;
    switch (request->selector_case()) {
      case pb::ListTagsRequest::kVersionId:
        query.version_id = request->version_id();
        break;
      case pb::ListTagsRequest::kPrompt: {
        store::PromptRecord prompt;
        if (auto st = Resolve(store_, request->prompt(), "prompt", prompt); !st.ok()) return st;
        query.prompt_id = prompt.id;
        break;
      }
      default:
        return Invalid("selector: one of version_id or prompt is required");
    }
    auto result = store_.ListPromptTags(query);
    if (!result.ok()) return FromStore(result.status());
    for (const auto& tag : result->items) ToProto(tag, response->add_tags());
    response->set_next_page_token(NextToken(result->next_cursor));
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::SetTag(grpc::ServerContext*, const pb::SetTagRequest* request, pb::Tag* response) {
  return Observe("SetTag", [&] {
    if (auto st = prompts::ValidateIdentifier(request->name(), "name"); !st.ok()) return FromValidation(st);
    std::optional<std::string> description;
    if (request->has_description()) description = request->description();
    auto tag = store_.SetPromptTag(request->version_id(), request->name(), description);
    if (!tag.ok()) return FromStore(tag.status());
    ToProto(*tag, response);
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::DeleteTag(grpc::ServerContext*, const pb::DeleteTagRequest* request,
                                              pb::DeleteTagResponse*) {
  return Observe("DeleteTag", [&] {
    if (request->name().empty()) return Invalid("name: must not be empty");
    auto version = store_.GetPromptVersion(request->version_id());
    if (!version.ok()) return FromStore(version.status());
    if (!version->has_value()) return NotFound("Prompt version " + std::to_string(request->version_id()) + " not found");
    auto deleted = store_.DeletePromptTag(request->version_id(), request->name());
    if (!deleted.ok()) return FromStore(deleted.status());
    if (!*deleted) {
      return NotFound("Tag '" + request->name() + "' not found on prompt version " +
                      std::to_string(request->version_id()));
    }
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::PatchPrompt(grpc::ServerContext*, const pb::PatchPromptRequest* request,
                                                pb::Prompt* response) {
  return Observe("PatchPrompt", [&] {
    if (request->has_description() && request->clear_description()) {
      return Invalid("description: set and clear_description are exclusive");
    }
    if (request->has_metadata_json()) {
      if (auto st = prompts::ValidateMetadataJson(request->metadata_json(), "metadata_json"); !st.ok()) {
        return FromValidation(st);
      }
    }
    store::PromptRecord prompt;
    if (auto st = Resolve(store_, request->prompt(), "prompt", prompt); !st.ok()) return st;
    store::PromptPatch patch;
    if (request->has_description()) patch.description = std::optional<std::string>(request->description());
    if (request->clear_description()) patch.description = std::optional<std::string>();
    if (request->has_metadata_json()) patch.metadata_json = request->metadata_json();
    auto patched = store_.PatchPrompt(prompt.id, patch);
    if (!patched.ok()) return FromStore(patched.status());
    ToProto(*patched, response);
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::DeletePrompt(grpc::ServerContext*, const pb::DeletePromptRequest* request,
                                                 pb::DeletePromptResponse*) {
  return Observe("DeletePrompt", [&] {
    store::PromptRecord prompt;
    if (auto st = Resolve(store_, request->prompt(), "prompt", prompt); !st.ok()) return st;
    auto deleted = store_.DeletePrompt(prompt.id);
    if (!deleted.ok()) return FromStore(deleted.status());
    if (!*deleted) return NotFound(Describe(request->prompt()) + " not found");
    log::Info("prompt deleted", {{"module", "prompt-registry"}, {"prompt_id", prompt.id}});
    return grpc::Status::OK;
  });
}

grpc::Status PromptRegistryService::RenderPromptVersion(grpc::ServerContext*,
                                                        const pb::RenderPromptVersionRequest* request,
                                                        pb::RenderPromptVersionResponse* response) {
  return Observe("RenderPromptVersion", [&] {
    pb::PromptVersion version;
    if (auto st = VersionOrNotFound(store_.GetPromptVersion(request->version_id()),
                                    "Prompt version " + std::to_string(request->version_id()), &version);
        !st.ok()) {
      return st;
    }
    auto rendered = prompts::RenderVersion(version, request->variables());
    if (!rendered.ok()) return FromValidation(rendered.status());
    response->set_template_json(rendered->template_json);
    for (const auto& name : rendered->missing_variables) response->add_missing_variables(name);
    return grpc::Status::OK;
  });
}

}  // namespace osprey::prompt_registry
