#include "engine/cluster/etcd_channel.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/cluster/etcd_metrics.h"

namespace ccr::cluster {

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenEtcdChannel(
    absl::string_view endpoints, std::shared_ptr<EtcdCallMetrics> metrics) {
  std::vector<std::string> addresses;
  for (absl::string_view endpoint : absl::StrSplit(endpoints, ',', absl::SkipWhitespace())) {
    endpoint = absl::StripAsciiWhitespace(endpoint);
    absl::ConsumePrefix(&endpoint, "http://");
    const size_t colon = endpoint.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint \"", endpoint, "\": want host:port"));
    }
    std::string host(endpoint.substr(0, colon));
    if (host == "localhost") host = "127.0.0.1";
    addresses.push_back(absl::StrCat(host, ":", port));
  }
  if (addresses.empty()) return absl::InvalidArgumentError("etcd endpoints: none given");
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A member that stops answering (paused, partitioned) is noticed by
  // keepalive pings as well as by each call's deadline. etcd answers pings
  // more often than --grpc-keepalive-min-time (5 s by default) with GOAWAY
  // "too_many_pings", so no more often than that, and only during calls.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 6000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // The ipv4: scheme takes a list of addresses; pick_first walks it.
  const std::string target = absl::StrCat("ipv4:", absl::StrJoin(addresses, ","));
  if (metrics == nullptr) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(EtcdCallMetrics::NewFactory(std::move(metrics)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, grpc::InsecureChannelCredentials(), args, std::move(interceptors));
}

std::string DomainPrefix(absl::string_view domain) {
  return absl::StrCat("/ccrouter/", domain, "/");
}

}  // namespace ccr::cluster
