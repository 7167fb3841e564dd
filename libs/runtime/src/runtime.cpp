#include "osprey/runtime/runtime.hpp"

#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "osprey/log/log.hpp"

namespace osprey::runtime {

Runtime::~Runtime() { StopAll(); }

absl::Status Runtime::StartAll() {
  while (started_ < modules_.size()) {
    Module& m = *modules_[started_];
    log::Info("module starting", {{"module", m.Name()}});
    absl::Status st = m.Start();
    if (!st.ok()) {
      log::Error("module failed to start", {{"module", m.Name()}, {"error", std::string(st.message())}});
      m.Stop();
      StopAll();
      return absl::Status(st.code(), absl::StrCat(m.Name(), ": ", st.message()));
    }
    ++started_;
  }
  return absl::OkStatus();
}

void Runtime::StopAll() {
  while (started_ > 0) {
    --started_;
    Module& m = *modules_[started_];
    log::Info("module stopping", {{"module", m.Name()}});
    m.Stop();
  }
}

absl::Status Runtime::Ready() const {
  if (started_ < modules_.size()) return absl::UnavailableError("starting");
  for (const auto& m : modules_) {
    absl::Status st = m->Ready();
    if (!st.ok()) return absl::Status(st.code(), absl::StrCat(m->Name(), ": ", st.message()));
  }
  return absl::OkStatus();
}

std::vector<std::string> Runtime::ModuleNames() const {
  std::vector<std::string> names;
  for (const auto& m : modules_) names.push_back(m->Name());
  return names;
}

namespace {
sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

}  // namespace osprey::runtime
