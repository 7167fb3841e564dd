#pragma once

namespace osprey::costs::internal {

// data/model_prices.yaml, embedded at build time (cmake/embed_prices.cmake).
extern const char* const kBuiltinModelPricesYaml;

}  // namespace osprey::costs::internal
