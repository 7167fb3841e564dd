#pragma once

// The Bus conformance suite: every Bus implementation must pass it. A backend's test file plugs in a
// factory with OSPREY_BUS_CONFORMANCE_TESTS; the checks use Catch2 assertions.

#include <functional>
#include <memory>
#include <string>

#include "osprey/bus/bus.hpp"

namespace osprey::bustest {

struct Backend {
  // A fresh bus (fresh topics) whose queues hold at most `capacity_bytes` of payload.
  std::function<std::unique_ptr<bus::Bus>(size_t capacity_bytes)> make_bus;
  // In-process: Publish returns only after the consumer committed. Kafka: after the broker acked.
  bool publish_waits_for_commit = false;
};

void DeliversEveryMessageWithKeyAndPayload(const Backend& backend);
void KeepsOrderPerKey(const Backend& backend);
void RedeliversAfterHandlerFailure(const Backend& backend);
void DoesNotCommitBeforeHandlerOk(const Backend& backend);
void RefusesPastCapacity(const Backend& backend);
void RejectsOversizedMessages(const Backend& backend);
void StopsCleanly(const Backend& backend);

}  // namespace osprey::bustest

#define OSPREY_BUS_CONFORMANCE_TESTS(NAME, BACKEND_EXPR)                                       \
  TEST_CASE(NAME ": delivers every message with its key and payload") {                        \
    osprey::bustest::DeliversEveryMessageWithKeyAndPayload(BACKEND_EXPR);                      \
  }                                                                                            \
  TEST_CASE(NAME ": keeps order per key") { osprey::bustest::KeepsOrderPerKey(BACKEND_EXPR); } \
  TEST_CASE(NAME ": redelivers after a handler failure") {                                     \
    osprey::bustest::RedeliversAfterHandlerFailure(BACKEND_EXPR);                              \
  }                                                                                            \
  TEST_CASE(NAME ": does not commit before the handler returns OK") {                          \
    osprey::bustest::DoesNotCommitBeforeHandlerOk(BACKEND_EXPR);                               \
  }                                                                                            \
  TEST_CASE(NAME ": refuses past its byte capacity, retryably") {                              \
    osprey::bustest::RefusesPastCapacity(BACKEND_EXPR);                                        \
  }                                                                                            \
  TEST_CASE(NAME ": rejects oversized messages permanently") {                                 \
    osprey::bustest::RejectsOversizedMessages(BACKEND_EXPR);                                   \
  }                                                                                            \
  TEST_CASE(NAME ": stops cleanly") { osprey::bustest::StopsCleanly(BACKEND_EXPR); }
