#pragma once

// The Store conformance suite (`storetest`): behaviour every Store implementation must share, as
// Catch2 checks. An implementation's test file plugs in a harness factory:
//
//   OSPREY_STORE_CONFORMANCE_TESTS("sqlite", [] { return std::make_unique<MySqliteHarness>(); })
//
// which registers one TEST_CASE per behaviour, named "<prefix>: <behaviour>" and tagged [storetest].

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "osprey/store/store.hpp"
#include "osprey/storetest/annotations_conformance.hpp"
#include "osprey/storetest/mutations_conformance.hpp"
#include "osprey/storetest/prompts_conformance.hpp"
#include "osprey/storetest/rollups_conformance.hpp"

namespace osprey::storetest {

// One fresh, empty database. Open() may be called several times (also after a previous store was
// closed) and every store it returns sees the same data; the suite calls Migrate() itself.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual absl::StatusOr<std::unique_ptr<store::Store>> Open() = 0;
};

using HarnessFactory = std::function<std::unique_ptr<StoreHarness>()>;

// Each function runs one behaviour against a fresh harness from `factory`.
void IdempotentWrite(const HarnessFactory& factory);
void SpansBySpanIdAmongManyTraces(const HarnessFactory& factory);
void RollupsChildrenBeforeParents(const HarnessFactory& factory);
void TokenTotalsAndErrors(const HarnessFactory& factory);
void CostsRollUp(const HarnessFactory& factory);
void Sessions(const HarnessFactory& factory);
void ProjectAutoCreateAndTraceKeepsProject(const HarnessFactory& factory);
void InvalidBatchStoresNothing(const HarnessFactory& factory);
void ListSpansFilters(const HarnessFactory& factory);
void ListSpansAttributeFilters(const HarnessFactory& factory);
void ListSpansPagination(const HarnessFactory& factory);
void TraceLookupsAndSpansOfTraces(const HarnessFactory& factory);
void ListTracesSortOrderWindowSessions(const HarnessFactory& factory);
void ListTracesPagination(const HarnessFactory& factory);
void Projects(const HarnessFactory& factory);
void ListSessionsPagination(const HarnessFactory& factory);
void PingAndClose(const HarnessFactory& factory);
void MigrateTwiceIsNoOp(const HarnessFactory& factory);
void DurableAcrossReopen(const HarnessFactory& factory);
void ConcurrentWritersAndReaders(const HarnessFactory& factory);
void SpanIdsRacingAcrossTraces(const HarnessFactory& factory);

}  // namespace osprey::storetest

#define OSPREY_STORETEST_CASE(prefix, name, fn, factory) \
  TEST_CASE(prefix ": " name, "[storetest]") { ::osprey::storetest::fn(factory); }

#define OSPREY_STORE_CONFORMANCE_TESTS(prefix, factory)                                                               \
  OSPREY_STORETEST_CASE(prefix, "write is idempotent", IdempotentWrite, factory)                                      \
  OSPREY_STORETEST_CASE(prefix, "spans by span id among many traces", SpansBySpanIdAmongManyTraces, factory)          \
  OSPREY_STORETEST_CASE(prefix, "rollups when children arrive before parents", RollupsChildrenBeforeParents, factory) \
  OSPREY_STORETEST_CASE(prefix, "token totals and error count", TokenTotalsAndErrors, factory)                        \
  OSPREY_STORETEST_CASE(prefix, "span costs roll up to traces and sessions", CostsRollUp, factory)                    \
  OSPREY_STORETEST_CASE(prefix, "sessions roll up their traces", Sessions, factory)                                   \
  OSPREY_STORETEST_CASE(prefix, "projects auto-created, traces keep their project",                                   \
                        ProjectAutoCreateAndTraceKeepsProject, factory)                                               \
  OSPREY_STORETEST_CASE(prefix, "invalid batch stores nothing", InvalidBatchStoresNothing, factory)                   \
  OSPREY_STORETEST_CASE(prefix, "ListSpans filters", ListSpansFilters, factory)                                       \
  OSPREY_STORETEST_CASE(prefix, "ListSpans attribute filters", ListSpansAttributeFilters, factory)                    \
  OSPREY_STORETEST_CASE(prefix, "ListSpans pagination", ListSpansPagination, factory)                                 \
  OSPREY_STORETEST_CASE(prefix, "trace lookups and SpansOfTraces", TraceLookupsAndSpansOfTraces, factory)             \
  OSPREY_STORETEST_CASE(prefix, "ListTraces sort, order, window, sessions", ListTracesSortOrderWindowSessions,        \
                        factory)                                                                                      \
  OSPREY_STORETEST_CASE(prefix, "ListTraces pagination", ListTracesPagination, factory)                               \
  OSPREY_STORETEST_CASE(prefix, "projects", Projects, factory)                                                        \
  OSPREY_STORETEST_CASE(prefix, "ListSessions pagination", ListSessionsPagination, factory)                           \
  OSPREY_STORETEST_CASE(prefix, "Ping, then Close makes calls fail", PingAndClose, factory)                           \
  OSPREY_STORETEST_CASE(prefix, "Migrate twice is a no-op", MigrateTwiceIsNoOp, factory)                              \
  OSPREY_STORETEST_CASE(prefix, "data survives close and reopen", DurableAcrossReopen, factory)                       \
  OSPREY_STORETEST_CASE(prefix, "concurrent writers and readers", ConcurrentWritersAndReaders, factory)               \
  OSPREY_STORETEST_CASE(prefix, "span ids racing across traces", SpanIdsRacingAcrossTraces, factory)                  \
  OSPREY_STORE_MUTATION_TESTS(prefix, factory)                                                                        \
  OSPREY_PROJECT_ROLLUP_TESTS(prefix, factory)                                                                        \
  OSPREY_ANNOTATION_CONFORMANCE_TESTS(prefix, factory)                                                                \
  OSPREY_PROMPT_CONFORMANCE_TESTS(prefix, factory)
