#include "osprey/metrics/metrics.hpp"

#include <catch2/catch.hpp>

namespace osprey::metrics {
namespace {

TEST_CASE("Render writes a counter with HELP and TYPE") {
  Registry registry;
  registry.GetCounter("osprey_test_total", "A test counter.").Inc(3);
  CHECK(registry.Render() == "# HELP osprey_test_total A test counter.\n# TYPE osprey_test_total counter\nosprey_test_total 3\n");
}

}  // namespace
}  // namespace osprey::metrics
