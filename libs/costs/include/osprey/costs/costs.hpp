#pragma once

// Token costs of LLM spans (Phoenix's cost model, reference §6.3): a price table of models, each
// matched by a regular expression searched in `llm.model_name`, with per-token-type rates for the
// prompt and completion sides. Built-in prices ship inside the binary (data/model_prices.yaml, Osprey's
// own format); user-defined models from the configuration are considered before them.
//
// Thread safety: a PriceTable is immutable after Create() except for its match cache, which is
// internally synchronized; Compute() may be called from any number of threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace osprey::costs {

// US dollars per token for one token type ("input", "output", "cache_read", "audio", ...).
struct TokenRate {
  std::string token_type;
  double usd_per_token = 0;
};

struct ModelPrice {
  std::string name;
  std::string match;     // RE2 pattern, searched (not anchored) in the span's model name
  std::string provider;  // empty: any provider
  std::optional<int64_t> since_ns;  // applies to spans starting at or after it; unset: always
  std::vector<TokenRate> prompt;      // rates of prompt-side token types
  std::vector<TokenRate> completion;  // rates of completion-side token types
};

// Osprey's price file format (YAML): `models:` (or, for user entries in the configuration, the list
// itself) of `{name, match, provider?, since?, prompt: {type: usd_per_million, ...}, completion: {...}}`.
// `where` prefixes error messages ("ingest.model_prices"). INVALID_ARGUMENT names the entry and field:
// a missing name or match, a pattern RE2 rejects, a negative or non-numeric rate, an unknown key.
absl::StatusOr<std::vector<ModelPrice>> ParseModelPrices(std::string_view yaml, std::string_view where);

// The prices compiled into the binary.
const std::vector<ModelPrice>& BuiltinModelPrices();

// What a span says about its LLM call.
struct CostInput {
  std::string_view model_name;
  std::string_view provider;  // llm.provider, may be empty
  int64_t start_time_ns = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  std::vector<std::pair<std::string, int64_t>> prompt_details;      // llm.token_count.prompt_details.*
  std::vector<std::pair<std::string, int64_t>> completion_details;  // llm.token_count.completion_details.*
};

struct CostDetail {
  std::string token_type;
  bool is_prompt = false;
  int64_t tokens = 0;
  std::optional<double> cost;  // unset when the model has no rate for it (nor the side's fallback)
};

struct SpanCost {
  std::string model;  // name of the matched price entry; empty when none matched
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  // Sums over the details; unset when no model matched (tokens are still reported).
  std::optional<double> prompt_cost;
  std::optional<double> completion_cost;
  std::optional<double> total_cost;
  std::vector<CostDetail> details;

  // {"model":..., "prompt_tokens":..., "details":[{"token_type":..., "is_prompt":..., "tokens":..., "cost":...}]}
  std::string DetailsJson() const;
};

class PriceTable final {
 public:
  // `user` entries rank before built-in ones. INVALID_ARGUMENT when a pattern does not compile.
  static absl::StatusOr<std::shared_ptr<const PriceTable>> Create(std::vector<ModelPrice> user,
                                                                  bool include_builtin = true);
  ~PriceTable();
  PriceTable(const PriceTable&) = delete;
  PriceTable& operator=(const PriceTable&) = delete;

  // The model chosen as Phoenix chooses it: user tier before built-in; within a tier, entries whose
  // provider equals `provider` before provider-agnostic ones; then the most specific pattern (most
  // literal characters), the latest `since`, and the earliest entry (built-in) or latest (user).
  // Entries with `since` after the span start are skipped. Returns the details and sums; with no model
  // name, nullopt.
  std::optional<SpanCost> Compute(const CostInput& input) const;

  size_t size() const;

 private:
  struct Impl;
  explicit PriceTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace osprey::costs
