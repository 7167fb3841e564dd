#pragma once

// Conformance cases of the MutationStore (osprey/store/mutations.hpp). Registered for every store
// by OSPREY_STORE_CONFORMANCE_TESTS through OSPREY_STORE_MUTATION_TESTS; same harness contract as
// store_conformance.hpp.

#include <functional>
#include <memory>

namespace osprey::storetest {

class StoreHarness;
using HarnessFactory = std::function<std::unique_ptr<StoreHarness>()>;

void MutationDeleteSpanRecomputesRollups(const HarnessFactory& factory);
void MutationDeleteTraceAndSessions(const HarnessFactory& factory);
void MutationTransferTraces(const HarnessFactory& factory);
void MutationProjects(const HarnessFactory& factory);
void MutationDeleteRacesWriter(const HarnessFactory& factory);

}  // namespace osprey::storetest

#define OSPREY_STORE_MUTATION_TESTS(prefix, factory)                                                             \
  OSPREY_STORETEST_CASE(prefix, "delete span recomputes trace and session", MutationDeleteSpanRecomputesRollups, \
                        factory)                                                                                 \
  OSPREY_STORETEST_CASE(prefix, "delete traces and sessions", MutationDeleteTraceAndSessions, factory)           \
  OSPREY_STORETEST_CASE(prefix, "transfer traces between projects", MutationTransferTraces, factory)             \
  OSPREY_STORETEST_CASE(prefix, "update and delete projects", MutationProjects, factory)                         \
  OSPREY_STORETEST_CASE(prefix, "deletes racing the writer keep rollups exact", MutationDeleteRacesWriter, factory)
