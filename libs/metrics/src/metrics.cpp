#include "osprey/metrics/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <type_traits>

namespace osprey::metrics {
namespace {

// Sorted, unique, finite-or--Inf upper bounds; the +Inf bucket is implicit.
std::vector<double> NormalizeBounds(std::vector<double> bounds) {
  bounds.erase(std::remove_if(bounds.begin(), bounds.end(), [](double b) { return std::isnan(b) || b == INFINITY; }),
               bounds.end());
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return bounds;
}

bool IsMetricNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsLabelNameChar(char c, bool first) { return c != ':' && IsMetricNameChar(c, first); }

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names.
bool ValidName(const std::string& name, bool (*valid_char)(char, bool)) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!valid_char(name[i], i == 0)) return false;
  }
  return true;
}

std::string SanitizeName(const std::string& name, bool (*valid_char)(char, bool)) {
  if (name.empty()) return "_";
  std::string out = name;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!valid_char(out[i], i == 0)) out[i] = '_';
  }
  return out;
}

std::string CheckedMetricName(const std::string& name) {
  bool valid = ValidName(name, IsMetricNameChar);
  assert(valid && "invalid metric name");
  return valid ? name : SanitizeName(name, IsMetricNameChar);
}

std::vector<std::string> CheckedLabelNames(std::vector<std::string> names, bool histogram) {
  for (auto& name : names) {
    bool valid = ValidName(name, IsLabelNameChar) && name.rfind("__", 0) != 0 && !(histogram && name == "le");
    assert(valid && "invalid or reserved label name");
    if (!valid) name = "_" + SanitizeName(name, IsLabelNameChar);
  }
  return names;
}

// Integers print without exponent while exact (|v| <= 2^53); everything else as Go's
// strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus Go client uses: the shortest round-trip
// digits, in exponent form when the decimal exponent is < -4 or >= 6. +Inf, -Inf, NaN as spelled there.
void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
  if (v == std::floor(v) && std::fabs(v) <= kExactIntegerLimit) {
    auto res = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    out.append(buf, res.ptr);
    return;
  }
  // Shortest round-trip digits as "-d.ddde+XX"; split into sign, digits and decimal exponent.
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exp = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);

  if (negative) out += '-';
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += exp < 0 ? "e-" : "e+";
    int abs_exp = exp < 0 ? -exp : exp;
    if (abs_exp < 10) out += '0';
    out += std::to_string(abs_exp);
    return;
  }
  int point = exp + 1;  // digits before the decimal point
  if (point <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out += digits;
    out.append(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    out.append(digits, 0, static_cast<size_t>(point));
    out += '.';
    out.append(digits, static_cast<size_t>(point));
  }
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Appends `{a="x",b="y"}` (plus an optional trailing `le`), or nothing when there are no labels.
void AppendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  const std::string* le = nullptr) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

template <typename T>
constexpr const char* TypeName() {
  if constexpr (std::is_same_v<T, Counter>) {
    return "counter";
  } else if constexpr (std::is_same_v<T, Gauge>) {
    return "gauge";
  } else {
    return "histogram";
  }
}

}  // namespace

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Counter::Inc(double v) {
  assert(v >= 0 && "counters only go up");
  if (!(v >= 0)) return;
  value_.fetch_add(v, std::memory_order_relaxed);
}

double Counter::Value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::Set(double v) { value_.store(v, std::memory_order_relaxed); }

void Gauge::Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }

double Gauge::Value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(NormalizeBounds(std::move(bounds))),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double v) {
  // Bucket i counts observations v <= bounds_[i]; NaN lands only in +Inf, as in the Go client.
  size_t index = bounds_.size();
  if (!std::isnan(v)) {
    index = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  }
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot snap;
  snap.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative[i] = running;
  }
  snap.sum = sum_.load(std::memory_order_relaxed);
  snap.count = running;
  return snap;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> SizeBuckets() {
  std::vector<double> bounds;
  for (double b = 256; b <= 64.0 * 1024 * 1024; b *= 4) bounds.push_back(b);
  return bounds;
}

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(NormalizeBounds(std::move(bounds))) {}

template <typename T>
T& Family<T>::With(const std::vector<std::string>& label_values) {
  assert(label_values.size() == label_names_.size() && "wrong number of label values");
  std::vector<std::string> key = label_values;
  key.resize(label_names_.size());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) {
    std::unique_ptr<T> child;
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
    it = children_.emplace(std::move(key), std::move(child)).first;
  }
  return *it->second;
}

template <typename T>
void Family<T>::Render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName<T>();
  out += '\n';

  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      Histogram::Snapshot snap = child->Snap();
      for (size_t i = 0; i < snap.cumulative.size(); ++i) {
        std::string le;
        if (i < bounds_.size()) {
          AppendNumber(le, bounds_[i]);
        } else {
          le = "+Inf";
        }
        out += name_;
        out += "_bucket";
        AppendLabels(out, label_names_, values, &le);
        out += ' ';
        AppendUint(out, snap.cumulative[i]);
        out += '\n';
      }
      out += name_;
      out += "_sum";
      AppendLabels(out, label_names_, values);
      out += ' ';
      AppendNumber(out, snap.sum);
      out += '\n';
      out += name_;
      out += "_count";
      AppendLabels(out, label_names_, values);
      out += ' ';
      AppendUint(out, snap.count);
      out += '\n';
    } else {
      out += name_;
      AppendLabels(out, label_names_, values);
      out += ' ';
      AppendNumber(out, child->Value());
      out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

template <typename T>
Family<T>& GetOrCreate(std::mutex& mu, std::map<std::string, std::unique_ptr<Registry::FamilyBase>>& families,
                       std::vector<std::unique_ptr<Registry::FamilyBase>>& detached, const std::string& raw_name,
                       const std::string& help, std::vector<std::string> raw_label_names,
                       std::vector<double> raw_bounds) {
  std::string name = CheckedMetricName(raw_name);
  std::vector<std::string> label_names = CheckedLabelNames(std::move(raw_label_names), std::is_same_v<T, Histogram>);
  std::vector<double> bounds = NormalizeBounds(std::move(raw_bounds));
  std::lock_guard<std::mutex> lock(mu);
  auto it = families.find(name);
  if (it == families.end()) {
    auto family = std::make_unique<Family<T>>(name, help, std::move(label_names), std::move(bounds));
    Family<T>& ref = *family;
    families.emplace(name, std::move(family));
    return ref;
  }
  auto* existing = dynamic_cast<Family<T>*>(it->second.get());
  assert(existing != nullptr && "metric family registered again with another type");
  if (existing == nullptr) {
    detached.push_back(std::make_unique<Family<T>>(name, help, std::move(label_names), std::move(bounds)));
    return static_cast<Family<T>&>(*detached.back());
  }
  assert(existing->label_names() == label_names && "metric family registered again with other labels");
  assert(existing->bounds() == bounds && "histogram family registered again with other buckets");
  return *existing;
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

Family<Counter>& Registry::CounterFamily(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  return GetOrCreate<Counter>(mu_, families_, detached_, name, help, std::move(label_names), {});
}

Family<Gauge>& Registry::GaugeFamily(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names) {
  return GetOrCreate<Gauge>(mu_, families_, detached_, name, help, std::move(label_names), {});
}

Family<Histogram>& Registry::HistogramFamily(const std::string& name, const std::string& help,
                                             std::vector<double> bounds, std::vector<std::string> label_names) {
  return GetOrCreate<Histogram>(mu_, families_, detached_, name, help, std::move(label_names), std::move(bounds));
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help) {
  return CounterFamily(name, help).With({});
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help) { return GaugeFamily(name, help).With({}); }

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  return HistogramFamily(name, help, std::move(bounds)).With({});
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

}  // namespace osprey::metrics
