#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace osprey::bench {
namespace {

constexpr unsigned kSubBits = 7;             // 128 sub-buckets per power of two
constexpr uint64_t kSub = 1ull << kSubBits;  // 128
constexpr uint64_t kExact = 2 * kSub;        // values below 256 get their own bucket

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

size_t LatencyHistogram::IndexOf(uint64_t value) {
  if (value < kExact) return static_cast<size_t>(value);
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));  // >= 8
  const unsigned shift = msb - kSubBits;                                     // >= 1
  const uint64_t top = value >> shift;                                       // [128, 255]
  return static_cast<size_t>(kExact + (shift - 1) * kSub + (top - kSub));
}

uint64_t LatencyHistogram::UpperBoundOf(size_t index) {
  if (index < kExact) return index;
  const uint64_t k = index - kExact;
  const unsigned shift = static_cast<unsigned>(k / kSub) + 1;
  const uint64_t top = k % kSub + kSub;
  return (top << shift) + ((1ull << shift) - 1);
}

void LatencyHistogram::Record(uint64_t value) {
  ++counts_[IndexOf(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(UpperBoundOf(i), max_);
  }
  return max_;
}

}  // namespace osprey::bench
