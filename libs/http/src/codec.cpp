#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "osprey/http/server.hpp"

namespace osprey::http {
namespace {

constexpr size_t kMinGrowth = 64 << 10;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A zlib-wrapped deflate stream starts with a CMF/FLG pair whose 16-bit value is a multiple of 31
// and whose method is 8. HTTP "deflate" means zlib-wrapped, but many clients send raw deflate.
bool LooksLikeZlib(std::string_view input) {
  if (input.size() < 2) return false;
  auto cmf = static_cast<unsigned char>(input[0]);
  auto flg = static_cast<unsigned char>(input[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

bool LooksLikeGzip(std::string_view input) {
  return input.size() >= 2 && static_cast<unsigned char>(input[0]) == 0x1f &&
         static_cast<unsigned char>(input[1]) == 0x8b;
}

class Inflater final {
 public:
  explicit Inflater(int window_bits) { ok_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

// Inflates `input` into `output`, never letting the buffer's capacity grow past max_bytes (plus
// rounding below kMinGrowth). Capacity grows by exact doublings of a step chosen so that the last
// doubling lands just above max_bytes + 1: std::string would otherwise round a final reserve up to
// twice the previous capacity, and a bomb could cost 2 x max_bytes.
absl::Status Inflate(std::string_view input, int window_bits, bool gzip, size_t max_bytes, std::string& output) {
  output.clear();
  if (input.empty()) return absl::OkStatus();  // an empty body stays empty whatever its declared encoding
  Inflater inflater(window_bits);
  if (!inflater.ok()) return absl::InternalError("zlib inflateInit2 failed");
  z_stream& stream = inflater.stream();
  const size_t limit = max_bytes + 1;  // one byte past the cap proves the cap was exceeded
  size_t step = limit;
  while (step > kMinGrowth) step = (step + 1) / 2;
  size_t capacity = step;
  while (capacity < std::min(limit, input.size() * 4)) capacity *= 2;

  std::string buffer;  // fresh, so reserve() sizes are exact
  size_t consumed = 0;
  size_t produced = 0;
  while (true) {
    if (produced == buffer.size()) {
      if (produced >= limit) {
        return absl::ResourceExhaustedError("decompressed body exceeds " + std::to_string(max_bytes) + " bytes");
      }
      if (produced > 0) capacity *= 2;
      buffer.reserve(capacity);
      buffer.resize(std::min(capacity, limit));
    }
    if (stream.avail_in == 0 && consumed < input.size()) {
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + consumed));
      stream.avail_in = static_cast<uInt>(std::min<size_t>(input.size() - consumed, 1u << 30));
      consumed += stream.avail_in;
    }
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data() + produced);
    stream.avail_out = static_cast<uInt>(std::min<size_t>(buffer.size() - produced, 1u << 30));
    uInt room = stream.avail_out;
    int rc = inflate(&stream, Z_NO_FLUSH);
    produced += room - stream.avail_out;
    if (rc == Z_STREAM_END) {
      size_t rest_offset = consumed - stream.avail_in;
      std::string_view rest = input.substr(rest_offset);
      if (gzip && LooksLikeGzip(rest)) {  // concatenated gzip members form one body (RFC 1952)
        if (inflateReset(&stream) != Z_OK) return absl::InternalError("zlib inflateReset failed");
        continue;
      }
      if (!rest.empty()) return absl::InvalidArgumentError("trailing bytes after the compressed body");
      if (produced > max_bytes) {
        return absl::ResourceExhaustedError("decompressed body exceeds " + std::to_string(max_bytes) + " bytes");
      }
      buffer.resize(produced);
      output = std::move(buffer);
      return absl::OkStatus();
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InvalidArgumentError(std::string("corrupt compressed body: ") +
                                        (stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(rc)));
    }
    if (stream.avail_in == 0 && consumed == input.size() && stream.avail_out != 0) {
      return absl::InvalidArgumentError("compressed body is truncated");
    }
  }
}

}  // namespace

absl::Status Decompress(std::string_view encoding, std::string_view input, size_t max_bytes, std::string& output) {
  std::string name = Lower(Trim(encoding));
  if (name.empty() || name == "identity") {
    if (input.size() > max_bytes) {
      return absl::ResourceExhaustedError("body exceeds " + std::to_string(max_bytes) + " bytes");
    }
    output.assign(input.data(), input.size());
    return absl::OkStatus();
  }
  if (name == "gzip" || name == "x-gzip") return Inflate(input, 16 + MAX_WBITS, true, max_bytes, output);
  if (name == "deflate") {
    return Inflate(input, LooksLikeZlib(input) ? MAX_WBITS : -MAX_WBITS, false, max_bytes, output);
  }
  return absl::UnimplementedError("unsupported Content-Encoding: " + std::string(Trim(encoding)));
}

std::string GzipCompress(std::string_view input) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string output;
  output.resize(deflateBound(&stream, input.size()) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  int rc = deflate(&stream, Z_FINISH);
  output.resize(rc == Z_STREAM_END ? stream.total_out : 0);
  deflateEnd(&stream);
  return output;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto key = PercentDecode(piece.substr(0, eq), true);
    auto value =
        eq == std::string_view::npos ? std::optional<std::string>("") : PercentDecode(piece.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    pairs.emplace_back(std::move(*key), std::move(*value));
  }
  return pairs;
}

}  // namespace osprey::http
