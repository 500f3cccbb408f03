// The etcd test fixture itself: members start, serve reads and writes, and
// a cluster without a quorum refuses writes until the quorum is back.
#include "engine/testing/etcd_cluster.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ccr::testing {
namespace {

grpc::Status Put(const std::string& endpoint, const std::string& key, const std::string& value,
                 std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  auto kv =
      etcdserverpb::KV::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  etcdserverpb::PutResponse reply;
  return kv->Put(&context, request, &reply);
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
  ASSERT_TRUE(Put(etcd.endpoint(0), "/k", "v1").ok());
  EXPECT_EQ(Get(etcd.endpoint(2), "/k"), "v1");  // linearizable read through another member

  etcd.Kill(1);  // one of three: still a quorum
  ASSERT_TRUE(Put(etcd.endpoint(0), "/k", "v2").ok());

  etcd.Kill(2);  // two of three: no quorum, the write cannot commit
  EXPECT_FALSE(Put(etcd.endpoint(0), "/k", "v3", std::chrono::milliseconds(1500)).ok());

  const absl::Status back = etcd.Restart(2);
  ASSERT_TRUE(back.ok()) << back;
  EXPECT_TRUE(Put(etcd.endpoint(0), "/k", "v4").ok());
  EXPECT_EQ(Get(etcd.endpoint(2), "/k"), "v4");
}

}  // namespace
}  // namespace ccr::testing
