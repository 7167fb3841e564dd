#include "osprey/query/global_id.hpp"

#include <charconv>
#include <string>

#include "osprey/base/encoding.hpp"

namespace osprey::query {

std::string EncodeGlobalId(std::string_view type, int64_t id) {
  std::string plain(type);
  plain += ':';
  plain += std::to_string(id);
  return base::Base64Encode(plain);
}

std::optional<GlobalId> DecodeGlobalId(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  std::optional<std::string> plain = base::Base64Decode(standard);
  if (!plain) return std::nullopt;
  size_t colon = plain->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string_view digits = std::string_view(*plain).substr(colon + 1);
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  std::string type = plain->substr(0, colon);
  for (unsigned char c : type) {
    if (c < 0x21 || c > 0x7e) return std::nullopt;  // printable ASCII type names only
  }
  return GlobalId{std::move(type), id};
}

std::optional<int64_t> DecodeGlobalIdOfType(std::string_view text, std::string_view type) {
  std::optional<GlobalId> gid = DecodeGlobalId(text);
  if (!gid || gid->type != type) return std::nullopt;
  return gid->id;
}

}  // namespace osprey::query
