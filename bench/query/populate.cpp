// Fills a store with LLM-shaped spans for the query benchmark (bench/query.sh), directly through
// store::WriteSpans (no OTLP, no bus). Traces of 10 spans: a CHAIN root, then RETRIEVER, LLM, TOOL, LLM,
// LLM, TOOL, LLM, EMBEDDING, LLM; every LLM span carries a model name (4 models, one per trace), token
// counts and a cost; every fifth trace is in a session; trace starts are spread evenly over one day
// ending at --end-ns. Deterministic: the same flags write the same ids. Not a test.
//
//   osprey-query-populate --spans N (--sqlite PATH | --dsn DSN) [--project NAME] [--batch-size N]
//                         [--end-ns T]
// Prints one JSON line: spans, traces, seconds, spans_per_s, first/last trace start (ns).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "osprey/store/sqlite_store.hpp"
#ifdef OSPREY_HAVE_POSTGRES
#include "osprey/store/postgres_store.hpp"
#endif

namespace {

constexpr int kSpansPerTrace = 10;
constexpr uint64_t kDayNs = 86'400ULL * 1'000'000'000ULL;
constexpr const char* kKinds[kSpansPerTrace] = {"CHAIN", "RETRIEVER", "LLM", "TOOL",      "LLM",
                                                "LLM",   "TOOL",      "LLM", "EMBEDDING", "LLM"};
constexpr const char* kModels[] = {"gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "llama-3-70b"};
constexpr double kPromptPrice[] = {0.15e-6, 2.5e-6, 3e-6, 0.6e-6};  // per token
constexpr double kCompletionPrice[] = {0.6e-6, 10e-6, 15e-6, 0.8e-6};

std::string Bytes(uint64_t value, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < 8 && i < size; ++i) bytes[size - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

// OTel ids are random: random keys are what the id indexes really see.
uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string Attributes(uint64_t n, const char* kind, const char* model, int64_t prompt, int64_t completion,
                       const std::string& session) {
  std::string input = "question " + std::to_string(n) + ": how do I read a trace of an agent that calls tools?";
  std::string out = R"({"openinference":{"span":{"kind":")" + std::string(kind) + R"("}},"input":{"value":")" +
                    input + R"("},"output":{"value":"answer )" + std::to_string(n) + std::string(300, 'a') + R"("})";
  if (!session.empty()) out += R"(,"session":{"id":")" + session + R"("})";
  if (std::strcmp(kind, "LLM") == 0) {
    out += R"(,"llm":{"model_name":")" + std::string(model) +
           R"(","provider":"openai","invocation_parameters":"{\"temperature\":0.2}",)"
           R"("input_messages":[{"message":{"role":"system","content":"You are a helpful assistant."}},)"
           R"({"message":{"role":"user","content":")" +
           input + std::string(400, 'p') + R"("}}],"output_messages":[{"message":{"role":"assistant","content":")" +
           std::string(300, 'c') + R"("}}],"token_count":{"prompt":)" + std::to_string(prompt) +
           R"(,"completion":)" + std::to_string(completion) + R"(,"total":)" + std::to_string(prompt + completion) +
           "}}";
  }
  out += R"(,"metadata":{"run":"query-bench","n":)" + std::to_string(n) + "}}";
  return out;
}

struct Flags {
  uint64_t spans = 200'000;
  int batch_size = 2000;
  std::string sqlite;
  std::string dsn;
  std::string project = "bench";
  uint64_t end_ns = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "populate: %s needs a value\n", flag.c_str());
      return 2;
    }
    std::string value = argv[++i];
    if (flag == "--spans") {
      flags.spans = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--batch-size") {
      flags.batch_size = std::atoi(value.c_str());
    } else if (flag == "--sqlite") {
      flags.sqlite = value;
    } else if (flag == "--dsn") {
      flags.dsn = value;
    } else if (flag == "--project") {
      flags.project = value;
    } else if (flag == "--end-ns") {
      flags.end_ns = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr, "populate: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (flags.spans == 0 || flags.spans % kSpansPerTrace != 0 || flags.batch_size < kSpansPerTrace ||
      flags.sqlite.empty() == flags.dsn.empty()) {
    std::fprintf(stderr,
                 "usage: osprey-query-populate --spans N (multiple of 10) (--sqlite PATH | --dsn DSN) "
                 "[--project NAME] [--batch-size N>=10] [--end-ns T]\n");
    return 2;
  }
  if (flags.end_ns == 0) {
    flags.end_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  }

  absl::StatusOr<std::unique_ptr<osprey::store::Store>> store;
  if (!flags.sqlite.empty()) {
    osprey::store::SqliteConfig config;
    config.path = flags.sqlite;
    store = osprey::store::OpenSqliteStore(config);
  } else {
#ifdef OSPREY_HAVE_POSTGRES
    osprey::store::PostgresConfig config;
    config.dsn = flags.dsn;
    config.pool_size = 1;
    store = osprey::store::OpenPostgresStore(config);
#else
    std::fprintf(stderr, "populate: this build has no Postgres store\n");
    return 1;
#endif
  }
  if (!store.ok()) {
    std::fprintf(stderr, "populate: open failed: %s\n", store.status().ToString().c_str());
    return 1;
  }
  if (absl::Status migrated = (*store)->Migrate(); !migrated.ok()) {
    std::fprintf(stderr, "populate: migrate failed: %s\n", migrated.ToString().c_str());
    return 1;
  }

  const uint64_t traces = flags.spans / kSpansPerTrace;
  const uint64_t first_start = flags.end_ns - kDayNs;
  const uint64_t step = kDayNs / traces;
  auto started = std::chrono::steady_clock::now();
  uint64_t written = 0;
  uint64_t n = 0;
  std::vector<osprey::model::v1::Span> spans;
  while (n < flags.spans) {
    spans.clear();
    const uint64_t batch_end = std::min<uint64_t>(flags.spans, n + static_cast<uint64_t>(flags.batch_size));
    for (; n < batch_end; ++n) {
      const uint64_t trace = n / kSpansPerTrace;
      const int position = static_cast<int>(n % kSpansPerTrace);
      const char* kind = kKinds[position];
      const int model = static_cast<int>(trace % 4);
      const uint64_t trace_start = first_start + trace * step;
      const std::string session = trace % 5 == 0 ? "session-" + std::to_string(trace / 5 % 20000) : "";
      osprey::model::v1::Span& span = spans.emplace_back();
      span.set_project_name(flags.project);
      span.set_trace_id(Bytes(SplitMix(trace + 1), 8) + Bytes(SplitMix(~(trace + 1)), 8));
      span.set_span_id(Bytes(SplitMix(n + 1), 8));
      if (position != 0) span.set_parent_span_id(Bytes(SplitMix(trace * kSpansPerTrace + 1), 8));
      span.set_name(position == 0 ? "agent" : std::string(kind) + "-" + std::to_string(position));
      span.set_span_kind(kind);
      // The root spans the whole trace (10 ms); the children follow each other inside it.
      const uint64_t start = trace_start + (position == 0 ? 0 : static_cast<uint64_t>(position) * 900'000);
      const uint64_t end = position == 0 ? trace_start + 10'000'000 : start + 800'000 + (n % 7) * 10'000;
      span.set_start_time_unix_nano(start);
      span.set_end_time_unix_nano(end);
      const bool error = n % 97 == 0;
      span.set_status_code(error ? osprey::model::v1::STATUS_CODE_ERROR : osprey::model::v1::STATUS_CODE_OK);
      if (error) span.set_status_message("rate limited");
      const int64_t prompt = 200 + static_cast<int64_t>(SplitMix(n) % 800);
      const int64_t completion = 20 + static_cast<int64_t>(SplitMix(~n) % 300);
      span.set_attributes_json(Attributes(n, kind, kModels[model], prompt, completion, session));
      span.set_events_json("[]");
      if (!session.empty()) span.set_session_id(session);
      span.set_user_id("user-" + std::to_string(trace % 500));
      span.set_input_preview("question " + std::to_string(n));
      span.set_output_preview("answer " + std::to_string(n));
      if (std::strcmp(kind, "LLM") == 0) {
        span.set_llm_model_name(kModels[model]);
        span.set_llm_token_count_prompt(prompt);
        span.set_llm_token_count_completion(completion);
        span.set_llm_token_count_total(prompt + completion);
        osprey::model::v1::SpanCost* cost = span.mutable_cost();
        cost->set_prompt(static_cast<double>(prompt) * kPromptPrice[model]);
        cost->set_completion(static_cast<double>(completion) * kCompletionPrice[model]);
        cost->set_total(cost->prompt() + cost->completion());
        cost->set_details_json(std::string(R"({"model":")") + kModels[model] + "\"}");
      }
    }
    std::vector<const osprey::model::v1::Span*> pointers;
    pointers.reserve(spans.size());
    for (const auto& span : spans) pointers.push_back(&span);
    auto result = (*store)->WriteSpans(pointers);
    if (!result.ok()) {
      std::fprintf(stderr, "populate: write failed: %s\n", result.status().ToString().c_str());
      return 1;
    }
    written += result->inserted;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  (*store)->Close();
  std::printf(
      "{\"spans\": %llu, \"inserted\": %llu, \"traces\": %llu, \"seconds\": %.3f, \"spans_per_s\": %.0f, "
      "\"first_start_ns\": %llu, \"last_start_ns\": %llu}\n",
      static_cast<unsigned long long>(flags.spans), static_cast<unsigned long long>(written),
      static_cast<unsigned long long>(traces), seconds, static_cast<double>(flags.spans) / seconds,
      static_cast<unsigned long long>(first_start), static_cast<unsigned long long>(first_start + (traces - 1) * step));
  return 0;
}
