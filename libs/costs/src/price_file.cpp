#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/strings/str_cat.h"
#include "builtin_prices.hpp"
#include "osprey/base/time.hpp"
#include "osprey/costs/costs.hpp"
#include "yaml-cpp/yaml.h"

namespace osprey::costs {
namespace {

using absl::StrCat;

absl::Status Invalid(const std::string& where, std::string_view what) {
  return absl::InvalidArgumentError(where + ": " + std::string(what));
}

absl::StatusOr<std::string> ScalarString(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) return Invalid(where, "expected a string");
  return node.Scalar();
}

// `{type: usd_per_million, ...}` → per-token rates.
absl::StatusOr<std::vector<TokenRate>> ParseRates(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return Invalid(where, "expected a mapping of token type to US dollars per million tokens");
  std::vector<TokenRate> rates;
  for (const auto& kv : node) {
    std::string type = kv.first.Scalar();
    std::string at = StrCat(where, ".", type);
    if (type.empty()) return Invalid(where, "empty token type");
    double per_million = 0;
    try {
      per_million = kv.second.as<double>();
    } catch (const YAML::Exception&) {
      return Invalid(at, "expected a number of US dollars per million tokens");
    }
    if (!std::isfinite(per_million) || per_million < 0) return Invalid(at, "must be a non-negative number");
    rates.push_back(TokenRate{type, per_million / 1e6});
  }
  return rates;
}

absl::StatusOr<ModelPrice> ParseEntry(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return Invalid(where, "expected a mapping with name, match, prompt and completion");
  static const std::set<std::string> kKeys = {"name", "match", "provider", "since", "prompt", "completion"};
  ModelPrice price;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    std::string at = StrCat(where, ".", key);
    if (!kKeys.count(key)) return Invalid(at, "unknown key (known: name, match, provider, since, prompt, completion)");
    const YAML::Node& value = kv.second;
    if (key == "name") {
      auto s = ScalarString(value, at);
      if (!s.ok()) return s.status();
      price.name = *s;
    } else if (key == "match") {
      auto s = ScalarString(value, at);
      if (!s.ok()) return s.status();
      price.match = *s;
    } else if (key == "provider") {
      auto s = ScalarString(value, at);
      if (!s.ok()) return s.status();
      price.provider = *s;
    } else if (key == "since") {
      auto s = ScalarString(value, at);
      if (!s.ok()) return s.status();
      std::optional<int64_t> ns = base::ParseIsoTime(*s);
      if (!ns) return Invalid(at, StrCat("\"", *s, "\" is not an ISO 8601 time"));
      price.since_ns = *ns;
    } else {
      auto rates = ParseRates(value, at);
      if (!rates.ok()) return rates.status();
      (key == "prompt" ? price.prompt : price.completion) = std::move(*rates);
    }
  }
  if (price.name.empty()) return Invalid(where, "name is required");
  if (price.match.empty()) return Invalid(where, "match is required");
  if (price.prompt.empty() && price.completion.empty()) return Invalid(where, "prompt or completion rates are required");
  return price;
}

}  // namespace

absl::StatusOr<std::vector<ModelPrice>> ParseModelPrices(std::string_view yaml, std::string_view where_view) {
  const std::string where(where_view);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Invalid(where, StrCat("not valid YAML: ", e.what()));
  }
  std::vector<ModelPrice> prices;
  if (!root || root.IsNull()) return prices;
  YAML::Node list = root;
  std::string list_where = where;
  if (root.IsMap()) {
    for (const auto& kv : root) {
      if (kv.first.Scalar() != "models") return Invalid(StrCat(where, ".", kv.first.Scalar()), "unknown key (known: models)");
    }
    list = root["models"];
    list_where = StrCat(where, ".models");
    if (!list || list.IsNull()) return prices;
  }
  if (!list.IsSequence()) return Invalid(list_where, "expected a list of models");
  for (size_t i = 0; i < list.size(); ++i) {
    auto entry = ParseEntry(list[i], StrCat(list_where, "[", i, "]"));
    if (!entry.ok()) return entry.status();
    prices.push_back(std::move(*entry));
  }
  // Patterns are compiled here too, so a configuration error surfaces at load time.
  if (auto table = PriceTable::Create(prices, /*include_builtin=*/false); !table.ok()) {
    return Invalid(list_where, std::string(table.status().message()));
  }
  return prices;
}

const std::vector<ModelPrice>& BuiltinModelPrices() {
  static const std::vector<ModelPrice> prices = [] {
    auto parsed = ParseModelPrices(internal::kBuiltinModelPricesYaml, "built-in model_prices.yaml");
    if (!parsed.ok()) {
      // The file is part of the build and costs_price_file_test parses it: reaching this is a build defect.
      std::fprintf(stderr, "osprey: %s\n", std::string(parsed.status().message()).c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return prices;
}

}  // namespace osprey::costs
