// The etcd command log against real etcd members: batches made durable in
// order with the owner's epoch, a deposed owner refused, large batches split,
// a lost quorum reported within the request timeout, snapshots that load the
// same router and prune the log, and a follower that sees each command.
#include "engine/cluster/etcd_command_log.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "engine/cluster/etcd_calls.h"
#include "engine/cluster/etcd_channel.h"
#include "engine/cluster/etcd_log_reader.h"
#include "engine/journal/snapshot_codec.h"
#include "engine/testing/etcd_cluster.h"
#include "engine/testing/random_commands.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "router/router_state.h"

namespace ccr::cluster {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
const std::string kPrefix = DomainPrefix("test");
const std::string kLeaderKey = "/ccrouter/test/election/owner";

std::shared_ptr<grpc::Channel> Channel(const testing::EtcdCluster& etcd) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenEtcdChannel(etcd.endpoints());
  EXPECT_TRUE(channel.ok()) << channel.status();
  return *channel;
}

// The owner's election key, made by hand: its create revision is the epoch.
OwnerFence MakeFence(const std::shared_ptr<grpc::Channel>& channel, const std::string& key) {
  auto kv = etcdserverpb::KV::NewStub(channel);
  etcdserverpb::PutRequest put;
  put.set_key(key);
  put.set_value("engine-a");
  etcdserverpb::PutResponse put_reply;
  const absl::Status s = CallEtcd("put", absl::Now() + absl::Seconds(10), [&](auto& context) {
    return kv->Put(&context, put, &put_reply);
  });
  EXPECT_TRUE(s.ok()) << s;
  return OwnerFence{key, put_reply.header().revision()};
}

// Every key under `prefix` (values included), read straight from etcd.
std::vector<mvccpb::KeyValue> Keys(const std::shared_ptr<grpc::Channel>& channel,
                                   const std::string& prefix) {
  auto kv = etcdserverpb::KV::NewStub(channel);
  etcdserverpb::RangeRequest range;
  range.set_key(prefix);
  range.set_range_end(PrefixEnd(prefix));
  etcdserverpb::RangeResponse reply;
  const absl::Status s = CallEtcd("range", absl::Now() + absl::Seconds(10), [&](auto& context) {
    return kv->Range(&context, range, &reply);
  });
  EXPECT_TRUE(s.ok()) << s;
  return {reply.kvs().begin(), reply.kvs().end()};
}

void DeleteKey(const std::shared_ptr<grpc::Channel>& channel, const std::string& key) {
  auto kv = etcdserverpb::KV::NewStub(channel);
  etcdserverpb::DeleteRangeRequest erase;
  erase.set_key(key);
  etcdserverpb::DeleteRangeResponse reply;
  const absl::Status s = CallEtcd("delete", absl::Now() + absl::Seconds(10), [&](auto& context) {
    return kv->DeleteRange(&context, erase, &reply);
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(reply.deleted(), 1);
}

// What the log reported, in arrival order.
class Reports {
 public:
  CommandLog::BatchCallback Callback() {
    return [this](const BatchReport& r) {
      absl::MutexLock lock(&mu_);
      reports_.push_back(r);
    };
  }
  // Waits until a report reaches `last` (or any report failed).
  std::vector<BatchReport> WaitFor(uint64_t last, absl::Duration within = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto done = [&] {
      mu_.AssertHeld();
      for (const BatchReport& r : reports_) {
        if (r.last >= last || !r.status.ok()) return true;
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&done), within);
    return reports_;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    reports_.clear();
  }

 private:
  absl::Mutex mu_;
  std::vector<BatchReport> reports_ ABSL_GUARDED_BY(mu_);
};

// Reports cover first..last contiguously, in order, all OK.
void ExpectDurableInOrder(const std::vector<BatchReport>& reports, uint64_t first, uint64_t last) {
  uint64_t next = first;
  for (const BatchReport& r : reports) {
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.first, next);
    next = r.last + 1;
  }
  EXPECT_EQ(next, last + 1);
}

v1::Command Genesis() {
  v1::Command genesis;
  ToTimestamp(kT0, genesis.mutable_time());
  genesis.mutable_apply_config()->set_config_yaml(std::string(DefaultConfigYaml()));
  return genesis;
}

// Writes the genesis command at index 1 and waits until it is durable; the
// reports are cleared after.
v1::Command WriteGenesis(EtcdCommandLog& log, Reports& reports) {
  v1::Command genesis = Genesis();
  log.Append(genesis);
  log.Flush();
  ExpectDurableInOrder(reports.WaitFor(1), 1, 1);
  reports.Clear();
  return genesis;
}

std::vector<v1::Command> ReadAll(const CommandLog& log, uint64_t first, absl::Status* status) {
  std::vector<v1::Command> out;
  *status = log.ReadFrom(first, [&](const v1::Command& cmd) {
    out.push_back(cmd);
    return true;
  });
  return out;
}

void ExpectSameCommands(const std::vector<v1::Command>& got, const std::vector<v1::Command>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(got[i], want[i])) << "command " << i;
  }
}

TEST(EtcdCommandLogTest, BatchesAreDurableInOrderAndReadBackWithTheirEpoch) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  // An empty domain loads as an empty data directory does.
  absl::StatusOr<Recovered> empty = LoadFromEtcd(channel, kPrefix);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->router, nullptr);
  EXPECT_EQ(empty->next_index, 1u);

  const OwnerFence fence = MakeFence(channel, kLeaderKey);
  Reports reports;
  EtcdCommandLog log(channel, kPrefix, fence, 1, reports.Callback());
  testing::RandomCommands gen(1, kT0);
  std::vector<v1::Command> appended;
  appended.push_back(Genesis());
  log.Append(appended.back());
  for (int i = 0; i < 30; ++i) {
    appended.push_back(gen.Next());
    EXPECT_EQ(log.Append(appended.back()), static_cast<uint64_t>(i + 2));
    if (i % 10 == 9) log.Flush();
  }
  log.Flush();
  ExpectDurableInOrder(reports.WaitFor(31), 1, 31);
  EXPECT_EQ(log.next_index(), 32u);

  absl::Status read;
  ExpectSameCommands(ReadAll(log, 1, &read), appended);
  EXPECT_TRUE(read.ok()) << read;
  // From the middle of a chunk.
  ExpectSameCommands(ReadAll(log, 17, &read),
                     std::vector<v1::Command>(appended.begin() + 16, appended.end()));
  EXPECT_TRUE(read.ok()) << read;
  // Every chunk carries the owner's epoch and starts at its key's index.
  const std::vector<mvccpb::KeyValue> keys = Keys(channel, kPrefix + "log/");
  ASSERT_FALSE(keys.empty());
  for (const mvccpb::KeyValue& kv : keys) {
    v1::LogChunk chunk;
    ASSERT_TRUE(chunk.ParseFromString(kv.value())) << kv.key();
    EXPECT_EQ(chunk.epoch(), static_cast<uint64_t>(fence.epoch)) << kv.key();
    EXPECT_EQ(kv.key(), LogKey(kPrefix, chunk.commands(0).index()));
  }
}

TEST(EtcdCommandLogTest, ADeposedOwnerWritesNothingThenOrLater) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  const OwnerFence fence = MakeFence(channel, kLeaderKey);
  Reports reports;
  EtcdCommandLog log(channel, kPrefix, fence, 1, reports.Callback());
  DeleteKey(channel, kLeaderKey);  // the lease expired: the owner lost the election

  v1::Command genesis = Genesis();
  log.Append(genesis);
  log.Flush();
  std::vector<BatchReport> got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(got[0].status.message()),
              HasSubstr(absl::StrCat("deposed: ", kLeaderKey, " is no longer the owner (epoch ",
                                     fence.epoch, ")")));
  EXPECT_TRUE(log.deposed());

  // Another engine wins: the key exists again, with a later epoch. The old
  // owner still writes nothing.
  const OwnerFence successor = MakeFence(channel, kLeaderKey);
  EXPECT_GT(successor.epoch, fence.epoch);
  reports.Clear();
  log.DiscardUnwritten();
  EXPECT_EQ(log.Append(genesis), 1u);
  log.Flush();
  got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(std::string(got[0].status.message()), HasSubstr("deposed"));
  EXPECT_TRUE(Keys(channel, kPrefix + "log/").empty());

  absl::Notification snapshot_done;
  absl::Status snapshot_status;
  log.WriteSnapshot(SnapshotSource{1, kT0, "", std::make_shared<RouterState>()},
                    [&](absl::Status s) {
                      snapshot_status = s;
                      snapshot_done.Notify();
                    });
  ASSERT_TRUE(snapshot_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(std::string(snapshot_status.message()), HasSubstr("deposed"));
  EXPECT_TRUE(Keys(channel, kPrefix + "log/").empty());
  EXPECT_TRUE(Keys(channel, kPrefix + "snapshot/").empty());
}

void PutKey(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
            const std::string& value) {
  auto kv = etcdserverpb::KV::NewStub(channel);
  etcdserverpb::PutRequest put;
  put.set_key(key);
  put.set_value(value);
  etcdserverpb::PutResponse reply;
  const absl::Status s = CallEtcd("put", absl::Now() + absl::Seconds(10),
                                  [&](auto& context) { return kv->Put(&context, put, &reply); });
  ASSERT_TRUE(s.ok()) << s;
}

// A chunk of `commands` from `first`, as another owner (epoch 999) wrote it.
std::string ForeignChunk(uint64_t first, int commands) {
  v1::LogChunk chunk;
  chunk.set_epoch(999);
  for (int i = 0; i < commands; ++i) {
    v1::Command* cmd = chunk.add_commands();
    *cmd = Genesis();
    cmd->set_index(first + i);
  }
  return chunk.SerializeAsString();
}

TEST(EtcdCommandLogTest, AnIndexAnotherWriterHoldsIsRefusedWithoutOverwritingIt) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  const std::string foreign = ForeignChunk(1, 2);
  PutKey(channel, LogKey(kPrefix, 1), foreign);
  Reports reports;
  EtcdCommandLog log(channel, kPrefix, MakeFence(channel, kLeaderKey), 1, reports.Callback());
  v1::Command genesis = Genesis();
  log.Append(genesis);
  log.Flush();
  const std::vector<BatchReport> got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(got[0].status.message()),
              HasSubstr(absl::StrCat(LogKey(kPrefix, 1),
                                     " already holds another writer's chunk "
                                     "(epoch 999")));
  EXPECT_FALSE(log.deposed());  // the fence held: this is not an election loss
  const std::vector<mvccpb::KeyValue> keys = Keys(channel, kPrefix + "log/");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].value(), foreign);
}

TEST(EtcdCommandLogTest, ABatchLargerThanOneChunkGoesAsSeveralAndReadsBackWhole) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  Reports reports;
  EtcdCommandLog log(channel, kPrefix, MakeFence(channel, kLeaderKey), 1, reports.Callback(),
                     EtcdLogOptions{.chunk_bytes = 2048});
  testing::RandomCommands gen(2, kT0);
  std::vector<v1::Command> appended;
  appended.push_back(Genesis());
  log.Append(appended.back());
  for (int i = 0; i < 79; ++i) {
    appended.push_back(gen.Next());
    log.Append(appended.back());
  }
  log.Flush();  // one batch of 80
  const std::vector<BatchReport> got = reports.WaitFor(80);
  ExpectDurableInOrder(got, 1, 80);
  EXPECT_GT(got.size(), 2u);
  EXPECT_EQ(Keys(channel, kPrefix + "log/").size(), got.size());  // a chunk per report
  absl::Status read;
  ExpectSameCommands(ReadAll(log, 1, &read), appended);
  EXPECT_TRUE(read.ok()) << read;
}

// After the batch at index 2 failed (nothing of it written): the strand
// discards it, the next command takes index 2, and the log reads back
// `genesis` and that command.
void ExpectIndexTwoWrittenAgain(EtcdCommandLog& log, Reports& reports, testing::RandomCommands& gen,
                                const v1::Command& genesis) {
  reports.Clear();
  log.DiscardUnwritten();
  v1::Command again = gen.Next();
  EXPECT_EQ(log.Append(again), 2u);
  log.Flush();
  const std::vector<BatchReport> got = reports.WaitFor(2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].status.ok()) << got[0].status;
  absl::Status read;
  ExpectSameCommands(ReadAll(log, 1, &read), {genesis, again});
  EXPECT_TRUE(read.ok()) << read;
}

TEST(EtcdCommandLogTest, AQuorumLostFailsTheBatchInTimeAndTheIndexIsReusedOnceItIsBack) {
  testing::EtcdCluster etcd(3);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  Reports reports;
  const EtcdLogOptions options{.request_timeout = absl::Seconds(2)};
  EtcdCommandLog log(channel, kPrefix, MakeFence(channel, kLeaderKey), 1, reports.Callback(),
                     options);
  const v1::Command genesis = WriteGenesis(log, reports);

  etcd.Kill(1);
  etcd.Kill(2);
  testing::RandomCommands gen(3, kT0);
  v1::Command lost = gen.Next();
  EXPECT_EQ(log.Append(lost), 2u);
  const absl::Time flushed = absl::Now();
  log.Flush();
  std::vector<BatchReport> got = reports.WaitFor(2, absl::Seconds(20));
  const absl::Duration waited = absl::Now() - flushed;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kUnavailable) << got[0].status;
  EXPECT_LT(waited, options.request_timeout + absl::Seconds(2));

  ASSERT_TRUE(etcd.Restart(1).ok());
  ASSERT_TRUE(etcd.Restart(2).ok());
  ExpectIndexTwoWrittenAgain(log, reports, gen, genesis);
}

// A suspended owner (OwnerElection: its lease not renewed in time) writes
// nothing, although its fence still holds in etcd. A batch waits up to a
// request timeout for the suspension to end: written if it does (a raft
// election is over), refused if not, and then the index is written again.
TEST(EtcdCommandLogTest, ASuspendedOwnersBatchWaitsForItToResumeOrFailsAfterTheTimeout) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  Reports reports;
  auto suspended = std::make_shared<std::atomic<bool>>(false);
  const EtcdLogOptions options{.request_timeout = absl::Milliseconds(500), .suspended = suspended};
  EtcdCommandLog log(channel, kPrefix, MakeFence(channel, kLeaderKey), 1, reports.Callback(),
                     options);
  const v1::Command genesis = WriteGenesis(log, reports);

  // Suspended past the request timeout: refused, nothing written.
  const size_t keys_before = Keys(channel, kPrefix).size();
  suspended->store(true);
  testing::RandomCommands gen(3, kT0);
  v1::Command held = gen.Next();
  EXPECT_EQ(log.Append(held), 2u);
  const absl::Time flushed = absl::Now();
  log.Flush();
  std::vector<BatchReport> got = reports.WaitFor(2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kUnavailable) << got[0].status;
  EXPECT_NE(got[0].status.message().find("suspended"), std::string::npos) << got[0].status;
  EXPECT_GE(absl::Now() - flushed, options.request_timeout);
  EXPECT_EQ(Keys(channel, kPrefix).size(), keys_before) << "written while suspended";
  suspended->store(false);
  ExpectIndexTwoWrittenAgain(log, reports, gen, genesis);

  // Suspended for less than the request timeout: written once it resumes.
  reports.Clear();
  suspended->store(true);
  v1::Command waits = gen.Next();
  EXPECT_EQ(log.Append(waits), 3u);
  log.Flush();
  EXPECT_TRUE(reports.WaitFor(3, absl::Milliseconds(200)).empty()) << "not held while suspended";
  EXPECT_EQ(Keys(channel, kPrefix).size(), keys_before + 1);
  suspended->store(false);
  got = reports.WaitFor(3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].status.ok()) << got[0].status;
  absl::Status read;
  const std::vector<v1::Command> all = ReadAll(log, 1, &read);
  EXPECT_TRUE(read.ok()) << read;
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(MessageDifferencer::Equals(all[2], waits));
}

v1::RouterStateRecord Encoded(const Router& r) {
  v1::RouterStateRecord out;
  RouterStateToProto(r.Save(), &out);
  return out;
}

// Drives a live router with random commands through the etcd log, as the
// engine does (apply once durable).
class LoggedRun {
 public:
  LoggedRun(std::shared_ptr<grpc::Channel> channel, OwnerFence fence, EtcdLogOptions options)
      : gen_(4, kT0, testing::RandomCommandOptions{.config_yaml = yaml_}),
        log_(std::move(channel), kPrefix, std::move(fence), 1, reports_.Callback(), options) {
    live_ = *Router::Create(*LoadRouterConfig(yaml_));
    v1::Command genesis = Genesis();
    last_index_ = log_.Append(genesis);
    appended_.push_back(genesis);
  }

  void Steps(int n) {
    for (int i = 0; i < n; ++i) {
      v1::Command cmd = gen_.Next();
      last_index_ = log_.Append(cmd);
      appended_.push_back(cmd);
      if (i % 8 == 7) log_.Flush();
      (void)ApplyCommand(*live_, cmd);
      std::vector<Event> events = live_->TakeEvents();
      for (const Event& e : events) EventToWire(e, e.sequence, &events_.emplace_back());
      gen_.Observe(std::move(events));
    }
    log_.Flush();
    for (const BatchReport& r : reports_.WaitFor(last_index_)) {
      ASSERT_TRUE(r.status.ok()) << r.status;
    }
  }

  absl::Status Snapshot() {
    absl::Notification done;
    absl::Status status;
    log_.WriteSnapshot(
        SnapshotSource{last_index_, kT0, yaml_, std::make_shared<RouterState>(live_->Save())},
        [&](absl::Status s) {
          status = s;
          done.Notify();
        });
    if (!done.WaitForNotificationWithTimeout(absl::Seconds(20))) {
      return absl::DeadlineExceededError("snapshot not done in 20 s");
    }
    return status;
  }

  EtcdCommandLog& log() { return log_; }
  const Router& live() const { return *live_; }
  uint64_t last_index() const { return last_index_; }
  const std::vector<v1::Command>& appended() const { return appended_; }
  // Every event the live router made, as the owner would send it.
  const std::vector<v1::LifecycleEvent>& events() const { return events_; }

 private:
  const std::string yaml_{DefaultConfigYaml()};
  testing::RandomCommands gen_;
  Reports reports_;
  EtcdCommandLog log_;
  std::unique_ptr<Router> live_;
  uint64_t last_index_ = 0;
  std::vector<v1::Command> appended_;
  std::vector<v1::LifecycleEvent> events_;
};

TEST(EtcdCommandLogTest, ASnapshotLoadsTheSameRouterAndPrunesTheLogBeforeIt) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  // Small parts and chunks, so the snapshot spans several parts.
  LoggedRun run(channel, MakeFence(channel, kLeaderKey),
                EtcdLogOptions{.chunk_bytes = 4096, .snapshot_part_bytes = 4096});
  run.Steps(300);
  // Before any snapshot: the whole log replays from its genesis config.
  absl::StatusOr<Recovered> replayed = LoadFromEtcd(channel, kPrefix);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  ASSERT_NE(replayed->router, nullptr);
  EXPECT_EQ(replayed->report.records_replayed, run.last_index());
  EXPECT_TRUE(MessageDifferencer::Equals(Encoded(*replayed->router), Encoded(run.live())));

  const uint64_t snapshot_index = run.last_index();
  const absl::Status snapshot = run.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot;
  EXPECT_GT(Keys(channel, kPrefix + "snapshot/").size(), 2u);  // parts + latest
  run.Steps(100);

  absl::StatusOr<Recovered> loaded = LoadFromEtcd(channel, kPrefix);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_NE(loaded->router, nullptr);
  EXPECT_EQ(loaded->report.snapshot_index, snapshot_index);
  EXPECT_EQ(loaded->next_index, run.last_index() + 1);
  EXPECT_EQ(loaded->report.records_replayed, run.last_index() - snapshot_index);
  std::string differences;
  MessageDifferencer diff;
  diff.ReportDifferencesToString(&differences);
  EXPECT_TRUE(diff.Compare(Encoded(*loaded->router), Encoded(run.live())))
      << differences.substr(0, 4000);
  EXPECT_GT(run.live().live_contacts(), 0u) << "the run exercised too little";

  // The log before the snapshot is gone: whole chunks it covers were deleted.
  absl::Status read;
  EXPECT_TRUE(ReadAll(run.log(), 1, &read).empty());
  EXPECT_EQ(read.code(), absl::StatusCode::kOutOfRange) << read;
  const std::vector<mvccpb::KeyValue> chunks = Keys(channel, kPrefix + "log/");
  ASSERT_FALSE(chunks.empty());
  v1::LogChunk oldest;
  ASSERT_TRUE(oldest.ParseFromString(chunks.front().value()));
  EXPECT_GT(oldest.commands(oldest.commands_size() - 1).index(), snapshot_index);
  EXPECT_LE(oldest.commands(0).index(), snapshot_index + 1);
}

// A standby that has to load again (its follower fell behind, or a write it
// had seen was replaced) keeps the events the replay after the snapshot
// re-creates, numbered as the owner numbered them: a watcher that saw only
// events since that snapshot resumes on it with no gap.
TEST(EtcdCommandLogTest, ALoadKeepsTheEventsItsReplayAfterTheSnapshotRecreates) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  LoggedRun run(channel, MakeFence(channel, kLeaderKey), EtcdLogOptions{});
  run.Steps(150);
  ASSERT_TRUE(run.Snapshot().ok());
  const size_t before_snapshot = run.events().size();
  run.Steps(150);
  ASSERT_GT(run.events().size(), before_snapshot + 10) << "the run made too few events";

  // With a window larger than what followed the snapshot: all of it.
  absl::StatusOr<Recovered> loaded =
      LoadFromEtcd(channel, kPrefix, absl::Seconds(10), nullptr, /*event_window=*/100000);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::vector<v1::LifecycleEvent> after(run.events().begin() + before_snapshot,
                                              run.events().end());
  ASSERT_EQ(loaded->recent_events.size(), after.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(loaded->recent_events[i], after[i])) << "event " << i;
  }
  // A smaller window keeps the newest; none at all replays with events off.
  loaded = LoadFromEtcd(channel, kPrefix, absl::Seconds(10), nullptr, /*event_window=*/5);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->recent_events.size(), 5u);
  EXPECT_EQ(loaded->recent_events.back().sequence(), after.back().sequence());
  loaded = LoadFromEtcd(channel, kPrefix);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->recent_events.empty());
}

TEST(EtcdCommandLogTest, AFollowerSeesEachCommandInOrderAndSaysOutOfRangeOncePruned) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  LoggedRun run(channel, MakeFence(channel, kLeaderKey), EtcdLogOptions{.chunk_bytes = 4096});
  run.Steps(20);

  absl::Mutex mu;
  std::vector<v1::Command> seen;
  std::vector<absl::Status> errors;
  auto collect = [&](const v1::Command& cmd) {
    absl::MutexLock lock(&mu);
    seen.push_back(cmd);
  };
  auto fail = [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    errors.push_back(s);
  };
  LogFollower follower(channel, kPrefix, 1, collect, fail);
  follower.Start();
  run.Steps(60);  // while it watches
  {
    absl::MutexLock lock(&mu);
    auto caught_up = [&] {
      mu.AssertHeld();
      return seen.size() >= run.appended().size() || !errors.empty();
    };
    mu.AwaitWithTimeout(absl::Condition(&caught_up), absl::Seconds(10));
    EXPECT_TRUE(errors.empty()) << errors.front();
    ExpectSameCommands(seen, run.appended());
  }
  follower.Stop();

  // A snapshot prunes the log and compacts etcd: a follower from index 1
  // cannot go on in order.
  ASSERT_TRUE(run.Snapshot().ok());
  seen.clear();
  LogFollower late(channel, kPrefix, 1, collect, fail);
  late.Start();
  absl::MutexLock lock(&mu);
  auto failed = [&] {
    mu.AssertHeld();
    return !errors.empty();
  };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&failed), absl::Seconds(10)));
  EXPECT_EQ(errors.front().code(), absl::StatusCode::kOutOfRange) << errors.front();
  EXPECT_TRUE(seen.empty());
}

TEST(EtcdCommandLogTest, AFollowerSaysOutOfRangeWhenDeliveredIndexesAreWrittenAgain) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  LoggedRun run(channel, MakeFence(channel, kLeaderKey), EtcdLogOptions{});
  run.Steps(10);
  absl::Mutex mu;
  size_t seen = 0;
  std::vector<absl::Status> errors;
  LogFollower follower(
      channel, kPrefix, 1,
      [&](const v1::Command&) {
        absl::MutexLock lock(&mu);
        ++seen;
      },
      [&](const absl::Status& s) {
        absl::MutexLock lock(&mu);
        errors.push_back(s);
      });
  follower.Start();
  {
    absl::MutexLock lock(&mu);
    auto caught_up = [&] {
      mu.AssertHeld();
      return seen == run.appended().size();
    };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&caught_up), absl::Seconds(10)));
  }
  // Indexes 5 and 6 again, with other commands (what a failed write that
  // committed after all, and was replaced, looks like to a follower).
  PutKey(channel, LogKey(kPrefix, 5), ForeignChunk(5, 2));
  absl::MutexLock lock(&mu);
  auto failed = [&] {
    mu.AssertHeld();
    return !errors.empty();
  };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&failed), absl::Seconds(10)));
  EXPECT_EQ(errors.front().code(), absl::StatusCode::kOutOfRange) << errors.front();
  EXPECT_THAT(std::string(errors.front().message()), HasSubstr("got index 5 where"));
  EXPECT_EQ(seen, run.appended().size());
}

// A write given up while etcd was paused may still commit once it resumes
// (etcd reads the request from its socket then). The log must not trip over
// it: the next write at that index deletes it first, and what reads back is
// what the engine was told is durable.
TEST(EtcdCommandLogTest, AWriteGivenUpThatCommittedLaterIsReplacedBeforeItsIndexIsReused) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  Reports reports;
  EtcdCommandLog log(channel, kPrefix, MakeFence(channel, kLeaderKey), 1, reports.Callback(),
                     EtcdLogOptions{.request_timeout = absl::Milliseconds(500)});
  const v1::Command genesis = WriteGenesis(log, reports);

  // Whether the given-up put commits depends on what etcd reads first on
  // waking (the request or its cancellation): try until one did, so the
  // repair is exercised (almost always within a few rounds). A round whose
  // put did not commit ends with a good write at that index.
  testing::RandomCommands gen(5, kT0);
  std::vector<v1::Command> durable = {genesis};
  bool committed_anyway = false;
  for (int round = 0; round < 8 && !committed_anyway; ++round) {
    const uint64_t index = log.next_index();
    reports.Clear();
    etcd.Stop(0);
    v1::Command given_up = gen.Next();
    EXPECT_EQ(log.Append(given_up), index);
    log.Flush();
    std::vector<BatchReport> got = reports.WaitFor(index);
    etcd.Resume(0);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].status.code(), absl::StatusCode::kUnavailable) << got[0].status;
    absl::SleepFor(absl::Milliseconds(500));  // let etcd apply what it read on waking
    committed_anyway = Keys(channel, LogKey(kPrefix, index)).size() == 1;

    reports.Clear();
    log.DiscardUnwritten();
    durable.push_back(gen.Next());
    EXPECT_EQ(log.Append(durable.back()), index);  // the index is reused
    log.Flush();
    got = reports.WaitFor(index);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].status.ok()) << got[0].status;
  }
  if (!committed_anyway) std::cerr << "note: no given-up put committed; repair not exercised\n";
  absl::Status read;
  ExpectSameCommands(ReadAll(log, 1, &read), durable);
  EXPECT_TRUE(read.ok()) << read;
}

TEST(EtcdCommandLogTest, AFollowerStartedFromALoadContinuesWhereItEndedUntilEtcdIsCompacted) {
  testing::EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto channel = Channel(etcd);
  LoggedRun run(channel, MakeFence(channel, kLeaderKey), EtcdLogOptions{});
  run.Steps(20);
  int64_t revision = 0;
  absl::StatusOr<Recovered> loaded = LoadFromEtcd(channel, kPrefix, absl::Seconds(10), &revision);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_GT(revision, 0);

  absl::Mutex mu;
  std::vector<v1::Command> seen;
  std::vector<absl::Status> errors;
  auto collect = [&](const v1::Command& cmd) {
    absl::MutexLock lock(&mu);
    seen.push_back(cmd);
  };
  auto fail = [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    errors.push_back(s);
  };
  LogFollower follower(channel, kPrefix, loaded->next_index, collect, fail, absl::Seconds(2),
                       revision);
  follower.Start();
  run.Steps(20);
  const std::vector<v1::Command> after_load(run.appended().begin() + (loaded->next_index - 1),
                                            run.appended().end());
  {
    absl::MutexLock lock(&mu);
    auto caught_up = [&] {
      mu.AssertHeld();
      return seen.size() >= after_load.size() || !errors.empty();
    };
    mu.AwaitWithTimeout(absl::Condition(&caught_up), absl::Seconds(10));
    EXPECT_TRUE(errors.empty()) << errors.front();
    ExpectSameCommands(seen, after_load);
  }
  follower.Stop();

  // A standby that loaded, then lost the race with a snapshot's compaction,
  // cannot watch from where its load ended.
  loaded = LoadFromEtcd(channel, kPrefix, absl::Seconds(10), &revision);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  run.Steps(5);
  ASSERT_TRUE(run.Snapshot().ok());
  {
    absl::MutexLock lock(&mu);
    seen.clear();
  }
  LogFollower stale(channel, kPrefix, loaded->next_index, collect, fail, absl::Seconds(2),
                    revision);
  stale.Start();
  absl::MutexLock lock(&mu);
  auto failed = [&] {
    mu.AssertHeld();
    return !errors.empty();
  };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&failed), absl::Seconds(10)));
  EXPECT_EQ(errors.front().code(), absl::StatusCode::kOutOfRange) << errors.front();
  EXPECT_THAT(std::string(errors.front().message()), HasSubstr("compacted"));
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace ccr::cluster
