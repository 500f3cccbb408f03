// FakeStandby: a cluster-mode standby for client tests. It answers every
// call (any service, unary or stream) the way a standby ccrouterd does:
// UNAVAILABLE, "standby: the owner is at HOST:PORT" (or "standby: no owner
// elected yet"), and the trailing metadata `ccrouter-owner: HOST:PORT` when
// it names an owner (codec/owner_redirect.h).
//
//   FakeStandby standby(owner.address());   // on a free loopback port
//   RunClient("--server", standby.address());
//   EXPECT_EQ(standby.calls(), 1);
#ifndef CCR_ENGINE_TESTING_FAKE_STANDBY_H_
#define CCR_ENGINE_TESTING_FAKE_STANDBY_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

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
  int calls() const { return calls_.load(); }

 private:
  class Service;

  std::atomic<int> calls_{0};
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace ccr::testing

#endif  // CCR_ENGINE_TESTING_FAKE_STANDBY_H_
