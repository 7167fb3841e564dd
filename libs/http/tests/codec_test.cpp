#include <zlib.h>

#include <catch2/catch.hpp>

#include "osprey/http/server.hpp"

namespace osprey::http {
namespace {

std::string ZlibCompress(std::string_view input, int window_bits) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&stream, input.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string Sample(size_t n) {
  std::string text;
  for (size_t i = 0; text.size() < n; ++i) text += "span " + std::to_string(i) + " says hello; ";
  text.resize(n);
  return text;
}

TEST_CASE("PercentDecode decodes escapes and treats + per context", "[http][codec]") {
  CHECK(PercentDecode("a%2Fb%20c", false) == "a/b c");
  CHECK(PercentDecode("a+b", false) == "a+b");
  CHECK(PercentDecode("a+b", true) == "a b");
  CHECK(PercentDecode("%e2%9C%93", false) == "\xe2\x9c\x93");
  CHECK(PercentDecode("", false) == "");
  CHECK_FALSE(PercentDecode("%", false).has_value());
  CHECK_FALSE(PercentDecode("%4", false).has_value());
  CHECK_FALSE(PercentDecode("%zz", false).has_value());
  CHECK_FALSE(PercentDecode("ab%g1", true).has_value());
}

TEST_CASE("ParseQuery keeps repeated keys in order and decodes", "[http][codec]") {
  auto pairs = ParseQuery("tag=a&limit=10&tag=b+c&&flag&x=%41%3D");
  REQUIRE(pairs.has_value());
  std::vector<std::pair<std::string, std::string>> expected = {
      {"tag", "a"}, {"limit", "10"}, {"tag", "b c"}, {"flag", ""}, {"x", "A="}};
  CHECK(*pairs == expected);
  CHECK(ParseQuery("")->empty());
  CHECK_FALSE(ParseQuery("a=%2").has_value());
  CHECK_FALSE(ParseQuery("%zz=1").has_value());
}

TEST_CASE("Decompress round-trips gzip, including concatenated members", "[http][codec]") {
  std::string text = Sample(300000);
  std::string out;
  REQUIRE(Decompress("gzip", GzipCompress(text), 1 << 20, out).ok());
  CHECK(out == text);
  REQUIRE(Decompress(" GZIP ", GzipCompress("ab") + GzipCompress("cd"), 100, out).ok());
  CHECK(out == "abcd");
  REQUIRE(Decompress("x-gzip", GzipCompress(""), 100, out).ok());
  CHECK(out.empty());
}

TEST_CASE("Decompress accepts zlib-wrapped and raw deflate", "[http][codec]") {
  std::string text = Sample(5000);
  std::string out;
  REQUIRE(Decompress("deflate", ZlibCompress(text, MAX_WBITS), 1 << 20, out).ok());
  CHECK(out == text);
  REQUIRE(Decompress("deflate", ZlibCompress(text, -MAX_WBITS), 1 << 20, out).ok());
  CHECK(out == text);
}

TEST_CASE("Decompress passes identity through, still enforcing the cap", "[http][codec]") {
  std::string out;
  REQUIRE(Decompress("", "abc", 3, out).ok());
  CHECK(out == "abc");
  REQUIRE(Decompress("identity", "abc", 3, out).ok());
  CHECK(Decompress("identity", "abcd", 3, out).code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("Decompress caps the output exactly at max_bytes", "[http][codec]") {
  std::string text = Sample(100000);
  std::string compressed = GzipCompress(text);
  std::string out;
  CHECK(Decompress("gzip", compressed, text.size(), out).ok());
  CHECK(out.size() == text.size());
  absl::Status status = Decompress("gzip", compressed, text.size() - 1, out);
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(status.message()) == "decompressed body exceeds 99999 bytes");
  CHECK(out.empty());
}

TEST_CASE("Decompress stops a gzip bomb at the cap without over-allocating", "[http][codec]") {
  std::string zeros(16 << 20, '\0');
  std::string bomb = GzipCompress(zeros);
  zeros = std::string();
  CHECK(bomb.size() < (1 << 20));
  std::string out;
  CHECK(Decompress("gzip", bomb, 1 << 20, out).code() == absl::StatusCode::kResourceExhausted);

  // On success the buffer's capacity stays within the cap (plus growth rounding).
  const size_t cap = (3 << 20) + 12345;
  std::string body = Sample(3 << 20);
  REQUIRE(Decompress("gzip", GzipCompress(body), cap, out).ok());
  CHECK(out == body);
  CHECK(out.capacity() <= cap + (64 << 10));
}

TEST_CASE("Decompress reports unknown encodings and corrupt data", "[http][codec]") {
  std::string out;
  absl::Status status = Decompress("br", "xx", 100, out);
  CHECK(status.code() == absl::StatusCode::kUnimplemented);
  CHECK(std::string(status.message()) == "unsupported Content-Encoding: br");
  CHECK(Decompress("gzip", "definitely not gzip", 100, out).code() == absl::StatusCode::kInvalidArgument);

  std::string compressed = GzipCompress(Sample(1000));
  status = Decompress("gzip", compressed.substr(0, compressed.size() / 2), 1 << 20, out);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "compressed body is truncated");
  status = Decompress("gzip", compressed + "junk", 1 << 20, out);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "trailing bytes after the compressed body");
}

}  // namespace
}  // namespace osprey::http
