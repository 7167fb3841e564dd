#include "sqlite_pcache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>

namespace osprey::store::sqlite {

void TruncateFilter::Rekeyed(unsigned old_key, unsigned new_key) {
  if (auto it = std::find(parked_.begin(), parked_.end(), old_key); it != parked_.end()) parked_.erase(it);
  if (static_cast<uint64_t>(new_key) > static_cast<uint64_t>(max_key_) + kParkDistance) {
    parked_.push_back(new_key);
  } else {
    Fetched(new_key);
  }
}

bool TruncateFilter::MayHoldFrom(unsigned limit) const {
  if (max_key_ >= limit) return true;
  return std::any_of(parked_.begin(), parked_.end(), [limit](unsigned key) { return key >= limit; });
}

void TruncateFilter::Truncated(unsigned limit) {
  if (limit == 0) {
    max_key_ = 0;
    parked_.clear();
    return;
  }
  max_key_ = std::min(max_key_, limit - 1);
  std::erase_if(parked_, [limit](unsigned key) { return key >= limit; });
}

namespace {

sqlite3_pcache_methods2 inner;  // SQLite's default cache, set once by InstallPageCache
std::atomic<unsigned long long> truncations_skipped{0};
std::atomic<unsigned long long> truncations_passed{0};

// What the wrapper hands SQLite as a cache: the default cache's handle and the filter beside it. A cache is
// used by one connection, one thread at a time (connections are opened SQLITE_OPEN_NOMUTEX and never
// shared), so the filter needs no lock.
struct Cache {
  sqlite3_pcache* cache;
  TruncateFilter filter;
};

Cache* Unwrap(sqlite3_pcache* handle) { return reinterpret_cast<Cache*>(handle); }

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
  sqlite3_pcache* cache = inner.xCreate(page_size, extra_size, purgeable);
  if (cache == nullptr) return nullptr;
  auto* wrapped = new (std::nothrow) Cache{cache, {}};
  if (wrapped == nullptr) {
    inner.xDestroy(cache);
    return nullptr;
  }
  return reinterpret_cast<sqlite3_pcache*>(wrapped);
}

void Cachesize(sqlite3_pcache* handle, int pages) { inner.xCachesize(Unwrap(handle)->cache, pages); }

int Pagecount(sqlite3_pcache* handle) { return inner.xPagecount(Unwrap(handle)->cache); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* handle, unsigned key, int create) {
  Cache* c = Unwrap(handle);
  sqlite3_pcache_page* page = inner.xFetch(c->cache, key, create);
  if (page != nullptr) c->filter.Fetched(key);
  return page;
}

void Unpin(sqlite3_pcache* handle, sqlite3_pcache_page* page, int discard) {
  inner.xUnpin(Unwrap(handle)->cache, page, discard);
}

void Rekey(sqlite3_pcache* handle, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  Cache* c = Unwrap(handle);
  inner.xRekey(c->cache, page, old_key, new_key);
  c->filter.Rekeyed(old_key, new_key);
}

void Truncate(sqlite3_pcache* handle, unsigned limit) {
  Cache* c = Unwrap(handle);
  if (!c->filter.MayHoldFrom(limit)) {
    truncations_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  truncations_passed.fetch_add(1, std::memory_order_relaxed);
  inner.xTruncate(c->cache, limit);
  c->filter.Truncated(limit);
}

void Destroy(sqlite3_pcache* handle) {
  Cache* c = Unwrap(handle);
  inner.xDestroy(c->cache);
  delete c;
}

void Shrink(sqlite3_pcache* handle) { inner.xShrink(Unwrap(handle)->cache); }

int Init(void* arg) { return inner.xInit != nullptr ? inner.xInit(arg) : SQLITE_OK; }

void Shutdown(void* arg) {
  if (inner.xShutdown != nullptr) inner.xShutdown(arg);
}

bool Install() {
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) != SQLITE_OK || inner.xFetch == nullptr) return false;
  sqlite3_pcache_methods2 wrapper = inner;
  wrapper.xInit = Init;
  wrapper.xShutdown = Shutdown;
  wrapper.xCreate = Create;
  wrapper.xCachesize = Cachesize;
  wrapper.xPagecount = Pagecount;
  wrapper.xFetch = Fetch;
  wrapper.xUnpin = Unpin;
  wrapper.xRekey = Rekey;
  wrapper.xTruncate = Truncate;
  wrapper.xDestroy = Destroy;
  wrapper.xShrink = Shrink;
  if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapper) != SQLITE_OK) return false;
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  return true;
}

}  // namespace

bool InstallPageCache() {
  static const bool installed = Install();  // before any connection opens: SQLite is not yet initialized
  return installed;
}

PageCacheCounts PageCacheTruncations() {
  return {truncations_skipped.load(std::memory_order_relaxed), truncations_passed.load(std::memory_order_relaxed)};
}

}  // namespace osprey::store::sqlite
