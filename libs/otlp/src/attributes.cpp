#include "attributes.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <unordered_set>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "json_text.hpp"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "rapidjson/internal/dtoa.h"

namespace osprey::otlp::internal {
namespace {

using opentelemetry::proto::common::v1::AnyValue;

std::string_view View(const rapidjson::Value& v) { return std::string_view(v.GetString(), v.GetStringLength()); }

rapidjson::Value MakeString(std::string_view text, Allocator& allocator) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// A string value that refers to `text` (not copied): `text` must outlive the value.
rapidjson::Value StringView(std::string_view text) {
  return rapidjson::Value(rapidjson::StringRef(text.data(), static_cast<rapidjson::SizeType>(text.size())));
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
      *out = StringView(any.string_value());
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
        members.SetView(kv.key(), std::move(item));
      }
      out->SetObject();
      for (auto& entry : members.entries()) out->AddMember(StringView(entry.key), std::move(entry.value), allocator);
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

// ---- un-flattening: a port of Phoenix's _Trie / _build_trie / _walk ----
//
// Phoenix's trie node holds a value, a dict of children, a sorted set of array indices and an
// insertion-ordered set of branches. Here the nodes live in one vector that each thread reuses,
// children are found through one open-addressing table keyed by (parent, segment), membership in
// the two sets is a flag on the child (a segment names exactly one child), and both sets are
// intrusive lists: nothing is allocated per key or per segment once the vectors have grown.

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

struct TrieNode {
  std::string_view segment;  // the key in the parent; numeric segments without leading zeros
  uint32_t parent = kNone;
  rapidjson::Value* value = nullptr;  // set when a key ends here (the last write wins)
  uint32_t first_branch = kNone;      // branches, in insertion order
  uint32_t last_branch = kNone;
  uint32_t next_branch = kNone;  // this node's successor in its parent's branch list
  uint32_t first_index = kNone;  // array indices, unordered (sorted when read); may hold stale entries
  uint32_t next_index = kNone;
  uint32_t index_count = 0;  // live entries of the index list
  bool in_branches = false;
  bool in_indices = false;
};

// Numeric segments are stored as their digits without leading zeros (Python's int()), so they
// never collide with a non-numeric branch name; they sort as numbers.
bool SegmentLess(std::string_view a, std::string_view b) { return a.size() != b.size() ? a.size() < b.size() : a < b; }

class Trie final {
 public:
  // `segments` bounds the number of nodes (the sum of the keys' segment counts).
  // `keys` sizes the child table; it grows when more nodes come.
  explicit Trie(size_t keys) : nodes_(Scratch().nodes), slots_(Scratch().slots) {
    nodes_.clear();
    nodes_.push_back(TrieNode{});  // the root
    size_t capacity = 64;
    while (capacity < 8 * keys) capacity *= 2;
    slots_.assign(capacity, kNone);
  }
  ~Trie() {
    // A huge request must not pin its scratch memory to the thread for good.
    constexpr size_t kKeepNodes = 1 << 12;
    if (nodes_.capacity() > kKeepNodes) std::vector<TrieNode>().swap(nodes_);
    if (slots_.capacity() > 4 * kKeepNodes) std::vector<uint32_t>().swap(slots_);
  }
  Trie(const Trie&) = delete;
  Trie& operator=(const Trie&) = delete;

  TrieNode& operator[](uint32_t id) { return nodes_[id]; }

  void SetValue(uint32_t id, rapidjson::Value* value) {
    nodes_[id].value = value;
    if (nodes_[id].index_count == 0) return;
    for (uint32_t index : SortedIndices(id)) AddToBranches(id, index);
    nodes_[id].first_index = kNone;
  }
  bool HasIndices(uint32_t id) const { return nodes_[id].index_count > 0; }
  uint32_t AddIndex(uint32_t id, std::string_view index) {
    const uint32_t child = Child(id, index);
    if (nodes_[id].value != nullptr) {
      AddToBranches(id, child);
    } else if (!nodes_[child].in_branches && !nodes_[child].in_indices) {
      nodes_[child].in_indices = true;
      nodes_[child].next_index = nodes_[id].first_index;
      nodes_[id].first_index = child;
      ++nodes_[id].index_count;
    }
    return child;
  }
  uint32_t AddBranch(uint32_t id, std::string_view branch) {
    const uint32_t child = Child(id, branch);
    AddToBranches(id, child);
    return child;
  }

  // The node's array indices in numeric order.
  absl::InlinedVector<uint32_t, 8> SortedIndices(uint32_t id) const {
    absl::InlinedVector<uint32_t, 8> indices;
    for (uint32_t i = nodes_[id].first_index; i != kNone; i = nodes_[i].next_index) {
      if (nodes_[i].in_indices) indices.push_back(i);
    }
    std::sort(indices.begin(), indices.end(),
              [&](uint32_t a, uint32_t b) { return SegmentLess(nodes_[a].segment, nodes_[b].segment); });
    return indices;
  }

 private:
  struct Buffers {
    std::vector<TrieNode> nodes;
    std::vector<uint32_t> slots;
  };
  // Per thread; a trie is built and walked without building another (Unflatten does not nest).
  static Buffers& Scratch() {
    thread_local Buffers buffers;
    return buffers;
  }

  // Also takes `child` out of the index list (its entry there goes stale).
  void AddToBranches(uint32_t id, uint32_t child) {
    TrieNode& c = nodes_[child];
    if (c.in_indices) {
      c.in_indices = false;
      --nodes_[id].index_count;
    }
    if (c.in_branches) return;
    c.in_branches = true;
    TrieNode& node = nodes_[id];
    if (node.last_branch == kNone) {
      node.first_branch = child;
    } else {
      nodes_[node.last_branch].next_branch = child;
    }
    node.last_branch = child;
  }

  // The slot of (parent, segment): the node's, or the empty one where it belongs.
  size_t Slot(uint32_t parent, std::string_view segment) const {
    const size_t mask = slots_.size() - 1;
    size_t slot = (std::hash<std::string_view>()(segment) ^ (parent * 0x9e3779b97f4a7c15ULL)) & mask;
    while (slots_[slot] != kNone) {
      const TrieNode& candidate = nodes_[slots_[slot]];
      if (candidate.parent == parent && candidate.segment == segment) break;
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  uint32_t Child(uint32_t parent, std::string_view segment) {
    size_t slot = Slot(parent, segment);
    if (slots_[slot] != kNone) return slots_[slot];
    if (2 * nodes_.size() >= slots_.size()) {  // keep the table at most half full
      slots_.assign(2 * slots_.size(), kNone);
      for (uint32_t id = 1; id < nodes_.size(); ++id) slots_[Slot(nodes_[id].parent, nodes_[id].segment)] = id;
      slot = Slot(parent, segment);
    }
    const auto id = static_cast<uint32_t>(nodes_.size());
    TrieNode node;
    node.segment = segment;
    node.parent = parent;
    nodes_.push_back(node);
    slots_[slot] = id;
    return id;
  }

  std::vector<TrieNode>& nodes_;
  std::vector<uint32_t>& slots_;
};

bool IsAsciiDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Python's int() of a digit string, as digits: "007" -> "7", "000" -> "0" (a view into `digits`).
std::string_view NormalizeDigits(std::string_view digits) {
  const size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? digits.substr(digits.size() - 1) : digits.substr(first);
}

// Builds an object with dict() semantics (a repeated key keeps its position, last value wins).
// Names are not copied: they must outlive the object.
class ObjectBuilder final {
 public:
  explicit ObjectBuilder(Allocator& allocator) : allocator_(allocator) {}
  void Emit(std::string_view name, rapidjson::Value&& value) {
    const auto name_at = [&](size_t i) { return View(object_.MemberBegin()[i].name); };
    const size_t count = object_.MemberCount();
    if (const std::optional<size_t> at = positions_.Find(name, count, name_at)) {
      object_.MemberBegin()[*at].value = std::move(value);
      return;
    }
    object_.AddMember(StringView(name), std::move(value), allocator_);
    positions_.Appended(count + 1, name_at);
  }
  rapidjson::Value Finish() { return std::move(object_); }

 private:
  Allocator& allocator_;
  rapidjson::Value object_{rapidjson::kObjectType};
  KeyPositions positions_;
};

// `prefix.branch` in the allocator (names of literal dotted keys), or `branch` alone.
std::string_view JoinPath(std::string_view prefix, std::string_view branch, Allocator& allocator) {
  if (prefix.empty()) return branch;
  const size_t size = prefix.size() + 1 + branch.size();
  char* text = static_cast<char*>(allocator.Malloc(size));
  std::memcpy(text, prefix.data(), prefix.size());
  text[prefix.size()] = '.';
  std::memcpy(text + prefix.size() + 1, branch.data(), branch.size());
  return std::string_view(text, size);
}

void Walk(Trie& trie, uint32_t id, std::string_view prefix, Allocator& allocator, ObjectBuilder* out) {
  TrieNode& node = trie[id];
  if (node.value != nullptr) {
    out->Emit(prefix, std::move(*node.value));
  } else if (!prefix.empty() && trie.HasIndices(id)) {
    rapidjson::Value list(rapidjson::kArrayType);
    for (uint32_t index : trie.SortedIndices(id)) {
      ObjectBuilder element(allocator);
      Walk(trie, index, "", allocator, &element);
      list.PushBack(element.Finish(), allocator);
    }
    out->Emit(prefix, std::move(list));
  } else if (trie.HasIndices(id)) {
    for (uint32_t index : trie.SortedIndices(id)) Walk(trie, index, trie[index].segment, allocator, out);
  } else if (!prefix.empty()) {
    ObjectBuilder nested(allocator);
    Walk(trie, id, "", allocator, &nested);
    out->Emit(prefix, nested.Finish());
    return;
  }
  for (uint32_t branch = trie[id].first_branch; branch != kNone; branch = trie[branch].next_branch) {
    Walk(trie, branch, JoinPath(prefix, trie[branch].segment, allocator), allocator, out);
  }
}

}  // namespace

void FlatAttributes::Set(std::string key, rapidjson::Value&& value) {
  const std::optional<size_t> at = Position(key);
  SetView(at ? entries_[*at].key : owned_keys_.emplace_back(std::move(key)), std::move(value));
}

void FlatAttributes::SetView(std::string_view key, rapidjson::Value&& value) {
  if (const std::optional<size_t> at = Position(key)) {
    entries_[*at].value = std::move(value);
    return;
  }
  entries_.push_back(Entry{key, std::move(value)});
  positions_.Appended(entries_.size(), [&](size_t i) { return entries_[i].key; });
}

std::optional<size_t> FlatAttributes::Position(std::string_view key) const {
  return positions_.Find(key, entries_.size(), [&](size_t i) { return entries_[i].key; });
}

const rapidjson::Value* FlatAttributes::Find(std::string_view key) const {
  const std::optional<size_t> at = Position(key);
  return at ? &entries_[*at].value : nullptr;
}

void FlatAttributes::Erase(const std::vector<std::string_view>& keys) {
  if (keys.empty()) return;
  const std::unordered_set<std::string_view> doomed(keys.begin(), keys.end());
  std::vector<Entry> kept;
  kept.reserve(entries_.size());
  for (auto& entry : entries_) {
    if (!doomed.count(entry.key)) kept.push_back(std::move(entry));
  }
  entries_ = std::move(kept);
  Reindex();
}

void FlatAttributes::Reindex() {
  positions_.Clear();
  for (size_t i = 1; i <= entries_.size(); ++i) {
    positions_.Appended(i, [&](size_t j) { return entries_[j].key; });
  }
}

absl::Status AnyValueToJson(const AnyValue& any, Allocator& allocator, rapidjson::Value* out) {
  std::string path;
  return Convert(any, 1, &path, allocator, out);
}

absl::Status DecodeKeyValues(const KeyValues& key_values, std::string_view what, Allocator& allocator,
                             FlatAttributes* out) {
  out->Reserve(out->size() + static_cast<size_t>(key_values.size()));
  for (int i = 0; i < key_values.size(); ++i) {
    const auto& kv = key_values.Get(i);
    if (!base::IsValidUtf8(kv.key())) {
      return Invalid(std::string(what) + " key #" + std::to_string(i) + " is not valid UTF-8");
    }
    rapidjson::Value value;
    absl::Status status = AnyValueToJson(kv.value(), allocator, &value);
    if (!status.ok()) {
      return Invalid(std::string(what) + " '" + std::string(TruncateUtf8(kv.key(), 64)) +
                     "': " + std::string(status.message()));
    }
    out->SetView(kv.key(), std::move(value));
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
  std::vector<std::string_view> to_drop;
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

absl::Status Unflatten(FlatAttributes* attributes, Allocator& allocator, rapidjson::Value* out) {
  Trie trie(attributes->size());
  for (auto& entry : attributes->entries()) {
    if (entry.value.IsNull()) continue;
    uint32_t node = 0;
    std::string_view key = entry.key;
    int key_segments = 0;
    while (true) {
      if (++key_segments > kMaxDepth) {
        return Invalid("attribute key '" + std::string(TruncateUtf8(entry.key, 64)) + "' has more than " +
                       std::to_string(kMaxDepth) + " dot-separated segments");
      }
      const size_t dot = key.find('.');
      const std::string_view prefix = key.substr(0, dot);
      const std::string_view suffix = dot == std::string_view::npos ? std::string_view() : key.substr(dot + 1);
      if (IsAsciiDigits(prefix)) {
        const std::string_view index = NormalizeDigits(prefix);
        node = suffix.empty() ? trie.AddBranch(node, index) : trie.AddIndex(node, index);
      } else {
        node = trie.AddBranch(node, prefix);
      }
      if (suffix.empty()) break;
      key = suffix;
    }
    trie.SetValue(node, &entry.value);
  }
  ObjectBuilder builder(allocator);
  Walk(trie, 0, "", allocator, &builder);
  *out = builder.Finish();
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

// Characters rapidjson::Writer escapes, and how: 'u' is \u00XX, 0 is none.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> escapes{};
  for (int c = 0; c < 0x20; ++c) escapes[c] = 'u';
  escapes['\b'] = 'b';
  escapes['\t'] = 't';
  escapes['\n'] = 'n';
  escapes['\f'] = 'f';
  escapes['\r'] = 'r';
  escapes['"'] = '"';
  escapes['\\'] = '\\';
  return escapes;
}();

// True when none of the eight bytes of `word` is escaped: no byte below 0x20, '"' or '\\'. (Each
// test flags a byte in its high bit; a flag may be spurious only when another byte is a real match.)
bool NoEscapes(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const auto zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  const uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
  return (below_space | zero_byte(word ^ (kOnes * '"')) | zero_byte(word ^ (kOnes * '\\'))) == 0;
}

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    for (uint64_t word; i + 8 <= text.size(); i += 8) {
      std::memcpy(&word, text.data() + i, 8);
      if (!NoEscapes(word)) break;
    }
    if (i == text.size()) break;
    const char escape = kEscapes[static_cast<unsigned char>(text[i])];
    if (escape == 0) continue;
    out->append(text.data() + run, i - run);
    run = i + 1;
    const char sequence[6] = {'\\', escape, '0', '0', kHex[(text[i] >> 4) & 0xF], kHex[text[i] & 0xF]};
    out->append(sequence, escape == 'u' ? 6 : 2);
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

// rapidjson::Writer's spelling, for AppendJsonText.
struct WriterSpelling {
  static constexpr std::string_view kItemSeparator = ",";
  static constexpr std::string_view kNameSeparator = ":";
  void String(std::string_view text, std::string* out) const { AppendJsonString(text, out); }
  void Double(double value, std::string* out) const {
    if (!std::isfinite(value)) {
      out->append("null");  // cannot happen (see ToJsonText); keeps the text JSON if it did
      return;
    }
    char digits[32];
    out->append(digits, static_cast<size_t>(rapidjson::internal::dtoa(value, digits) - digits));
  }
};

}  // namespace

std::string ToJsonText(const rapidjson::Value& value) {
  // Written into a buffer the thread keeps, then copied once at its final size.
  thread_local std::string buffer;
  buffer.clear();
  AppendJsonText(value, WriterSpelling{}, &buffer);
  std::string text(buffer);
  if (buffer.capacity() > (256u << 10)) std::string().swap(buffer);
  return text;
}

std::string_view TruncateUtf8(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars) return text.substr(0, i);
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    ++chars;
  }
  return text;
}

}  // namespace osprey::otlp::internal
