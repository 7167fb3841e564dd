#pragma once

// PromptRegistryService: osprey.prompts.v1.PromptRegistry (proto/osprey/prompts/v1/prompts.proto) over
// the Store's PromptStore. Requests are validated with libs/prompts (identifiers, versions, metadata)
// before anything is written; rendering is libs/prompts' RenderVersion.
//
// Errors (the message names the field where one is at fault):
//   INVALID_ARGUMENT  bad identifier, version, metadata, selector, page_size or page_token
//   NOT_FOUND         no such prompt, version or tag
//   ALREADY_EXISTS    CreatePromptVersion with fail_if_exists on a taken name
//   UNAVAILABLE       the store is unreachable, busy or closed (retry later)
//   INTERNAL          anything else
// Pages: page_size 0 means 100, at most 1000; page_token / next_page_token are the decimal row id of
// the first item of the page (empty: first page / no further page).
//
// Every call is counted in osprey_prompt_registry_rpcs_total{method, code} and timed in
// osprey_prompt_registry_rpc_duration_seconds{method}; failures other than the client's are logged.
// Thread safety: the service holds no mutable state; gRPC may call it from any number of threads.

#include "osprey/prompts/v1/prompts.grpc.pb.h"
#include "osprey/store/prompts.hpp"

namespace osprey::metrics {
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace osprey::metrics

namespace osprey::prompt_registry {

class PromptRegistryService final : public osprey::prompts::v1::PromptRegistry::Service {
 public:
  // `store` must outlive the service; `metrics` may be null.
  PromptRegistryService(store::PromptStore& store, metrics::Registry* metrics);

  grpc::Status CreatePromptVersion(grpc::ServerContext* context,
                                   const osprey::prompts::v1::CreatePromptVersionRequest* request,
                                   osprey::prompts::v1::CreatePromptVersionResponse* response) override;
  grpc::Status GetPrompt(grpc::ServerContext* context, const osprey::prompts::v1::GetPromptRequest* request,
                         osprey::prompts::v1::Prompt* response) override;
  grpc::Status GetPromptVersion(grpc::ServerContext* context,
                                const osprey::prompts::v1::GetPromptVersionRequest* request,
                                osprey::prompts::v1::PromptVersion* response) override;
  grpc::Status ListPrompts(grpc::ServerContext* context, const osprey::prompts::v1::ListPromptsRequest* request,
                           osprey::prompts::v1::ListPromptsResponse* response) override;
  grpc::Status ListPromptVersions(grpc::ServerContext* context,
                                  const osprey::prompts::v1::ListPromptVersionsRequest* request,
                                  osprey::prompts::v1::ListPromptVersionsResponse* response) override;
  grpc::Status ListTags(grpc::ServerContext* context, const osprey::prompts::v1::ListTagsRequest* request,
                        osprey::prompts::v1::ListTagsResponse* response) override;
  grpc::Status SetTag(grpc::ServerContext* context, const osprey::prompts::v1::SetTagRequest* request,
                      osprey::prompts::v1::Tag* response) override;
  grpc::Status DeleteTag(grpc::ServerContext* context, const osprey::prompts::v1::DeleteTagRequest* request,
                         osprey::prompts::v1::DeleteTagResponse* response) override;
  grpc::Status PatchPrompt(grpc::ServerContext* context, const osprey::prompts::v1::PatchPromptRequest* request,
                           osprey::prompts::v1::Prompt* response) override;
  grpc::Status DeletePrompt(grpc::ServerContext* context, const osprey::prompts::v1::DeletePromptRequest* request,
                            osprey::prompts::v1::DeletePromptResponse* response) override;
  grpc::Status RenderPromptVersion(grpc::ServerContext* context,
                                   const osprey::prompts::v1::RenderPromptVersionRequest* request,
                                   osprey::prompts::v1::RenderPromptVersionResponse* response) override;

 private:
  template <typename Fn>
  grpc::Status Observe(const char* method, Fn&& fn);

  store::PromptStore& store_;
  metrics::Family<metrics::Counter>* rpcs_ = nullptr;
  metrics::Family<metrics::Histogram>* duration_ = nullptr;
};

}  // namespace osprey::prompt_registry
