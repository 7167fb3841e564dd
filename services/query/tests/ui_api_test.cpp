#include "osprey/query/ui_api.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "osprey/base/encoding.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "rapidjson/document.h"

#ifdef OSPREY_UI_TEST_POSTGRES
// This binary runs every case on Postgres: a fresh database per Harness in one private cluster.
#include "osprey/store/postgres_store.hpp"
#include "osprey/storetest/postgres_cluster.hpp"
#endif

using namespace osprey;

namespace {

constexpr int64_t kT0 = 1735787045000000000LL;  // 2025-01-02T03:04:05+00:00
constexpr int64_t kSecond = 1000000000LL;
constexpr int64_t kMs = 1000000LL;

std::string Hex(int64_t value, size_t width) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(width, '0');
  for (size_t i = 0; i < width && value > 0; ++i, value >>= 4) out[width - 1 - i] = kDigits[value & 15];
  return out;
}

model::v1::Span MakeSpan(const std::string& project, int64_t trace, int64_t span, int64_t parent, int64_t start,
                         int64_t end, const std::string& attributes = "{}", bool error = false, int64_t tokens = 0,
                         std::optional<double> cost = std::nullopt) {
  model::v1::Span s;
  s.set_project_name(project);
  s.set_trace_id(*base::HexDecode(Hex(trace, 32)));
  s.set_span_id(*base::HexDecode(Hex(span, 16)));
  if (parent) s.set_parent_span_id(*base::HexDecode(Hex(parent, 16)));
  s.set_name("span-" + std::to_string(span));
  s.set_span_kind(parent ? "LLM" : "CHAIN");
  s.set_start_time_unix_nano(start);
  s.set_end_time_unix_nano(end);
  s.set_status_code(error ? model::v1::STATUS_CODE_ERROR : model::v1::STATUS_CODE_OK);
  s.set_attributes_json(attributes);
  s.set_events_json("[]");
  s.set_input_preview(parent ? "" : "question " + std::to_string(trace));
  s.set_llm_token_count_total(tokens);
  s.set_llm_token_count_prompt(tokens);
  if (cost) s.mutable_cost()->set_total(*cost);
  return s;
}

struct Reply {
  int status = 0;
  std::string body;
  rapidjson::Document json;
};

class Harness {
 public:
  Harness() {
    char tmpl[] = "/tmp/osprey-ui-api-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
#ifdef OSPREY_UI_TEST_POSTGRES
    store::PostgresConfig config;
    config.dsn = storetest::PostgresTestCluster::Get(OSPREY_PG_DEPLOY_DIR).NewDatabaseDsn();
    config.pool_size = 2;
    auto opened = store::OpenPostgresStore(config);
#else
    store::SqliteConfig config;
    config.path = dir_ + "/osprey.db";
    auto opened = store::OpenSqliteStore(config);
#endif
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    REQUIRE(store_->Migrate().ok());
    query::RegisterUi(router_, *store_);
  }
  ~Harness() {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }
  void Write(const std::vector<model::v1::Span>& spans) {
    std::vector<const model::v1::Span*> pointers;
    for (const auto& s : spans) pointers.push_back(&s);
    auto written = store_->WriteSpans(pointers);
    REQUIRE(written.ok());
  }
  store::Store& store() { return *store_; }
  Reply Get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    http::Request request;
    request.method = "GET";
    request.path = path;
    request.target = path;
    request.query = std::move(query);
    http::Response response = router_.Dispatch(request);
    Reply reply;
    reply.status = response.status;
    reply.body = response.body;
    if (response.status == 200) reply.json.Parse(reply.body.c_str());
    return reply;
  }

 private:
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  http::Router router_;
};

// alpha: four one-span traces lasting 1 s, 2 s, 3 s and 10 s (the 3 s one failed), 5 tokens each,
// one per minute from kT0; beta: no trace.
void SeedSummaries(Harness& h) {
  const int64_t latencies[] = {1, 2, 3, 10};
  std::vector<model::v1::Span> spans;
  for (int i = 0; i < 4; ++i) {
    int64_t start = kT0 + i * 60 * kSecond;
    spans.push_back(MakeSpan("alpha", 100 + i, 100 + i, 0, start, start + latencies[i] * kSecond, "{}", i == 2, 5));
  }
  spans.push_back(MakeSpan("beta", 200, 200, 0, kT0, kT0 + kSecond));
  h.Write(spans);
}

const rapidjson::Value* Project(const Reply& r, const std::string& name) {
  for (const auto& p : r.json["data"].GetArray()) {
    if (name == p["name"].GetString()) return &p;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("project summaries: trace count, error rate, nearest-rank latency percentiles, tokens, last activity") {
  Harness h;
  SeedSummaries(h);
  Reply all = h.Get("/osprey/v1/project_summaries");
  REQUIRE(all.status == 200);
  const rapidjson::Value* alpha = Project(all, "alpha");
  REQUIRE(alpha != nullptr);
  CHECK((*alpha)["trace_count"].GetInt64() == 4);
  CHECK((*alpha)["error_trace_count"].GetInt64() == 1);
  CHECK((*alpha)["latency_p50_ms"].GetDouble() == Approx(2000));
  CHECK((*alpha)["latency_p99_ms"].GetDouble() == Approx(10000));
  CHECK((*alpha)["token_count_total"].GetInt64() == 20);
  CHECK(std::string((*alpha)["last_activity"].GetString()) == "2025-01-02T03:07:05+00:00");
  const rapidjson::Value* fresh = Project(all, "default");
  REQUIRE(fresh != nullptr);
  CHECK((*fresh)["trace_count"].GetInt64() == 0);
  CHECK((*fresh)["latency_p50_ms"].IsNull());
  CHECK((*fresh)["last_activity"].IsNull());
  CHECK((*alpha)["cost_total"].IsNull());

  // From the second minute on: the 1 s trace drops out.
  Reply window = h.Get("/osprey/v1/project_summaries", {{"start_time", "2025-01-02T03:05:00+00:00"}});
  REQUIRE(window.status == 200);
  alpha = Project(window, "alpha");
  CHECK((*alpha)["trace_count"].GetInt64() == 3);
  CHECK((*alpha)["latency_p50_ms"].GetDouble() == Approx(3000));
  CHECK((*Project(window, "beta"))["trace_count"].GetInt64() == 0);

  CHECK(h.Get("/osprey/v1/project_summaries", {{"start_time", "yesterday"}}).status == 422);
}

TEST_CASE("project totals: every project's trace, span, error-trace and token counts and cost, kept through deletes") {
  Harness h;
  SeedSummaries(h);
  // A failed, priced child of alpha's first trace, sent twice in one call: counted once.
  const model::v1::Span child = MakeSpan("alpha", 100, 900, 100, kT0, kT0 + kSecond, "{}", true, 7, 0.25);
  h.Write({child, child});

  Reply totals = h.Get("/osprey/v1/project_totals");
  REQUIRE(totals.status == 200);
  REQUIRE(totals.json["data"].Size() == 3);  // default, alpha, beta
  const rapidjson::Value* alpha = Project(totals, "alpha");
  REQUIRE(alpha != nullptr);
  CHECK((*alpha)["description"].IsNull());
  CHECK((*alpha)["trace_count"].GetInt64() == 4);
  CHECK((*alpha)["span_count"].GetInt64() == 5);
  CHECK((*alpha)["error_trace_count"].GetInt64() == 2);
  CHECK((*alpha)["token_count_prompt"].GetInt64() == 27);
  CHECK((*alpha)["token_count_completion"].GetInt64() == 0);
  CHECK((*alpha)["token_count_total"].GetInt64() == 27);
  CHECK((*alpha)["cost_total"].GetDouble() == Approx(0.25));
  const rapidjson::Value* beta = Project(totals, "beta");
  REQUIRE(beta != nullptr);
  CHECK((*beta)["trace_count"].GetInt64() == 1);
  CHECK((*beta)["span_count"].GetInt64() == 1);
  CHECK((*beta)["cost_total"].IsNull());
  const rapidjson::Value* fresh = Project(totals, "default");
  REQUIRE(fresh != nullptr);
  CHECK((*fresh)["trace_count"].GetInt64() == 0);
  CHECK((*fresh)["span_count"].GetInt64() == 0);

  // The summaries without a window agree with the totals.
  Reply summaries = h.Get("/osprey/v1/project_summaries");
  REQUIRE(summaries.status == 200);
  const rapidjson::Value* summary = Project(summaries, "alpha");
  CHECK(std::string((*summary)["id"].GetString()) == (*alpha)["id"].GetString());
  CHECK((*summary)["trace_count"].GetInt64() == 4);
  CHECK((*summary)["error_trace_count"].GetInt64() == 2);
  CHECK((*summary)["token_count_total"].GetInt64() == 27);
  CHECK((*summary)["cost_total"].GetDouble() == Approx(0.25));

  // Deleting the trace takes its spans, error, tokens and cost out of alpha's totals.
  REQUIRE(h.store().DeleteTrace(store::RowKey(Hex(100, 32))).ok());
  totals = h.Get("/osprey/v1/project_totals");
  REQUIRE(totals.status == 200);
  alpha = Project(totals, "alpha");
  CHECK((*alpha)["trace_count"].GetInt64() == 3);
  CHECK((*alpha)["span_count"].GetInt64() == 3);
  CHECK((*alpha)["error_trace_count"].GetInt64() == 1);
  CHECK((*alpha)["token_count_total"].GetInt64() == 15);
  CHECK((*alpha)["cost_total"].IsNull());
}

TEST_CASE("project summaries: each project's percentiles, for more projects than one store statement reads") {
  Harness h;
  // p00 ... p59: project pN holds N + 1 one-span traces lasting 1 s, 2 s, ... (N + 1) s.
  std::vector<model::v1::Span> spans;
  for (int n = 0; n < 60; ++n) {
    const std::string project = "p" + std::string(n < 10 ? "0" : "") + std::to_string(n);
    for (int i = 0; i <= n; ++i) {
      const int64_t id = 1000 + n * 100 + i;
      spans.push_back(MakeSpan(project, id, id, 0, kT0, kT0 + (i + 1) * kSecond));
    }
  }
  h.Write(spans);
  Reply all = h.Get("/osprey/v1/project_summaries");
  REQUIRE(all.status == 200);
  for (int n = 0; n < 60; ++n) {
    const std::string project = "p" + std::string(n < 10 ? "0" : "") + std::to_string(n);
    const rapidjson::Value* p = Project(all, project);
    REQUIRE(p != nullptr);
    INFO(project);
    CHECK((*p)["trace_count"].GetInt64() == n + 1);
    // Nearest rank: ceil(0.5 * (n + 1)) and ceil(0.99 * (n + 1)) seconds.
    CHECK((*p)["latency_p50_ms"].GetDouble() == Approx(1000.0 * ((50 * (n + 1) + 99) / 100)));
    CHECK((*p)["latency_p99_ms"].GetDouble() == Approx(1000.0 * ((99 * (n + 1) + 99) / 100)));
  }
}

TEST_CASE("trace outline pages a big trace in start order, without attributes, every span once") {
  Harness h;
  std::vector<model::v1::Span> spans;
  spans.push_back(MakeSpan("alpha", 1, 1, 0, kT0, kT0 + 100 * kMs));
  // 24 children; pairs share a start time so the cursor must break ties on the row id.
  for (int i = 2; i <= 25; ++i) {
    spans.push_back(MakeSpan("alpha", 1, i, 1, kT0 + (i / 2) * kMs, kT0 + (i / 2 + 1) * kMs, R"({"big":"x"})"));
  }
  h.Write(spans);
  const std::string path = "/osprey/v1/projects/alpha/traces/" + Hex(1, 32) + "/spans";
  std::set<std::string> seen;
  std::string cursor;
  int64_t last_start = 0;
  int pages = 0;
  do {
    std::vector<std::pair<std::string, std::string>> q = {{"limit", "10"}};
    if (!cursor.empty()) q.emplace_back("cursor", cursor);
    Reply r = h.Get(path, q);
    REQUIRE(r.status == 200);
    ++pages;
    CHECK(r.json["trace"]["span_count"].GetInt64() == 25);
    for (const auto& s : r.json["data"].GetArray()) {
      CHECK(seen.insert(s["span_id"].GetString()).second);
      CHECK(s["start_ns"].GetInt64() >= last_start);
      last_start = s["start_ns"].GetInt64();
      CHECK_FALSE(s.HasMember("attributes"));
      if (std::string(s["span_id"].GetString()) == Hex(1, 16)) {
        CHECK(s["parent_id"].IsNull());
      } else {
        CHECK(std::string(s["parent_id"].GetString()) == Hex(1, 16));
      }
    }
    cursor = r.json["next_cursor"].IsNull() ? "" : r.json["next_cursor"].GetString();
  } while (!cursor.empty());
  CHECK(pages == 3);
  CHECK(seen.size() == 25);

  CHECK(h.Get(path, {{"cursor", "12:x"}}).status == 422);
  CHECK(h.Get(path, {{"limit", "0"}}).status == 422);
  CHECK(h.Get("/osprey/v1/projects/alpha/traces/" + Hex(2, 32) + "/spans").status == 404);
  CHECK(h.Get("/osprey/v1/projects/nope/traces/" + Hex(1, 32) + "/spans").status == 404);
}

TEST_CASE("trace rows carry the root span's status and input preview; trace_id selects within the project") {
  Harness h;
  SeedSummaries(h);
  Reply r = h.Get("/osprey/v1/projects/alpha/traces", {{"limit", "2"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.json["data"].Size() == 2);
  CHECK(std::string(r.json["data"][0]["trace_id"].GetString()) == Hex(103, 32));  // newest first
  CHECK(std::string(r.json["data"][0]["input_preview"].GetString()) == "question 103");
  CHECK(std::string(r.json["data"][1]["status_code"].GetString()) == "ERROR");
  CHECK(r.json["data"][0]["cost_total"].IsNull());  // nothing priced
  REQUIRE(r.json["next_cursor"].IsString());
  Reply next =
      h.Get("/osprey/v1/projects/alpha/traces", {{"limit", "2"}, {"cursor", r.json["next_cursor"].GetString()}});
  REQUIRE(next.status == 200);
  CHECK(next.json["data"].Size() == 2);
  CHECK(next.json["next_cursor"].IsNull());

  Reply picked = h.Get("/osprey/v1/projects/alpha/traces", {{"trace_id", Hex(101, 32)}, {"trace_id", Hex(200, 32)}});
  REQUIRE(picked.status == 200);
  REQUIRE(picked.json["data"].Size() == 1);  // trace 200 belongs to beta
  CHECK(std::string(picked.json["data"][0]["trace_id"].GetString()) == Hex(101, 32));
  CHECK(h.Get("/osprey/v1/projects/alpha/traces", {{"sort", "tokens"}}).status == 422);
}

TEST_CASE("one span with its nested attributes intact (message lists stay lists)") {
  Harness h;
  const std::string attributes =
      R"({"llm":{"input_messages":[{"message":{"role":"user","content":"hi"}}],"model_name":"m"}})";
  h.Write({MakeSpan("alpha", 7, 7, 0, kT0, kT0 + kSecond), MakeSpan("alpha", 7, 8, 7, kT0, kT0 + kSecond, attributes)});
  Reply r = h.Get("/osprey/v1/projects/alpha/spans/" + Hex(8, 16));
  REQUIRE(r.status == 200);
  const auto& data = r.json["data"];
  CHECK(std::string(data["parent_id"].GetString()) == Hex(7, 16));
  REQUIRE(data["attributes"]["llm"]["input_messages"].IsArray());
  CHECK(std::string(data["attributes"]["llm"]["input_messages"][0]["message"]["content"].GetString()) == "hi");
  CHECK(data["latency_ms"].GetDouble() == Approx(1000));
  CHECK(h.Get("/osprey/v1/projects/alpha/spans/" + Hex(9, 16)).status == 404);
  CHECK(h.Get("/osprey/v1/projects/beta/spans/" + Hex(8, 16)).status == 404);
}

namespace {

// Every page of one of alpha's listings (`what`: traces or spans) from the first, following
// next_cursor: the `id_field` of each row in order; `each` sees every row.
std::vector<std::string> ListAll(Harness& h, const std::string& what,
                                 std::vector<std::pair<std::string, std::string>> query, int* pages,
                                 const std::function<void(const rapidjson::Value&)>& each = {}) {
  const char* id_field = what == "spans" ? "span_id" : "trace_id";
  std::vector<std::string> ids;
  std::string cursor;
  *pages = 0;
  do {
    auto q = query;
    if (!cursor.empty()) q.emplace_back("cursor", cursor);
    Reply r = h.Get("/osprey/v1/projects/alpha/" + what, q);
    INFO(r.body);
    REQUIRE(r.status == 200);
    ++*pages;
    for (const auto& row : r.json["data"].GetArray()) {
      ids.emplace_back(row[id_field].GetString());
      if (each) each(row);
    }
    cursor = r.json["next_cursor"].IsNull() ? "" : r.json["next_cursor"].GetString();
  } while (!cursor.empty());
  return ids;
}

std::vector<std::string> AllPages(Harness& h, std::vector<std::pair<std::string, std::string>> query, int* pages) {
  return ListAll(h, "traces", std::move(query), pages);
}

}  // namespace

TEST_CASE("a filtered trace list holds every trace with a matching span, keyset paged, uncapped") {
  Harness h;
  // 420 traces a second apart; only the child span carries the model: gpt-4 on even traces.
  std::vector<model::v1::Span> spans;
  for (int i = 1; i <= 420; ++i) {
    const int64_t start = kT0 + i * kSecond;
    const std::string model = i % 2 == 0 ? "gpt-4" : "claude";
    spans.push_back(MakeSpan("alpha", i, 2 * i, 0, start, start + (i % 7 + 1) * kMs));
    spans.push_back(
        MakeSpan("alpha", i, 2 * i + 1, 2 * i, start, start + kMs, R"({"llm":{"model_name":")" + model + R"("}})"));
  }
  spans.push_back(MakeSpan("beta", 9999, 9999, 0, kT0, kT0 + kMs, R"({"llm":{"model_name":"gpt-4"}})"));
  h.Write(spans);

  int pages = 0;
  std::vector<std::string> ids = AllPages(h, {{"filter", "llm.model_name == 'gpt-4'"}, {"limit", "50"}}, &pages);
  CHECK(pages == 5);
  REQUIRE(ids.size() == 210);  // past the old 200-trace cap, beta's trace not among them
  for (size_t k = 0; k < ids.size(); ++k) CHECK(ids[k] == Hex(420 - 2 * static_cast<int64_t>(k), 32));

  // The same filter in latency order, ascending: (latency, id) keyset across ties.
  std::vector<std::string> by_latency = AllPages(
      h, {{"filter", "llm.model_name == 'gpt-4'"}, {"sort", "latency_ms"}, {"order", "asc"}, {"limit", "40"}}, &pages);
  CHECK(pages == 6);
  CHECK(std::set<std::string>(by_latency.begin(), by_latency.end()).size() == 210);
  Reply first =
      h.Get("/osprey/v1/projects/alpha/traces",
            {{"filter", "llm.model_name == 'gpt-4'"}, {"sort", "latency_ms"}, {"order", "asc"}, {"limit", "1"}});
  REQUIRE(first.status == 200);
  CHECK(first.json["data"][0]["latency_ms"].GetDouble() == Approx(1));

  // A filter on the root's name combines with the window on trace start time.
  Reply windowed = h.Get("/osprey/v1/projects/alpha/traces", {{"filter", "name == 'span-20' or name == 'span-800'"},
                                                              {"start_time", "2025-01-02T03:04:30+00:00"}});
  REQUIRE(windowed.status == 200);
  REQUIRE(windowed.json["data"].Size() == 1);
  CHECK(std::string(windowed.json["data"][0]["trace_id"].GetString()) == Hex(400, 32));

  Reply none = h.Get("/osprey/v1/projects/alpha/traces", {{"filter", "llm.model_name == 'nothing'"}});
  REQUIRE(none.status == 200);
  CHECK(none.json["data"].Size() == 0);
  CHECK(none.json["next_cursor"].IsNull());

  Reply bad = h.Get("/osprey/v1/projects/alpha/traces", {{"filter", "name == "}});
  CHECK(bad.status == 422);
  CHECK_THAT(bad.body, Catch::Contains("column"));
}

TEST_CASE("traces sort by tokens and cost on the server, keyset paged, ties broken by id") {
  Harness h;
  // Trace i: tokens (i * 7) % 10 (ties), cost i / 100 dollars except every fifth trace (unpriced).
  std::vector<model::v1::Span> spans;
  for (int i = 1; i <= 30; ++i) {
    const int64_t start = kT0 + i * kSecond;
    std::optional<double> cost;
    if (i % 5 != 0) cost = i / 100.0;
    spans.push_back(MakeSpan("alpha", i, i, 0, start, start + kMs, "{}", false, (i * 7) % 10, cost));
  }
  h.Write(spans);

  for (const char* order : {"desc", "asc"}) {
    INFO(order);
    int pages = 0;
    std::vector<std::string> ids =
        AllPages(h, {{"sort", "token_count_total"}, {"order", order}, {"limit", "7"}}, &pages);
    REQUIRE(ids.size() == 30);
    CHECK(pages == 5);
    std::vector<std::pair<int, int>> expected;  // (tokens, trace)
    for (int i = 1; i <= 30; ++i) expected.emplace_back((i * 7) % 10, i);
    std::sort(expected.begin(), expected.end());
    if (std::string(order) == "desc") std::reverse(expected.begin(), expected.end());
    for (size_t k = 0; k < ids.size(); ++k) CHECK(ids[k] == Hex(expected[k].second, 32));
  }

  int pages = 0;
  std::vector<std::string> by_cost = AllPages(h, {{"sort", "cost_total"}, {"limit", "4"}}, &pages);
  REQUIRE(by_cost.size() == 30);
  CHECK(by_cost.front() == Hex(29, 32));  // $0.29, the most expensive
  CHECK(by_cost[1] == Hex(28, 32));
  CHECK(by_cost.back() == Hex(5, 32));  // unpriced traces last, newest of them first
  Reply top = h.Get("/osprey/v1/projects/alpha/traces", {{"sort", "cost_total"}, {"limit", "1"}});
  REQUIRE(top.status == 200);
  CHECK(top.json["data"][0]["cost_total"].GetDouble() == Approx(0.29));

  // Sorted and filtered at once: the root spans named span-1x, fewest tokens first.
  std::vector<std::string> mixed = AllPages(
      h, {{"sort", "token_count_total"}, {"order", "asc"}, {"limit", "3"}, {"filter", "'span-1' in name"}}, &pages);
  CHECK(mixed.size() == 11);            // span-1, span-10 .. span-19
  CHECK(mixed.front() == Hex(10, 32));  // 0 tokens

  CHECK(h.Get("/osprey/v1/projects/alpha/traces", {{"sort", "name"}}).status == 422);
  CHECK(h.Get("/osprey/v1/projects/alpha/traces", {{"cursor", "VHJhY2U6OTk5OTk="}}).status == 422);  // Trace:99999
}

TEST_CASE("span rows: all or root spans, filtered by the span query language, keyset paged newest first") {
  Harness h;
  // 130 traces: a root and an LLM child, the child on gpt-4 in even traces; priced children cost $0.01.
  std::vector<model::v1::Span> spans;
  for (int i = 1; i <= 130; ++i) {
    const int64_t start = kT0 + i * kSecond;
    spans.push_back(MakeSpan("alpha", i, 2 * i, 0, start, start + 2 * kMs));
    spans.push_back(MakeSpan("alpha", i, 2 * i + 1, 2 * i, start + kMs, start + 2 * kMs,
                             R"({"llm":{"model_name":")" + std::string(i % 2 == 0 ? "gpt-4" : "claude") + R"("}})",
                             false, 7, 0.01));
  }
  h.Write(spans);
  auto tokens = [](const rapidjson::Value& s) {
    CHECK(s["token_count_total"].GetInt64() == (s["parent_id"].IsNull() ? 0 : 7));
  };
  auto pages = [&](std::vector<std::pair<std::string, std::string>> query, int* count) {
    return ListAll(h, "spans", std::move(query), count, tokens);
  };

  int count = 0;
  std::vector<std::string> gpt = pages({{"filter", "llm.model_name == 'gpt-4'"}, {"limit", "20"}}, &count);
  CHECK(count == 4);
  REQUIRE(gpt.size() == 65);
  for (size_t k = 0; k < gpt.size(); ++k) CHECK(gpt[k] == Hex(2 * (130 - 2 * static_cast<int64_t>(k)) + 1, 16));

  std::vector<std::string> roots = pages({{"roots", "true"}, {"limit", "50"}}, &count);
  CHECK(count == 3);
  CHECK(roots.size() == 130);
  CHECK(roots.front() == Hex(260, 16));
  CHECK(pages({{"roots", "true"}, {"filter", "llm.model_name == 'gpt-4'"}}, &count).empty());
  CHECK(pages({}, &count).size() == 260);

  Reply one = h.Get("/osprey/v1/projects/alpha/spans", {{"limit", "1"}, {"filter", "span_kind == 'LLM'"}});
  REQUIRE(one.status == 200);
  const auto& row = one.json["data"][0];
  CHECK(std::string(row["trace_id"].GetString()) == Hex(130, 32));
  CHECK(std::string(row["parent_id"].GetString()) == Hex(260, 16));
  CHECK(std::string(row["span_kind"].GetString()) == "LLM");
  CHECK(row["latency_ms"].GetDouble() == Approx(1));
  CHECK(row["cost_total"].GetDouble() == Approx(0.01));

  CHECK(h.Get("/osprey/v1/projects/alpha/spans", {{"filter", "name =="}}).status == 422);
  CHECK(h.Get("/osprey/v1/projects/alpha/spans", {{"roots", "maybe"}}).status == 422);
  CHECK(h.Get("/osprey/v1/projects/alpha/spans", {{"cursor", "U3Bhbjo5OTk5OTk="}}).status == 422);  // Span:999999
  CHECK(h.Get("/osprey/v1/projects/nope/spans").status == 404);
}
