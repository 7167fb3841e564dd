#include "osprey/bus/inprocess_bus.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "osprey/base/status.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"

namespace osprey::bus {
namespace {

// Completion of one Publish call: shared between the publisher (who may give up waiting) and the
// consumer (who completes entries whenever their batch commits).
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = 0;
  absl::Status status;  // first failure, if any
};

struct Entry {
  int64_t offset = 0;
  std::string key;
  std::string payload;
  int attempts = 0;
  std::shared_ptr<Waiter> waiter;
};

struct Partition {
  std::deque<Entry> entries;
  int64_t next_offset = 0;
  bool busy = false;  // a consumer holds an in-flight batch from this partition
};

struct Topic {
  TopicSpec spec;
  std::vector<Partition> partitions;
  size_t bytes = 0;   // payload bytes queued or in flight
  std::string group;  // the consumer group reading this topic, once one exists
};

void Complete(const std::shared_ptr<Waiter>& waiter, const absl::Status& status) {
  std::lock_guard<std::mutex> lock(waiter->mu);
  if (!status.ok() && waiter->status.ok()) waiter->status = status;
  if (waiter->remaining > 0) --waiter->remaining;
  if (waiter->remaining == 0) waiter->cv.notify_all();
}

class InProcessBus;

class InProcessProducer final : public Producer {
 public:
  explicit InProcessProducer(InProcessBus* bus) : bus_(bus) {}
  absl::Status Publish(std::vector<Message> messages, std::chrono::milliseconds timeout) override;

 private:
  InProcessBus* bus_;
};

class InProcessConsumer;

class InProcessBus final : public Bus {
 public:
  InProcessBus(const InProcessBusConfig& config, metrics::Registry* metrics) : config_(config) {
    if (metrics != nullptr) {
      queued_bytes_ =
          &metrics->GetGauge("osprey_bus_queued_bytes", "Payload bytes queued or in flight in the in-process bus");
      published_ =
          &metrics->GetCounter("osprey_bus_published_messages_total", "Messages accepted by the in-process bus");
      refused_ = &metrics->GetCounter("osprey_bus_refused_messages_total",
                                      "Messages refused because the in-process bus was at capacity");
      redelivered_ = &metrics->GetCounter("osprey_bus_redelivered_messages_total",
                                          "Messages delivered again after their batch failed");
      dead_lettered_ = &metrics->GetCounter("osprey_bus_dead_lettered_messages_total",
                                            "Messages dropped after a permanent handler error");
    }
  }
  ~InProcessBus() override { Shutdown(); }

  absl::Status CreateTopic(const TopicSpec& spec) override {
    if (spec.name.empty() || spec.partitions < 1)
      return absl::InvalidArgumentError("topic needs a name and partitions >= 1");
    std::lock_guard<std::mutex> lock(mu_);
    auto& topic = topics_[spec.name];
    if (topic.partitions.empty()) {
      topic.spec = spec;
      topic.partitions.resize(static_cast<size_t>(spec.partitions));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<Producer> NewProducer() override { return std::make_unique<InProcessProducer>(this); }
  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(const ConsumerConfig& config) override;

  absl::Status Ping() override {
    std::lock_guard<std::mutex> lock(mu_);
    return shutdown_ ? absl::UnavailableError("bus shut down") : absl::OkStatus();
  }

  void Shutdown() override {
    std::vector<std::shared_ptr<Waiter>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_) return;
      shutdown_ = true;
      for (auto& [name, topic] : topics_) {
        for (auto& p : topic.partitions) {
          for (auto& e : p.entries) waiters.push_back(e.waiter);
        }
      }
    }
    cv_.notify_all();
    auto st = base::Retryable(absl::StatusCode::kUnavailable, "shutting down");
    for (auto& w : waiters) {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->status.ok()) w->status = st;
      w->remaining = 0;
      w->cv.notify_all();
    }
  }

  absl::Status Publish(std::vector<Message> messages, std::chrono::milliseconds timeout) {
    if (messages.empty()) return absl::OkStatus();
    auto waiter = std::make_shared<Waiter>();
    waiter->remaining = messages.size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_) return base::Retryable(absl::StatusCode::kUnavailable, "bus is shutting down");
      std::map<std::string, size_t> bytes_per_topic;
      for (const auto& m : messages) {
        auto it = topics_.find(m.topic);
        if (it == topics_.end()) {
          return base::Permanent(absl::StatusCode::kNotFound, absl::StrCat("unknown topic ", m.topic));
        }
        if (m.payload.size() > it->second.spec.max_message_bytes) {
          return base::Permanent(absl::StatusCode::kInvalidArgument,
                                 absl::StrCat("message of ", m.payload.size(), " bytes exceeds the topic limit of ",
                                              it->second.spec.max_message_bytes));
        }
        bytes_per_topic[m.topic] += m.payload.size();
      }
      for (const auto& [name, bytes] : bytes_per_topic) {
        const Topic& t = topics_[name];
        if (t.bytes + bytes > config_.capacity_bytes) {
          if (refused_) refused_->Inc(static_cast<double>(messages.size()));
          return base::Retryable(
              absl::StatusCode::kResourceExhausted,
              absl::StrCat("bus at capacity (", t.bytes, " of ", config_.capacity_bytes, " bytes queued); retry later"),
              std::chrono::milliseconds(1000));
        }
      }
      size_t total = 0;
      for (auto& m : messages) {
        Topic& t = topics_[m.topic];
        size_t p = std::hash<std::string>{}(m.key) % t.partitions.size();
        Partition& part = t.partitions[p];
        t.bytes += m.payload.size();
        total += m.payload.size();
        part.entries.push_back(Entry{part.next_offset++, std::move(m.key), std::move(m.payload), 0, waiter});
      }
      queued_total_ += total;
      if (queued_bytes_) queued_bytes_->Set(static_cast<double>(queued_total_));
      if (published_) published_->Inc(static_cast<double>(messages.size()));
    }
    cv_.notify_all();
    std::unique_lock<std::mutex> lock(waiter->mu);
    if (!waiter->cv.wait_for(lock, timeout, [&] { return waiter->remaining == 0; })) {
      return base::Retryable(absl::StatusCode::kDeadlineExceeded,
                             "timed out waiting for the writer to commit; the spans may still be stored, "
                             "retrying is safe");
    }
    return waiter->status;
  }

  // Consumer side: takes a batch from free partitions of `topic`. Blocks until there is one, or
  // until `stop` is set. Marks the partitions busy; the caller must call Finish().
  bool Take(const ConsumerConfig& cfg, const std::atomic<bool>& stop, std::vector<Delivery>& batch,
            std::vector<size_t>& taken) {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [&] { return stop.load() || shutdown_ || HasWork(cfg.topic); };
    cv_.wait(lock, ready);
    if (stop.load() || shutdown_) return false;
    if (cfg.max_wait.count() > 0) {
      // Let concurrent publishers add to this batch: fewer, larger transactions downstream.
      cv_.wait_for(lock, cfg.max_wait,
                   [&] { return stop.load() || shutdown_ || PendingMessages(cfg.topic) >= cfg.max_batch_messages; });
      if (stop.load() || shutdown_) return false;
    }
    Topic& t = topics_[cfg.topic];
    size_t bytes = 0;
    for (size_t p = 0; p < t.partitions.size(); ++p) {
      Partition& part = t.partitions[p];
      if (part.busy || part.entries.empty()) continue;
      if (batch.size() >= cfg.max_batch_messages) break;
      part.busy = true;
      taken.push_back(p);
      size_t n = 0;
      for (auto& e : part.entries) {
        if (batch.size() >= cfg.max_batch_messages) break;
        if (!batch.empty() && bytes + e.payload.size() > cfg.max_batch_bytes) break;
        ++e.attempts;
        if (e.attempts > 1 && redelivered_) redelivered_->Inc();
        batch.push_back(Delivery{cfg.topic, static_cast<int32_t>(p), e.offset, e.key, e.payload, e.attempts});
        bytes += e.payload.size();
        ++n;
      }
    }
    return true;
  }

  // Commits (handler OK) or releases (failure) the partitions taken for a batch.
  void Finish(const ConsumerConfig& cfg, const std::vector<Delivery>& batch, const std::vector<size_t>& taken,
              const absl::Status& status) {
    std::vector<std::pair<std::shared_ptr<Waiter>, absl::Status>> completions;
    bool drop = !status.ok() && !base::IsRetryable(status);
    {
      std::lock_guard<std::mutex> lock(mu_);
      Topic& t = topics_[cfg.topic];
      std::map<int32_t, size_t> count;
      for (const auto& d : batch) ++count[d.partition];
      for (size_t p : taken) {
        Partition& part = t.partitions[p];
        part.busy = false;
        if (!status.ok() && !drop) continue;  // redeliver
        size_t n = count[static_cast<int32_t>(p)];
        for (size_t i = 0; i < n && !part.entries.empty(); ++i) {
          Entry& e = part.entries.front();
          t.bytes -= e.payload.size();
          queued_total_ -= e.payload.size();
          completions.emplace_back(e.waiter, status);
          part.entries.pop_front();
        }
      }
      if (queued_bytes_) queued_bytes_->Set(static_cast<double>(queued_total_));
      if (drop && dead_lettered_) dead_lettered_->Inc(static_cast<double>(completions.size()));
      // In-process there is no dead-letter topic to keep them in: marked messages are counted and logged.
      if (status.ok()) {
        for (const auto& d : batch) {
          if (d.dead_letter_error.empty()) continue;
          if (dead_lettered_) dead_lettered_->Inc();
          log::Error("bus dropped a message its handler marked undeliverable",
                     {{"topic", cfg.topic}, {"partition", static_cast<int64_t>(d.partition)},
                      {"offset", d.offset}, {"error", d.dead_letter_error}});
        }
      }
    }
    cv_.notify_all();
    for (auto& [w, st] : completions) Complete(w, st);
  }

  void Wake() { cv_.notify_all(); }

  absl::Status RegisterGroup(const ConsumerConfig& cfg) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(cfg.topic);
    if (it == topics_.end()) return absl::NotFoundError(absl::StrCat("unknown topic ", cfg.topic));
    if (!it->second.group.empty() && it->second.group != cfg.group) {
      return absl::FailedPreconditionError(absl::StrCat("the in-process bus supports one consumer group per topic; ",
                                                        cfg.topic, " is read by ", it->second.group));
    }
    it->second.group = cfg.group;
    return absl::OkStatus();
  }

 private:
  bool HasWork(const std::string& topic) const {
    auto it = topics_.find(topic);
    if (it == topics_.end()) return false;
    for (const auto& p : it->second.partitions) {
      if (!p.busy && !p.entries.empty()) return true;
    }
    return false;
  }
  size_t PendingMessages(const std::string& topic) const {
    auto it = topics_.find(topic);
    size_t n = 0;
    if (it == topics_.end()) return n;
    for (const auto& p : it->second.partitions) {
      if (!p.busy) n += p.entries.size();
    }
    return n;
  }

  InProcessBusConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Topic> topics_;
  size_t queued_total_ = 0;
  bool shutdown_ = false;
  metrics::Gauge* queued_bytes_ = nullptr;
  metrics::Counter* published_ = nullptr;
  metrics::Counter* refused_ = nullptr;
  metrics::Counter* redelivered_ = nullptr;
  metrics::Counter* dead_lettered_ = nullptr;
};

absl::Status InProcessProducer::Publish(std::vector<Message> messages, std::chrono::milliseconds timeout) {
  return bus_->Publish(std::move(messages), timeout);
}

class InProcessConsumer final : public Consumer {
 public:
  InProcessConsumer(InProcessBus* bus, ConsumerConfig config) : bus_(bus), config_(std::move(config)) {}
  ~InProcessConsumer() override { Stop(); }

  absl::Status Start(Handler handler) override {
    if (thread_.joinable()) return absl::FailedPreconditionError("consumer already started");
    handler_ = std::move(handler);
    stop_ = false;
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), ("bus:" + config_.group).substr(0, 15).c_str());
      Run();
    });
    return absl::OkStatus();
  }

  void Stop() override {
    stop_ = true;
    bus_->Wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    auto backoff = config_.retry_backoff;
    while (!stop_) {
      std::vector<Delivery> batch;
      std::vector<size_t> taken;
      if (!bus_->Take(config_, stop_, batch, taken)) break;
      absl::Status status;
      try {
        status = handler_(batch);
      } catch (const std::exception& e) {
        status = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
      }
      bus_->Finish(config_, batch, taken, status);
      if (status.ok()) {
        backoff = config_.retry_backoff;
        continue;
      }
      log::Warn("bus batch failed", {{"topic", config_.topic},
                                     {"messages", static_cast<int64_t>(batch.size())},
                                     {"retryable", base::IsRetryable(status)},
                                     {"error", std::string(status.message())}});
      if (base::IsRetryable(status)) {
        // Sleep in small steps so Stop() stays prompt.
        auto until = std::chrono::steady_clock::now() + backoff;
        while (!stop_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        backoff = std::min(backoff * 2, config_.max_retry_backoff);
      }
    }
  }

  InProcessBus* bus_;
  ConsumerConfig config_;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<Consumer>> InProcessBus::NewConsumer(const ConsumerConfig& config) {
  OSPREY_RETURN_IF_ERROR(RegisterGroup(config));
  return std::unique_ptr<Consumer>(std::make_unique<InProcessConsumer>(this, config));
}

}  // namespace

std::unique_ptr<Bus> NewInProcessBus(const InProcessBusConfig& config, metrics::Registry* metrics) {
  return std::make_unique<InProcessBus>(config, metrics);
}

}  // namespace osprey::bus
