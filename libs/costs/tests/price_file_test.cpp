#include <catch2/catch.hpp>

#include "osprey/costs/costs.hpp"

namespace osprey::costs {
namespace {

std::string Error(std::string_view yaml) {
  auto parsed = ParseModelPrices(yaml, "ingest.model_prices");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST_CASE("a price list parses with rates per million tokens") {
  auto parsed = ParseModelPrices(R"(
- name: my-model
  match: "^my-model"
  provider: acme
  since: "2025-01-01T00:00:00Z"
  prompt: {input: 3, cache_read: 0.3}
  completion: {output: 15}
)",
                                 "ingest.model_prices");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 1);
  const ModelPrice& p = (*parsed)[0];
  CHECK(p.name == "my-model");
  CHECK(p.provider == "acme");
  REQUIRE(p.since_ns);
  CHECK(*p.since_ns == 1735689600LL * 1'000'000'000LL);
  REQUIRE(p.prompt.size() == 2);
  CHECK(p.prompt[1].token_type == "cache_read");
  CHECK(p.prompt[1].usd_per_token == Approx(0.3e-6));
  CHECK(p.completion[0].usd_per_token == Approx(15e-6));
}

TEST_CASE("the price file form with a models key parses, and empty means none") {
  auto parsed = ParseModelPrices("models:\n  - {name: a, match: a, prompt: {input: 1}}\n", "file");
  REQUIRE(parsed.ok());
  CHECK(parsed->size() == 1);
  auto empty = ParseModelPrices("", "file");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("bad price entries are errors that name the entry and field") {
  CHECK(Error("- {match: a, prompt: {input: 1}}") == "ingest.model_prices[0]: name is required");
  CHECK(Error("- {name: a, prompt: {input: 1}}") == "ingest.model_prices[0]: match is required");
  CHECK(Error("- {name: a, match: a}") == "ingest.model_prices[0]: prompt or completion rates are required");
  CHECK(Error("- {name: a, match: a, prompt: {input: -1}}") ==
        "ingest.model_prices[0].prompt.input: must be a non-negative number");
  CHECK(Error("- {name: a, match: a, prompt: {input: cheap}}") ==
        "ingest.model_prices[0].prompt.input: expected a number of US dollars per million tokens");
  CHECK(Error("- {name: a, match: a, price: 1}").rfind("ingest.model_prices[0].price: unknown key", 0) == 0);
  CHECK(Error("- {name: a, match: a, since: yesterday, prompt: {input: 1}}") ==
        "ingest.model_prices[0].since: \"yesterday\" is not an ISO 8601 time");
  CHECK(Error("- {name: a, match: '(', prompt: {input: 1}}").find("does not compile") != std::string::npos);
  CHECK(Error("name: a").rfind("ingest.model_prices.name: unknown key", 0) == 0);
  CHECK(Error("[").rfind("ingest.model_prices: not valid YAML", 0) == 0);
}

TEST_CASE("the built-in price file parses and every entry has prompt and completion rates") {
  const auto& prices = BuiltinModelPrices();
  CHECK(prices.size() > 200);
  for (const ModelPrice& p : prices) {
    INFO(p.name);
    CHECK_FALSE(p.completion.empty());
  }
}

}  // namespace
}  // namespace osprey::costs
