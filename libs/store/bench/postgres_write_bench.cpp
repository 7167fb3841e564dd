// WriteSpans throughput of the Postgres store: batches of LLM-shaped spans (~1.7 KB of attributes),
// 10 spans per trace, every fifth trace in a session — the same data as store_write_bench. Starts a
// private cluster with deploy/postgres/start unless --dsn is given. Prints spans/s (wall clock), the
// private cluster's CPU per 1k spans (every Postgres process of it: backend, WAL writer, checkpointer,
// autovacuum), the traces table's row updates and the size of the spans table. Not a test.
//
//   store_postgres_write_bench [--batches N] [--batch-size N] [--compression lz4|pglz] [--prompt-bytes N]
//                              [--dsn DSN]
// The default prompt (600 bytes) gives ~1.6 KB attributes, which stay below the TOAST threshold
// (~2 KB rows): compression only applies with larger prompts (e.g. --prompt-bytes 8000).
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "osprey/store/postgres_store.hpp"

namespace {

std::string Bytes(uint64_t value, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < 8 && i < size; ++i) bytes[size - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

std::string Attributes(uint64_t n, size_t prompt_bytes) {
  // Prompt text that compresses like prose, not like one repeated byte.
  std::string prompt;
  static const char* kWords[] = {"the ",   "model ",   "answers ", "a ",  "question ",
                                 "about ", "tracing ", "spans ",   "in ", "json "};
  for (uint64_t i = n; prompt.size() < prompt_bytes; i = i * 6364136223846793005ULL + 1442695040888963407ULL) {
    prompt += kWords[(i >> 33) % 10];
  }
  prompt.resize(prompt_bytes);
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

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 0;
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Psql(int port, const std::string& sql) {
  std::string command = "runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p " +
                        std::to_string(port) + " -U postgres -d osprey -X -q -t -A -c \"" + sql + "\"";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  pclose(pipe);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

// CPU seconds of a private cluster: its postmaster, its live processes and those it reaped.
double ClusterCpuSeconds(const std::string& dir) {
  std::ifstream pid_file(dir + "/data/postmaster.pid");
  long postmaster = 0;
  if (!(pid_file >> postmaster)) return 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double seconds = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Fields after the command (which may hold spaces, so from its closing parenthesis): state ppid ...
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    if (f.size() < 15) continue;
    const long pid = std::atol(entry.path().filename().c_str());
    const long ppid = std::atol(f[1].c_str());
    if (pid != postmaster && ppid != postmaster) continue;
    seconds += (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) / tick;  // utime, stime
    if (pid == postmaster) seconds += (std::atof(f[13].c_str()) + std::atof(f[14].c_str())) / tick;  // reaped
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int batches = 50;
  int batch_size = 1000;
  std::string compression = "lz4";
  std::string dsn;
  size_t prompt_bytes = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batches"))
      batches = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch-size"))
      batch_size = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--compression"))
      compression = argv[i + 1];
    else if (!std::strcmp(argv[i], "--dsn"))
      dsn = argv[i + 1];
    else if (!std::strcmp(argv[i], "--prompt-bytes"))
      prompt_bytes = std::strtoul(argv[i + 1], nullptr, 10);
  }
  if (compression != "lz4" && compression != "pglz") {
    std::fprintf(stderr, "--compression must be lz4 or pglz\n");
    return 2;
  }
  std::string dir;
  int port = 0;
  if (dsn.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-pgbench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
    port = FreePort();
    std::string start =
        std::string(OSPREY_PG_DEPLOY_DIR) + "/start " + dir + " " + std::to_string(port) + " >/dev/null";
    if (std::system(start.c_str()) != 0) {
      std::fprintf(stderr, "could not start postgres in %s\n", dir.c_str());
      return 1;
    }
    dsn = "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=osprey";
  }
  int status = 0;
  {
    osprey::store::PostgresConfig config;
    config.dsn = dsn;
    config.pool_size = 1;
    auto store = osprey::store::OpenPostgresStore(config);
    if (!store.ok() || !(*store)->Migrate().ok()) {
      std::fprintf(stderr, "open failed: %s\n", store.status().ToString().c_str());
      status = 1;
    } else {
      if (port != 0) Psql(port, "ALTER TABLE spans ALTER COLUMN attributes SET COMPRESSION " + compression);
      size_t attribute_bytes = 0;
      std::chrono::duration<double> total{0};
      const double cpu_before = port != 0 ? ClusterCpuSeconds(dir) : 0;
      uint64_t next = 1;
      for (int b = 0; b < batches && status == 0; ++b) {
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
          span.set_attributes_json(Attributes(n, prompt_bytes));
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
        auto result = (*store)->WriteSpans(pointers);
        total += std::chrono::steady_clock::now() - start;
        if (!result.ok() || result->inserted != batch_size) {
          std::fprintf(stderr, "write failed: %s\n", result.status().ToString().c_str());
          status = 1;
        }
      }
      const double server_cpu = port != 0 ? ClusterCpuSeconds(dir) - cpu_before : 0;
      (*store)->Close();  // its backend exits and flushes its table statistics
      if (status == 0) {
        const double spans = static_cast<double>(batches) * batch_size;
        std::string size = port != 0 ? Psql(port, "SELECT pg_total_relation_size('spans')") : "?";
        std::string trace_updates =
            port != 0 ? Psql(port, "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'traces'") : "?";
        std::printf(
            "batches=%d batch_size=%d compression=%s avg_attributes_bytes=%.0f wall_s=%.3f spans_per_s=%.0f "
            "server_cpu_ms_per_1k_spans=%.1f trace_row_updates=%s spans_table_bytes=%s\n",
            batches, batch_size, compression.c_str(), attribute_bytes / spans, total.count(), spans / total.count(),
            port != 0 ? server_cpu * 1e6 / spans : 0.0, trace_updates.c_str(), size.c_str());
      }
    }
  }
  if (!dir.empty()) {
    std::system((std::string(OSPREY_PG_DEPLOY_DIR) + "/stop " + dir).c_str());
    std::filesystem::remove_all(dir);
  }
  return status;
}
