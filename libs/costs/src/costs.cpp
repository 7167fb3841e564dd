#include "osprey/costs/costs.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "re2/re2.h"

namespace osprey::costs {
namespace {

// Longer model names are not matched (no cost): patterns are searched, and the bound keeps a hostile
// attribute from costing more than a short scan per distinct name.
constexpr size_t kMaxModelNameBytes = 512;
// Distinct (model name, provider) pairs remembered; the cache is dropped whole when it fills.
constexpr size_t kMaxCachedNames = 4096;

// Characters of a pattern that match themselves: an escaped character counts once, metacharacters
// not at all. More literal characters = a more specific pattern.
int Specificity(std::string_view pattern) {
  int literal = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
      if (i < pattern.size()) ++literal;
      continue;
    }
    if (std::string_view(".^$|?*+()[]{}").find(c) == std::string_view::npos) ++literal;
  }
  return literal;
}

const TokenRate* FindRate(const std::vector<TokenRate>& rates, std::string_view type) {
  for (const TokenRate& rate : rates) {
    if (rate.token_type == type) return &rate;
  }
  return nullptr;
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteOptional(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::optional<double>& value) {
  if (value) {
    w.Double(*value);
  } else {
    w.Null();
  }
}

}  // namespace

struct PriceTable::Impl {
  struct Entry {
    ModelPrice price;
    std::unique_ptr<RE2> pattern;
    bool user = false;
    int specificity = 0;
    size_t position = 0;  // within its tier
  };
  std::vector<Entry> entries;

  mutable std::mutex mu;
  mutable std::unordered_map<std::string, std::vector<const Entry*>> candidates;  // guarded by mu

  // Entries whose pattern matches, best first (see PriceTable::Compute for the order); `since` is
  // checked per span by the caller.
  std::vector<const Entry*> Rank(std::string_view model, std::string_view provider) const {
    std::vector<const Entry*> out;
    for (const Entry& e : entries) {
      if (!e.price.provider.empty() && !provider.empty() && e.price.provider != provider) continue;
      if (RE2::PartialMatch(re2::StringPiece(model.data(), model.size()), *e.pattern)) out.push_back(&e);
    }
    auto key = [&](const Entry* e) {
      // Provider rank: equal provider first, then provider-agnostic, then (span without a provider)
      // entries bound to some provider.
      int provider_rank = e->price.provider.empty() ? 1 : (e->price.provider == provider ? 0 : 2);
      int64_t since = e->price.since_ns.value_or(INT64_MIN);
      int64_t position = e->user ? -static_cast<int64_t>(e->position) : static_cast<int64_t>(e->position);
      return std::make_tuple(e->user ? 0 : 1, provider_rank, -e->specificity, -since, position);
    };
    std::stable_sort(out.begin(), out.end(), [&](const Entry* a, const Entry* b) { return key(a) < key(b); });
    return out;
  }

  const Entry* Choose(std::string_view model, std::string_view provider, int64_t start_ns) const {
    std::string cache_key;
    cache_key.reserve(model.size() + provider.size() + 1);
    cache_key.append(model).push_back('\0');
    cache_key.append(provider);
    std::lock_guard<std::mutex> lock(mu);
    auto it = candidates.find(cache_key);
    if (it == candidates.end()) {
      if (candidates.size() >= kMaxCachedNames) candidates.clear();
      it = candidates.emplace(std::move(cache_key), Rank(model, provider)).first;
    }
    for (const Entry* e : it->second) {
      if (!e->price.since_ns || *e->price.since_ns <= start_ns) return e;
    }
    return nullptr;
  }
};

PriceTable::PriceTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PriceTable::~PriceTable() = default;

absl::StatusOr<std::shared_ptr<const PriceTable>> PriceTable::Create(std::vector<ModelPrice> user,
                                                                     bool include_builtin) {
  auto impl = std::make_unique<Impl>();
  auto add = [&](ModelPrice price, bool is_user, size_t position) -> absl::Status {
    RE2::Options options;
    options.set_log_errors(false);
    auto pattern = std::make_unique<RE2>(price.match, options);
    if (!pattern->ok()) {
      return absl::InvalidArgumentError("model price \"" + price.name + "\": pattern \"" + price.match +
                                        "\" does not compile: " + pattern->error());
    }
    Impl::Entry entry;
    entry.specificity = Specificity(price.match);
    entry.price = std::move(price);
    entry.pattern = std::move(pattern);
    entry.user = is_user;
    entry.position = position;
    impl->entries.push_back(std::move(entry));
    return absl::OkStatus();
  };
  for (size_t i = 0; i < user.size(); ++i) {
    if (absl::Status st = add(std::move(user[i]), true, i); !st.ok()) return st;
  }
  if (include_builtin) {
    const auto& builtin = BuiltinModelPrices();
    for (size_t i = 0; i < builtin.size(); ++i) {
      if (absl::Status st = add(builtin[i], false, i); !st.ok()) return st;
    }
  }
  return std::shared_ptr<const PriceTable>(new PriceTable(std::move(impl)));
}

size_t PriceTable::size() const { return impl_->entries.size(); }

std::optional<SpanCost> PriceTable::Compute(const CostInput& input) const {
  if (input.model_name.empty()) return std::nullopt;
  SpanCost cost;
  cost.prompt_tokens = std::max<int64_t>(0, input.prompt_tokens);
  cost.completion_tokens = std::max<int64_t>(0, input.completion_tokens);
  cost.total_tokens = std::max<int64_t>(0, input.total_tokens);
  // A total above prompt + completion fills in the side that is missing.
  if (cost.total_tokens > cost.prompt_tokens + cost.completion_tokens) {
    if (cost.prompt_tokens == 0) {
      cost.prompt_tokens = cost.total_tokens - cost.completion_tokens;
    } else if (cost.completion_tokens == 0) {
      cost.completion_tokens = cost.total_tokens - cost.prompt_tokens;
    }
  }
  if (cost.total_tokens == 0) cost.total_tokens = cost.prompt_tokens + cost.completion_tokens;

  const Impl::Entry* entry = nullptr;
  if (input.model_name.size() <= kMaxModelNameBytes) {
    entry = impl_->Choose(input.model_name, input.provider, input.start_time_ns);
  }
  if (entry != nullptr) cost.model = entry->price.name;

  auto side = [&](bool is_prompt, const std::vector<std::pair<std::string, int64_t>>& details, int64_t side_total,
                  std::string_view base_type) -> std::optional<double> {
    const std::vector<TokenRate>* rates = nullptr;
    if (entry != nullptr) rates = is_prompt ? &entry->price.prompt : &entry->price.completion;
    const TokenRate* base = rates != nullptr ? FindRate(*rates, base_type) : nullptr;
    auto price = [&](std::string_view type, int64_t tokens) -> std::optional<double> {
      if (rates == nullptr) return std::nullopt;
      const TokenRate* rate = FindRate(*rates, type);
      if (rate == nullptr) rate = base;
      if (rate == nullptr) return std::nullopt;
      return static_cast<double>(tokens) * rate->usd_per_token;
    };
    std::optional<double> sum;
    if (entry != nullptr) sum = 0.0;
    int64_t detailed = 0;
    for (const auto& [type, tokens] : details) {
      if (tokens <= 0 || type == base_type) continue;
      detailed += tokens;
      CostDetail detail{type, is_prompt, tokens, price(type, tokens)};
      if (sum && detail.cost) *sum += *detail.cost;
      cost.details.push_back(std::move(detail));
    }
    if (int64_t rest = side_total - detailed; rest > 0) {
      CostDetail detail{std::string(base_type), is_prompt, rest, price(base_type, rest)};
      if (sum && detail.cost) *sum += *detail.cost;
      cost.details.push_back(std::move(detail));
    }
    return sum;
  };
  cost.prompt_cost = side(true, input.prompt_details, cost.prompt_tokens, "input");
  cost.completion_cost = side(false, input.completion_details, cost.completion_tokens, "output");
  if (entry != nullptr) cost.total_cost = cost.prompt_cost.value_or(0) + cost.completion_cost.value_or(0);
  return cost;
}

std::string SpanCost::DetailsJson() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("model");
  if (model.empty()) {
    w.Null();
  } else {
    WriteString(w, model);
  }
  w.Key("prompt_tokens");
  w.Int64(prompt_tokens);
  w.Key("completion_tokens");
  w.Int64(completion_tokens);
  w.Key("total_tokens");
  w.Int64(total_tokens);
  w.Key("prompt_cost");
  WriteOptional(w, prompt_cost);
  w.Key("completion_cost");
  WriteOptional(w, completion_cost);
  w.Key("total_cost");
  WriteOptional(w, total_cost);
  w.Key("details");
  w.StartArray();
  for (const CostDetail& d : details) {
    w.StartObject();
    w.Key("token_type");
    WriteString(w, d.token_type);
    w.Key("is_prompt");
    w.Bool(d.is_prompt);
    w.Key("tokens");
    w.Int64(d.tokens);
    w.Key("cost");
    WriteOptional(w, d.cost);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace osprey::costs
