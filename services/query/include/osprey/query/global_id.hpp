#pragma once

// Phoenix GlobalIDs: standard base64 of "<TypeName>:<integer row id>" (Relay node ids), e.g.
// "Project:1" <-> "UHJvamVjdDox". Every REST id and pagination cursor is one of these.
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace osprey::query {

inline constexpr std::string_view kProjectType = "Project";
inline constexpr std::string_view kTraceType = "Trace";
inline constexpr std::string_view kSpanType = "Span";
inline constexpr std::string_view kSessionType = "ProjectSession";

struct GlobalId {
  std::string type;
  int64_t id = 0;
};

// base64("<type>:<id>") with '=' padding, as Phoenix emits it.
std::string EncodeGlobalId(std::string_view type, int64_t id);

// Lenient decode: padding optional, the URL-safe alphabet ('-', '_') accepted too. The decoded text
// must be "<non-empty type>:<decimal row id>" with the id fitting a non-negative int64; anything
// else is nullopt.
std::optional<GlobalId> DecodeGlobalId(std::string_view text);

// The row id when `text` is a GlobalID of exactly `type`; nullopt otherwise (wrong type included).
std::optional<int64_t> DecodeGlobalIdOfType(std::string_view text, std::string_view type);

}  // namespace osprey::query
