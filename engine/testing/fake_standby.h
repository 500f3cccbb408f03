// FakeStandby: a cluster-mode standby for client tests: the standby's own
// answer (engine/cluster/standby_responder.h) on a free loopback port, with
// no etcd behind it. Every call (any service, unary or stream) gets
// UNAVAILABLE, "standby: the owner is at HOST:PORT" (or "standby: no owner
// elected yet; retry shortly"), and the trailing metadata
// `ccrouter-owner: HOST:PORT` when it names an owner.
//
//   FakeStandby standby(owner.address());   // on a free loopback port
//   RunClient("--server", standby.address());
//   EXPECT_EQ(standby.calls(), 1);
#ifndef CCR_ENGINE_TESTING_FAKE_STANDBY_H_
#define CCR_ENGINE_TESTING_FAKE_STANDBY_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "engine/cluster/standby_responder.h"

namespace ccr::testing {

class FakeStandby {
 public:
  // `owner` empty: no owner known (no metadata).
  explicit FakeStandby(std::string owner);
  ~FakeStandby();
  FakeStandby(const FakeStandby&) = delete;
  FakeStandby& operator=(const FakeStandby&) = delete;

  // "127.0.0.1:PORT".
  const std::string& address() const { return address_; }
  // Calls answered so far.
  int calls() const { return static_cast<int>(responder_.calls_answered()); }

 private:
  cluster::StandbyResponder responder_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace ccr::testing

#endif  // CCR_ENGINE_TESTING_FAKE_STANDBY_H_
