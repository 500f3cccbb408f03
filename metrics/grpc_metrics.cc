#include "metrics/grpc_metrics.h"

#include <chrono>

#include "absl/strings/str_split.h"

namespace ccr::metrics {

namespace {

namespace gx = grpc::experimental;

// One per call: counts the status it finishes with (CANCELLED when it ends
// without sending one, e.g. the client went away).
class CallInterceptor final : public gx::Interceptor {
 public:
  explicit CallInterceptor(GrpcMetrics::Method& method)
      : method_(method), start_(std::chrono::steady_clock::now()) {}
  ~CallInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (!recorded_ &&
        methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    const int c = static_cast<int>(code);
    method_.by_code[c >= 0 && c < 17 ? c : 2].fetch_add(1, std::memory_order_relaxed);
    method_.duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

  GrpcMetrics::Method& method_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class InterceptorFactory final : public gx::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(GrpcMetrics& metrics) : metrics_(metrics) {}
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_.Find(info->method() ? info->method() : ""));
  }

 private:
  GrpcMetrics& metrics_;
};

}  // namespace

const char* GrpcCodeName(int code) {
  static constexpr const char* kCodeNames[] = {"OK",
                                               "CANCELLED",
                                               "UNKNOWN",
                                               "INVALID_ARGUMENT",
                                               "DEADLINE_EXCEEDED",
                                               "NOT_FOUND",
                                               "ALREADY_EXISTS",
                                               "PERMISSION_DENIED",
                                               "RESOURCE_EXHAUSTED",
                                               "FAILED_PRECONDITION",
                                               "ABORTED",
                                               "OUT_OF_RANGE",
                                               "UNIMPLEMENTED",
                                               "INTERNAL",
                                               "UNAVAILABLE",
                                               "DATA_LOSS",
                                               "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kCodeNames[code] : "UNKNOWN";
}

GrpcMetrics::GrpcMetrics(MetricsRegistry& registry, const std::vector<std::string>& full_methods) {
  HistogramFamily& durations = registry.Histograms(kGrpcDuration, MillisecondBuckets());
  auto make = [&](std::string service, std::string name) {
    auto m = std::make_unique<Method>();
    m->duration = &durations.Add({service, name});
    m->service = std::move(service);
    m->name = std::move(name);
    return m;
  };
  for (const std::string& full : full_methods) {
    // "/package.Service/Method"
    std::vector<std::string> parts = absl::StrSplit(full, '/', absl::SkipEmpty());
    if (parts.size() != 2) continue;
    methods_[full] = make(parts[0], parts[1]);
  }
  other_ = make("other", "other");
  registry.AddScrapeSource([this] { return Scrape(); });
}

GrpcMetrics::~GrpcMetrics() = default;

GrpcMetrics::Method& GrpcMetrics::Find(absl::string_view full_method) {
  auto it = methods_.find(full_method);
  return it == methods_.end() ? *other_ : *it->second;
}

std::unique_ptr<gx::ServerInterceptorFactoryInterface> GrpcMetrics::NewInterceptorFactory() {
  return std::make_unique<InterceptorFactory>(*this);
}

std::vector<prometheus::MetricFamily> GrpcMetrics::Scrape() const {
  prometheus::MetricFamily family;
  family.name = std::string(kGrpcHandled.name);
  family.help = std::string(kGrpcHandled.help);
  family.type = prometheus::MetricType::Counter;
  auto add = [&](const Method& m) {
    for (int c = 0; c < 17; ++c) {
      const uint64_t n = m.by_code[c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      prometheus::ClientMetric& s = family.metric.emplace_back();
      s.label = {{"code", GrpcCodeName(c)}, {"method", m.name}, {"service", m.service}};
      s.counter.value = static_cast<double>(n);
    }
  };
  for (const auto& [full, m] : methods_) add(*m);
  add(*other_);
  return {std::move(family)};
}

}  // namespace ccr::metrics
