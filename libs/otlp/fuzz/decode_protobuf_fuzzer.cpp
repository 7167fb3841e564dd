// libFuzzer target: DecodeProtobuf + Normalize on arbitrary bytes, with and without a project
// override; NormalizeOnArena must give the same result.

#include <cstddef>
#include <cstdint>
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
  auto request = DecodeProtobuf(std::string_view(reinterpret_cast<const char*>(data), size), &arena);
  if (!request.ok()) return 0;
  NormalizeOptions options;
  fuzz::CheckNormalized(**request, Normalize(**request, options));
  options.project_override = "fuzz";
  options.preview_chars = 3;
  const NormalizeResult result = Normalize(**request, options);
  fuzz::CheckNormalized(**request, result);
  fuzz::CheckSameOnArena(**request, options, result);
  for (const auto& span : result.spans) {
    if (span.project_name() != "fuzz") __builtin_trap();
  }
  return 0;
}
