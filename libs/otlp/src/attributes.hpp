#pragma once

// Attribute handling shared by Normalize and the GenAI mapping: OTLP AnyValue → JSON, Phoenix's
// JSON-string loading, token-count coercion and its dotted-key un-flattening (phoenix-compat §3.3).
// Every value lives in the caller's RapidJSON allocator. Recursion over values and keys is bounded
// by kMaxDepth so hostile input cannot exhaust the stack.
// Thread safety: pure functions over caller-owned data.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "rapidjson/document.h"

namespace osprey::otlp::internal {

using Allocator = rapidjson::MemoryPoolAllocator<>;
using KeyValues = google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>;

// Nesting limit for attribute values (arrays / kvlists / parsed JSON strings) and for the number of
// dot-separated segments of an attribute key.
inline constexpr int kMaxDepth = 64;

// Where each of an insertion-ordered list of distinct keys sits. A few keys are scanned linearly (a
// span has a dozen or two attributes, and a scan is cheaper than hashing them); past kLinearLimit a
// hash map is kept, so requests with many thousands of keys stay linear overall.
class KeyPositions final {
 public:
  // `key_at(i)` is the key at position i < count.
  template <typename KeyAt>
  std::optional<size_t> Find(std::string_view key, size_t count, const KeyAt& key_at) const {
    if (count <= kLinearLimit) {
      for (size_t i = 0; i < count; ++i) {
        if (key_at(i) == key) return i;
      }
      return std::nullopt;
    }
    auto it = map_.find(key);
    return it == map_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  // Call after appending the key at position count - 1.
  template <typename KeyAt>
  void Appended(size_t count, const KeyAt& key_at) {
    if (count <= kLinearLimit) return;
    if (map_.empty()) {
      for (size_t i = 0; i + 1 < count; ++i) map_.emplace(key_at(i), i);
    }
    map_.emplace(key_at(count - 1), count - 1);
  }
  void Clear() { map_.clear(); }

 private:
  static constexpr size_t kLinearLimit = 32;
  std::unordered_map<std::string_view, size_t> map_;  // filled only past kLinearLimit keys
};

// An insertion-ordered map from attribute key to value with Python dict semantics: setting an
// existing key replaces its value and keeps its position.
class FlatAttributes final {
 public:
  struct Entry {
    std::string_view key;
    rapidjson::Value value;
  };

  // Copies the key.
  void Set(std::string key, rapidjson::Value&& value);
  // Keeps only a view of the key, which must outlive this map (e.g. a string of the decoded request).
  void SetView(std::string_view key, rapidjson::Value&& value);
  // nullptr when absent.
  const rapidjson::Value* Find(std::string_view key) const;
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  // Removes every listed key (one pass, whatever the number of keys).
  void Erase(const std::vector<std::string_view>& keys);
  void Reserve(size_t entries) { entries_.reserve(entries); }

  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::optional<size_t> Position(std::string_view key) const;
  void Reindex();

  std::vector<Entry> entries_;
  KeyPositions positions_;
  std::deque<std::string> owned_keys_;  // the keys given to Set(); a deque never moves them
};

// Converts one AnyValue. Strings and kvlist keys must be valid UTF-8; bytes become base64 strings;
// an unset value and non-finite doubles become null. String values and kvlist keys are not copied:
// `out` refers to `any`'s strings, so `any` must outlive it. On failure returns INVALID_ARGUMENT whose
// message is the reason, relative to the value (e.g. "string value at [2].x is not valid UTF-8").
absl::Status AnyValueToJson(const opentelemetry::proto::common::v1::AnyValue& any, Allocator& allocator,
                            rapidjson::Value* out);

// Converts a KeyValue list. Keys must be valid UTF-8. `what` names the list in error messages
// (e.g. "attribute", "event 'exception' attribute"). Keys and string values are not copied:
// `key_values` must outlive `out`.
absl::Status DecodeKeyValues(const KeyValues& key_values, std::string_view what, Allocator& allocator,
                             FlatAttributes* out);

// Phoenix's load_json_strings: string values of keys ending in `metadata`,
// `llm.prompt_template.variables`, `tool.parameters` or `document.metadata` are parsed as JSON. A
// parsed value that is falsy ({} [] "" 0 false null) drops the key, as in Phoenix; text that is not
// JSON (or nests deeper than kMaxDepth) is kept as the string.
void LoadJsonStrings(FlatAttributes* attributes, Allocator& allocator);

// Phoenix's unflatten: dotted keys become one nested object. A numeric segment becomes an array
// index only when more segments follow (the array holds the indexed objects in index order);
// leading zeros are normalized; empty segments vanish; null values are skipped; the last write
// wins; a dotted extension of a key that already holds a value is kept as a literal dotted key.
// INVALID_ARGUMENT when a key has more than kMaxDepth segments. The values are moved out of
// `attributes`, and `out`'s member names refer to its keys: `attributes` must outlive `out`.
absl::Status Unflatten(FlatAttributes* attributes, Allocator& allocator, rapidjson::Value* out);

// The value of member `name` of `object`, or nullptr (also when `object` is not an object).
// (RapidJSON's FindMember iterators compare ambiguously under C++20 in clang.)
rapidjson::Value* FindMemberValue(rapidjson::Value& object, std::string_view name);
const rapidjson::Value* FindMemberValue(const rapidjson::Value& object, std::string_view name);

// Phoenix's get_attribute_value: follows a dotted path through nested objects; nullptr if absent.
const rapidjson::Value* GetAttributeValue(const rapidjson::Value& document, std::string_view dotted_key);
rapidjson::Value* GetAttributeValue(rapidjson::Value& document, std::string_view dotted_key);

// Coerces an integer-like value (int, integral-by-truncation finite double, decimal string with
// optional sign and surrounding whitespace) to int64; false otherwise (bools are not coerced).
bool CoerceInt(const rapidjson::Value& value, int64_t* out);

// `llm.token_count.{prompt,completion,total}` in the nested document become integers when they can
// be coerced; other values are left unchanged.
void CoerceTokenCounts(rapidjson::Value* document);

// True when `value` nests arrays/objects deeper than `limit` levels.
bool ExceedsDepth(const rapidjson::Value& value, int limit);

// Parses `text` as JSON into `out` (allocated in `allocator`); false when it is not JSON or nests
// deeper than kMaxDepth. NaN/Infinity are not accepted.
bool ParseJsonBounded(std::string_view text, Allocator& allocator, rapidjson::Value* out);

// Compact JSON text of `value`, byte for byte what rapidjson::Writer writes (no spaces; `"`, `\\`
// and control characters escaped, \b \f \n \r \t or \u00XX; other bytes as they are; doubles
// by RapidJSON's dtoa), written by hand: Writer puts one character at a time through its output
// stream, and its SIMD scan (RAPIDJSON_SSE2, Writer<StringBuffer> only) leaves 0x1A-0x1F unescaped.
// `value` has no non-finite double (AnyValueToJson makes them null; parsed JSON cannot hold them).
std::string ToJsonText(const rapidjson::Value& value);

// `text` cut to at most `max_chars` code points, on a UTF-8 boundary (a view into `text`).
std::string_view TruncateUtf8(std::string_view text, size_t max_chars);

}  // namespace osprey::otlp::internal
