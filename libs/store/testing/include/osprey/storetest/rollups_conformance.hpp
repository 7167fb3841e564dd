#pragma once

// Conformance case of the per-project rollups (migration 0007): random batches and every mutation,
// with the projects' rollups checked against a recomputation from the traces after each step.
// Registered for every store by OSPREY_STORE_CONFORMANCE_TESTS; same harness contract as
// store_conformance.hpp.

#include <functional>
#include <memory>

namespace osprey::storetest {

class StoreHarness;
using HarnessFactory = std::function<std::unique_ptr<StoreHarness>()>;

void ProjectRollupsStayExact(const HarnessFactory& factory);

}  // namespace osprey::storetest

#define OSPREY_PROJECT_ROLLUP_TESTS(prefix, factory)                                                                \
  OSPREY_STORETEST_CASE(prefix, "project rollups stay exact through writes and mutations", ProjectRollupsStayExact, \
                        factory)
