// Latency of the SQLite store's mutations on a populated database: DeleteSpan (rollups recomputed),
// DeleteTrace, DeleteSessions, TransferTraces and DeleteProject (cascade). Prints milliseconds per
// call (median and max, wall clock); not part of the test suite.
//
//   store_mutations_bench [--traces N] [--spans-per-trace N] [--calls N] [--dir DIR]
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "osprey/store/sqlite_store.hpp"

namespace {

using osprey::store::RowKey;

std::string Raw(uint64_t value, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < 8 && i < size; ++i) bytes[size - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

std::string HexOf(const std::string& raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Trace t of project `project` (t % 4 in a session of four traces), span s of it; s == 0 is the root.
osprey::model::v1::Span MakeSpan(const std::string& project, uint64_t t, uint64_t s) {
  osprey::model::v1::Span span;
  span.set_project_name(project);
  span.set_trace_id(Raw(t + 1, 16));
  span.set_span_id(Raw(t * 1000 + s + 1, 8));
  if (s != 0) span.set_parent_span_id(Raw(t * 1000 + 1, 8));
  span.set_name("op");
  span.set_span_kind("LLM");
  const uint64_t start = 1'700'000'000'000'000'000ULL + t * 1'000'000'000ULL + s * 1'000'000ULL;
  span.set_start_time_unix_nano(start);
  span.set_end_time_unix_nano(start + 500'000);
  span.set_session_id("session-" + std::to_string(t / 4));
  span.set_llm_token_count_prompt(40);
  span.set_llm_token_count_completion(10);
  span.set_attributes_json(R"({"llm":{"model_name":"gpt-4o-mini"},"input":{"value":")" + std::string(400, 'x') +
                           R"("}})");
  span.set_events_json("[]");
  return span;
}

void Report(const char* what, std::vector<double> ms) {
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  std::printf("%-28s calls=%-5zu median=%.3f ms  max=%.3f ms\n", what, ms.size(), ms[ms.size() / 2], ms.back());
}

template <typename Fn>
double TimeMs(Fn&& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t traces = 20000;
  uint64_t spans_per_trace = 10;
  uint64_t calls = 200;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--traces") == 0) traces = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--spans-per-trace") == 0) spans_per_trace = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--calls") == 0) calls = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
  }
  if (dir.empty()) {
    char pattern[] = "/tmp/osprey-mutations-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return 1;
    dir = pattern;
  }
  osprey::store::SqliteConfig config;
  config.path = dir + "/osprey.db";
  auto store = osprey::store::OpenSqliteStore(config);
  if (!store.ok() || !(*store)->Migrate().ok()) {
    std::fprintf(stderr, "cannot open the store in %s\n", dir.c_str());
    return 1;
  }
  // Half the traces in project "main", half in "doomed" (deleted at the end).
  for (uint64_t first = 0; first < traces; first += 100) {
    std::vector<osprey::model::v1::Span> batch;
    for (uint64_t t = first; t < std::min(traces, first + 100); ++t) {
      for (uint64_t s = 0; s < spans_per_trace; ++s) batch.push_back(MakeSpan(t % 2 ? "doomed" : "main", t, s));
    }
    std::vector<const osprey::model::v1::Span*> pointers;
    for (const auto& span : batch) pointers.push_back(&span);
    if (!(*store)->WriteSpans(pointers).ok()) return 1;
  }
  std::printf("stored %llu traces x %llu spans\n", static_cast<unsigned long long>(traces),
              static_cast<unsigned long long>(spans_per_trace));

  auto check = [](const absl::Status& status) {
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      std::exit(1);
    }
  };
  std::vector<double> span_ms, trace_ms, session_ms, transfer_ms;
  auto doomed = (*store)->GetProjectByName("doomed");
  if (!doomed.ok() || !doomed->has_value()) return 1;
  // Each round touches its own block of 16 traces: a span of trace t and trace t+2 (session t/4), the
  // session of traces t+4..t+7, and trace t+8 moved from "main" to "doomed".
  for (uint64_t i = 0; i < calls && 16 * i + 8 < traces; ++i) {
    const uint64_t t = 16 * i;
    span_ms.push_back(TimeMs([&] { check((*store)->DeleteSpan(RowKey(HexOf(Raw(t * 1000 + 3, 8))))); }));
    trace_ms.push_back(TimeMs([&] { check((*store)->DeleteTrace(RowKey(HexOf(Raw(t + 2 + 1, 16))))); }));
    session_ms.push_back(
        TimeMs([&] { check((*store)->DeleteSessions({RowKey("session-" + std::to_string(t / 4 + 1))}).status()); }));
    transfer_ms.push_back(
        TimeMs([&] { check((*store)->TransferTraces({RowKey(HexOf(Raw(t + 8 + 1, 16)))}, (*doomed)->id).status()); }));
  }
  Report("DeleteSpan", span_ms);
  Report("DeleteTrace", trace_ms);
  Report("DeleteSessions (1 session)", session_ms);
  Report("TransferTraces (1 trace)", transfer_ms);
  double project_ms = TimeMs([&] { check((*store)->DeleteProject((*doomed)->id)); });
  std::printf("%-28s %.1f ms (about %llu spans)\n", "DeleteProject", project_ms,
              static_cast<unsigned long long>(traces / 2 * spans_per_trace));
  (*store)->Close();
  std::filesystem::remove_all(dir);
  return 0;
}
