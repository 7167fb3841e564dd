#include "histogram.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

using osprey::bench::LatencyHistogram;

TEST_CASE("empty histogram reports zeros") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.Percentile(50) == 0);
  CHECK(h.max() == 0);
  CHECK(h.min() == 0);
}

TEST_CASE("small values are exact") {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  CHECK(h.Percentile(50) == 50);
  CHECK(h.Percentile(99) == 99);
  CHECK(h.Percentile(100) == 100);
  CHECK(h.Percentile(0) == 1);
  CHECK(h.min() == 1);
  CHECK(h.Mean() == Approx(50.5));
}

TEST_CASE("large values keep 1/128 relative precision") {
  for (uint64_t v : {256ull, 1000ull, 123456ull, 987654321ull, 1ull << 40, (1ull << 63) + 12345}) {
    const size_t index = LatencyHistogram::IndexOf(v);
    REQUIRE(index < LatencyHistogram::kBuckets);
    const uint64_t upper = LatencyHistogram::UpperBoundOf(index);
    CHECK(upper >= v);
    CHECK(static_cast<double>(upper - v) <= static_cast<double>(v) / 128.0);
  }
  CHECK(LatencyHistogram::IndexOf(UINT64_MAX) == LatencyHistogram::kBuckets - 1);
}

TEST_CASE("bucket indexes are monotonic and contiguous") {
  size_t previous = LatencyHistogram::IndexOf(0);
  for (uint64_t v = 1; v < 200000; ++v) {
    const size_t index = LatencyHistogram::IndexOf(v);
    REQUIRE(index >= previous);
    REQUIRE(index - previous <= 1);
    previous = index;
  }
}

TEST_CASE("tail percentiles see the outliers") {
  LatencyHistogram h;
  for (int i = 0; i < 9990; ++i) h.Record(1000);
  for (int i = 0; i < 10; ++i) h.Record(500000);
  CHECK(h.Percentile(50) == Approx(1000).epsilon(0.01));
  CHECK(h.Percentile(99) == Approx(1000).epsilon(0.01));
  CHECK(h.Percentile(99.95) == Approx(500000).epsilon(0.01));
  CHECK(h.Percentile(100) == 500000);
}

TEST_CASE("merge adds counts and keeps extremes") {
  LatencyHistogram a, b;
  a.Record(10);
  a.Record(20);
  b.Record(5);
  b.Record(40000);
  a.Merge(b);
  CHECK(a.count() == 4);
  CHECK(a.min() == 5);
  CHECK(a.max() == 40000);
  CHECK(a.Percentile(50) == 10);
}
