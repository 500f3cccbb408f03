// What both halves of cluster mode (the etcd command log and the owner
// election) share: the gRPC channel to etcd, and the fence an owner's writes
// carry.
#ifndef CCROUTER_ENGINE_CLUSTER_ETCD_CHANNEL_H_
#define CCROUTER_ENGINE_CLUSTER_ETCD_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ccr::cluster {

class EtcdCallMetrics;

// One channel to the etcd members in `endpoints` ("host:port,host:port",
// IPv4 literals or "localhost"): it talks to one member and moves to the
// next when that one goes away. Reconnects within a second of a member's
// return (gRPC's default backoff grows to two minutes, which would stall a
// failover). INVALID_ARGUMENT names the endpoint that cannot be used.
// `metrics` (may be null): every call on the channel is timed and its errors
// counted (etcd_metrics.h).
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenEtcdChannel(
    absl::string_view endpoints, std::shared_ptr<EtcdCallMetrics> metrics = nullptr);

// The owner's right to write, from its election: etcd refuses any write
// that carries a fence whose leader key is gone or was re-created.
struct OwnerFence {
  std::string leader_key;  // the owner's key under the election prefix
  int64_t epoch = 0;       // that key's create revision: grows with every new owner
};

// The keys of one routing domain live under "/ccrouter/<domain>/".
std::string DomainPrefix(absl::string_view domain);

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_ETCD_CHANNEL_H_
