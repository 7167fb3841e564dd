#pragma once

// The embedded Postgres migrations (generated from libs/store/migrations/postgres/ by
// cmake/embed_migrations.cmake into the build tree), for the dialect-neutral runner.

#include <span>

#include "migrations.hpp"

namespace osprey::store {

std::span<const Migration> PostgresMigrations();

}  // namespace osprey::store
