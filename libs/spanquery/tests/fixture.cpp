#include "fixture.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <variant>

#include "osprey/spanquery/compiler.hpp"
#include "osprey/spanquery/table.hpp"
#include "rapidjson/document.h"

namespace osprey::spanquery::testing {
namespace {

model::v1::Span Make(char trace, char span, char parent, std::string name, std::string kind, int64_t start_ms,
                     int64_t end_ms, std::string attributes) {
  model::v1::Span s;
  s.set_project_name("default");
  s.set_trace_id(std::string(15, '\x0a') + trace);
  s.set_span_id(std::string(7, '\x0b') + span);
  if (parent != 0) s.set_parent_span_id(std::string(7, '\x0b') + parent);
  s.set_name(std::move(name));
  s.set_span_kind(std::move(kind));
  s.set_start_time_unix_nano(static_cast<uint64_t>(kT0 + start_ms * kMs));
  s.set_end_time_unix_nano(static_cast<uint64_t>(kT0 + end_ms * kMs));
  s.set_attributes_json(std::move(attributes));
  s.set_events_json("[]");
  return s;
}

std::string Iso(int64_t offset_ms) { return IsoNanos(kT0 + offset_ms * kMs); }

}  // namespace

std::vector<model::v1::Span> FixtureSpans() {
  std::vector<model::v1::Span> spans;
  auto root = Make(
      1, 1, 0, "agent-run", "CHAIN", 0, 3000,
      R"({"input":{"value":"Please issue a REFUND for order 42"},"metadata":{"tier":"gold","topic":"billing"},"user":{"id":"u1"}})");
  root.set_status_code(model::v1::STATUS_CODE_OK);
  spans.push_back(root);
  auto llm = Make(
      1, 2, 1, "chat gpt-4o", "LLM", 100, 2600,
      R"({"llm":{"model_name":"gpt-4o","token_count":{"prompt":700,"completion":500,"total":1200}},"input":{"value":"hello world"},"flag":true})");
  llm.set_llm_token_count_prompt(700);
  llm.set_llm_token_count_completion(500);
  llm.set_llm_token_count_total(1200);
  spans.push_back(llm);
  auto ret = Make(
      1, 3, 1, "search", "RETRIEVER", 200, 300,
      R"({"retrieval":{"documents":[{"document":{"content":"doc one","score":0.9}},{"document":{"content":"doc two","score":0.4}}]},"count_str":"17"})");
  ret.set_status_code(model::v1::STATUS_CODE_ERROR);
  ret.set_status_message("timeout");
  spans.push_back(ret);
  auto mini = Make(
      2, 4, 0, "chat mini", "LLM", 5000, 5100,
      R"({"llm":{"model_name":"gpt-4o-mini","token_count":{"prompt":10,"completion":5,"total":15}},"metadata":{"tier":"silver"},"odd'key--;":"x","back\\slash":"bs","unicode":"naïve café 🚀"})");
  mini.set_llm_token_count_prompt(10);
  mini.set_llm_token_count_completion(5);
  mini.set_llm_token_count_total(15);
  spans.push_back(mini);
  spans.push_back(
      Make(2, 5, 9, "lookup", "TOOL", 6000, 6050, R"({"tool":{"name":"calc"},"flag":"false","num":"3.5"})"));
  spans.push_back(Make(3, 6, 0, "Robert'); DROP TABLE spans;--", "CHAIN", 7000, 8000,
                       R"({"input":{"value":"line1\nline2 % _ \\ done"}})"));
  return spans;
}

std::vector<std::string> AnnotationStatements() {
  auto span = [](const std::string& name, const std::string& label, double score, const std::string& identifier) {
    return "INSERT INTO span_annotations (span_rowid, name, label, score, annotator_kind, identifier, source, "
           "created_at, updated_at) SELECT id, 'correctness', '" +
           label + "', " + std::to_string(score) + ", 'LLM', '" + identifier +
           "', 'API', 0, 0 FROM spans WHERE name = '" + name + "'";
  };
  // "chat mini" has two correctness annotations (two identifiers) that disagree.
  return {span("chat gpt-4o", "correct", 0.9, ""), span("chat mini", "incorrect", 0.2, ""),
          span("chat mini", "correct", 0.7, "reviewer-2"),
          "INSERT INTO trace_annotations (trace_rowid, name, label, annotator_kind, source, created_at, updated_at) "
          "SELECT trace_rowid, 'quality', 'good', 'HUMAN', 'API', 0, 0 FROM spans WHERE name = 'agent-run'"};
}

std::vector<FilterCase> FilterCases() {
  const std::set<std::string> all = {"agent-run", "chat gpt-4o", "search",
                                     "chat mini", "lookup",      "Robert'); DROP TABLE spans;--"};
  const std::string robert = "Robert'); DROP TABLE spans;--";
  return {
      {"span_kind == 'LLM'", {"chat gpt-4o", "chat mini"}},
      {"span_kind == 'llm'", {"chat gpt-4o", "chat mini"}},
      {"span_kind != \"LLM\"", {"agent-run", "search", "lookup", robert}},
      {"name == \"search\"", {"search"}},
      {"llm.model_name == \"gpt-4o\"", {"chat gpt-4o"}},
      {"attributes[\"llm.model_name\"] == \"gpt-4o-mini\"", {"chat mini"}},
      {"attributes[\"llm\"][\"model_name\"] == 'gpt-4o-mini'", {"chat mini"}},
      {"attributes[\"llm\"][[\"token_count\", \"total\"]] == 15", {"chat mini"}},
      {"llm.token_count.total > 1000", {"chat gpt-4o"}},
      {"llm.token_count.total >= 15 and llm.token_count.total <= 15", {"chat mini"}},
      {"10 < llm.token_count.total < 2000", {"chat gpt-4o", "chat mini"}},
      {"latency_ms > 2000", {"agent-run", "chat gpt-4o"}},
      {"latency_ms < 100", {"lookup"}},
      {"'refund' in input.value", {"agent-run"}},
      {"'REFUND' in input.value", {"agent-run"}},
      {"'refund' not in input.value", {"chat gpt-4o", robert}},
      {"'gpt' in name", {"chat gpt-4o"}},
      {"metadata[\"tier\"] in [\"gold\", \"platinum\"]", {"agent-run"}},
      {"metadata['tier'] not in ('gold',)", {"chat mini"}},
      {"span_kind in [\"llm\", \"tool\"]", {"chat gpt-4o", "chat mini", "lookup"}},
      {"llm.token_count.total in [15, 16]", {"chat mini"}},
      {"name in []", {}},
      {"name not in []", all},
      {"parent_id is None", {"agent-run", "chat mini", robert}},
      {"parent_span is None", {"agent-run", "chat mini", "lookup", robert}},
      {"parent_span is not None", {"chat gpt-4o", "search"}},
      {"parent_id is not None", {"chat gpt-4o", "search", "lookup"}},
      {"user.id is not None", {"agent-run"}},
      {"llm.model_name == None", {"agent-run", "search", "lookup", robert}},
      {"llm.model_name != None", {"chat gpt-4o", "chat mini"}},
      {"status_code == 'ERROR'", {"search"}},
      {"status_code == \"error\"", {"search"}},
      {"status_code == 'OK'", {"agent-run"}},
      {"status_message == \"timeout\"", {"search"}},
      {"not span_kind == 'LLM'", {"agent-run", "search", "lookup", robert}},
      {"span_kind == 'LLM' or name == 'search'", {"chat gpt-4o", "chat mini", "search"}},
      {"(span_kind == 'LLM' and latency_ms > 2000) or status_code == 'ERROR'", {"chat gpt-4o", "search"}},
      {"float(count_str) == 17", {"search"}},
      {"int(num) == 3", {"lookup"}},
      {"float(num) > 3.4", {"lookup"}},
      {"count_str == \"17\"", {"search"}},
      {"count_str > 16", {"search"}},
      {"str(llm.token_count.total) == \"15\"", {"chat mini"}},
      {"float(\"2.5\") < llm.token_count.total", {"chat gpt-4o", "chat mini"}},
      {"flag == True", {"chat gpt-4o"}},
      {"flag == False", {"lookup"}},
      {"start_time >= '" + Iso(5000) + "'", {"chat mini", "lookup", robert}},
      {"end_time < '" + Iso(400) + "'", {"search"}},
      {"start_time < end_time", all},
      {"cumulative_llm_token_count_total >= 1200", {"agent-run", "chat gpt-4o"}},
      {"cumulative_llm_token_count_prompt == 0", {"search", "lookup", robert}},
      // A span matches when any of its annotations of that name does (Phoenix), and each name is one
      // annotation within a condition: no single annotation of "chat mini" is both incorrect and > 0.5.
      {"evals[\"correctness\"].score > 0.5", {"chat gpt-4o", "chat mini"}},
      {"evals[\"correctness\"].score < 0.5", {"chat mini"}},
      {"evals[\"correctness\"].label == \"incorrect\" and evals[\"correctness\"].score > 0.5", {}},
      {"evals[\"correctness\"].label == \"correct\" and evals[\"correctness\"].score > 0.5", {"chat gpt-4o", "chat mini"}},
      {"evals[\"correctness\"].score > 0.5 and trace_annotations[\"quality\"].label == \"good\"", {"chat gpt-4o"}},
      {"evals[\"correctness\"].label == \"incorrect\"", {"chat mini"}},
      {"annotations[\"correctness\"]", {"chat gpt-4o", "chat mini"}},
      {"not annotations['correctness']", {"agent-run", "search", "lookup", robert}},
      {"annotations['correctness'] is None", {"agent-run", "search", "lookup", robert}},
      {"evals[\"nope\"].score > 0", {}},
      {"trace_annotations[\"quality\"].label == \"good\"", {"agent-run", "chat gpt-4o", "search"}},
      {"llm.token_count.total * 2 > 2000", {"chat gpt-4o"}},
      {"llm.token_count.total / 0 > 1", {}},
      {"llm.token_count.total / 2 == 7.5", {"chat mini"}},
      {"llm.token_count.total % 7 == 1", {"chat mini"}},
      {"-llm.token_count.total < -1000", {"chat gpt-4o"}},
      {"llm.token_count.total - 15 == 0", {"chat mini"}},
      {"llm.token_count.total + 0.5 > 15", {"chat gpt-4o", "chat mini"}},
      {"retrieval.documents[1].document.content == \"doc two\"", {"search"}},
      {"retrieval.documents[0].document.score > 0.5", {"search"}},
      // Injection attempts: quotes, comments, semicolons, wildcards and unicode are data.
      {"name == \"Robert'); DROP TABLE spans;--\"", {robert}},
      {"name == 'x\\' OR 1=1 --'", {}},
      {"name == \"x\\\" OR \\\"1\\\"=\\\"1\"", {}},
      {"attributes[\"odd'key--;\"] == \"x\"", {"chat mini"}},
      {"attributes[\"back\\\\slash\"] == \"bs\"", {"chat mini"}},
      {"unicode == \"naïve café 🚀\"", {"chat mini"}},
      {"unicode == \"na\\u00efve caf\\xe9 \\U0001F680\"", {"chat mini"}},
      {"'café' in unicode", {"chat mini"}},
      {"'% _' in input.value", {robert}},
      {"'%' in name", {}},
      {"'_' in name", {}},
      {"'\\\\' in input.value", {robert}},
      {"'\\n' in input.value", {robert}},
      {"metadata[\"tier'] --\"] == \"gold\"", {}},
      {"metadata[\"$.tier\"] == \"gold\"", {}},
  };
}

namespace {

std::set<std::string> Names(store::Store& store, const QuerySpec& spec, const QueryWindow& window) {
  auto compiled = CompileQuery(spec, window, store.dialect());
  INFO((compiled.ok() ? compiled->sql.sql : compiled.status().ToString()));
  REQUIRE(compiled.ok());
  auto rows = store.RunReadQuery(compiled->sql);
  INFO((rows.ok() ? "" : rows.status().ToString()));
  REQUIRE(rows.ok());
  size_t name_column = 1;  // all-spans frame: c0 span_id, c1 name
  std::set<std::string> names;
  for (const auto& row : rows->rows) {
    REQUIRE(std::holds_alternative<std::string>(row[name_column]));
    names.insert(std::get<std::string>(row[name_column]));
  }
  return names;
}

// The pandas table of `spec` over the stored spans, parsed.
void Table(store::Store& store, const QuerySpec& spec, const QueryWindow& window, rapidjson::Document& doc) {
  auto compiled = CompileQuery(spec, window, store.dialect());
  REQUIRE(compiled.ok());
  auto rows = store.RunReadQuery(compiled->sql);
  REQUIRE(rows.ok());
  auto table = RenderTable(spec, *compiled, *rows);
  REQUIRE(table.ok());
  doc.Parse(table->c_str());
  REQUIRE(!doc.HasParseError());
}

int64_t DefaultProject(store::Store& store) {
  auto project = store.GetProjectByName("default");
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  return (*project)->id;
}

}  // namespace

void RunExecutionSuite(store::Store& store, const std::function<void(const std::string&)>& run_sql) {
  std::vector<model::v1::Span> spans = FixtureSpans();
  std::vector<const model::v1::Span*> pointers;
  for (const auto& s : spans) pointers.push_back(&s);
  auto written = store.WriteSpans(pointers);
  INFO((written.ok() ? "" : written.status().ToString()));
  REQUIRE(written.ok());
  for (const std::string& statement : AnnotationStatements()) run_sql(statement);

  QueryWindow window;
  window.project_id = DefaultProject(store);

  SECTION("every filter case returns its expected spans") {
    for (const FilterCase& c : FilterCases()) {
      INFO("condition: " << c.condition);
      QuerySpec spec;
      spec.filter = c.condition;
      CHECK(Names(store, spec, window) == c.names);
    }
  }

  SECTION("the time window, root spans and limit bound the rows; newest first") {
    QuerySpec spec;
    QueryWindow w = window;
    w.start_time_ns = kT0 + 200 * kMs;
    w.end_time_ns = kT0 + 6000 * kMs;  // exclusive
    CHECK(Names(store, spec, w) == std::set<std::string>{"search", "chat mini"});
    w = window;
    w.root_spans_only = true;
    CHECK(Names(store, spec, w) ==
          std::set<std::string>{"agent-run", "chat mini", "lookup", "Robert'); DROP TABLE spans;--"});
    w.orphan_span_as_root_span = false;
    CHECK(Names(store, spec, w) == std::set<std::string>{"agent-run", "chat mini", "Robert'); DROP TABLE spans;--"});
    w = window;
    w.limit = 2;
    CHECK(Names(store, spec, w) == std::set<std::string>{"lookup", "Robert'); DROP TABLE spans;--"});
    w.project_id = window.project_id + 1000;
    CHECK(Names(store, spec, w).empty());
  }

  SECTION("select, explode and concat render the client's dataframe table") {
    QuerySpec spec;
    spec.filter = "span_kind == 'RETRIEVER' or span_kind == 'LLM'";
    spec.select = {{"name", "name"},
                   {"model", "llm.model_name"},
                   {"tokens", "llm.token_count.total"},
                   {"latency", "latency_ms"},
                   {"start", "start_time"}};
    spec.rename = {{"model", "llm_model"}};
    rapidjson::Document doc;
    Table(store, spec, window, doc);
    const auto& fields = doc["schema"]["fields"];
    REQUIRE(fields.Size() == 6);
    CHECK(std::string(fields[0]["name"].GetString()) == "0_context.span_id");
    CHECK(std::string(fields[2]["name"].GetString()) == "2_llm_model");
    CHECK(std::string(fields[5]["type"].GetString()) == "datetime");
    CHECK(std::string(doc["schema"]["primaryKey"][0].GetString()) == "0_context.span_id");
    const auto& data = doc["data"];
    REQUIRE(data.Size() == 3);
    // Newest first: chat mini (5000 ms), search (200 ms), chat gpt-4o (100 ms).
    CHECK(std::string(data[0]["1_name"].GetString()) == "chat mini");
    CHECK(std::string(data[0]["2_llm_model"].GetString()) == "gpt-4o-mini");
    CHECK(data[0]["3_tokens"].GetInt() == 15);
    CHECK(data[1]["2_llm_model"].IsNull());
    CHECK(data[2]["4_latency"].GetDouble() == Approx(2500.0));
    CHECK(std::string(data[2]["5_start"].GetString()) == Iso(100));

    QuerySpec explode;
    explode.filter = "name == 'search'";
    explode.explode = Explode{"retrieval.documents", "context.span_id", {{"reference", "document.content"}}};
    Table(store, explode, window, doc);
    REQUIRE(doc["data"].Size() == 2);
    CHECK(std::string(doc["schema"]["primaryKey"][1].GetString()) == "1_document_position");
    CHECK(doc["data"][1]["1_document_position"].GetInt() == 1);
    CHECK(std::string(doc["data"][1]["2_reference"].GetString()) == "doc two");

    QuerySpec concat;
    concat.filter = "name == 'search'";
    concat.concat = Concat{"retrieval.documents", " | ", {{"reference", "document.content"}}};
    Table(store, concat, window, doc);
    REQUIRE(doc["data"].Size() == 1);
    CHECK(std::string(doc["data"][0]["1_reference"].GetString()) == "doc one | doc two");
  }

  SECTION("the all-spans frame flattens attributes down to OpenInference keys") {
    QuerySpec spec;
    spec.filter = "name == 'agent-run' or name == 'chat gpt-4o'";
    rapidjson::Document doc;
    Table(store, spec, window, doc);
    std::map<std::string, const rapidjson::Value*> fields;
    for (const auto& f : doc["schema"]["fields"].GetArray()) {
      std::string name = f["name"].GetString();
      fields[name.substr(name.find('_') + 1)] = &f;
    }
    CHECK(fields.count("attributes.llm.token_count.total") == 1);
    CHECK(fields.count("attributes.metadata") == 1);  // a known key: kept whole
    CHECK(fields.count("attributes.metadata.tier") == 0);
    CHECK(fields.count("attributes.flag") == 1);
    CHECK(fields.count("context.trace_id") == 1);
    const auto& row = doc["data"][0];  // chat gpt-4o started later
    bool found_tokens = false;
    for (const auto& member : row.GetObject()) {
      std::string name = member.name.GetString();
      if (name.substr(name.find('_') + 1) == "attributes.llm.token_count.total") {
        CHECK(member.value.GetInt() == 1200);
        found_tokens = true;
      }
    }
    CHECK(found_tokens);
  }
}

}  // namespace osprey::spanquery::testing
