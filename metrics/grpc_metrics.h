// GrpcMetrics: every gRPC call the server finishes, counted by service,
// method and status code, with its duration: the RED view of the edge.
// A server interceptor does the counting, so no service has to remember to.
//
//   GrpcMetrics grpc_metrics(registry, {"/ccrouter.v1.ContactIngest/Submit", ...});
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(grpc_metrics.NewInterceptorFactory());
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// Counting takes no lock: the methods are fixed at construction (unknown
// ones count as method "other"), each with an array of atomic counters by
// code; only non-zero counts are exported.
#ifndef CCROUTER_METRICS_GRPC_METRICS_H_
#define CCROUTER_METRICS_GRPC_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "grpcpp/support/server_interceptor.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"

namespace ccr::metrics {

// "UNAVAILABLE" for 14: grpc::StatusCode's name (UNKNOWN out of range).
const char* GrpcCodeName(int code);

class GrpcMetrics {
 public:
  // `full_methods`: "/package.Service/Method" of every method served.
  GrpcMetrics(MetricsRegistry& registry, const std::vector<std::string>& full_methods);
  ~GrpcMetrics();

  // The factory refers to this object, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  struct Method {
    std::string service;                              // "ccrouter.v1.ContactIngest"
    std::string name;                                 // "Submit"
    std::array<std::atomic<uint64_t>, 17> by_code{};  // grpc::StatusCode 0..16
    LatencyHistogram* duration = nullptr;
  };
  // The entry for a full method name ("other" when unknown). Lock-free.
  Method& Find(absl::string_view full_method);

 private:
  std::vector<prometheus::MetricFamily> Scrape() const;

  absl::flat_hash_map<std::string, std::unique_ptr<Method>>
      methods_;  // constant after construction
  std::unique_ptr<Method> other_;
};

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_GRPC_METRICS_H_
