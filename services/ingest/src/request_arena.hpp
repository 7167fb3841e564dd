#pragma once

#include <cstddef>
#include <memory>

#include "google/protobuf/arena.h"

namespace osprey::ingest {

// A protobuf arena for one request's messages (decoded request, normalized spans, bus batches) whose
// first block is a buffer reused across requests: a typical request fits in it, so building and
// freeing its messages costs no malloc/free. Buffers come from a process-wide free list (at most
// kMaxIdleBuffers stay idle). Thread-safe; each arena is used like any protobuf arena.
class RequestArena final {
 public:
  static constexpr size_t kBufferBytes = 512u << 10;
  static constexpr size_t kMaxIdleBuffers = 16;

  RequestArena();
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;

  google::protobuf::Arena* get() { return &arena_; }

 private:
  // Returns its bytes to the free list when destroyed, which is after arena_ (member order).
  struct PooledBuffer {
    PooledBuffer();
    ~PooledBuffer();
    PooledBuffer(const PooledBuffer&) = delete;
    PooledBuffer& operator=(const PooledBuffer&) = delete;
    std::unique_ptr<char[]> bytes;
  };

  PooledBuffer buffer_;
  google::protobuf::Arena arena_;
};

}  // namespace osprey::ingest
