// The etcd test fixture itself (members start, serve reads and writes; a
// cluster without a quorum refuses writes until the quorum is back), and the
// channel to several members that moves on when the one it uses dies.
#include "engine/testing/etcd_cluster.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/cluster/etcd_channel.h"
#include "engine/cluster/etcd_metrics.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "metrics/grpc_metrics.h"
#include "metrics/registry.h"

namespace ccr::testing {
namespace {

// Puts through a channel to `endpoints`, retrying for up to `within`: while
// the members elect a new leader (a second or two after the old one dies)
// etcd answers at once with "no leader" rather than waiting.
grpc::Status Put(const std::string& endpoints, const std::string& key, const std::string& value,
                 std::chrono::milliseconds within = std::chrono::seconds(10)) {
  auto channel = cluster::OpenEtcdChannel(endpoints);
  if (!channel.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad endpoints");
  auto kv = etcdserverpb::KV::NewStub(*channel);
  const auto give_up = std::chrono::system_clock::now() + within;
  grpc::Status status;
  do {
    grpc::ClientContext context;
    context.set_deadline(give_up);
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    etcdserverpb::PutResponse reply;
    status = kv->Put(&context, request, &reply);
    if (status.ok()) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::system_clock::now() < give_up);
  return status;
}

std::string Get(const std::string& endpoint, const std::string& key) {
  auto kv =
      etcdserverpb::KV::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  etcdserverpb::RangeResponse reply;
  const grpc::Status status = kv->Range(&context, request, &reply);
  if (!status.ok()) return "error: " + status.error_message();
  return reply.kvs_size() == 1 ? reply.kvs(0).value() : "<none>";
}

TEST(EtcdClusterTest, ThreeMembersServeAndAQuorumLostRefusesWritesUntilItReturns) {
  ASSERT_TRUE(EtcdCluster::Available()) << "/usr/bin/etcd: run tools/install-deps";
  EtcdCluster etcd(3);
  const absl::Status started = etcd.Start();
  ASSERT_TRUE(started.ok()) << started;
  ASSERT_TRUE(Put(etcd.endpoints(), "/k", "v1").ok());
  EXPECT_EQ(Get(etcd.endpoint(2), "/k"), "v1");  // linearizable read through another member

  etcd.Kill(0);  // one of three: still a quorum, reached through the others
  ASSERT_TRUE(Put(etcd.endpoints(), "/k", "v2").ok());
  EXPECT_EQ(Get(etcd.endpoint(1), "/k"), "v2");

  etcd.Kill(2);  // two of three: no quorum, the write cannot commit
  EXPECT_FALSE(Put(etcd.endpoint(1), "/k", "v3", std::chrono::milliseconds(1500)).ok());

  const absl::Status back = etcd.Restart(2);
  ASSERT_TRUE(back.ok()) << back;
  EXPECT_TRUE(Put(etcd.endpoints(), "/k", "v4").ok());
  EXPECT_EQ(Get(etcd.endpoint(2), "/k"), "v4");
}

TEST(EtcdChannelTest, AnEndpointThatIsNotHostAndPortIsRefusedByName) {
  const auto channel = cluster::OpenEtcdChannel("127.0.0.1:2379, etcd-b");
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(channel.status().message().find("\"etcd-b\""), std::string::npos) << channel.status();
  EXPECT_FALSE(cluster::OpenEtcdChannel(" , ").ok());
  EXPECT_TRUE(cluster::OpenEtcdChannel("http://localhost:2379,127.0.0.1:2380").ok());
}

TEST(EtcdCallMetricsTest, EveryCallOnTheChannelIsTimedAndItsErrorsCountedByMethodAndCode) {
  ASSERT_TRUE(EtcdCluster::Available()) << "/usr/bin/etcd: run tools/install-deps";
  EtcdCluster etcd(1);
  const absl::Status started = etcd.Start();
  ASSERT_TRUE(started.ok()) << started;
  metrics::MetricsRegistry registry("test");
  auto channel = cluster::OpenEtcdChannel(etcd.endpoints(),
                                          std::make_shared<cluster::EtcdCallMetrics>(registry));
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto kv = etcdserverpb::KV::NewStub(*channel);
  etcdserverpb::RangeRequest request;
  request.set_key("/k");
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    etcdserverpb::RangeResponse reply;
    ASSERT_TRUE(kv->Range(&context, request, &reply).ok());
  }
  etcdserverpb::RangeRequest bad;  // etcd refuses a range without a key
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  etcdserverpb::RangeResponse reply;
  const grpc::Status refused = kv->Range(&context, bad, &reply);
  ASSERT_FALSE(refused.ok());

  const std::string text = registry.Exposition();
  EXPECT_NE(text.find("ccr_cluster_etcd_request_seconds_count{method=\"Range\"} 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(absl::StrCat("ccr_cluster_etcd_errors_total{code=\"",
                                   metrics::GrpcCodeName(refused.error_code()),
                                   "\",method=\"Range\"} 1")),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace ccr::testing
