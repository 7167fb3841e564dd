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

// Deepest nesting of arrays and objects in JSON text, read from its bytes (brackets inside strings
// skipped), without parsing; stops counting past `limit`. Check it before a recursive JSON parser
// (RapidJSON's) sees untrusted text: a few MB of "[[[[" would exhaust a thread's stack.
int JsonTextDepth(std::string_view text, int limit);

}  // namespace osprey::base
