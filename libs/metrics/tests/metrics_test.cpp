#include "osprey/metrics/metrics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace osprey::metrics {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Parses a sample value as the exposition format allows (Go float syntax plus +Inf/-Inf/NaN).
bool ParseValue(const std::string& text, double& out) {
  static const std::regex kFloat(R"([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)");
  if (text == "+Inf" || text == "Inf") {
    out = std::numeric_limits<double>::infinity();
  } else if (text == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
  } else if (text == "NaN") {
    out = std::nan("");
  } else if (std::regex_match(text, kFloat)) {
    out = std::stod(text);
  } else {
    return false;
  }
  return true;
}

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
  double value = 0;
};

// Parses `name{a="x",...} value`; returns an error message or "".
std::string ParseSample(const std::string& line, Sample& sample) {
  static const std::regex kMetricName(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
  static const std::regex kLabelName(R"([a-zA-Z_][a-zA-Z0-9_]*)");
  size_t pos = line.find_first_of("{ ");
  if (pos == std::string::npos) return "no value";
  sample.name = line.substr(0, pos);
  if (!std::regex_match(sample.name, kMetricName)) return "bad metric name '" + sample.name + "'";
  if (line[pos] == '{') {
    ++pos;
    while (true) {
      if (pos < line.size() && line[pos] == '}') {
        ++pos;
        break;
      }
      size_t eq = line.find('=', pos);
      if (eq == std::string::npos) return "label without '='";
      std::string label = line.substr(pos, eq - pos);
      if (!std::regex_match(label, kLabelName)) return "bad label name '" + label + "'";
      pos = eq + 1;
      if (pos >= line.size() || line[pos] != '"') return "label value not quoted";
      ++pos;
      std::string value;
      bool closed = false;
      while (pos < line.size()) {
        char c = line[pos++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (pos >= line.size()) return "dangling backslash";
          char e = line[pos++];
          if (e == '\\') {
            value += '\\';
          } else if (e == '"') {
            value += '"';
          } else if (e == 'n') {
            value += '\n';
          } else {
            return std::string("bad escape \\") + e;
          }
        } else {
          value += c;
        }
      }
      if (!closed) return "unterminated label value";
      sample.labels.emplace_back(label, value);
      if (pos < line.size() && line[pos] == ',') {
        ++pos;
      } else if (pos >= line.size() || line[pos] != '}') {
        return "expected ',' or '}' after label value";
      }
    }
  }
  if (pos >= line.size() || line[pos] != ' ') return "expected a single space before the value";
  std::string value = line.substr(pos + 1);
  if (!ParseValue(value, sample.value)) return "bad value '" + value + "'";
  return "";
}

// Checks text against the exposition format 0.0.4 and Osprey's own promises (families sorted, help
// and type once per family before its samples, histogram buckets cumulative and ending in +Inf with
// _count equal to the +Inf bucket). Returns one message per violation.
std::vector<std::string> Validate(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*))");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  std::vector<std::string> errors;
  if (!text.empty() && text.back() != '\n') errors.push_back("output does not end with a newline");
  std::string family, type, previous_family;
  std::set<std::string> seen;
  struct HistogramState {
    double last_le = -std::numeric_limits<double>::infinity();
    double last_count = 0;
    double inf_count = -1;
    std::string series;
  } hist;
  auto lines = Lines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    auto fail = [&](const std::string& why) {
      errors.push_back("line " + std::to_string(n + 1) + ": " + why + ": " + line);
    };
    std::smatch m;
    if (line.rfind("#", 0) == 0) {
      if (std::regex_match(line, m, kHelp)) {
        std::string help = m[2];
        for (size_t i = 0; i < help.size(); ++i) {
          if (help[i] == '\\' && (i + 1 == help.size() || (help[i + 1] != '\\' && help[i + 1] != 'n'))) {
            fail("bad escape in HELP");
          }
          if (help[i] == '\\') ++i;
        }
        if (m[1] != family) {
          if (seen.count(m[1])) fail("family appears twice");
          if (!previous_family.empty() && std::string(m[1]) < previous_family) fail("families not sorted");
          previous_family = family = m[1];
          seen.insert(family);
          type.clear();
        }
      } else if (std::regex_match(line, m, kType)) {
        if (m[1] != family) fail("TYPE without HELP for the same family");
        if (!type.empty()) fail("TYPE twice");
        type = m[2];
      } else {
        fail("unknown comment");
      }
      continue;
    }
    if (line.empty()) {
      fail("empty line");
      continue;
    }
    Sample sample;
    std::string error = ParseSample(line, sample);
    if (!error.empty()) {
      fail(error);
      continue;
    }
    if (type.empty()) fail("sample before TYPE");
    std::string base = sample.name;
    std::string suffix;
    if (type == "histogram") {
      for (const char* s : {"_bucket", "_sum", "_count"}) {
        std::string sfx = s;
        if (base.size() > sfx.size() && base.compare(base.size() - sfx.size(), sfx.size(), sfx) == 0) {
          suffix = sfx;
          base.resize(base.size() - sfx.size());
          break;
        }
      }
      if (suffix.empty()) fail("histogram sample without _bucket/_sum/_count");
    }
    if (base != family) fail("sample outside its family");
    std::set<std::string> label_names;
    for (const auto& [k, v] : sample.labels) {
      if (!label_names.insert(k).second) fail("duplicate label " + k);
    }
    if (type == "counter" && !(sample.value >= 0)) fail("counter is negative or NaN");
    if (type != "histogram") continue;
    std::string series;
    std::string le;
    for (const auto& [k, v] : sample.labels) {
      if (k == "le") {
        le = v;
      } else {
        series += k + "=" + v + ",";
      }
    }
    if (suffix == "_bucket") {
      double bound = 0;
      if (le.empty() || !ParseValue(le, bound)) {
        fail("bucket without a numeric le");
        continue;
      }
      if (series != hist.series || hist.inf_count >= 0) {
        if (series == hist.series) fail("buckets of one series after its +Inf bucket");
        hist = HistogramState{};
        hist.series = series;
      }
      if (!(bound > hist.last_le)) fail("le not increasing");
      if (sample.value < hist.last_count) fail("buckets not cumulative");
      hist.last_le = bound;
      hist.last_count = sample.value;
      if (std::isinf(bound)) hist.inf_count = sample.value;
    } else {
      if (!le.empty()) fail("le on _sum/_count");
      if (series != hist.series || hist.inf_count < 0) fail("_sum/_count without a +Inf bucket before it");
      if (suffix == "_count" && sample.value != hist.inf_count) fail("_count differs from the +Inf bucket");
    }
  }
  return errors;
}

TEST_CASE("Render writes a counter with HELP and TYPE") {
  Registry registry;
  registry.GetCounter("osprey_test_total", "A test counter.").Inc(3);
  CHECK(registry.Render() ==
        "# HELP osprey_test_total A test counter.\n"
        "# TYPE osprey_test_total counter\n"
        "osprey_test_total 3\n");
}

TEST_CASE("Counters and gauges keep their values") {
  Registry registry;
  Counter& c = registry.GetCounter("osprey_c_total", "c");
  c.Inc();
  c.Inc(0.5);
  CHECK(c.Value() == 1.5);
  Gauge& g = registry.GetGauge("osprey_g", "g");
  g.Set(10);
  g.Add(-12.5);
  CHECK(g.Value() == -2.5);
  auto lines = Lines(registry.Render());
  CHECK(std::find(lines.begin(), lines.end(), "osprey_c_total 1.5") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "osprey_g -2.5") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "# TYPE osprey_g gauge") != lines.end());
}

TEST_CASE("Sample values are formatted as Prometheus expects") {
  auto render = [](double v) {
    Registry registry;
    registry.GetGauge("g", "h").Set(v);
    return Lines(registry.Render()).back();
  };
  CHECK(render(0) == "g 0");
  CHECK(render(-0.0) == "g 0");
  CHECK(render(42) == "g 42");
  CHECK(render(-7) == "g -7");
  CHECK(render(1234567890123) == "g 1234567890123");
  CHECK(render(9007199254740992.0) == "g 9007199254740992");
  CHECK(render(0.1) == "g 0.1");
  CHECK(render(0.0005) == "g 0.0005");
  CHECK(render(1e300) == "g 1e+300");
  CHECK(render(1e20) == "g 1e+20");
  CHECK(render(1e-5) == "g 1e-05");
  CHECK(render(-0.00012) == "g -0.00012");
  CHECK(render(123456.5) == "g 123456.5");
  CHECK(render(1234567.5) == "g 1.2345675e+06");
  CHECK(render(2.5e-300) == "g 2.5e-300");
  CHECK(render(std::numeric_limits<double>::infinity()) == "g +Inf");
  CHECK(render(-std::numeric_limits<double>::infinity()) == "g -Inf");
  CHECK(render(std::nan("")) == "g NaN");
  double tiny = 1e-7;
  double parsed = 0;
  REQUIRE(ParseValue(render(tiny).substr(2), parsed));
  CHECK(parsed == tiny);
}

TEST_CASE("Families render sorted by name and children sorted by label values") {
  Registry registry;
  auto& zeta = registry.CounterFamily("osprey_zeta_total", "z", {"route", "code"});
  auto& alpha = registry.GaugeFamily("osprey_alpha", "a");
  zeta.With({"/v1/traces", "200"}).Inc(2);
  zeta.With({"/v1/projects", "500"}).Inc();
  zeta.With({"/v1/projects", "200"}).Inc(4);
  alpha.With({}).Set(1);
  CHECK(Lines(registry.Render()) == std::vector<std::string>{
                                        "# HELP osprey_alpha a",
                                        "# TYPE osprey_alpha gauge",
                                        "osprey_alpha 1",
                                        "# HELP osprey_zeta_total z",
                                        "# TYPE osprey_zeta_total counter",
                                        R"(osprey_zeta_total{route="/v1/projects",code="200"} 4)",
                                        R"(osprey_zeta_total{route="/v1/projects",code="500"} 1)",
                                        R"(osprey_zeta_total{route="/v1/traces",code="200"} 2)",
                                    });
}

TEST_CASE("A labelled family without children still declares itself") {
  Registry registry;
  registry.CounterFamily("osprey_unused_total", "never incremented", {"x"});
  CHECK(registry.Render() == "# HELP osprey_unused_total never incremented\n# TYPE osprey_unused_total counter\n");
}

TEST_CASE("Label values and help text are escaped") {
  CHECK(EscapeLabelValue(R"(a\b"c)"
                         "\n"
                         "d") == R"(a\\b\"c\nd)");
  CHECK(EscapeLabelValue("plain é") == "plain é");
  Registry registry;
  registry.CounterFamily("osprey_esc_total", "line one\nback\\slash \"quoted\"", {"v"}).With({"x\"y\\z\nw"}).Inc();
  auto lines = Lines(registry.Render());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == R"(# HELP osprey_esc_total line one\nback\\slash "quoted")");
  CHECK(lines[2] == R"(osprey_esc_total{v="x\"y\\z\nw"} 1)");
  Sample sample;
  REQUIRE(ParseSample(lines[2], sample) == "");
  CHECK(sample.labels.at(0).second == "x\"y\\z\nw");
}

TEST_CASE("Histogram buckets are cumulative and end with +Inf") {
  Registry registry;
  Histogram& h = registry.GetHistogram("osprey_latency_seconds", "latency", {1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 3.0, 100.0}) h.Observe(v);
  Histogram::Snapshot snap = h.Snap();
  CHECK(snap.cumulative == std::vector<uint64_t>{2, 3, 4, 5});
  CHECK(snap.count == 5);
  CHECK(snap.sum == 106);
  CHECK(Lines(registry.Render()) == std::vector<std::string>{
                                        "# HELP osprey_latency_seconds latency",
                                        "# TYPE osprey_latency_seconds histogram",
                                        R"(osprey_latency_seconds_bucket{le="1"} 2)",
                                        R"(osprey_latency_seconds_bucket{le="2"} 3)",
                                        R"(osprey_latency_seconds_bucket{le="5"} 4)",
                                        R"(osprey_latency_seconds_bucket{le="+Inf"} 5)",
                                        "osprey_latency_seconds_sum 106",
                                        "osprey_latency_seconds_count 5",
                                    });
}

TEST_CASE("Labelled histograms put le last and format fractional bounds") {
  Registry registry;
  auto& family = registry.HistogramFamily("osprey_req_seconds", "r", {0.25, 0.0005}, {"route"});
  family.With({"/a"}).Observe(0.000244140625);  // 2^-12, so the sum below is exact
  family.With({"/a"}).Observe(0.5);
  CHECK(Lines(registry.Render()) == std::vector<std::string>{
                                        "# HELP osprey_req_seconds r",
                                        "# TYPE osprey_req_seconds histogram",
                                        R"(osprey_req_seconds_bucket{route="/a",le="0.0005"} 1)",
                                        R"(osprey_req_seconds_bucket{route="/a",le="0.25"} 1)",
                                        R"(osprey_req_seconds_bucket{route="/a",le="+Inf"} 2)",
                                        R"(osprey_req_seconds_sum{route="/a"} 0.500244140625)",
                                        R"(osprey_req_seconds_count{route="/a"} 2)",
                                    });
}

TEST_CASE("Histogram bounds are sorted and deduplicated; NaN and +Inf bounds are dropped") {
  Histogram h({5, 1, 1, std::numeric_limits<double>::infinity(), std::nan(""), 2});
  CHECK(h.bounds() == std::vector<double>{1, 2, 5});
  h.Observe(std::nan(""));
  h.Observe(-3);
  Histogram::Snapshot snap = h.Snap();
  CHECK(snap.cumulative == std::vector<uint64_t>{1, 1, 1, 2});
  CHECK(std::isnan(snap.sum));
}

TEST_CASE("Default bucket layouts span their documented ranges") {
  auto latency = LatencyBuckets();
  CHECK(latency.front() == 0.0005);
  CHECK(latency.back() == 30);
  CHECK(std::is_sorted(latency.begin(), latency.end()));
  auto sizes = SizeBuckets();
  CHECK(sizes.front() == 256);
  CHECK(sizes.back() == 64.0 * 1024 * 1024);
  CHECK(std::is_sorted(sizes.begin(), sizes.end()));
}

TEST_CASE("Registering a name twice returns the same family and child") {
  Registry registry;
  auto& a = registry.CounterFamily("osprey_x_total", "x", {"k"});
  auto& b = registry.CounterFamily("osprey_x_total", "x", {"k"});
  CHECK(&a == &b);
  CHECK(&a.With({"1"}) == &b.With({"1"}));
  CHECK(&a.With({"1"}) != &a.With({"2"}));
  CHECK(&registry.GetGauge("osprey_g", "g") == &registry.GetGauge("osprey_g", "g"));
  auto& h1 = registry.HistogramFamily("osprey_h_seconds", "h", LatencyBuckets());
  auto& h2 = registry.HistogramFamily("osprey_h_seconds", "h", LatencyBuckets());
  CHECK(&h1 == &h2);
}

#ifdef NDEBUG
// Programmer errors assert in debug builds; these cover what release builds do instead.
TEST_CASE("Release builds survive programmer errors") {
  Registry registry;
  auto& counter = registry.CounterFamily("osprey_clash", "first", {"a"});
  counter.With({"1"}).Inc();

  auto& gauge = registry.GaugeFamily("osprey_clash", "second");
  gauge.With({}).Set(99);
  auto& relabelled = registry.CounterFamily("osprey_clash", "third", {"b", "c"});
  CHECK(&relabelled == &counter);

  counter.With({"1", "extra"}).Inc();  // extra values dropped
  counter.With({}).Inc(5);             // missing values padded with ""
  counter.With({"1"}).Inc(-4);         // counters never go down

  registry.GetCounter("bad name-total", "sanitized").Inc();
  registry.HistogramFamily("osprey_le_seconds", "h", {1}, {"le"}).With({"x"}).Observe(0.5);

  std::string text = registry.Render();
  CHECK(Validate(text).empty());
  auto lines = Lines(text);
  CHECK(std::find(lines.begin(), lines.end(), R"(osprey_clash{a="1"} 2)") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), R"(osprey_clash{a=""} 5)") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "bad_name_total 1") != lines.end());
  CHECK(text.find("99") == std::string::npos);
  CHECK(text.find("# TYPE osprey_clash gauge") == std::string::npos);
}
#endif

TEST_CASE("Concurrent updates from several threads add up exactly") {
  Registry registry;
  auto& counters = registry.CounterFamily("osprey_hits_total", "hits", {"worker"});
  Counter& shared = registry.GetCounter("osprey_shared_total", "shared");
  Gauge& gauge = registry.GetGauge("osprey_inflight", "inflight");
  Histogram& hist = registry.GetHistogram("osprey_obs_seconds", "obs", {0.5});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  std::atomic<bool> done{false};
  std::vector<std::string> scrape_errors;  // written by the scraper only, read after join
  int scrapes = 0;
  std::thread scraper([&] {
    while (!done.load() && scrape_errors.empty()) {
      scrape_errors = Validate(registry.Render());
      ++scrapes;
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        shared.Inc();
        counters.With({std::to_string(i % 3)}).Inc(0.5);
        gauge.Add(1);
        gauge.Add(-1);
        hist.Observe(t % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  scraper.join();
  CHECK(scrapes > 0);
  CHECK(scrape_errors.empty());
  CHECK(shared.Value() == kThreads * kPerThread);
  double per_worker_total = 0;
  for (int w = 0; w < 3; ++w) per_worker_total += counters.With({std::to_string(w)}).Value();
  CHECK(per_worker_total == 0.5 * kThreads * kPerThread);
  CHECK(gauge.Value() == 0);
  Histogram::Snapshot snap = hist.Snap();
  CHECK(snap.count == kThreads * kPerThread);
  CHECK(snap.cumulative.front() == kThreads / 2 * kPerThread);
  CHECK(snap.sum == kThreads / 2 * kPerThread * 1.25);
}

TEST_CASE("Every rendered line matches the exposition grammar") {
  Registry registry;
  registry.GetCounter("osprey_spans_received_total", "Spans accepted by ingest.").Inc(12);
  registry.GaugeFamily("osprey_queue_depth", "Queue depth\\per shard\n(approximate).", {"shard", "queue"})
      .With({"0", "spans\"raw\""})
      .Set(3.25);
  registry.GaugeFamily("osprey_queue_depth", "", {"shard", "queue"}).With({"1", "\\\n"}).Set(std::nan(""));
  auto& sizes = registry.HistogramFamily("osprey_request_bytes", "Request sizes.", SizeBuckets(), {"protocol"});
  sizes.With({"grpc"}).Observe(300);
  sizes.With({"http"}).Observe(1e9);
  auto& lat = registry.HistogramFamily("osprey_request_seconds", "Latency.", LatencyBuckets(), {"route", "code"});
  for (int i = 0; i < 100; ++i) lat.With({"/v1/traces", i % 10 == 0 ? "500" : "200"}).Observe(i * 0.01);
  registry.GetGauge("osprey_build_info", "").Set(std::numeric_limits<double>::infinity());
  registry.CounterFamily("osprey_empty_total", "No children yet.", {"x"});

  std::string text = registry.Render();
  auto errors = Validate(text);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  CHECK(errors.empty());
  size_t size_series_lines = SizeBuckets().size() + 1 + 2;
  size_t latency_series_lines = LatencyBuckets().size() + 1 + 2;
  CHECK(Lines(text).size() == 3 + (2 + 2) + (2 + 2 * size_series_lines) + (2 + 2 * latency_series_lines) + 3 + 2);
}

TEST_CASE("The validator rejects malformed exposition text") {
  CHECK_FALSE(Validate("# TYPE a counter\na 1\n").empty());                                             // TYPE w/o HELP
  CHECK_FALSE(Validate("# HELP a x\n# TYPE a counter\na{b=\"c} 1\n").empty());                          // unterminated
  CHECK_FALSE(Validate("# HELP a x\n# TYPE a counter\na{b=\"\\t\"} 1\n").empty());                      // bad escape
  CHECK_FALSE(Validate("# HELP a x\n# TYPE a counter\na one\n").empty());                               // bad value
  CHECK_FALSE(Validate("# HELP b x\n# TYPE b gauge\nb 1\n# HELP a x\n# TYPE a gauge\na 1\n").empty());  // order
  CHECK_FALSE(Validate("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                       "h_sum 1\nh_count 1\n")
                  .empty());  // not cumulative
  // no +Inf bucket
  CHECK_FALSE(Validate("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n").empty());
  CHECK(Validate("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
            .empty());
}

}  // namespace
}  // namespace osprey::metrics
