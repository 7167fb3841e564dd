#pragma once

// Conformance cases of the AnnotationStore (osprey/store/annotations.hpp). Registered for every store
// by OSPREY_STORE_CONFORMANCE_TESTS through OSPREY_ANNOTATION_CONFORMANCE_TESTS; same harness contract
// as store_conformance.hpp.

#include <functional>
#include <memory>

namespace osprey::storetest {

class StoreHarness;
using HarnessFactory = std::function<std::unique_ptr<StoreHarness>()>;

void AnnotationUpsertKeyAndFields(const HarnessFactory& factory);
void AnnotationMissingTargets(const HarnessFactory& factory);
void AnnotationListFiltersAndPages(const HarnessFactory& factory);
void AnnotationTraceSessionDocument(const HarnessFactory& factory);
void AnnotationBulkDelete(const HarnessFactory& factory);
void AnnotationsFollowTheirTargets(const HarnessFactory& factory);
void AnnotationInvalidInputWritesNothing(const HarnessFactory& factory);
void AnnotationConfigs(const HarnessFactory& factory);
void AnnotationConfigProjects(const HarnessFactory& factory);

}  // namespace osprey::storetest

#define OSPREY_ANNOTATION_CONFORMANCE_TESTS(prefix, factory)                                                     \
  OSPREY_STORETEST_CASE(prefix, "annotations: upsert key and stored fields", AnnotationUpsertKeyAndFields,      \
                        factory)                                                                                \
  OSPREY_STORETEST_CASE(prefix, "annotations: missing targets", AnnotationMissingTargets, factory)              \
  OSPREY_STORETEST_CASE(prefix, "annotations: list filters and pages", AnnotationListFiltersAndPages, factory)  \
  OSPREY_STORETEST_CASE(prefix, "annotations: traces, sessions, documents", AnnotationTraceSessionDocument,     \
                        factory)                                                                                \
  OSPREY_STORETEST_CASE(prefix, "annotations: bulk delete filters", AnnotationBulkDelete, factory)              \
  OSPREY_STORETEST_CASE(prefix, "annotations: follow transfers and deletes of their targets",                   \
                        AnnotationsFollowTheirTargets, factory)                                                 \
  OSPREY_STORETEST_CASE(prefix, "annotations: invalid input writes nothing", AnnotationInvalidInputWritesNothing, \
                        factory)                                                                                \
  OSPREY_STORETEST_CASE(prefix, "annotation configs", AnnotationConfigs, factory)                               \
  OSPREY_STORETEST_CASE(prefix, "annotation configs assigned to projects", AnnotationConfigProjects, factory)
