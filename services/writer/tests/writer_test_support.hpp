#pragma once

#include <filesystem>
#include <string>

#include "osprey/bus/v1/spans.pb.h"
#include "osprey/store/sqlite_store.hpp"
#include "osprey/testing/scratch_dir.hpp"

namespace osprey::writer::testing {

// A migrated SQLite store in a fresh temporary directory.
inline std::unique_ptr<store::Store> TempStore(const std::string& name) {
  const std::filesystem::path dir = ::osprey::testing::ScratchDir("writer-" + name);
  store::SqliteConfig cfg;
  cfg.path = (dir / "osprey.db").string();
  auto s = store::OpenSqliteStore(cfg);
  if (!s.ok() || !(*s)->Migrate().ok()) return nullptr;
  return std::move(s).value();
}

inline model::v1::Span MakeSpan(int trace, int span, int parent = 0) {
  model::v1::Span s;
  s.set_project_name("writer-test");
  s.set_trace_id(std::string(15, '\x01') + static_cast<char>(trace));
  s.set_span_id(std::string(7, '\x02') + static_cast<char>(span));
  if (parent) s.set_parent_span_id(std::string(7, '\x02') + static_cast<char>(parent));
  s.set_name("span-" + std::to_string(span));
  s.set_span_kind("LLM");
  s.set_start_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(span));
  s.set_end_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(span) + 1000);
  s.set_attributes_json("{\"llm\":{\"token_count\":{\"prompt\":3,\"completion\":4}}}");
  s.set_events_json("[]");
  s.set_llm_token_count_prompt(3);
  s.set_llm_token_count_completion(4);
  s.set_llm_token_count_total(7);
  return s;
}

inline std::string Payload(std::initializer_list<model::v1::Span> spans) {
  bus::v1::SpanBatch batch;
  for (const auto& s : spans) *batch.add_spans() = s;
  return batch.SerializeAsString();
}

}  // namespace osprey::writer::testing
