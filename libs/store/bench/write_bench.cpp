// WriteSpans throughput of the SQLite store: batches of LLM-shaped spans (~1.7 KB of attributes),
// 10 spans per trace, every fifth trace in a session. Prints spans/s; not part of the test suite.
//
//   store_write_bench [--batches N] [--batch-size N] [--synchronous normal|full] [--dir DIR]
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "osprey/store/sqlite_store.hpp"

namespace {

std::string Bytes(uint64_t value, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < 8 && i < size; ++i) bytes[size - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

std::string Attributes(uint64_t n) {
  std::string prompt(600, 'p');
  std::string completion(500, 'c');
  prompt.replace(0, std::to_string(n).size(), std::to_string(n));
  return R"({"llm":{"model_name":"gpt-4o-mini","provider":"openai","invocation_parameters":"{\"temperature\":0.2}",)"
         R"("input_messages":[{"message":{"role":"system","content":"You are a helpful assistant."}},)"
         R"({"message":{"role":"user","content":")" +
         prompt + R"("}}],"output_messages":[{"message":{"role":"assistant","content":")" + completion +
         R"("}}],"token_count":{"prompt":412,"completion":128,"total":540}},)"
         R"("openinference":{"span":{"kind":"LLM"}},"session":{"id":"s-1"},"metadata":{"run":"bench","n":)" +
         std::to_string(n) + "}}";
}

// OTel ids are random: random keys are what the span_id and parent_id indexes really see.
uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// CPU time of this process: on a shared, loaded machine it tells what one idle core would do.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int batches = 50;
  int batch_size = 1000;
  std::string synchronous = "normal";
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batches"))
      batches = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch-size"))
      batch_size = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--synchronous"))
      synchronous = argv[i + 1];
    else if (!std::strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
  }
  osprey::store::SqliteConfig config;
  config.path = dir + "/bench.db";
  config.synchronous = synchronous;
  auto store = osprey::store::OpenSqliteStore(config);
  if (!store.ok() || !(*store)->Migrate().ok()) {
    std::fprintf(stderr, "open failed: %s\n", store.status().ToString().c_str());
    return 1;
  }

  // Bytes this process wrote (WAL frames and checkpoints): the I/O each span costs, independent of
  // how busy the machine is.
  auto written = [] {
    std::ifstream io("/proc/self/io");
    std::string key;
    uint64_t value = 0;
    while (io >> key >> value) {
      if (key == "wchar:") return value;
    }
    return uint64_t{0};
  };
  const uint64_t written_start = written();
  std::vector<double> batch_ms;
  size_t attribute_bytes = 0;
  std::chrono::duration<double> total{0};
  double cpu = 0;
  uint64_t next = 1;
  for (int b = 0; b < batches; ++b) {
    std::vector<osprey::model::v1::Span> spans(batch_size);
    for (auto& span : spans) {
      uint64_t n = next++;
      uint64_t trace = (n - 1) / 10 + 1;
      span.set_project_name("bench");
      span.set_trace_id(Bytes(SplitMix(trace), 8) + Bytes(SplitMix(~trace), 8));
      span.set_span_id(Bytes(SplitMix(n), 8));
      if ((n - 1) % 10 != 0) span.set_parent_span_id(Bytes(SplitMix((trace - 1) * 10 + 1), 8));
      span.set_name("ChatCompletion");
      span.set_span_kind("LLM");
      span.set_start_time_unix_nano(1'700'000'000'000'000'000ULL + n * 1000);
      span.set_end_time_unix_nano(1'700'000'000'000'000'000ULL + n * 1000 + 500);
      span.set_status_code(osprey::model::v1::STATUS_CODE_OK);
      span.set_attributes_json(Attributes(n));
      attribute_bytes += span.attributes_json().size();
      if (trace % 5 == 0) span.set_session_id("session-" + std::to_string(trace / 5));
      span.set_llm_model_name("gpt-4o-mini");
      span.set_llm_token_count_prompt(412);
      span.set_llm_token_count_completion(128);
      span.set_llm_token_count_total(540);
      span.set_input_preview(span.attributes_json().substr(0, 100));
    }
    std::vector<const osprey::model::v1::Span*> pointers;
    for (const auto& span : spans) pointers.push_back(&span);
    auto start = std::chrono::steady_clock::now();
    double cpu_start = CpuSeconds();
    auto result = (*store)->WriteSpans(pointers);
    cpu += CpuSeconds() - cpu_start;
    total += std::chrono::steady_clock::now() - start;
    batch_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!result.ok() || result->inserted != batch_size) {
      std::fprintf(stderr, "write failed: %s\n", result.status().ToString().c_str());
      return 1;
    }
  }
  const double spans = static_cast<double>(batches) * batch_size;
  const double written_per_span = static_cast<double>(written() - written_start) / spans;
  std::sort(batch_ms.begin(), batch_ms.end());
  auto quantile = [&](double q) { return batch_ms[static_cast<size_t>(q * (batch_ms.size() - 1))]; };
  std::printf("written_bytes_per_span=%.0f batch_ms_p50=%.1f batch_ms_p99=%.1f batch_ms_max=%.1f\n",
              written_per_span, quantile(0.5), quantile(0.99), batch_ms.back());
  std::printf(
      "batches=%d batch_size=%d synchronous=%s avg_attributes_bytes=%.0f wall_s=%.3f spans_per_s=%.0f cpu_s=%.3f "
      "spans_per_cpu_s=%.0f\n",
      batches, batch_size, synchronous.c_str(), attribute_bytes / spans, total.count(), spans / total.count(), cpu,
      spans / cpu);
  (*store)->Close();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
