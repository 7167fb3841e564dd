#include "osprey/costs/costs.hpp"

#include <catch2/catch.hpp>

namespace osprey::costs {
namespace {

ModelPrice Price(std::string name, std::string match, double input_per_million, double output_per_million,
                 std::string provider = "") {
  ModelPrice p;
  p.name = std::move(name);
  p.match = std::move(match);
  p.provider = std::move(provider);
  p.prompt = {{"input", input_per_million / 1e6}};
  p.completion = {{"output", output_per_million / 1e6}};
  return p;
}

std::shared_ptr<const PriceTable> Table(std::vector<ModelPrice> user, bool builtin = false) {
  auto table = PriceTable::Create(std::move(user), builtin);
  REQUIRE(table.ok());
  return *table;
}

CostInput Llm(std::string_view model, int64_t prompt, int64_t completion, std::string_view provider = "") {
  CostInput in;
  in.model_name = model;
  in.provider = provider;
  in.prompt_tokens = prompt;
  in.completion_tokens = completion;
  in.total_tokens = prompt + completion;
  return in;
}

const CostDetail* Detail(const SpanCost& cost, std::string_view type, bool is_prompt) {
  for (const auto& d : cost.details) {
    if (d.token_type == type && d.is_prompt == is_prompt) return &d;
  }
  return nullptr;
}

TEST_CASE("prompt and completion tokens are priced at the matched model's rates") {
  auto table = Table({Price("m", "my-model", 2.0, 8.0)});
  auto cost = table->Compute(Llm("my-model-2025", 1000, 500));
  REQUIRE(cost);
  CHECK(cost->model == "m");
  CHECK(*cost->prompt_cost == Approx(0.002));
  CHECK(*cost->completion_cost == Approx(0.004));
  CHECK(*cost->total_cost == Approx(0.006));
  CHECK(cost->total_tokens == 1500);
}

TEST_CASE("an unknown model keeps its tokens and has no cost") {
  auto table = Table({Price("m", "^my-model$", 2.0, 8.0)});
  auto cost = table->Compute(Llm("other-model", 10, 5));
  REQUIRE(cost);
  CHECK(cost->model.empty());
  CHECK_FALSE(cost->total_cost.has_value());
  CHECK(cost->prompt_tokens == 10);
  CHECK(cost->completion_tokens == 5);
  REQUIRE(Detail(*cost, "input", true) != nullptr);
  CHECK_FALSE(Detail(*cost, "input", true)->cost.has_value());
  CHECK_FALSE(table->Compute(Llm("", 10, 5)).has_value());
}

TEST_CASE("user-defined prices win over built-in ones") {
  auto table = Table({Price("custom-haiku", "claude-3-haiku", 100.0, 100.0)}, /*builtin=*/true);
  auto cost = table->Compute(Llm("claude-3-haiku-20240307", 1'000'000, 0));
  REQUIRE(cost);
  CHECK(cost->model == "custom-haiku");
  CHECK(*cost->total_cost == Approx(100.0));
}

TEST_CASE("built-in prices are searched in the model name") {
  auto table = Table({}, /*builtin=*/true);
  CHECK(table->size() > 200);
  // data/model_prices.yaml: claude-3-haiku-20240307 at $0.25 / $1.25 per million tokens.
  auto cost = table->Compute(Llm("anthropic.claude-3-haiku-20240307-v1:0", 2'000'000, 1'000'000));
  REQUIRE(cost);
  CHECK(cost->model == "claude-3-haiku-20240307");
  CHECK(*cost->total_cost == Approx(0.5 + 1.25));
}

TEST_CASE("a provider-specific entry beats a provider-agnostic one, and another provider's entry is skipped") {
  auto table = Table({Price("any", "llama", 1.0, 1.0), Price("groq-llama", "llama", 5.0, 5.0, "groq"),
                      Price("together-llama", "llama", 9.0, 9.0, "together")});
  CHECK(table->Compute(Llm("llama-3", 1'000'000, 0, "groq"))->model == "groq-llama");
  CHECK(table->Compute(Llm("llama-3", 1'000'000, 0, "together"))->model == "together-llama");
  CHECK(table->Compute(Llm("llama-3", 1'000'000, 0, "openai"))->model == "any");
  CHECK(table->Compute(Llm("llama-3", 1'000'000, 0))->model == "any");
}

TEST_CASE("the most specific pattern wins among matches") {
  auto table = Table({Price("gpt-4o", "gpt-4o", 2.5, 10.0), Price("gpt-4o-mini", "gpt-4o-mini", 0.15, 0.6)});
  CHECK(table->Compute(Llm("gpt-4o-mini-2024-07-18", 1, 1))->model == "gpt-4o-mini");
  CHECK(table->Compute(Llm("gpt-4o-2024-08-06", 1, 1))->model == "gpt-4o");
}

TEST_CASE("a price with a start time applies only to spans that start after it") {
  ModelPrice old_price = Price("old", "model-x", 1.0, 1.0);
  ModelPrice new_price = Price("new", "model-x", 3.0, 3.0);
  new_price.since_ns = 2'000;
  auto table = Table({old_price, new_price});
  CostInput early = Llm("model-x", 1, 1);
  early.start_time_ns = 1'000;
  CostInput late = Llm("model-x", 1, 1);
  late.start_time_ns = 3'000;
  CHECK(table->Compute(early)->model == "old");
  CHECK(table->Compute(late)->model == "new");
  // Cached candidates are re-checked against each span's start time.
  CHECK(table->Compute(early)->model == "old");
}

TEST_CASE("token details are priced at their own rate, else at the side's base rate") {
  ModelPrice p = Price("m", "m", 10.0, 20.0);
  p.prompt.push_back({"cache_read", 1.0 / 1e6});
  auto table = Table({p});
  CostInput in = Llm("m", 1'000'000, 1'000'000);
  in.prompt_details = {{"cache_read", 400'000}, {"audio", 100'000}};
  in.completion_details = {{"reasoning", 250'000}};
  auto cost = table->Compute(in);
  REQUIRE(cost);
  CHECK(*Detail(*cost, "cache_read", true)->cost == Approx(0.4));
  CHECK(*Detail(*cost, "audio", true)->cost == Approx(1.0));  // no audio rate: input's
  CHECK(Detail(*cost, "input", true)->tokens == 500'000);     // prompt minus the detailed tokens
  CHECK(*Detail(*cost, "input", true)->cost == Approx(5.0));
  CHECK(*Detail(*cost, "reasoning", false)->cost == Approx(5.0));
  CHECK(Detail(*cost, "output", false)->tokens == 750'000);
  CHECK(*cost->prompt_cost == Approx(6.4));
  CHECK(*cost->completion_cost == Approx(20.0));
  CHECK(*cost->total_cost == Approx(26.4));
}

TEST_CASE("a total above prompt + completion fills in the missing side") {
  auto table = Table({Price("m", "m", 1.0, 2.0)});
  CostInput in = Llm("m", 0, 300);
  in.total_tokens = 1000;
  auto cost = table->Compute(in);
  CHECK(cost->prompt_tokens == 700);
  CHECK(cost->completion_tokens == 300);
}

TEST_CASE("hostile model names cost nothing and match nothing") {
  auto table = Table({Price("m", "a", 1.0, 1.0)});
  std::string huge(100'000, 'a');
  auto cost = table->Compute(Llm(huge, 1, 1));
  REQUIRE(cost);
  CHECK(cost->model.empty());
}

TEST_CASE("a pattern RE2 rejects is an error naming the model") {
  auto table = PriceTable::Create({Price("broken", "gpt-(4", 1.0, 1.0)}, false);
  REQUIRE_FALSE(table.ok());
  CHECK(table.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(table.status().message()).find("broken") != std::string::npos);
}

TEST_CASE("details render as JSON") {
  auto table = Table({Price("m", "m", 1.0, 2.0)});
  auto cost = table->Compute(Llm("m", 1'000'000, 0));
  CHECK(cost->DetailsJson() ==
        R"({"model":"m","prompt_tokens":1000000,"completion_tokens":0,"total_tokens":1000000,"prompt_cost":1.0,)"
        R"("completion_cost":0.0,"total_cost":1.0,"details":[{"token_type":"input","is_prompt":true,)"
        R"("tokens":1000000,"cost":1.0}]})");
}

}  // namespace
}  // namespace osprey::costs
