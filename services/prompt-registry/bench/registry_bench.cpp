// prompt_registry_bench: latency of the registry's hottest read (GetPromptVersion by tag, what a client
// does at run time) through the in-process channel of the embedded mode and through loopback TCP, on
// one SQLite store. Sequential calls from one thread after a warm-up; prints p50/p99/max per transport.
//
//   prompt_registry_bench [CALLS]     (default 5000)

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "osprey/log/log.hpp"
#include "osprey/prompt_registry/module.hpp"
#include "osprey/prompts/v1/prompts.grpc.pb.h"
#include "osprey/store/sqlite_store.hpp"

namespace {

namespace pb = osprey::prompts::v1;

int Fail(const std::string& what) {
  std::fprintf(stderr, "prompt_registry_bench: %s\n", what.c_str());
  return 1;
}

// Runs `calls` GetPromptVersion(tag) calls over `channel`; returns the sorted latencies in microseconds,
// empty on the first failed call.
std::vector<double> Measure(const std::shared_ptr<grpc::Channel>& channel, int calls) {
  auto stub = pb::PromptRegistry::NewStub(channel);
  pb::GetPromptVersionRequest request;
  request.mutable_tag()->mutable_prompt()->set_name("bench");
  request.mutable_tag()->set_tag_name("production");
  std::vector<double> micros;
  micros.reserve(calls);
  for (int i = -calls / 10; i < calls; ++i) {  // the first tenth warms up and is not recorded
    grpc::ClientContext context;
    pb::PromptVersion version;
    const auto start = std::chrono::steady_clock::now();
    if (!stub->GetPromptVersion(&context, request, &version).ok()) return {};
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (i >= 0) micros.push_back(std::chrono::duration<double, std::micro>(elapsed).count());
  }
  std::sort(micros.begin(), micros.end());
  return micros;
}

void Report(const char* transport, const std::vector<double>& micros) {
  auto at = [&](double q) { return micros[static_cast<size_t>(q * static_cast<double>(micros.size() - 1))]; };
  std::printf("%-12s calls=%zu p50=%.0fus p99=%.0fus max=%.0fus\n", transport, micros.size(), at(0.5), at(0.99),
              micros.back());
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::max(10, std::atoi(argv[1])) : 5000;
  osprey::log::SetLevel(osprey::log::Level::kWarn);
  char tmpl[] = "/tmp/osprey-registry-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Fail("mkdtemp failed");
  const std::string dir = tmpl;
  osprey::store::SqliteConfig config;
  config.path = dir + "/osprey.db";
  auto store = osprey::store::OpenSqliteStore(config);
  if (!store.ok() || !(*store)->Migrate().ok()) return Fail("cannot open the store");

  osprey::prompt_registry::PromptRegistryModule module("127.0.0.1:0", **store, nullptr);
  if (auto st = module.Start(); !st.ok()) return Fail(std::string(st.message()));
  auto tcp = grpc::CreateChannel("127.0.0.1:" + std::to_string(module.port()), grpc::InsecureChannelCredentials());
  auto in_process = module.InProcessChannel();

  {
    auto stub = pb::PromptRegistry::NewStub(in_process);
    pb::CreatePromptVersionRequest create;
    create.set_name("bench");
    pb::PromptVersion* v = create.mutable_version();
    v->set_model_provider("OPENAI");
    v->set_model_name("gpt-4o-mini");
    v->set_template_type(pb::TEMPLATE_TYPE_CHAT);
    v->set_template_format(pb::TEMPLATE_FORMAT_MUSTACHE);
    v->set_template_json(R"({"type":"chat","messages":[{"role":"system","content":"You are {{persona}}."},)"
                         R"({"role":"user","content":"{{question}}"}]})");
    v->set_invocation_parameters_json(R"({"type":"openai","openai":{"temperature":0.2}})");
    grpc::ClientContext context;
    pb::CreatePromptVersionResponse created;
    if (!stub->CreatePromptVersion(&context, create, &created).ok()) return Fail("create failed");
    grpc::ClientContext tag_context;
    pb::SetTagRequest tag;
    tag.set_version_id(created.version().id());
    tag.set_name("production");
    pb::Tag out;
    if (!stub->SetTag(&tag_context, tag, &out).ok()) return Fail("tag failed");
  }

  const auto local = Measure(in_process, calls);
  const auto remote = Measure(tcp, calls);
  if (local.empty() || remote.empty()) return Fail("a call failed");
  Report("in-process", local);
  Report("loopback-tcp", remote);
  module.Stop();
  (*store)->Close();
  std::filesystem::remove_all(dir);
  return 0;
}
