#pragma once

// Prometheus metrics, exposed in the text exposition format (version 0.0.4). prometheus-cpp is not
// packaged for Debian 12, so this small library is ours.
//
// Names carry the `osprey_` prefix and the unit suffixes `_total`, `_seconds`, `_bytes`.
// Thread safety: every method is safe to call from any thread; Inc/Set/Observe are lock-free.
// Families are created once (at module construction) and keep stable addresses for the life of the
// Registry, so callers may cache the returned references.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace osprey::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter final {
 public:
  // Counters only go up: a negative or NaN `v` asserts in debug builds and is ignored otherwise.
  void Inc(double v = 1.0);
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

class Gauge final {
 public:
  void Set(double v);
  void Add(double v);
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

class Histogram final {
 public:
  // Observation v lands in the first bucket whose bound is >= v (NaN only in +Inf). `bounds` are
  // sorted and deduplicated; NaN and +Inf bounds are dropped (the +Inf bucket is implicit).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Cumulative bucket counts (one per bound, then +Inf), sum and count — a consistent-enough snapshot:
  // count equals the +Inf bucket; the sum may lag or lead the buckets by in-flight observations.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Snap() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the last is +Inf)
  std::atomic<double> sum_{0};  // the count is the sum of buckets_, so _count always equals le="+Inf"
};

// Default latency buckets in seconds: 0.5 ms … 30 s.
std::vector<double> LatencyBuckets();
// Default size buckets in bytes: 256 B … 64 MiB.
std::vector<double> SizeBuckets();

template <typename T>
class Family;

class Registry final {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the family with this name, creating it on first use. `label_names` fixes the label set.
  // Asking again for an existing name returns the same family. Asking for it with another type, label
  // set or bucket layout is a programmer error: it asserts in debug builds; release builds return the
  // existing family when the type matches, else a detached family that is never rendered.
  // Invalid metric or label names (see the exposition format) assert too; release builds replace
  // the offending characters with '_'.
  Family<Counter>& CounterFamily(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names = {});
  Family<Gauge>& GaugeFamily(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names = {});
  Family<Histogram>& HistogramFamily(const std::string& name, const std::string& help, std::vector<double> bounds,
                                     std::vector<std::string> label_names = {});

  // Shorthands for unlabelled metrics.
  Counter& GetCounter(const std::string& name, const std::string& help);
  Gauge& GetGauge(const std::string& name, const std::string& help);
  Histogram& GetHistogram(const std::string& name, const std::string& help, std::vector<double> bounds);

  // The whole registry in the Prometheus text format, families sorted by name.
  std::string Render() const;

  struct FamilyBase;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
  std::vector<std::unique_ptr<FamilyBase>> detached_;  // type clashes in release builds; never rendered
};

struct Registry::FamilyBase {
  virtual ~FamilyBase() = default;
  virtual void Render(std::string& out) const = 0;
};

template <typename T>
class Family final : public Registry::FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds = {});
  // The child for these label values (in label-name order); created on first use. Children live as
  // long as the family, so the reference may be cached. A wrong number of values is a programmer
  // error: it asserts in debug builds; release builds pad with "" or drop the extra values.
  T& With(const std::vector<std::string>& label_values);
  void Render(std::string& out) const override;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

// Escapes a label value per the exposition format (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& v);

}  // namespace osprey::metrics
