#pragma once

// Byte encodings used at Osprey's edges: lowercase hex for OTel ids, standard base64 for Phoenix
// GlobalIDs. Decoders never throw; they return nullopt on malformed input.

#include <optional>
#include <string>
#include <string_view>

namespace osprey::base {

std::string HexEncode(std::string_view bytes);
// Accepts upper and lower case; rejects odd lengths and non-hex characters.
std::optional<std::string> HexDecode(std::string_view hex);
// True when `bytes` is empty or all zero bytes (an invalid OTel id).
bool IsAllZero(std::string_view bytes);

std::string Base64Encode(std::string_view bytes);
// Standard alphabet; padding optional; rejects other characters.
std::optional<std::string> Base64Decode(std::string_view text);

// True when `text` is valid UTF-8 (no overlongs, no surrogates, no code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace osprey::base
