#pragma once

// SQLite's page cache, wrapped to skip the commit-time truncation scans that do nothing.
//
// At the end of every write transaction SQLite asks its page cache to drop the pages past the end of the
// database (pcache1Truncate(dbSize + 1)). SQLite 3.40's default cache (pcache1) scans its whole hash table
// for that whenever the largest page number it has *ever* held is far beyond the database's end; and
// b-tree balancing parks a page at the "pending byte" page number (page 262,145 with 4 KiB pages) while it
// swaps sibling pages into order. From the first such balance on, every commit of a database under 1 GiB
// walks all of the cache's hash buckets: with the embedded writer's 256 MiB cache, 13 % of the writer
// thread's CPU in bench/embedded.sh at 9,000 spans/s (perf), on the path of every acknowledgement.
//
// The wrapper keeps the default cache and passes every call through, except a truncation that it can prove
// drops nothing: it tracks the largest page number the cache can hold (every key fetched or re-keyed to,
// excluding re-keys to far-away "parking" numbers, which it tracks one by one until they are re-keyed
// away). Unknown is always "pass through", so the filter can only skip a no-op.
#include <cstddef>
#include <vector>

namespace osprey::store::sqlite {

// The bookkeeping of one cache, apart from SQLite so it can be tested on its own.
class TruncateFilter {
 public:
  // A page with `key` is in the cache (fetched, or created by the fetch).
  void Fetched(unsigned key) {
    if (key > max_key_) max_key_ = key;
  }
  // The page at `old_key` now has `new_key`. A jump past every key held so far is a parking move (b-tree
  // balancing parks a page at the pending-byte page number for a moment): tracked apart, so it does not
  // raise the bound for good.
  void Rekeyed(unsigned old_key, unsigned new_key);
  // Whether the cache may hold a page with key >= `limit`: false means xTruncate(limit) is a no-op.
  bool MayHoldFrom(unsigned limit) const;
  // After xTruncate(limit) went through: nothing at or past `limit` remains.
  void Truncated(unsigned limit);

  unsigned max_key() const { return max_key_; }
  size_t parked() const { return parked_.size(); }

 private:
  // A parked page further than this past the largest key counts as parked, not as growth.
  static constexpr unsigned kParkDistance = 1024;
  unsigned max_key_ = 0;
  std::vector<unsigned> parked_;  // keys of pages parked far past max_key_ (one or two at a time)
};

// Installs the wrapper around SQLite's default page cache, and turns off SQLite's global memory statistics
// (a mutex around every allocation that nothing reads), once per process, before the first connection is
// opened. Returns false when SQLite was already initialized (the default cache then stays).
bool InstallPageCache();

// How many commit-time truncations the wrapper skipped and passed through since the process started.
struct PageCacheCounts {
  unsigned long long skipped = 0;
  unsigned long long passed = 0;
};
PageCacheCounts PageCacheTruncations();

}  // namespace osprey::store::sqlite
