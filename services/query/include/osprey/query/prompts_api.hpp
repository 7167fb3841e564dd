#pragma once

// Phoenix's REST prompt routes, served by calling the prompt registry over gRPC
// (proto/osprey/prompts/v1/prompts.proto; in-process channel in the embedded mode, network in the
// distributed one):
//   POST   /v1/prompts                                        {prompt, version} -> {data: PromptVersion}
//   GET    /v1/prompts                                        ?cursor&limit -> {data: [Prompt], next_cursor}
//   GET    /v1/prompts/{prompt_identifier}/versions           ?cursor&limit -> {data: [PromptVersion], next_cursor}
//   GET    /v1/prompts/{prompt_identifier}/latest             -> {data: PromptVersion}
//   GET    /v1/prompts/{prompt_identifier}/tags/{tag_name}    -> {data: PromptVersion}
//   PATCH  /v1/prompts/{prompt_identifier}                    {description?, metadata?} -> {data: Prompt}
//   DELETE /v1/prompts/{prompt_identifier}                    -> 204
//   GET    /v1/prompt_versions/{prompt_version_id}            -> {data: PromptVersion}
//   GET    /v1/prompt_versions/{prompt_version_id}/tags       ?cursor&limit -> {data: [PromptVersionTag], next_cursor}
//   POST   /v1/prompt_versions/{prompt_version_id}/tags       {name, description?} -> 204
//   DELETE /v1/prompt_versions/{prompt_version_id}/tags/{tag_name} -> 204
// Ids are GlobalIDs (Prompt:N, PromptVersion:N, PromptVersionTag:N); a prompt_identifier is a Prompt
// GlobalID or a prompt name. Unset optional fields (description, tools, response_format) are omitted,
// as Phoenix's exclude_unset responses do.
//
// Errors: a malformed body or a field the registry refuses -> 422 application/json
// {"detail":[{"type","loc":["body",...],"msg","input"}]} (the registry's field path becomes `loc`);
// a non-chat template -> 422 text "Only CHAT template type is supported for prompts"; a malformed id
// or cursor -> 422 text; NOT_FOUND -> 404 text; ALREADY_EXISTS -> 409; registry unavailable or past the
// deadline -> 503 with Retry-After; anything else -> 500.
//
// Ownership: the stub is shared with whoever built the channel; the registered routes keep it (and
// this api's state) alive, so the PromptsApi object may go away after Register.
// Thread safety: no mutable state; handlers may run concurrently. Blocking: each handler waits for
// one registry call, bounded by `deadline`.

#include <chrono>
#include <memory>

#include "osprey/http/server.hpp"
#include "osprey/prompts/v1/prompts.grpc.pb.h"

namespace osprey::metrics {
class Registry;
}

namespace osprey::query {

inline constexpr std::string_view kPromptType = "Prompt";
inline constexpr std::string_view kPromptVersionType = "PromptVersion";
inline constexpr std::string_view kPromptVersionTagType = "PromptVersionTag";

class PromptsApi final {
 public:
  using Stub = osprey::prompts::v1::PromptRegistry::StubInterface;

  // `metrics` may be null.
  PromptsApi(std::shared_ptr<Stub> registry, metrics::Registry* metrics,
             std::chrono::milliseconds deadline = std::chrono::seconds(10));

  void Register(http::Router& router);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace osprey::query
