#include "span_rows.hpp"

#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "rapidjson/reader.h"

namespace osprey::store::internal {
namespace {

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

// Strict RFC 8259 JSON that RapidJSON's parse (below) surely accepts too; it refuses more (any lone
// surrogate escape, numbers with over 100 integer digits or a three-digit exponent, deeper nesting)
// and those documents go through RapidJSON, which decides and names the problem. One pass without
// copying: string bodies are skipped sixteen bytes at a time with SSE2.
class JsonScanner final {
 public:
  explicit JsonScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}
  // The whole text is one JSON value, with whitespace around it.
  bool Document() {
    Space();
    if (!Value()) return false;
    Space();
    return p_ == end_;
  }

 private:
  void Space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) ++p_;
  }
  bool Literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }
  static bool Digit(char c) { return c >= '0' && c <= '9'; }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(unsigned& code) {
    if (end_ - p_ < 4) return false;
    code = 0;
    for (int i = 0; i < 4; ++i) {
      int h = Hex(p_[i]);
      if (h < 0) return false;
      code = code * 16 + static_cast<unsigned>(h);
    }
    p_ += 4;
    return true;
  }
  // After the opening quote.
  bool String() {
    for (;;) {
#if defined(__SSE2__)
      const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x1f);
      while (end_ - p_ >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
        const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                          _mm_cmpeq_epi8(_mm_min_epu8(v, space), v));
        const int mask = _mm_movemask_epi8(hits);
        if (mask != 0) {
          p_ += __builtin_ctz(static_cast<unsigned>(mask));
          break;
        }
        p_ += 16;
      }
#endif
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
      if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;
      if (*p_++ == '"') return true;
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          break;
        case 'u': {
          unsigned code;
          if (!Hex4(code)) return false;
          if (code >= 0xDC00 && code <= 0xDFFF) return false;
          if (code >= 0xD800 && code <= 0xDBFF) {
            unsigned low;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!Hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
          }
          break;
        }
        default:
          return false;
      }
    }
  }
  // Numbers that fit a double: at most 100 integer digits and a two-digit exponent.
  bool Number() {
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
    } else if (Digit(*p_)) {
      while (p_ < end_ && Digit(*p_)) ++p_;
    } else {
      return false;
    }
    if (p_ - digits > 100) return false;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !Digit(*p_)) return false;
      while (p_ < end_ && Digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exponent = p_;
      while (p_ < end_ && Digit(*p_)) ++p_;
      if (p_ == exponent || p_ - exponent > 2) return false;
    }
    return true;
  }
  // A string key, its colon and the whitespace around it.
  bool Key() {
    if (p_ == end_ || *p_ != '"') return false;
    ++p_;
    if (!String()) return false;
    Space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    Space();
    return true;
  }
  bool Scalar() {
    switch (*p_) {
      case '"':
        ++p_;
        return String();
      case 't':
        return Literal("true", 4);
      case 'f':
        return Literal("false", 5);
      case 'n':
        return Literal("null", 4);
      default:
        return Number();
    }
  }
  // Iterative: the open containers are a stack of their opening characters.
  bool Value() {
    char open[kMaxJsonDepth];
    int depth = 0;
    for (;;) {
      if (p_ == end_) return false;
      if (*p_ == '{' || *p_ == '[') {
        if (depth == kMaxJsonDepth) return false;
        const char kind = *p_++;
        Space();
        if (p_ < end_ && *p_ == (kind == '{' ? '}' : ']')) {
          ++p_;
        } else {
          open[depth++] = kind;
          if (kind == '{' && !Key()) return false;
          continue;
        }
      } else if (!Scalar()) {
        return false;
      }
      // After a value: close containers, or a comma and the next member.
      for (;;) {
        Space();
        if (depth == 0) return true;
        if (p_ == end_) return false;
        const char kind = open[depth - 1];
        if (*p_ == (kind == '{' ? '}' : ']')) {
          ++p_;
          --depth;
          continue;
        }
        if (*p_ != ',') return false;
        ++p_;
        Space();
        if (kind == '{' && !Key()) return false;
        break;
      }
    }
  }

  const char* p_;
  const char* end_;
};
class DepthHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthHandler> {
 public:
  bool Default() { return true; }
  bool StartObject() { return ++depth_ <= kMaxJsonDepth; }
  bool EndObject(rapidjson::SizeType) { return --depth_ >= 0; }
  bool StartArray() { return ++depth_ <= kMaxJsonDepth; }
  bool EndArray(rapidjson::SizeType) { return --depth_ >= 0; }

 private:
  int depth_ = 0;
};

}  // namespace

// Documents the scanner accepts (all that ingest writes) are not parsed again: 1.9-2.1 us instead of
// 11-13 us for RapidJSON's in-situ parse of a 1.25 KB LLM attributes document (one-off microbenchmark on the
// loaded machine, three rounds; CheckJson was 16 % of the writer process in perf). Anything else is
// parsed by RapidJSON as before. The text is parsed in a scratch copy with 16 NUL bytes of padding: RapidJSON's SIMD
// string scanner (when built with RAPIDJSON_SSE2) reads whole aligned 16-byte blocks, and the padding keeps those reads
// inside the allocation. An embedded NUL ends the parse, and the text is then refused, as raw NULs are not valid JSON.
std::optional<std::string> CheckJson(const std::string& text, char open, const char* what) {
  if (text.empty()) return std::nullopt;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != open) {
    return std::string(what) + (open == '{' ? " is not a JSON object" : " is not a JSON array");
  }
  if (JsonScanner(text).Document()) return std::nullopt;
  thread_local std::string padded;
  padded.assign(text);
  padded.append(16, '\0');
  // In situ: strings are decoded inside the scratch copy instead of being pushed onto the reader's
  // stack one character at a time: 4.9-5.3 -> 3.6-3.7 us per 1.7 KB attributes document (a one-off
  // A/B of the two parses, three rounds; CheckJson was 16 % of the writer process in perf).
  rapidjson::InsituStringStream stream(padded.data());
  rapidjson::Reader reader;
  DepthHandler handler;
  rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(
          stream, handler);
  if (!result) {
    if (result.Code() == rapidjson::kParseErrorTermination) {
      return std::string(what) + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    return std::string(what) + " is not valid JSON (offset " + std::to_string(result.Offset()) + ")";
  }
  if (text.find_first_not_of(" \t\r\n", stream.Tell()) != std::string::npos) {
    return std::string(what) + " has text after the JSON value";
  }
  return std::nullopt;
}

std::string_view StatusName(model::v1::StatusCode code) {
  switch (code) {
    case model::v1::STATUS_CODE_OK:
      return "OK";
    case model::v1::STATUS_CODE_ERROR:
      return "ERROR";
    default:
      return "UNSET";
  }
}

absl::StatusOr<SpanRow> ValidateSpan(const model::v1::Span* span, size_t index) {
  std::string where = "span " + std::to_string(index);
  if (span == nullptr) return Invalid(where + " is null");
  if (span->trace_id().size() != 16 || base::IsAllZero(span->trace_id())) {
    return Invalid(where + ": trace_id must be 16 bytes, not all zero");
  }
  if (span->span_id().size() != 8 || base::IsAllZero(span->span_id())) {
    return Invalid(where + ": span_id must be 8 bytes, not all zero");
  }
  SpanRow row;
  row.span = span;
  row.index = index;
  row.trace_id = base::HexEncode(span->trace_id());
  row.span_id = base::HexEncode(span->span_id());
  where += " (span_id " + row.span_id + ")";
  if (!span->parent_span_id().empty()) {
    if (span->parent_span_id().size() != 8) return Invalid(where + ": parent_span_id must be empty or 8 bytes");
    row.parent_id = base::HexEncode(span->parent_span_id());
  }
  if (span->start_time_unix_nano() > static_cast<uint64_t>(kMaxTime) ||
      span->end_time_unix_nano() > static_cast<uint64_t>(kMaxTime)) {
    return Invalid(where + ": time past the year 2262");
  }
  row.start = static_cast<int64_t>(span->start_time_unix_nano());
  row.end = static_cast<int64_t>(span->end_time_unix_nano());
  if (span->llm_token_count_prompt() < 0 || span->llm_token_count_completion() < 0 ||
      span->llm_token_count_total() < 0) {
    return Invalid(where + ": negative token count");
  }
  row.token_total = span->llm_token_count_total() != 0
                        ? span->llm_token_count_total()
                        : span->llm_token_count_prompt() + span->llm_token_count_completion();
  if (auto error = CheckJson(span->attributes_json(), '{', "attributes_json")) return Invalid(where + ": " + *error);
  if (auto error = CheckJson(span->events_json(), '[', "events_json")) return Invalid(where + ": " + *error);
  return row;
}

std::string Where(const SpanRow& row) { return "span " + std::to_string(row.index) + " (span_id " + row.span_id + ")"; }

}  // namespace osprey::store::internal
