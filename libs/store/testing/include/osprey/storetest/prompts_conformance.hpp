#pragma once

// Conformance cases of the PromptStore (osprey/store/prompts.hpp). Registered for every store by
// OSPREY_STORE_CONFORMANCE_TESTS through OSPREY_PROMPT_CONFORMANCE_TESTS; same harness contract as
// store_conformance.hpp.

#include <functional>
#include <memory>

namespace osprey::storetest {

class StoreHarness;
using HarnessFactory = std::function<std::unique_ptr<StoreHarness>()>;

void PromptCreateAndAddVersions(const HarnessFactory& factory);
void PromptGetVersionByIdTagLatest(const HarnessFactory& factory);
void PromptListPagination(const HarnessFactory& factory);
void PromptTagsMoveAndDelete(const HarnessFactory& factory);
void PromptPatchFields(const HarnessFactory& factory);
void PromptDeleteCascades(const HarnessFactory& factory);
void PromptErrors(const HarnessFactory& factory);
void PromptConcurrentCreateOneName(const HarnessFactory& factory);

}  // namespace osprey::storetest

#define OSPREY_PROMPT_CONFORMANCE_TESTS(prefix, factory)                                                              \
  OSPREY_STORETEST_CASE(prefix, "prompts: create, re-create adds a version", PromptCreateAndAddVersions, factory)   \
  OSPREY_STORETEST_CASE(prefix, "prompts: version by id, tag and latest", PromptGetVersionByIdTagLatest, factory)   \
  OSPREY_STORETEST_CASE(prefix, "prompts: keyset pagination of prompts, versions and tags", PromptListPagination,    \
                        factory)                                                                                     \
  OSPREY_STORETEST_CASE(prefix, "prompts: tags move and delete", PromptTagsMoveAndDelete, factory)                   \
  OSPREY_STORETEST_CASE(prefix, "prompts: patch description and metadata", PromptPatchFields, factory)                     \
  OSPREY_STORETEST_CASE(prefix, "prompts: delete cascades to versions and tags", PromptDeleteCascades, factory)     \
  OSPREY_STORETEST_CASE(prefix, "prompts: not found, already exists, invalid", PromptErrors, factory)                \
  OSPREY_STORETEST_CASE(prefix, "prompts: concurrent creates of one name", PromptConcurrentCreateOneName, factory)
