#include "request_arena.hpp"

#include <mutex>
#include <vector>

namespace osprey::ingest {
namespace {

class BufferPool final {
 public:
  std::unique_ptr<char[]> Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<char[]> bytes = std::move(idle_.back());
        idle_.pop_back();
        return bytes;
      }
    }
    return std::make_unique_for_overwrite<char[]>(RequestArena::kBufferBytes);
  }
  void Give(std::unique_ptr<char[]> bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < RequestArena::kMaxIdleBuffers) idle_.push_back(std::move(bytes));
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<char[]>> idle_;
};

BufferPool& Pool() {
  static BufferPool pool;
  return pool;
}

google::protobuf::ArenaOptions Options(char* initial_block) {
  google::protobuf::ArenaOptions options;
  options.initial_block = initial_block;
  options.initial_block_size = RequestArena::kBufferBytes;
  // Past the buffer, blocks grow to 64 KiB (protobuf's default stops at 8 KiB: many mallocs for a
  // large request) and stay under glibc's mmap threshold.
  options.start_block_size = 16u << 10;
  options.max_block_size = 64u << 10;
  return options;
}

}  // namespace

RequestArena::PooledBuffer::PooledBuffer() : bytes(Pool().Take()) {}
RequestArena::PooledBuffer::~PooledBuffer() { Pool().Give(std::move(bytes)); }

RequestArena::RequestArena() : arena_(Options(buffer_.bytes.get())) {}

}  // namespace osprey::ingest
