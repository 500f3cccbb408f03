#include "engine/cluster/etcd_metrics.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/catalogue.h"
#include "metrics/grpc_metrics.h"

namespace ccr::cluster {

namespace {

namespace gx = grpc::experimental;

// One per call: times a unary call, and counts a call's error status.
class CallInterceptor final : public gx::Interceptor {
 public:
  CallInterceptor(EtcdCallMetrics& metrics, const EtcdCallMetrics::Method& method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::POST_RECV_STATUS)) {
      const grpc::Status* status = methods->GetRecvStatus();
      const int code = status != nullptr ? static_cast<int>(status->error_code()) : 2;
      if (method_.duration != nullptr) {
        method_.duration->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      }
      // A stream ends CANCELLED when this node closes it: not etcd's fault.
      const bool own_close = method_.streaming && code == static_cast<int>(grpc::CANCELLED);
      if (code != 0 && !own_close) metrics_.CountError(method_, code);
    }
    methods->Proceed();
  }

 private:
  EtcdCallMetrics& metrics_;
  const EtcdCallMetrics::Method& method_;
  const std::chrono::steady_clock::time_point start_;
};

class Factory final : public gx::ClientInterceptorFactoryInterface {
 public:
  explicit Factory(std::shared_ptr<EtcdCallMetrics> metrics) : metrics_(std::move(metrics)) {}
  gx::Interceptor* CreateClientInterceptor(gx::ClientRpcInfo* info) override {
    return new CallInterceptor(*metrics_, metrics_->Find(info->method() ? info->method() : ""));
  }

 private:
  std::shared_ptr<EtcdCallMetrics> metrics_;
};

}  // namespace

EtcdCallMetrics::EtcdCallMetrics(metrics::MetricsRegistry& registry) : registry_(registry) {
  metrics::HistogramFamily& durations =
      registry.Histograms(metrics::kClusterEtcdRequestSeconds, metrics::MillisecondBuckets());
  struct Known {
    const char* full;
    const char* name;
    bool streaming;
  };
  // What this node calls (etcd_calls, the election, the log and its reader).
  static constexpr Known kKnown[] = {
      {"/etcdserverpb.KV/Range", "Range", false},
      {"/etcdserverpb.KV/Put", "Put", false},
      {"/etcdserverpb.KV/DeleteRange", "DeleteRange", false},
      {"/etcdserverpb.KV/Txn", "Txn", false},
      {"/etcdserverpb.KV/Compact", "Compact", false},
      {"/etcdserverpb.Lease/LeaseGrant", "LeaseGrant", false},
      {"/etcdserverpb.Lease/LeaseRevoke", "LeaseRevoke", false},
      {"/etcdserverpb.Lease/LeaseTimeToLive", "LeaseTimeToLive", false},
      {"/etcdserverpb.Lease/LeaseKeepAlive", "LeaseKeepAlive", true},
      {"/etcdserverpb.Watch/Watch", "Watch", true},
  };
  for (const Known& k : kKnown) {
    Method& m = methods_[k.full];
    m.name = k.name;
    m.streaming = k.streaming;
    if (!k.streaming) m.duration = &durations.Add({k.name});
  }
  other_.name = "other";
  other_.duration = &durations.Add({"other"});
}

const EtcdCallMetrics::Method& EtcdCallMetrics::Find(absl::string_view full_method) const {
  const auto it = methods_.find(full_method);
  return it == methods_.end() ? other_ : it->second;
}

void EtcdCallMetrics::CountError(const Method& method, int code) {
  registry_.Counter(metrics::kClusterEtcdErrors, {method.name, metrics::GrpcCodeName(code)})
      .Increment();
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> EtcdCallMetrics::NewFactory(
    std::shared_ptr<EtcdCallMetrics> self) {
  return std::make_unique<Factory>(std::move(self));
}

}  // namespace ccr::cluster
