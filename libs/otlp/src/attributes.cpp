#include "attributes.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "rapidjson/writer.h"

namespace osprey::otlp::internal {
namespace {

using opentelemetry::proto::common::v1::AnyValue;

std::string_view View(const rapidjson::Value& v) { return std::string_view(v.GetString(), v.GetStringLength()); }

rapidjson::Value MakeString(std::string_view text, Allocator& allocator) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

absl::Status Invalid(std::string_view message) { return base::Permanent(absl::StatusCode::kInvalidArgument, message); }

std::string AtPath(const std::string& path) { return path.empty() ? std::string() : " at " + path; }

absl::Status Convert(const AnyValue& any, int depth, std::string* path, Allocator& allocator, rapidjson::Value* out) {
  if (depth > kMaxDepth) {
    return Invalid("value nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  switch (any.value_case()) {
    case AnyValue::kStringValue:
      if (!base::IsValidUtf8(any.string_value())) {
        return Invalid("string value" + AtPath(*path) + " is not valid UTF-8");
      }
      *out = MakeString(any.string_value(), allocator);
      return absl::OkStatus();
    case AnyValue::kBoolValue:
      out->SetBool(any.bool_value());
      return absl::OkStatus();
    case AnyValue::kIntValue:
      out->SetInt64(any.int_value());
      return absl::OkStatus();
    case AnyValue::kDoubleValue:
      if (std::isfinite(any.double_value())) {
        out->SetDouble(any.double_value());
      } else {
        out->SetNull();
      }
      return absl::OkStatus();
    case AnyValue::kBytesValue:
      *out = MakeString(base::Base64Encode(any.bytes_value()), allocator);
      return absl::OkStatus();
    case AnyValue::kArrayValue: {
      out->SetArray();
      const auto& values = any.array_value().values();
      out->Reserve(static_cast<rapidjson::SizeType>(values.size()), allocator);
      for (int i = 0; i < values.size(); ++i) {
        const size_t mark = path->size();
        path->append("[" + std::to_string(i) + "]");
        rapidjson::Value item;
        OSPREY_RETURN_IF_ERROR(Convert(values.Get(i), depth + 1, path, allocator, &item));
        path->resize(mark);
        out->PushBack(std::move(item), allocator);
      }
      return absl::OkStatus();
    }
    case AnyValue::kKvlistValue: {
      // dict() semantics: a repeated key keeps its first position and takes the last value.
      FlatAttributes members;
      const auto& values = any.kvlist_value().values();
      for (int i = 0; i < values.size(); ++i) {
        const auto& kv = values.Get(i);
        const size_t mark = path->size();
        if (!base::IsValidUtf8(kv.key())) {
          return Invalid("kvlist key #" + std::to_string(i) + AtPath(*path) + " is not valid UTF-8");
        }
        path->append(path->empty() ? kv.key() : "." + kv.key());
        rapidjson::Value item;
        OSPREY_RETURN_IF_ERROR(Convert(kv.value(), depth + 1, path, allocator, &item));
        path->resize(mark);
        members.Set(kv.key(), std::move(item));
      }
      out->SetObject();
      for (auto& entry : members.entries()) {
        out->AddMember(MakeString(entry.key, allocator), std::move(entry.value), allocator);
      }
      return absl::OkStatus();
    }
    case AnyValue::VALUE_NOT_SET:
      out->SetNull();
      return absl::OkStatus();
  }
  out->SetNull();
  return absl::OkStatus();
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool IsJsonStringKey(std::string_view key) {
  // Phoenix's JSON_STRING_ATTRIBUTES, matched with str.endswith (so `document.metadata` and any
  // `...metadata` match through the `metadata` suffix).
  return EndsWith(key, "metadata") || EndsWith(key, "llm.prompt_template.variables") ||
         EndsWith(key, "tool.parameters") || EndsWith(key, "document.metadata");
}

// ---- un-flattening: a literal port of Phoenix's _Trie / _build_trie / _walk ----

// Numeric segments are stored as their digits without leading zeros (Python's int()), so they
// never collide with a non-numeric branch name.
struct SegmentLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  }
};

struct TrieNode {
  bool has_value = false;
  rapidjson::Value value;
  std::unordered_map<std::string, std::unique_ptr<TrieNode>> children;
  std::set<std::string, SegmentLess> indices;
  std::vector<std::string> branch_order;  // insertion order, for a deterministic document
  std::unordered_set<std::string> branches;

  TrieNode* Child(const std::string& segment) {
    auto& child = children[segment];
    if (!child) child = std::make_unique<TrieNode>();
    return child.get();
  }
  void AddToBranches(const std::string& segment) {
    if (branches.insert(segment).second) branch_order.push_back(segment);
  }
  void SetValue(rapidjson::Value&& v) {
    value = std::move(v);
    has_value = true;
    for (const auto& index : indices) AddToBranches(index);
    indices.clear();
  }
  TrieNode* AddIndex(const std::string& index) {
    if (has_value) {
      AddToBranches(index);
    } else if (!branches.count(index)) {
      indices.insert(index);
    }
    return Child(index);
  }
  TrieNode* AddBranch(const std::string& branch) {
    indices.erase(branch);
    AddToBranches(branch);
    return Child(branch);
  }
};

bool IsAsciiDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string NormalizeDigits(std::string_view digits) {
  const size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string("0") : std::string(digits.substr(first));
}

// Builds an object with dict() semantics (a repeated key keeps its position, last value wins).
class ObjectBuilder final {
 public:
  void Emit(std::string key, rapidjson::Value&& value) { members_.Set(std::move(key), std::move(value)); }
  rapidjson::Value Finish(Allocator& allocator) {
    rapidjson::Value object(rapidjson::kObjectType);
    for (auto& entry : members_.entries()) {
      object.AddMember(MakeString(entry.key, allocator), std::move(entry.value), allocator);
    }
    return object;
  }

 private:
  FlatAttributes members_;
};

void Walk(TrieNode* node, const std::string& prefix, Allocator& allocator, ObjectBuilder* out) {
  if (node->has_value) {
    out->Emit(prefix, std::move(node->value));
  } else if (!prefix.empty() && !node->indices.empty()) {
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& index : node->indices) {
      ObjectBuilder element;
      Walk(node->children[index].get(), "", allocator, &element);
      list.PushBack(element.Finish(allocator), allocator);
    }
    out->Emit(prefix, std::move(list));
  } else if (!node->indices.empty()) {
    for (const auto& index : node->indices) Walk(node->children[index].get(), index, allocator, out);
  } else if (!prefix.empty()) {
    ObjectBuilder nested;
    Walk(node, "", allocator, &nested);
    out->Emit(prefix, nested.Finish(allocator));
    return;
  }
  for (const auto& branch : node->branch_order) {
    Walk(node->children[branch].get(), prefix.empty() ? branch : prefix + "." + branch, allocator, out);
  }
}

}  // namespace

void FlatAttributes::Set(std::string key, rapidjson::Value&& value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].value = std::move(value);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.push_back(Entry{std::move(key), std::move(value)});
}

const rapidjson::Value* FlatAttributes::Find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

void FlatAttributes::Erase(const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  const std::unordered_set<std::string> doomed(keys.begin(), keys.end());
  std::vector<Entry> kept;
  kept.reserve(entries_.size());
  for (auto& entry : entries_) {
    if (!doomed.count(entry.key)) kept.push_back(std::move(entry));
  }
  entries_ = std::move(kept);
  Reindex();
}

void FlatAttributes::Reindex() {
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].key, i);
}

absl::Status AnyValueToJson(const AnyValue& any, Allocator& allocator, rapidjson::Value* out) {
  std::string path;
  return Convert(any, 1, &path, allocator, out);
}

absl::Status DecodeKeyValues(const KeyValues& key_values, std::string_view what, Allocator& allocator,
                             FlatAttributes* out) {
  for (int i = 0; i < key_values.size(); ++i) {
    const auto& kv = key_values.Get(i);
    if (!base::IsValidUtf8(kv.key())) {
      return Invalid(std::string(what) + " key #" + std::to_string(i) + " is not valid UTF-8");
    }
    rapidjson::Value value;
    absl::Status status = AnyValueToJson(kv.value(), allocator, &value);
    if (!status.ok()) {
      return Invalid(std::string(what) + " '" + TruncateUtf8(kv.key(), 64) + "': " + std::string(status.message()));
    }
    out->Set(kv.key(), std::move(value));
  }
  return absl::OkStatus();
}

bool ParseJsonBounded(std::string_view text, Allocator& allocator, rapidjson::Value* out) {
  if (base::JsonTextDepth(text, kMaxDepth) > kMaxDepth) return false;
  rapidjson::Document parsed(&allocator);
  parsed.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  if (parsed.HasParseError()) return false;
  out->Swap(parsed);
  return true;
}

void LoadJsonStrings(FlatAttributes* attributes, Allocator& allocator) {
  std::vector<std::string> to_drop;
  for (auto& entry : attributes->entries()) {
    if (!entry.value.IsString() || !IsJsonStringKey(entry.key)) continue;
    rapidjson::Value parsed;
    if (!ParseJsonBounded(View(entry.value), allocator, &parsed)) continue;
    bool truthy;
    switch (parsed.GetType()) {
      case rapidjson::kNullType:
      case rapidjson::kFalseType:
        truthy = false;
        break;
      case rapidjson::kStringType:
        truthy = parsed.GetStringLength() > 0;
        break;
      case rapidjson::kNumberType:
        truthy = parsed.IsInt64() ? parsed.GetInt64() != 0 : parsed.GetDouble() != 0;
        break;
      case rapidjson::kArrayType:
        truthy = !parsed.Empty();
        break;
      case rapidjson::kObjectType:
        truthy = parsed.MemberCount() > 0;
        break;
      default:
        truthy = true;
    }
    if (truthy) {
      entry.value = std::move(parsed);
    } else {
      to_drop.push_back(entry.key);
    }
  }
  attributes->Erase(to_drop);
}

absl::Status Unflatten(FlatAttributes&& attributes, Allocator& allocator, rapidjson::Value* out) {
  TrieNode root;
  for (auto& entry : attributes.entries()) {
    if (entry.value.IsNull()) continue;
    TrieNode* node = &root;
    std::string_view key = entry.key;
    int segments = 0;
    while (true) {
      if (++segments > kMaxDepth) {
        return Invalid("attribute key '" + TruncateUtf8(entry.key, 64) + "' has more than " +
                       std::to_string(kMaxDepth) + " dot-separated segments");
      }
      const size_t dot = key.find('.');
      const std::string_view prefix = key.substr(0, dot);
      const std::string_view suffix = dot == std::string_view::npos ? std::string_view() : key.substr(dot + 1);
      if (IsAsciiDigits(prefix)) {
        const std::string index = NormalizeDigits(prefix);
        node = suffix.empty() ? node->AddBranch(index) : node->AddIndex(index);
      } else {
        node = node->AddBranch(std::string(prefix));
      }
      if (suffix.empty()) break;
      key = suffix;
    }
    node->SetValue(std::move(entry.value));
  }
  ObjectBuilder builder;
  Walk(&root, "", allocator, &builder);
  *out = builder.Finish(allocator);
  return absl::OkStatus();
}

rapidjson::Value* FindMemberValue(rapidjson::Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  for (auto& member : object.GetObject()) {
    if (View(member.name) == name) return &member.value;
  }
  return nullptr;
}

const rapidjson::Value* FindMemberValue(const rapidjson::Value& object, std::string_view name) {
  return FindMemberValue(const_cast<rapidjson::Value&>(object), name);
}

rapidjson::Value* GetAttributeValue(rapidjson::Value& document, std::string_view dotted_key) {
  rapidjson::Value* node = &document;
  while (true) {
    if (!node->IsObject()) return nullptr;
    const size_t dot = dotted_key.find('.');
    const std::string_view segment = dotted_key.substr(0, dot);
    rapidjson::Value* member = FindMemberValue(*node, segment);
    if (member == nullptr) return nullptr;
    if (dot == std::string_view::npos) return member;
    node = member;
    dotted_key.remove_prefix(dot + 1);
  }
}

const rapidjson::Value* GetAttributeValue(const rapidjson::Value& document, std::string_view dotted_key) {
  return GetAttributeValue(const_cast<rapidjson::Value&>(document), dotted_key);
}

bool CoerceInt(const rapidjson::Value& value, int64_t* out) {
  if (value.IsInt64()) {
    *out = value.GetInt64();
    return true;
  }
  if (value.IsNumber() && !value.IsUint64()) {
    const double d = value.GetDouble();
    if (!std::isfinite(d) || d >= 9.2e18 || d <= -9.2e18) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  if (!value.IsString()) return false;
  std::string_view text = View(value);
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (!IsAsciiDigits(text)) return false;
  uint64_t magnitude = 0;
  for (char c : text) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

void CoerceTokenCounts(rapidjson::Value* document) {
  rapidjson::Value* counts = GetAttributeValue(*document, "llm.token_count");
  if (counts == nullptr || !counts->IsObject()) return;
  for (const char* name : {"prompt", "completion", "total"}) {
    rapidjson::Value* count = FindMemberValue(*counts, name);
    if (count == nullptr) continue;
    int64_t number;
    if (CoerceInt(*count, &number)) count->SetInt64(number);
  }
}

bool ExceedsDepth(const rapidjson::Value& value, int limit) {
  if (!value.IsArray() && !value.IsObject()) return false;
  if (limit <= 0) return true;
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) {
      if (ExceedsDepth(item, limit - 1)) return true;
    }
    return false;
  }
  for (const auto& member : value.GetObject()) {
    if (ExceedsDepth(member.value, limit - 1)) return true;
  }
  return false;
}

namespace {

// Minimal RapidJSON output stream over std::string.
class StringOutput final {
 public:
  using Ch = char;
  void Put(char c) { text_.push_back(c); }
  void Flush() {}
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string ToJsonText(const rapidjson::Value& value) {
  StringOutput out;
  rapidjson::Writer<StringOutput> writer(out);
  value.Accept(writer);
  return out.Take();
}

std::string TruncateUtf8(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars) return std::string(text.substr(0, i));
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    ++chars;
  }
  return std::string(text);
}

}  // namespace osprey::otlp::internal
