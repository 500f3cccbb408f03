// StandbyResponder: what a standby's gRPC port answers while another node
// owns routing. Every call, of any service, unary or stream, ends at once
// with UNAVAILABLE, a message naming the owner, and the owner's gRPC address
// in the trailing metadata `ccrouter-owner` (kOwnerMetadataKey; absent
// while no owner is known), so a client that knows several nodes goes straight to the owner.
// Nothing is read from the caller: a standby holds no routing state a client
// may change.
//
//   StandbyResponder standby;
//   grpc::ServerBuilder builder;
//   builder.RegisterCallbackGenericService(&standby);   // no other service
//   standby.SetOwner({"10.0.0.7:7100", "10.0.0.7:7101"});  // from the election
#ifndef CCROUTER_ENGINE_CLUSTER_STANDBY_RESPONDER_H_
#define CCROUTER_ENGINE_CLUSTER_STANDBY_RESPONDER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "codec/owner_redirect.h"  // kOwnerMetadataKey

namespace ccr::cluster {

// Where the owner is, as its election key says; empty: not known.
struct OwnerAddresses {
  std::string grpc_address;  // what gRPC clients are sent to
  // For the HTTP port's answers (standby_http.h). Empty also when the owner
  // advertises none (it listens on a wildcard address without
  // --advertise-http): then answers name its gRPC address only.
  std::string http_address;
};

class StandbyResponder final : public grpc::CallbackGenericService {
 public:
  void SetOwner(OwnerAddresses owner);
  OwnerAddresses owner() const;
  // Calls answered so far (for the log and tests).
  uint64_t calls_answered() const { return calls_answered_.load(std::memory_order_relaxed); }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  mutable absl::Mutex mu_;
  OwnerAddresses owner_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> calls_answered_{0};
};

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_STANDBY_RESPONDER_H_
