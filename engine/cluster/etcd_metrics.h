// EtcdCallMetrics: every call this node makes to etcd, timed and its errors
// counted (ccr_cluster_etcd_request_seconds, ccr_cluster_etcd_errors_total),
// by a client interceptor on the etcd channel, so no caller has to remember
// to. An SRE sees etcd's latency and failures as this node lives them.
//
//   auto metrics = std::make_shared<EtcdCallMetrics>(registry);
//   OpenEtcdChannel(endpoints, metrics);  // every call on it is counted
//
// Counting a unary call takes no lock (the methods etcd serves are fixed at
// construction; unknown ones count as "other"); an error's first count per
// code takes the counter family's lock.
#ifndef CCROUTER_ENGINE_CLUSTER_ETCD_METRICS_H_
#define CCROUTER_ENGINE_CLUSTER_ETCD_METRICS_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/client_interceptor.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"

namespace ccr::cluster {

class EtcdCallMetrics {
 public:
  // `registry` must outlive this object.
  explicit EtcdCallMetrics(metrics::MetricsRegistry& registry);

  struct Method {
    std::string name;                               // "Txn"
    bool streaming = false;                         // Watch, LeaseKeepAlive: errors only
    metrics::LatencyHistogram* duration = nullptr;  // unary only
  };
  // The entry for "/etcdserverpb.KV/Txn" ("other" when unknown). Lock-free.
  const Method& Find(absl::string_view full_method) const;
  // Counts a call that ended with `code` (non-OK).
  void CountError(const Method& method, int code);

  // A factory for the channel's interceptors; it holds `self`.
  static std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewFactory(
      std::shared_ptr<EtcdCallMetrics> self);

 private:
  metrics::MetricsRegistry& registry_;
  absl::flat_hash_map<std::string, Method> methods_;  // constant after construction
  Method other_;
};

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_ETCD_METRICS_H_
