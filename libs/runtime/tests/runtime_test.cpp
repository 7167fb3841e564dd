#include "osprey/runtime/runtime.hpp"

#include <catch2/catch.hpp>
#include <thread>

using osprey::runtime::Module;
using osprey::runtime::Runtime;

namespace {

class Recording final : public Module {
 public:
  Recording(std::string name, std::vector<std::string>* events, bool fail = false)
      : name_(std::move(name)), events_(events), fail_(fail) {}
  std::string Name() const override { return name_; }
  absl::Status Start() override {
    events_->push_back("start " + name_);
    if (fail_) return absl::UnavailableError("port in use");
    return absl::OkStatus();
  }
  void Stop() override { events_->push_back("stop " + name_); }
  absl::Status Ready() override { return ready_; }
  absl::Status ready_ = absl::OkStatus();

 private:
  std::string name_;
  std::vector<std::string>* events_;
  bool fail_;
};

}  // namespace

TEST_CASE("modules stop in the reverse order of their start") {
  std::vector<std::string> events;
  Runtime rt;
  rt.Add(std::make_unique<Recording>("store", &events));
  rt.Add(std::make_unique<Recording>("writer", &events));
  rt.Add(std::make_unique<Recording>("ingest", &events));
  REQUIRE(rt.StartAll().ok());
  rt.StopAll();
  rt.StopAll();  // idempotent
  CHECK(events == std::vector<std::string>{"start store", "start writer", "start ingest", "stop ingest", "stop writer",
                                           "stop store"});
}

TEST_CASE("a failed start stops what already started and names the module") {
  std::vector<std::string> events;
  Runtime rt;
  rt.Add(std::make_unique<Recording>("store", &events));
  rt.Add(std::make_unique<Recording>("ingest", &events, /*fail=*/true));
  rt.Add(std::make_unique<Recording>("query", &events));
  auto st = rt.StartAll();
  REQUIRE_FALSE(st.ok());
  CHECK(std::string(st.message()) == "ingest: port in use");
  CHECK(events == std::vector<std::string>{"start store", "start ingest", "stop ingest", "stop store"});
}

TEST_CASE("readiness reports the first module that is not ready") {
  std::vector<std::string> events;
  Runtime rt;
  rt.Add(std::make_unique<Recording>("store", &events));
  auto* writer = rt.Add(std::make_unique<Recording>("writer", &events));
  CHECK_FALSE(rt.Ready().ok());  // not started yet
  REQUIRE(rt.StartAll().ok());
  CHECK(rt.Ready().ok());
  writer->ready_ = absl::UnavailableError("database unreachable");
  CHECK(std::string(rt.Ready().message()) == "writer: database unreachable");
}

TEST_CASE("destroying a runtime stops its modules; stop without start is harmless") {
  std::vector<std::string> events;
  {
    Runtime rt;
    rt.Add(std::make_unique<Recording>("a", &events));
    rt.StopAll();
    CHECK(events.empty());
    REQUIRE(rt.StartAll().ok());
  }
  CHECK(events == std::vector<std::string>{"start a", "stop a"});
}

TEST_CASE("shutdown signals are delivered to the waiting thread") {
  osprey::runtime::BlockShutdownSignals();
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(getpid(), SIGTERM);
  });
  CHECK(osprey::runtime::WaitForShutdownSignal() == SIGTERM);
  sender.join();
}
