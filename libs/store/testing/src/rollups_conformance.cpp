#include "osprey/storetest/rollups_conformance.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "osprey/store/ui_reads.hpp"
#include "osprey/storetest/store_conformance.hpp"

namespace osprey::storetest {
namespace {

using model::v1::Span;
using store::RowKey;
using store::Store;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kBase = 1'760'000'000 * kSec;
constexpr int kTraces = 40;
const std::vector<std::string> kProjects = {"default", "alpha", "beta", "gamma"};

std::string Hex(uint64_t high, uint64_t low, int digits) {
  char buffer[33];
  if (digits == 32) {
    std::snprintf(buffer, sizeof(buffer), "%016llx%016llx", static_cast<unsigned long long>(high),
                  static_cast<unsigned long long>(low));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(low));
  }
  return buffer;
}
std::string TraceHex(int trace) { return Hex(0x7011, static_cast<uint64_t>(trace), 32); }
std::string SessionOf(int trace) { return trace % 3 == 0 ? "rollup-session-" + std::to_string(trace % 7) : ""; }

std::string Raw(const std::string& hex) {
  std::string raw;
  for (size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return raw;
}

int64_t Int(const store::SqlValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  if (const auto* d = std::get_if<double>(&value)) return static_cast<int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&value)) return std::stoll(*s);
  return 0;
}
double Double(const store::SqlValue& value) {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* s = std::get_if<std::string>(&value)) return std::stod(*s);
  return static_cast<double>(Int(value));
}

// Random spans over kTraces traces in several projects and sessions; remembers every span it made so
// that it can resend them.
class SpanSource final {
 public:
  explicit SpanSource(uint32_t seed) : random_(seed) {
    for (int t = 1; t <= kTraces; ++t) trace_project_[t] = kProjects[Pick(kProjects.size())];
  }

  std::vector<Span> Batch() {
    std::vector<Span> batch;
    const size_t size = 1 + Pick(12);
    for (size_t i = 0; i < size; ++i) {
      if (!sent_.empty() && Pick(5) == 0) {
        batch.push_back(sent_[Pick(sent_.size())]);  // resent: stored once, or again after its delete
        continue;
      }
      const int trace = 1 + static_cast<int>(Pick(kTraces));
      // Now and then a span names another project: its trace keeps the project it has.
      batch.push_back(
          Next(trace, Pick(10) == 0 ? kProjects[Pick(kProjects.size())] : trace_project_[trace], SessionOf(trace)));
    }
    return batch;
  }

  // A new span of `trace` with random times, status, tokens and cost.
  Span Next(int trace, const std::string& project, const std::string& session) {
    Span span;
    span.set_project_name(project);
    span.set_trace_id(Raw(TraceHex(trace)));
    span.set_span_id(Raw(Hex(0, ++next_span_, 16)));
    if (Pick(3) != 0) span.set_parent_span_id(Raw(Hex(0, 1 + Pick(next_span_), 16)));
    span.set_name("op");
    span.set_span_kind(Pick(2) == 0 ? "LLM" : "CHAIN");
    const int64_t start = kBase + static_cast<int64_t>(Pick(3600)) * kSec;
    span.set_start_time_unix_nano(start);
    span.set_end_time_unix_nano(start + static_cast<int64_t>(Pick(5000)) * 1'000'000);
    if (Pick(6) == 0) span.set_status_code(model::v1::STATUS_CODE_ERROR);
    span.set_session_id(session);
    if (Pick(2) == 0) {
      span.set_llm_token_count_prompt(static_cast<int64_t>(Pick(500)));
      span.set_llm_token_count_completion(static_cast<int64_t>(Pick(200)));
    }
    if (Pick(3) == 0) span.mutable_cost()->set_total(static_cast<double>(1 + Pick(1000)) * 1.7e-5);
    span.set_attributes_json("{}");
    span.set_events_json("[]");
    sent_.push_back(span);
    return span;
  }

  const std::vector<Span>& sent() const { return sent_; }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

 private:
  std::mt19937 random_;
  std::map<int, std::string> trace_project_;
  std::vector<Span> sent_;
  uint64_t next_span_ = 0;
};

void Write(Store& store, const std::vector<Span>& spans) {
  std::vector<const Span*> pointers;
  for (const Span& span : spans) pointers.push_back(&span);
  auto result = store.WriteSpans(pointers);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
}

void Ok(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

// A mutation of rows that may be gone already: NOT_FOUND is an answer, anything else must be OK.
bool Applied(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE((status.ok() || status.code() == absl::StatusCode::kNotFound));
  return status.ok();
}

// The project rows' rollups equal the sums over their traces, and the summaries without a window (read
// from the rollups) equal those over a window that holds every trace (read from the traces).
void CheckRollups(Store& store, const std::string& step) {
  INFO("after " << step);
  store::SqlQuery recompute;
  recompute.sql =
      "SELECT project_id, count(*), sum(span_count), sum(CASE WHEN error_count > 0 THEN 1 ELSE 0 END), "
      "sum(token_count_prompt), sum(token_count_completion), sum(token_count_total), sum(cost_total) "
      "FROM traces GROUP BY project_id";
  auto sums = store.RunReadQuery(recompute);
  REQUIRE(sums.ok());
  std::map<int64_t, std::vector<store::SqlValue>> expected;
  for (auto& row : sums->rows) expected.emplace(Int(row[0]), row);

  auto rollups = store::ReadProjectRollups(store);
  INFO(rollups.status().ToString());
  REQUIRE(rollups.ok());
  std::set<int64_t> seen;
  for (const store::ProjectRollup& r : *rollups) {
    INFO("project " << r.name);
    seen.insert(r.project_id);
    const auto it = expected.find(r.project_id);
    const std::vector<store::SqlValue> none(8, int64_t{0});
    const std::vector<store::SqlValue>& e = it == expected.end() ? none : it->second;
    CHECK(r.trace_count == Int(e[1]));
    CHECK(r.span_count == Int(e[2]));
    CHECK(r.error_trace_count == Int(e[3]));
    CHECK(r.token_count_prompt == Int(e[4]));
    CHECK(r.token_count_completion == Int(e[5]));
    CHECK(r.token_count_total == Int(e[6]));
    CHECK(r.cost_total == Approx(Double(e[7])).margin(1e-9));
  }
  for (const auto& [project_id, row] : expected) CHECK(seen.count(project_id) == 1);

  auto rolled = store::ReadProjectSummaries(store, {});
  auto summed =
      store::ReadProjectSummaries(store, {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()});
  REQUIRE(rolled.ok());
  REQUIRE(summed.ok());
  REQUIRE(rolled->size() == summed->size());
  for (size_t i = 0; i < rolled->size(); ++i) {
    const store::ProjectSummary& a = (*rolled)[i];
    const store::ProjectSummary& b = (*summed)[i];
    CHECK(a.project_id == b.project_id);
    CHECK(a.trace_count == b.trace_count);
    CHECK(a.error_trace_count == b.error_trace_count);
    CHECK(a.token_count_prompt == b.token_count_prompt);
    CHECK(a.token_count_completion == b.token_count_completion);
    CHECK(a.token_count_total == b.token_count_total);
    CHECK(a.cost_total == Approx(b.cost_total).margin(1e-9));
    CHECK(a.latency_p50_ns == b.latency_p50_ns);
    CHECK(a.latency_p99_ns == b.latency_p99_ns);
    CHECK(a.last_trace_start_ns == b.last_trace_start_ns);
  }
}

std::string SpanHex(const Span& span) {
  std::string hex;
  for (unsigned char c : span.span_id()) {
    char digits[3];
    std::snprintf(digits, sizeof(digits), "%02x", c);
    hex += digits;
  }
  return hex;
}

}  // namespace

void ProjectRollupsStayExact(const HarnessFactory& factory) {
  auto harness = factory();
  auto opened = harness->Open();
  REQUIRE(opened.ok());
  std::unique_ptr<Store> store = std::move(*opened);
  Ok(store->Migrate());
  SpanSource source(20261129);

  int64_t max_errors = 0;
  double max_cost = 0;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 6; ++b) {
      Write(*store, source.Batch());
      CheckRollups(*store, "batch " + std::to_string(b) + " of round " + std::to_string(round));
    }
    auto rollups = store::ReadProjectRollups(*store);
    REQUIRE(rollups.ok());
    for (const store::ProjectRollup& r : *rollups) {
      max_errors = std::max(max_errors, r.error_trace_count);
      max_cost = std::max(max_cost, r.cost_total);
    }

    // Delete spans (some by row id), until two were stored.
    for (int deleted = 0, tries = 0; deleted < 2 && tries < 50; ++tries) {
      const std::string span_id = SpanHex(source.sent()[source.Pick(source.sent().size())]);
      RowKey key(span_id);
      if (tries % 2 == 1) {
        store::SqlQuery find;
        find.sql = "SELECT id FROM spans WHERE span_id = '" + span_id + "'";  // hex digits only
        auto found = store->RunReadQuery(find);
        REQUIRE(found.ok());
        if (found->rows.empty()) continue;
        key = RowKey(Int(found->rows[0][0]));
      }
      if (Applied(store->DeleteSpan(key))) {
        ++deleted;
        CheckRollups(*store, "DeleteSpan " + span_id);
      }
    }

    const int trace = 1 + static_cast<int>(source.Pick(kTraces));
    Applied(store->DeleteTrace(RowKey(TraceHex(trace))));
    CheckRollups(*store, "DeleteTrace " + std::to_string(trace));

    // A session by id and one by row id (their traces may be in several projects).
    std::vector<RowKey> sessions;
    sessions.emplace_back(std::in_place_type<std::string>, SessionOf(3 * (1 + static_cast<int>(source.Pick(7)))));
    auto other = store->GetSessionBySessionId(SessionOf(3 * (1 + static_cast<int>(source.Pick(7)))));
    REQUIRE(other.ok());
    if (other->has_value()) sessions.emplace_back(std::in_place_type<int64_t>, (*other)->id);
    auto deleted_sessions = store->DeleteSessions(sessions);
    REQUIRE(deleted_sessions.ok());
    CheckRollups(*store, "DeleteSessions");

    // Every stored trace of one project to another.
    const std::string from = kProjects[source.Pick(kProjects.size())];
    const std::string to = kProjects[(source.Pick(kProjects.size() - 1) + 1 + round) % kProjects.size()];
    auto from_project = store->GetProjectByName(from);
    auto to_project = store->GetProjectByName(to);
    REQUIRE(from_project.ok());
    REQUIRE(to_project.ok());
    if (from != to && from_project->has_value() && to_project->has_value()) {
      std::vector<RowKey> moving;
      for (int t = 1; t <= kTraces; ++t) {
        auto record = store->GetTraceByTraceId(TraceHex(t));
        REQUIRE(record.ok());
        if (record->has_value() && (*record)->project_id == (*from_project)->id)
          moving.emplace_back(std::in_place_type<std::string>, TraceHex(t));
      }
      if (!moving.empty()) {
        auto moved = store->TransferTraces(moving, (*to_project)->id);
        INFO(moved.status().ToString());
        REQUIRE(moved.ok());
        CheckRollups(*store, "TransferTraces " + from + " -> " + to);
      }
    }

    // A project other than default (later spans naming it create it again).
    const std::string doomed = kProjects[1 + source.Pick(kProjects.size() - 1)];
    auto project = store->GetProjectByName(doomed);
    REQUIRE(project.ok());
    if (project->has_value()) {
      Ok(store->DeleteProject((*project)->id));
      CheckRollups(*store, "DeleteProject " + doomed);
    }
  }
  // A trace of default joins a session of another project; deleting that project deletes the session
  // and, with it, the trace of default (ON DELETE CASCADE): default loses it.
  Write(*store, {source.Next(kTraces + 1, "owner", "crossing")});
  Write(*store, {source.Next(kTraces + 2, "default", "crossing")});
  CheckRollups(*store, "a trace of default joining a session of owner");
  auto owner = store->GetProjectByName("owner");
  REQUIRE(owner.ok());
  REQUIRE(owner->has_value());
  Ok(store->DeleteProject((*owner)->id));
  auto crossing = store->GetTraceByTraceId(TraceHex(kTraces + 2));
  REQUIRE(crossing.ok());
  CHECK(!crossing->has_value());
  CheckRollups(*store, "DeleteProject owner");

  // The data exercised what the rollups count.
  CHECK(max_errors > 0);
  CHECK(max_cost > 0);
}

}  // namespace osprey::storetest
