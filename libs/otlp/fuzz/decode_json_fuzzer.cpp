// libFuzzer target: DecodeJson + Normalize on arbitrary bytes. Differential check: when the decoded
// request survives a protobuf round trip (it does not when a string is not valid UTF-8), decoding
// the protobuf bytes must normalize to exactly the same spans and rejections; so must
// NormalizeOnArena.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_checks.hpp"
#include "osprey/otlp/otlp.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  osprey::otlp::fuzz::QuietProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace osprey::otlp;
  google::protobuf::Arena arena;
  auto request = DecodeJson(std::string_view(reinterpret_cast<const char*>(data), size), &arena);
  if (!request.ok()) return 0;
  NormalizeOptions options;
  options.preview_chars = 16;
  const NormalizeResult result = Normalize(**request, options);
  fuzz::CheckNormalized(**request, result);
  fuzz::CheckSameOnArena(**request, options, result);

  std::string wire;
  if (!(*request)->SerializeToString(&wire)) return 0;
  google::protobuf::Arena arena2;
  auto reparsed = DecodeProtobuf(wire, &arena2);
  if (!reparsed.ok()) return 0;
  fuzz::CheckSameResult(result, Normalize(**reparsed, options));
  return 0;
}
