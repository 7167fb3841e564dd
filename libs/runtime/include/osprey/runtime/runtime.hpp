#pragma once

// Modules and their lifecycle (design §3: one codebase, many binaries).
//
// A Module is one service (ingest, writer, query) or a piece of shared infrastructure (the store,
// the bus) behind Start()/Stop(). The Runtime starts modules in the order they were added and stops
// them in exactly the reverse order — dependencies are added first, so they are stopped last.
//
// Contracts every Module honours:
//   - Start() returns quickly (threads are spawned, not joined) and may fail (port in use, database
//     unreachable); a failed Start() leaves nothing running.
//   - Stop() is idempotent, safe without Start(), drains in-flight work and joins its threads.
//   - Ready() is cheap and thread safe; it backs /readyz.

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace osprey::runtime {

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string Name() const = 0;
  virtual absl::Status Start() = 0;
  virtual void Stop() = 0;
  // OK when the module can serve: its dependencies answer. Default: always ready once started.
  virtual absl::Status Ready() { return absl::OkStatus(); }
};

// Owns modules; not thread safe except Ready(), which may be called from any thread once started.
class Runtime final {
 public:
  Runtime() = default;
  ~Runtime();  // StopAll()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Adds a module; returns a non-owning pointer for wiring (valid until the Runtime is destroyed).
  template <typename T>
  T* Add(std::unique_ptr<T> module) {
    T* raw = module.get();
    modules_.push_back(std::move(module));
    return raw;
  }

  // Starts every module in order. On the first failure, stops the ones already started (in reverse)
  // and returns the error prefixed with the module's name.
  absl::Status StartAll();
  // Stops started modules in reverse start order. Idempotent.
  void StopAll();
  // OK when every module is ready; otherwise the first module's error, prefixed with its name.
  absl::Status Ready() const;

  std::vector<std::string> ModuleNames() const;

 private:
  std::vector<std::unique_ptr<Module>> modules_;
  size_t started_ = 0;  // modules_[0, started_) are running
};

// Blocks SIGTERM and SIGINT in the calling thread; call in main() before any thread starts so every
// thread inherits the mask and the signals are only ever taken by WaitForShutdownSignal().
void BlockShutdownSignals();
// Waits for SIGTERM or SIGINT and returns the signal number.
int WaitForShutdownSignal();

}  // namespace osprey::runtime
