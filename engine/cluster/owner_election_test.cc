// OwnerElection against real etcd members: one owner at a time, its fence
// is its key's create revision, and the owner gives way on Resign, on a
// crash (after the lease TTL), on a lost quorum (suspended by its own
// deadline, before the lease could expire; deposed a suspend limit later)
// and when its keepalives stop; it rides out a raft leader's death.
#include "engine/cluster/owner_election.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/cluster/etcd_channel.h"
#include "engine/testing/etcd_cluster.h"
#include "etcd/etcdserver/api/v3election/v3electionpb/v3election.grpc.pb.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ccr::cluster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// etcd's smallest TTL with its default election timeout (a smaller one is
// raised to it).
constexpr seconds kTtl(2);

OwnerInfo InfoOf(int node) {
  return OwnerInfo{.grpc_address = absl::StrCat("127.0.0.1:", 7100 + node),
                   .http_address = absl::StrCat("127.0.0.1:", 7180 + node),
                   .node_name = absl::StrCat("node-", node)};
}

// Starts candidates and records, with a steady clock, when each considers
// itself owner; notices at once when two do.
class OwnerElectionTest : public ::testing::Test {
 protected:
  void StartEtcd(int members) {
    ASSERT_TRUE(testing::EtcdCluster::Available()) << "/usr/bin/etcd: run tools/install-deps";
    etcd_ = std::make_unique<testing::EtcdCluster>(members);
    const absl::Status started = etcd_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  OwnerElectionOptions OptionsFor(int node) {
    auto channel = OpenEtcdChannel(etcd_->endpoints());
    EXPECT_TRUE(channel.ok()) << channel.status();
    OwnerElectionOptions options;
    options.etcd_channel = *channel;
    options.domain_prefix = DomainPrefix("test");
    options.self = InfoOf(node);
    options.lease_ttl = kTtl;
    options.safety_margin = milliseconds(500);
    options.call_timeout = milliseconds(500);
    options.retry_delay = milliseconds(100);
    options.reread_interval = milliseconds(500);
    return options;
  }

  // Starts candidate `node` (replacing one of that number that is gone).
  void StartCandidate(int node, seconds lease_ttl = kTtl,
                      milliseconds safety_margin = milliseconds(500)) {
    OwnerElection::Callbacks callbacks;
    callbacks.on_elected = [this, node](const OwnerFence& fence) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!owners_.empty()) {
        overlaps_.push_back(absl::StrCat("node-", node, " elected while node-",
                                         owners_.begin()->first, " still owner"));
      }
      owners_[node] = fence;
      held_fence_[node] = fence;
      fences_.push_back({node, fence});
      elected_at_[node] = SteadyClock::now();
      changed_.notify_all();
    };
    callbacks.on_deposed = [this, node](const std::string& reason) {
      std::lock_guard<std::mutex> lock(mu_);
      owners_.erase(node);
      held_fence_.erase(node);
      deposed_at_[node] = SteadyClock::now();
      deposed_reason_[node] = reason;
      changed_.notify_all();
    };
    // A suspended owner does not act: it leaves owners_ until it resumes.
    callbacks.on_suspended = [this, node](const std::string& reason) {
      std::lock_guard<std::mutex> lock(mu_);
      owners_.erase(node);
      suspended_at_[node] = SteadyClock::now();
      suspended_reason_[node] = reason;
      changed_.notify_all();
    };
    callbacks.on_resumed = [this, node] {
      std::lock_guard<std::mutex> lock(mu_);
      if (!owners_.empty()) {
        overlaps_.push_back(
            absl::StrCat("node-", node, " resumed while node-", owners_.begin()->first, " owner"));
      }
      owners_[node] = held_fence_.at(node);
      resumed_at_[node] = SteadyClock::now();
      changed_.notify_all();
    };
    callbacks.on_owner_changed = [this, node](const std::optional<OwnerInfo>& owner) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_owner_[node] = owner;
      changed_.notify_all();
    };
    OwnerElectionOptions options = OptionsFor(node);
    options.lease_ttl = lease_ttl;
    options.safety_margin = safety_margin;
    candidates_[node] = std::make_unique<OwnerElection>(options, std::move(callbacks));
    const absl::Status started = candidates_[node]->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  // What a kill -9 leaves: no Resign, the lease left to expire. The node's
  // ownership ends when its process does.
  void Crash(int node) {
    candidates_.erase(node);
    std::lock_guard<std::mutex> lock(mu_);
    owners_.erase(node);
    held_fence_.erase(node);
  }

  // Waits up to `within` for exactly one owner other than `not_node`.
  std::optional<int> WaitForOwner(milliseconds within, int not_node = -1) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool found = changed_.wait_for(
        lock, within, [&] { return owners_.size() == 1 && owners_.begin()->first != not_node; });
    if (!found) return std::nullopt;
    return owners_.begin()->first;
  }

  bool WaitForDeposed(int node, milliseconds within) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, within, [&] { return held_fence_.count(node) == 0; });
  }

  bool WaitForSuspended(int node, milliseconds within) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, within, [&] { return suspended_at_.count(node) == 1; });
  }

  bool WaitUntilSeen(int node, const std::optional<OwnerInfo>& owner, milliseconds within) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, within, [&] {
      auto it = seen_owner_.find(node);
      return it != seen_owner_.end() && it->second == owner;
    });
  }

  OwnerFence FenceOf(int node) {
    std::lock_guard<std::mutex> lock(mu_);
    return owners_.at(node);
  }

  // The member that is raft leader now, or -1.
  int RaftLeader() {
    for (int member = 0; member < etcd_->size(); ++member) {
      auto maintenance = etcdserverpb::Maintenance::NewStub(
          grpc::CreateChannel(etcd_->endpoint(member), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + seconds(5));
      etcdserverpb::StatusResponse status;
      if (maintenance->Status(&context, etcdserverpb::StatusRequest(), &status).ok() &&
          status.leader() == status.header().member_id()) {
        return member;
      }
    }
    return -1;
  }

  std::vector<std::string> Overlaps() {
    std::lock_guard<std::mutex> lock(mu_);
    return overlaps_;
  }

  int ElectionsSoFar() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(fences_.size());
  }

  void TearDown() override {
    candidates_.clear();  // before etcd goes
    EXPECT_EQ(Overlaps(), std::vector<std::string>{}) << "two owners at once";
  }

  std::unique_ptr<testing::EtcdCluster> etcd_;
  std::map<int, std::unique_ptr<OwnerElection>> candidates_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<int, OwnerFence> owners_;      // who acts as owner now (not suspended)
  std::map<int, OwnerFence> held_fence_;  // elected and not deposed (suspended or not)
  std::vector<std::pair<int, OwnerFence>> fences_;
  std::vector<std::string> overlaps_;
  std::map<int, SteadyClock::time_point> elected_at_;
  std::map<int, SteadyClock::time_point> deposed_at_;
  std::map<int, std::string> deposed_reason_;
  std::map<int, SteadyClock::time_point> suspended_at_;
  std::map<int, std::string> suspended_reason_;
  std::map<int, SteadyClock::time_point> resumed_at_;
  std::map<int, std::optional<OwnerInfo>> seen_owner_;
};

TEST(OwnerInfoTest, EncodesAndDecodesAndNamesWhatIsMissing) {
  const OwnerInfo info = InfoOf(3);
  const absl::StatusOr<OwnerInfo> decoded = DecodeOwnerInfo(EncodeOwnerInfo(info));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, info);
  EXPECT_TRUE(DecodeOwnerInfo("grpc_address=a:1\nlater_field=x\n").ok());
  const absl::StatusOr<OwnerInfo> missing = DecodeOwnerInfo("node_name=n\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("grpc_address"), std::string::npos);
}

TEST(OwnerElectionOptionsTest, OptionsThatCannotWorkAreRefusedByName) {
  OwnerElectionOptions options;  // refused before etcd is ever called
  options.etcd_channel = *OpenEtcdChannel("127.0.0.1:2379");
  options.domain_prefix = DomainPrefix("test");
  options.self = InfoOf(0);
  options.lease_ttl = kTtl;
  options.safety_margin = seconds(1);  // half the TTL: no room for keepalives
  OwnerElection election(options, {});
  const absl::Status started = election.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(started.message().find("safety_margin"), std::string::npos) << started;

  options.safety_margin = milliseconds(500);
  options.suspend_limit = milliseconds(-1);
  OwnerElection negative_limit(options, {});
  const absl::Status refused = negative_limit.Start();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("suspend_limit"), std::string::npos) << refused;
}

TEST_F(OwnerElectionTest, TwoCandidatesElectOneWhoseEpochIsItsKeysCreateRevision) {
  StartEtcd(1);
  StartCandidate(0);
  StartCandidate(1);
  const std::optional<int> owner = WaitForOwner(seconds(5));
  ASSERT_TRUE(owner.has_value()) << "nobody elected within 5 s";
  // Both learn who owns, the owner included.
  EXPECT_TRUE(WaitUntilSeen(0, InfoOf(*owner), seconds(5)));
  EXPECT_TRUE(WaitUntilSeen(1, InfoOf(*owner), seconds(5)));
  EXPECT_EQ(candidates_[0]->CurrentOwner(), InfoOf(*owner));
  EXPECT_EQ(candidates_[1]->CurrentOwner(), InfoOf(*owner));
  EXPECT_FALSE(candidates_[1 - *owner]->CurrentFence().has_value());

  const OwnerFence fence = FenceOf(*owner);
  EXPECT_EQ(candidates_[*owner]->CurrentFence()->epoch, fence.epoch);
  auto kv = etcdserverpb::KV::NewStub(*OpenEtcdChannel(etcd_->endpoints()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(5));
  etcdserverpb::RangeRequest request;
  request.set_key(fence.leader_key);
  etcdserverpb::RangeResponse reply;
  ASSERT_TRUE(kv->Range(&context, request, &reply).ok());
  ASSERT_EQ(reply.kvs_size(), 1) << fence.leader_key;
  EXPECT_EQ(reply.kvs(0).create_revision(), fence.epoch);
  EXPECT_NE(reply.kvs(0).lease(), 0);
  EXPECT_EQ(DecodeOwnerInfo(reply.kvs(0).value()).value(), InfoOf(*owner));

  // etcd's own election service agrees on the leader (same key layout).
  auto election = v3electionpb::Election::NewStub(*OpenEtcdChannel(etcd_->endpoints()));
  grpc::ClientContext leader_context;
  leader_context.set_deadline(std::chrono::system_clock::now() + seconds(5));
  v3electionpb::LeaderRequest leader_request;
  std::string name = candidates_[0]->election_prefix();
  name.pop_back();  // v3election appends the '/'
  leader_request.set_name(name);
  v3electionpb::LeaderResponse leader;
  ASSERT_TRUE(election->Leader(&leader_context, leader_request, &leader).ok());
  EXPECT_EQ(leader.kv().key(), fence.leader_key);
}

TEST_F(OwnerElectionTest, ResignHandsOverWithinASecondWithALargerEpoch) {
  StartEtcd(1);
  StartCandidate(0);
  StartCandidate(1);
  const std::optional<int> first = WaitForOwner(seconds(5));
  ASSERT_TRUE(first.has_value());
  const OwnerFence first_fence = FenceOf(*first);
  const int second = 1 - *first;
  EXPECT_TRUE(WaitUntilSeen(second, InfoOf(*first), seconds(5)));

  const auto resigned_at = SteadyClock::now();
  const absl::Status resigned = candidates_[*first]->Resign();
  ASSERT_TRUE(resigned.ok()) << resigned;
  EXPECT_FALSE(candidates_[*first]->CurrentFence().has_value());
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(owners_.count(*first), 0u) << "on_deposed ran before Resign returned";
    EXPECT_EQ(deposed_reason_[*first], "resigned");
  }
  ASSERT_EQ(WaitForOwner(milliseconds(1500), *first), second) << "no handover within 1.5 s";
  const auto handover = SteadyClock::now() - resigned_at;
  EXPECT_GT(FenceOf(second).epoch, first_fence.epoch);
  // The resigned node follows who owns but stands no more.
  EXPECT_TRUE(WaitUntilSeen(*first, InfoOf(second), seconds(5)));
  std::this_thread::sleep_for(kTtl);
  EXPECT_EQ(WaitForOwner(milliseconds(0)), second);
  std::cout << "handover after Resign: "
            << std::chrono::duration_cast<milliseconds>(handover).count() << " ms\n";
}

TEST_F(OwnerElectionTest, CrashedOwnerIsReplacedWithinTheTtlPlusTwoSeconds) {
  StartEtcd(1);
  StartCandidate(0);
  StartCandidate(1);
  const std::optional<int> first = WaitForOwner(seconds(5));
  ASSERT_TRUE(first.has_value());
  const OwnerFence first_fence = FenceOf(*first);
  const int second = 1 - *first;

  const auto crashed_at = SteadyClock::now();
  Crash(*first);
  ASSERT_EQ(WaitForOwner(kTtl + seconds(2), *first), second)
      << "no successor within TTL + 2 s of the crash";
  const auto failover = SteadyClock::now() - crashed_at;
  EXPECT_GT(FenceOf(second).epoch, first_fence.epoch);
  EXPECT_TRUE(WaitUntilSeen(second, InfoOf(second), seconds(5)));
  std::cout << "failover after a crash: "
            << std::chrono::duration_cast<milliseconds>(failover).count() << " ms\n";
}

TEST_F(OwnerElectionTest, OwnerWithoutQuorumSuspendsBeforeItsLeaseCouldExpireThenIsDeposed) {
  StartEtcd(3);
  StartCandidate(0);
  StartCandidate(1);
  const std::optional<int> first = WaitForOwner(seconds(5));
  ASSERT_TRUE(first.has_value());
  const int64_t first_epoch = FenceOf(*first).epoch;

  // The raft leader goes, and one follower: the member left cannot renew a
  // lease. (A leader left alone would renew leases for another election
  // timeout, until it notices it lost the quorum and steps down.)
  const int leader = RaftLeader();
  ASSERT_GE(leader, 0);
  const int follower = (leader + 1) % 3;
  const auto lost_at = SteadyClock::now();
  etcd_->Kill(leader);
  etcd_->Kill(follower);
  // Its last answered keepalive was sent before the kill: the lease cannot
  // expire before lost_at + TTL, and the owner must stop acting before; it
  // gives ownership up a suspend limit (here the TTL) later.
  ASSERT_TRUE(WaitForSuspended(*first, kTtl)) << "owner still acting a TTL after quorum loss";
  EXPECT_FALSE(candidates_[*first]->CurrentFence().has_value()) << "a fence while suspended";
  ASSERT_TRUE(WaitForDeposed(*first, kTtl + milliseconds(500)))
      << "owner still owner two TTLs after quorum loss";
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_LT(suspended_at_[*first] - lost_at, kTtl);
    EXPECT_NE(suspended_reason_[*first].find("not renewed"), std::string::npos)
        << suspended_reason_[*first];
    EXPECT_LT(deposed_at_[*first] - lost_at, 2 * kTtl);
    EXPECT_GE(deposed_at_[*first] - suspended_at_[*first], kTtl - milliseconds(50));
    EXPECT_NE(deposed_reason_[*first].find("not renewed"), std::string::npos)
        << deposed_reason_[*first];
    EXPECT_EQ(resumed_at_.count(*first), 0u);
  }
  // Without a quorum nobody can be elected.
  const int elections = ElectionsSoFar();
  std::this_thread::sleep_for(kTtl + seconds(1));
  EXPECT_EQ(ElectionsSoFar(), elections);
  EXPECT_FALSE(WaitForOwner(milliseconds(0)).has_value());

  ASSERT_TRUE(etcd_->Restart(leader).ok());
  ASSERT_TRUE(etcd_->Restart(follower).ok());
  const std::optional<int> next = WaitForOwner(seconds(10));
  ASSERT_TRUE(next.has_value()) << "nobody elected within 10 s of the quorum's return";
  EXPECT_GT(FenceOf(*next).epoch, first_epoch);
}

// Losing one etcd member of three, even the raft leader, is a non-event:
// with the default TTL the owner's keepalives get through again (to another
// member, once a new raft leader is elected). The two members left take 1 to
// 3 s and more to elect one (a split vote starts over): often past the
// owner's local deadline, so it may be suspended meanwhile, but never
// deposed, and it goes on with the same fence.
TEST_F(OwnerElectionTest, OwnerKeepsOwningWhenTheRaftLeaderDies) {
  StartEtcd(3);
  constexpr seconds kDefaultTtl(3);
  StartCandidate(0, kDefaultTtl);
  StartCandidate(1, kDefaultTtl);
  const std::optional<int> owner = WaitForOwner(seconds(5));
  ASSERT_TRUE(owner.has_value());
  const OwnerFence fence = FenceOf(*owner);
  const int leader = RaftLeader();
  ASSERT_GE(leader, 0);
  const auto killed_at = SteadyClock::now();
  etcd_->Kill(leader);
  // Long enough for the local deadline to pass had the keepalives failed
  // since the kill; then the owner acts again (resumed, if it was suspended)
  // within the suspend limit.
  std::this_thread::sleep_for(kDefaultTtl + seconds(1));
  EXPECT_EQ(WaitForOwner(kDefaultTtl), *owner);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(deposed_at_.count(*owner), 0u) << deposed_reason_[*owner];
  ASSERT_EQ(owners_.size(), 1u);
  EXPECT_EQ(owners_.begin()->first, *owner);
  EXPECT_EQ(owners_.begin()->second.epoch, fence.epoch);
  EXPECT_EQ(fences_.size(), 1u);
  if (suspended_at_.count(*owner) == 1) {
    ASSERT_EQ(resumed_at_.count(*owner), 1u);
    std::cout << "suspended "
              << std::chrono::duration_cast<milliseconds>(suspended_at_[*owner] - killed_at).count()
              << " ms after the raft leader's kill, resumed "
              << std::chrono::duration_cast<milliseconds>(resumed_at_[*owner] - killed_at).count()
              << " ms after\n";
  } else {
    std::cout << "not suspended\n";
  }
}

// An owner whose keepalives come back before etcd expires its lease resumes
// with the same fence: nobody else was elected meanwhile.
TEST_F(OwnerElectionTest, SuspendedOwnerResumesWhenEtcdRenewsItsLeaseInTime) {
  StartEtcd(1);
  // Suspended 3.5 s after its last answered keepalive, while etcd keeps
  // the lease 5 s after receiving it: 1.5 s to renew it.
  constexpr seconds kLongTtl(5);
  constexpr milliseconds kWideMargin(1500);
  StartCandidate(0, kLongTtl, kWideMargin);
  StartCandidate(1, kLongTtl, kWideMargin);
  const std::optional<int> first = WaitForOwner(seconds(5));
  ASSERT_TRUE(first.has_value());
  const OwnerFence fence = FenceOf(*first);

  candidates_[*first]->PauseKeepalivesForTesting(true);
  ASSERT_TRUE(WaitForSuspended(*first, kLongTtl)) << "not suspended a TTL after the pause";
  EXPECT_FALSE(candidates_[*first]->CurrentFence().has_value()) << "a fence while suspended";
  candidates_[*first]->PauseKeepalivesForTesting(false);
  ASSERT_EQ(WaitForOwner(seconds(1)), *first) << "not resumed within 1 s of its keepalives";
  ASSERT_TRUE(candidates_[*first]->CurrentFence().has_value());
  EXPECT_EQ(candidates_[*first]->CurrentFence()->epoch, fence.epoch);
  // It goes on owning: its lease is renewed again, and nobody else stands first.
  std::this_thread::sleep_for(seconds(2));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(deposed_at_.count(*first), 0u) << deposed_reason_[*first];
  ASSERT_EQ(owners_.size(), 1u);
  EXPECT_EQ(owners_.begin()->first, *first);
  EXPECT_EQ(fences_.size(), 1u);
}

// A key deleted by hand: the owner learns it from the watch. (With a second
// candidate, that one may be elected by the same event before the owner's
// deposition has run: only the fence keeps such an owner's writes out.)
TEST_F(OwnerElectionTest, OwnerWhoseKeyIsDeletedIsDeposedAndStandsAgain) {
  StartEtcd(1);
  StartCandidate(0);
  const std::optional<int> first = WaitForOwner(seconds(5));
  ASSERT_TRUE(first.has_value());
  const OwnerFence first_fence = FenceOf(*first);

  auto kv = etcdserverpb::KV::NewStub(*OpenEtcdChannel(etcd_->endpoints()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(5));
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(first_fence.leader_key);
  etcdserverpb::DeleteRangeResponse reply;
  ASSERT_TRUE(kv->DeleteRange(&context, request, &reply).ok());
  ASSERT_EQ(reply.deleted(), 1);

  ASSERT_TRUE(WaitForDeposed(*first, seconds(2))) << "owner kept going without its key";
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_NE(deposed_reason_[*first].find("deleted"), std::string::npos)
        << deposed_reason_[*first];
  }
  // It stands again with a new key: a new fence.
  ASSERT_EQ(WaitForOwner(seconds(3)), 0);
  EXPECT_NE(FenceOf(0).leader_key, first_fence.leader_key);
  EXPECT_GT(FenceOf(0).epoch, first_fence.epoch);
}

TEST_F(OwnerElectionTest, OwnerWhoseKeepalivesStopIsSuspendedBeforeTheOtherIsElected) {
  StartEtcd(1);
  StartCandidate(0);
  StartCandidate(1);
  const std::optional<int> first = WaitForOwner(seconds(5));
  ASSERT_TRUE(first.has_value());
  const int second = 1 - *first;

  const auto paused_at = SteadyClock::now();
  candidates_[*first]->PauseKeepalivesForTesting(true);
  ASSERT_EQ(WaitForOwner(kTtl + seconds(2), *first), second);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_TRUE(suspended_at_.count(*first));
    EXPECT_LT(suspended_at_[*first] - paused_at, kTtl);
    EXPECT_LT(suspended_at_[*first], elected_at_[second]);
  }
  // etcd expired its lease and so deleted its key: deposed at once, not
  // after the suspend limit.
  ASSERT_TRUE(WaitForDeposed(*first, seconds(1)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_NE(deposed_reason_[*first].find("deleted"), std::string::npos)
        << deposed_reason_[*first];
  }
}

// Owners come and go by every route while three stand; at no instant do two
// consider themselves owner (checked in every on_elected, and in TearDown).
TEST_F(OwnerElectionTest, ThreeCandidatesNeverOwnAtOnceThroughResignCrashAndPause) {
  StartEtcd(1);
  for (int node = 0; node < 3; ++node) StartCandidate(node);
  std::optional<int> owner = WaitForOwner(seconds(5));
  ASSERT_TRUE(owner.has_value());
  int64_t epoch = FenceOf(*owner).epoch;
  for (int round = 0; round < 6; ++round) {
    const int leaving = *owner;
    switch (round % 3) {
      case 0:
        ASSERT_TRUE(candidates_[leaving]->Resign().ok());
        break;
      case 1:
        Crash(leaving);
        break;
      case 2:
        candidates_[leaving]->PauseKeepalivesForTesting(true);
        break;
    }
    owner = WaitForOwner(kTtl + seconds(3), leaving);
    ASSERT_TRUE(owner.has_value()) << "round " << round << ": no new owner";
    EXPECT_GT(FenceOf(*owner).epoch, epoch) << "round " << round;
    epoch = FenceOf(*owner).epoch;
    // The one that left stands again as a fresh candidate.
    candidates_.erase(leaving);
    StartCandidate(leaving);
  }
  EXPECT_EQ(Overlaps(), std::vector<std::string>{});
}

}  // namespace
}  // namespace ccr::cluster
