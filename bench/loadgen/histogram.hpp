#pragma once

// A log-linear latency histogram in the spirit of HdrHistogram: values below 256 are exact, larger ones
// are kept with 1/128 relative precision (< 0.8 %), up to 2^63. Fixed memory (7424 counters, ~58 KiB).
//
// Thread safety: none; give each thread its own and Merge() them at the end.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace osprey::bench {

class LatencyHistogram final {
 public:
  LatencyHistogram();

  void Record(uint64_t value);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double Mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }

  // The smallest value v such that at least `percent` % of the recorded values are <= v, reported as
  // the upper bound of v's bucket ("highest equivalent value") and never above max(). 0 when empty.
  // `percent` is clamped to [0, 100].
  uint64_t Percentile(double percent) const;

  // Bucket arithmetic, exposed for tests.
  static size_t IndexOf(uint64_t value);
  static uint64_t UpperBoundOf(size_t index);
  static constexpr size_t kBuckets = 7424;

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace osprey::bench
