#include "osprey/ingest/otlp_grpc.hpp"

#include <pthread.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "osprey/base/status.hpp"
#include "osprey/log/log.hpp"

namespace osprey::ingest {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using opentelemetry::proto::collector::trace::v1::TraceService;

// Fixed pool of worker threads with an unbounded task queue; admission is bounded upstream by the
// ingestor's byte budget, reserved before a task is queued.
class WorkerPool final {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "ingest-grpc");
        Run();
      });
    }
  }
  ~WorkerPool() { Stop(); }
  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  // Runs the queued tasks, then joins.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class TraceServiceImpl final : public TraceService::WithRawCallbackMethod_Export<TraceService::Service> {
 public:
  TraceServiceImpl(Ingestor& ingestor, WorkerPool& pool, size_t max_request_bytes)
      : ingestor_(ingestor), pool_(pool), max_request_bytes_(max_request_bytes) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->Length() > max_request_bytes_) {
      ingestor_.CountRefused(Transport::kGrpc, "too_large");
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   absl::StrCat("request of ", request->Length(), " bytes exceeds the limit of ",
                                                max_request_bytes_, " bytes (ingest.max_request_bytes)")));
      return reactor;
    }
    uint64_t charge = static_cast<uint64_t>(request->Length()) * 2 + 1024;
    if (auto st = ingestor_.ReserveBudget(charge); !st.ok()) {
      ingestor_.CountRefused(Transport::kGrpc, "overloaded");
      reactor->Finish(ToGrpcStatus(st));
      return reactor;
    }
    std::vector<grpc::Slice> slices;
    if (!request->Dump(&slices).ok()) {
      ingestor_.ReleaseBudget(charge);
      reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "could not read the request"));
      return reactor;
    }
    std::string bytes;
    bytes.reserve(request->Length());
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    pool_.Post([this, reactor, response, charge, bytes = std::move(bytes)] {
      grpc::Status status;
      {
        google::protobuf::Arena arena;
        auto decoded = otlp::DecodeProtobuf(bytes, &arena);
        if (!decoded.ok()) {
          ingestor_.CountRefused(Transport::kGrpc, "malformed");
          status = ToGrpcStatus(decoded.status());
        } else {
          ExportOutcome outcome = ingestor_.Export(**decoded, "", Transport::kGrpc);
          if (!outcome.status.ok()) {
            status = ToGrpcStatus(outcome.status);
          } else {
            ExportTraceServiceResponse reply;
            if (outcome.rejected_spans > 0 || !outcome.error_message.empty()) {
              reply.mutable_partial_success()->set_rejected_spans(outcome.rejected_spans);
              reply.mutable_partial_success()->set_error_message(outcome.error_message);
            }
            std::string out = reply.SerializeAsString();
            grpc::Slice slice(out);
            *response = grpc::ByteBuffer(&slice, 1);
          }
        }
      }
      ingestor_.ReleaseBudget(charge);
      reactor->Finish(status);
    });
    return reactor;
  }

 private:
  Ingestor& ingestor_;
  WorkerPool& pool_;
  size_t max_request_bytes_;
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  std::string message(status.message());
  if (!base::IsRetryable(status)) return grpc::Status(code, message);
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  google::rpc::RetryInfo retry;
  auto delay = base::RetryAfter(status).value_or(std::chrono::milliseconds(1000));
  retry.mutable_retry_delay()->set_seconds(delay.count() / 1000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>((delay.count() % 1000) * 1000000));
  details.add_details()->PackFrom(retry);
  return grpc::Status(code, message, details.SerializeAsString());
}

class OtlpGrpcServer::Impl {
 public:
  Impl(GrpcServerConfig config, Ingestor& ingestor) : config_(std::move(config)), ingestor_(ingestor) {}

  absl::Status Start() {
    pool_ = std::make_unique<WorkerPool>(config_.worker_threads);
    service_ = std::make_unique<TraceServiceImpl>(ingestor_, *pool_, config_.max_request_bytes);
    grpc::ServerBuilder builder;
    std::string address = absl::StrCat(
        config_.host.find(':') != std::string::npos ? "[" + config_.host + "]" : config_.host, ":", config_.port);
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound_port_);
    // gRPC's own limit is four times ours: requests between the two are refused by the handler with a
    // precise message and counted; beyond that gRPC refuses them itself (RESOURCE_EXHAUSTED, uncounted)
    // before buffering them. A resource quota bounds what gRPC buffers across all connections.
    builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(config_.max_request_bytes * 4, INT32_MAX)));
    grpc::ResourceQuota quota("osprey-ingest");
    quota.Resize(std::max<size_t>(config_.max_request_bytes * 8, 256u << 20));
    builder.SetResourceQuota(quota);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    if (!server_ || bound_port_ == 0) {
      pool_->Stop();
      return absl::UnavailableError(absl::StrCat("cannot listen for OTLP/gRPC on ", address));
    }
    log::Info("listening",
              {{"module", "ingest"}, {"protocol", "otlp-grpc"}, {"address", config_.host}, {"port", bound_port_}});
    return absl::OkStatus();
  }

  void Stop() {
    if (server_) {
      // In-flight exports get a few seconds to commit; later ones are cancelled (clients retry).
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
    if (pool_) pool_->Stop();
    if (server_) server_->Wait();
    server_.reset();
    service_.reset();
    pool_.reset();
  }

  uint16_t port() const { return static_cast<uint16_t>(bound_port_); }

 private:
  GrpcServerConfig config_;
  Ingestor& ingestor_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<TraceServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int bound_port_ = 0;
};

OtlpGrpcServer::OtlpGrpcServer(GrpcServerConfig config, Ingestor& ingestor)
    : impl_(std::make_unique<Impl>(std::move(config), ingestor)) {}
OtlpGrpcServer::~OtlpGrpcServer() { Stop(); }
absl::Status OtlpGrpcServer::Start() { return impl_->Start(); }
uint16_t OtlpGrpcServer::port() const { return impl_->port(); }
void OtlpGrpcServer::Stop() { impl_->Stop(); }

}  // namespace osprey::ingest
