#include "osprey/query/attributes.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "absl/status/status.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::query {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Pairs = std::vector<std::pair<std::string, const rapidjson::Value*>>;

// Keeps first-seen key order and last-seen value, as assigning into a Python dict does.
class Collector {
 public:
  void Add(std::string key, const rapidjson::Value* value) {
    auto [it, inserted] = index_.try_emplace(key, pairs_.size());
    if (inserted) {
      pairs_.emplace_back(std::move(key), value);
    } else {
      pairs_[it->second].second = value;
    }
  }
  Pairs Take() { return std::move(pairs_); }

 private:
  Pairs pairs_;
  std::unordered_map<std::string, size_t> index_;
};

std::string Join(const std::string& prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  std::string out = prefix;
  out += '.';
  out += key;
  return out;
}

bool ArrayHasObject(const rapidjson::Value& array) {
  for (const auto& item : array.GetArray()) {
    if (item.IsObject()) return true;
  }
  return false;
}

void FlattenObject(const rapidjson::Value& object, const std::string& prefix, Collector& out);

void FlattenArray(const rapidjson::Value& array, const std::string& prefix, Collector& out) {
  if (!ArrayHasObject(array)) {
    out.Add(prefix, &array);
    return;
  }
  size_t index = 0;
  for (const auto& item : array.GetArray()) {
    if (item.IsObject()) FlattenObject(item, Join(prefix, std::to_string(index)), out);
    ++index;
  }
}

void FlattenObject(const rapidjson::Value& object, const std::string& prefix, Collector& out) {
  for (const auto& member : object.GetObject()) {
    std::string key = Join(prefix, std::string_view(member.name.GetString(), member.name.GetStringLength()));
    const rapidjson::Value& value = member.value;
    if (value.IsObject()) {
      FlattenObject(value, key, out);
    } else if (value.IsArray()) {
      FlattenArray(value, key, out);
    } else if (!value.IsNull()) {
      out.Add(std::move(key), &value);
    }
  }
}

std::string_view Name(const rapidjson::Value& name) { return {name.GetString(), name.GetStringLength()}; }

// True when two paths of `value` may flatten to one key. Keys are joined with '.', so with every key non-empty
// and free of '.' a flattened key splits back into exactly one path; an object repeating a key (text SQLite
// stored as written; jsonb never repeats one) is the other way two leaves can share a key.
bool MayCollide(const rapidjson::Value& value, std::vector<std::string_view>& names) {
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) {
      if (MayCollide(item, names)) return true;
    }
    return false;
  }
  if (!value.IsObject()) return false;
  names.clear();
  for (const auto& member : value.GetObject()) {
    std::string_view name = Name(member.name);
    if (name.empty() || name.find('.') != std::string_view::npos) return true;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return true;
  for (const auto& member : value.GetObject()) {
    if (MayCollide(member.value, names)) return true;
  }
  return false;
}

bool Dropped(std::string_view key, const std::vector<std::string_view>& drop_keys) {
  return std::find(drop_keys.begin(), drop_keys.end(), key) != drop_keys.end();
}

// True when one of the eight bytes of `word` is '"', '\\' or below 0x20: the bytes a JSON string escapes.
bool WordNeedsEscape(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const uint64_t control = (word - 0x20 * kOnes) & ~word & kHigh;  // a byte < 0x20 (bytes >= 0x80 never match)
  return (control | has_zero(word ^ ('"' * kOnes)) | has_zero(word ^ ('\\' * kOnes))) != 0;
}

// The writer's output buffer, which rapidjson keeps protected (a pointer to member named through a derived
// class may be applied to any Writer).
rapidjson::StringBuffer& Output(Writer& w) {
  struct Access : Writer {
    static rapidjson::StringBuffer* Writer::*Stream() { return &Access::os_; }
  };
  return *(w.*Access::Stream());
}

// Appends `text` as a JSON string, escaped byte for byte as rapidjson's Writer escapes it (\" \\ \b \t \n \f \r,
// other control bytes as \u00XX, nothing else), but finding runs without escapes eight bytes at a time and
// copying each with one memcpy: the Writer tests and copies every byte (RawValue copies byte by byte too), and
// a span page is ~170 KB of attribute strings.
void AppendJsonString(rapidjson::StringBuffer& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.Put('"');
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* run = p;
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      if (WordNeedsEscape(word)) break;
      p += 8;
    }
    while (p < end) {
      const auto c = static_cast<unsigned char>(*p);
      if (c < 0x20 || c == '"' || c == '\\') break;
      ++p;
    }
    if (p > run) std::memcpy(out.Push(static_cast<size_t>(p - run)), run, static_cast<size_t>(p - run));
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p++);
    out.Put('\\');
    switch (c) {
      case '"':
      case '\\':
        out.Put(static_cast<char>(c));
        break;
      case '\b':
        out.Put('b');
        break;
      case '\t':
        out.Put('t');
        break;
      case '\n':
        out.Put('n');
        break;
      case '\f':
        out.Put('f');
        break;
      case '\r':
        out.Put('r');
        break;
      default:
        out.Put('u');
        out.Put('0');
        out.Put('0');
        out.Put(kHex[c >> 4]);
        out.Put(kHex[c & 0xF]);
    }
  }
  out.Put('"');
}

// A key or string value: the writer writes the separator before it (',' or ':') and counts it, for an empty raw
// value, and the string itself goes straight into its buffer.
void WriteString(Writer& w, std::string_view text) {
  w.RawValue("", 0, rapidjson::kStringType);
  AppendJsonString(Output(w), text);
}

// FlattenObject / FlattenArray writing each pair as it is found; `key` is the current path, restored on return.
void StreamObject(Writer& w, const rapidjson::Value& object, std::string& key,
                  const std::vector<std::string_view>& drop_keys);

void StreamValue(Writer& w, const rapidjson::Value& value, std::string& key,
                 const std::vector<std::string_view>& drop_keys) {
  if (value.IsObject()) {
    StreamObject(w, value, key, drop_keys);
  } else if (value.IsArray() && ArrayHasObject(value)) {
    const size_t mark = key.size();
    size_t index = 0;
    for (const auto& item : value.GetArray()) {
      if (item.IsObject()) {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof(digits), index).ptr;
        key += '.';
        key.append(digits, end);
        StreamObject(w, item, key, drop_keys);
        key.resize(mark);
      }
      ++index;
    }
  } else if (!value.IsNull() && !Dropped(key, drop_keys)) {
    WriteString(w, key);
    if (value.IsString()) {
      WriteString(w, std::string_view(value.GetString(), value.GetStringLength()));
    } else {
      value.Accept(w);
    }
  }
}

void StreamObject(Writer& w, const rapidjson::Value& object, std::string& key,
                  const std::vector<std::string_view>& drop_keys) {
  const size_t mark = key.size();
  for (const auto& member : object.GetObject()) {
    if (mark > 0) key += '.';
    key += Name(member.name);
    StreamValue(w, member.value, key, drop_keys);
    key.resize(mark);
  }
}

}  // namespace

void WriteFlattenedAttributes(Writer& writer, const rapidjson::Value& nested,
                              const std::vector<std::string_view>& drop_keys) {
  writer.StartObject();
  if (nested.IsObject()) {
    thread_local std::vector<std::string_view> names;
    if (MayCollide(nested, names)) {
      for (const auto& [key, value] : FlattenAttributes(nested)) {
        if (Dropped(key, drop_keys)) continue;
        writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        value->Accept(writer);
      }
    } else {
      thread_local std::string key;
      key.clear();
      StreamObject(writer, nested, key, drop_keys);
    }
  }
  writer.EndObject();
}

std::vector<std::pair<std::string, const rapidjson::Value*>> FlattenAttributes(const rapidjson::Value& nested) {
  Collector out;
  if (nested.IsObject()) FlattenObject(nested, "", out);
  return out.Take();
}

absl::StatusOr<std::string> FlattenAttributesJson(std::string_view nested_json,
                                                  const std::vector<std::string>& drop_keys) {
  rapidjson::Document doc;
  if (nested_json.empty()) {
    doc.SetObject();
  } else {
    doc.Parse(nested_json.data(), nested_json.size());
    if (doc.HasParseError()) {
      return absl::InvalidArgumentError(std::string("attributes are not JSON: ") +
                                        rapidjson::GetParseError_En(doc.GetParseError()));
    }
  }
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  WriteFlattenedAttributes(writer, doc, std::vector<std::string_view>(drop_keys.begin(), drop_keys.end()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace osprey::query
