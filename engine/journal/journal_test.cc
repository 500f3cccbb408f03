// Tests of durability: CRC32C, record framing, the journal writer, snapshots
// and recovery (torn tails, corrupt middles, replay equality).
#include "engine/journal/journal.h"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "engine/journal/crc32c.h"
#include "engine/journal/journal_format.h"
#include "engine/journal/recovery.h"
#include "engine/journal/snapshot_codec.h"
#include "engine/testing/random_commands.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "router/router_state.h"

namespace ccr {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void Spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

TEST(Crc32c, MatchesTheStandardCheckValueOnBothPaths) {
  const std::string check = "123456789";
  EXPECT_EQ(Crc32c(check.data(), check.size()), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable(check.data(), check.size()), 0xE3069283u);
  std::mt19937 rng(7);
  for (int len : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4099}) {
    std::string data(len, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    EXPECT_EQ(Crc32c(data.data(), data.size()), Crc32cPortable(data.data(), data.size()))
        << "length " << len;
    // Incremental use gives the same value as one pass.
    const size_t half = data.size() / 2;
    EXPECT_EQ(Crc32c(data.data() + half, data.size() - half, Crc32c(data.data(), half)),
              Crc32c(data.data(), data.size()));
  }
}

TEST(Framing, RoundTripsAndNamesEveryKindOfDamage) {
  std::string data;
  AppendFrame("first", &data);
  AppendFrame("second record", &data);
  FrameRead a = ReadFrame(data, 0);
  ASSERT_EQ(a.kind, FrameRead::kRecord);
  EXPECT_EQ(a.payload, "first");
  FrameRead b = ReadFrame(data, a.next);
  ASSERT_EQ(b.kind, FrameRead::kRecord);
  EXPECT_EQ(b.payload, "second record");
  EXPECT_EQ(ReadFrame(data, b.next).kind, FrameRead::kEnd);

  // A partial header, a partial payload: truncated.
  EXPECT_EQ(ReadFrame(data.substr(0, 5), 0).kind, FrameRead::kTruncated);
  FrameRead partial = ReadFrame(data.substr(0, a.next + 10), a.next);
  EXPECT_EQ(partial.kind, FrameRead::kTruncated);
  EXPECT_THAT(partial.problem, HasSubstr("partial record (2 of 13 bytes)"));
  // A flipped payload bit: corrupt, with both checksums named.
  std::string flipped = data;
  flipped[kFrameHeaderBytes + 1] ^= 0x10;
  FrameRead bad = ReadFrame(flipped, 0);
  EXPECT_EQ(bad.kind, FrameRead::kCorrupt);
  EXPECT_THAT(bad.problem, HasSubstr("checksum mismatch"));
  // An absurd length: corrupt, not a 4 GiB allocation.
  std::string huge = data;
  huge[3] = '\x7f';
  EXPECT_EQ(ReadFrame(huge, 0).kind, FrameRead::kCorrupt);
  // Zero length never happens in a written journal.
  std::string zero(kFrameHeaderBytes, '\0');
  EXPECT_EQ(ReadFrame(zero, 0).kind, FrameRead::kCorrupt);
}

// The journal serializes each command straight into its batch: the bytes
// must be the frame of the serialized command, appended after what is there.
TEST(Framing, MessageFramesAreTheFramesOfTheSerializedMessage) {
  v1::Command cmd;
  cmd.set_index(7);
  cmd.mutable_submit()->mutable_contact()->set_idempotency_key("k-1");
  (*cmd.mutable_submit()->mutable_contact()->mutable_attributes())["crm"] = "42";
  v1::Command next;
  next.set_index(8);
  std::string expected = "already here";
  AppendFrame(cmd.SerializeAsString(), &expected);
  AppendFrame(next.SerializeAsString(), &expected);
  std::string data = "already here";
  AppendMessageFrame(cmd, &data);
  AppendMessageFrame(next, &data);
  EXPECT_EQ(data, expected);
  FrameRead read = ReadFrame(data, std::string("already here").size());
  ASSERT_EQ(read.kind, FrameRead::kRecord);
  v1::Command back;
  ASSERT_TRUE(back.ParseFromArray(read.payload.data(), static_cast<int>(read.payload.size())));
  EXPECT_EQ(back.submit().contact().attributes().at("crm"), "42");
}

TEST(Framing, FileNamesAndHeadersRoundTrip) {
  EXPECT_EQ(SegmentFileName(42), "journal-00000000000000000042.ccj");
  EXPECT_EQ(SegmentIndexFromName(SegmentFileName(42)), 42u);
  EXPECT_EQ(SnapshotIndexFromName(SnapshotFileName(7)), 7u);
  EXPECT_EQ(SegmentIndexFromName("journal-42.ccj"), std::nullopt);
  EXPECT_EQ(SnapshotIndexFromName(SegmentFileName(42)), std::nullopt);
  EXPECT_EQ(*ParseSegmentHeader(SegmentHeader(99)), 99u);
  EXPECT_FALSE(ParseSegmentHeader("CCRJNL0").ok());
  EXPECT_FALSE(ParseSegmentHeader("XXXXXXXX01234567").ok());
}

// Drives a live router with random commands, journalling each one, and
// taking snapshots along the way, like the engine does.
class JournalledRun {
 public:
  JournalledRun(const std::string& dir, uint64_t seed, uint64_t segment_bytes = 4096)
      : yaml_(DefaultConfigYaml()),
        gen_(seed, kT0, testing::RandomCommandOptions{.config_yaml = yaml_}) {
    JournalOptions options;
    options.dir = dir;
    options.segment_bytes = segment_bytes;
    journal_ = *Journal::Open(options, 1,
                              [](const BatchReport& r) { EXPECT_TRUE(r.status.ok()) << r.status; });
    live_ = *Router::Create(*LoadRouterConfig(yaml_));
    v1::Command genesis;
    ToTimestamp(kT0, genesis.mutable_time());
    genesis.mutable_apply_config()->set_config_yaml(yaml_);
    journal_->Append(genesis);
  }

  void Snapshot() {
    auto written = std::make_shared<std::promise<void>>();
    std::future<void> written_future = written->get_future();
    auto state = std::make_shared<RouterState>(live_->Save());
    const uint64_t index = last_index_;
    journal_->WriteSnapshot(SnapshotSource{index, kT0, yaml_, std::move(state)},
                            [written](absl::Status s) {
                              EXPECT_TRUE(s.ok()) << s;
                              written->set_value();
                            });
    // Waits, so how many snapshots exist does not depend on machine load (a
    // request while one is being written would be refused).
    written_future.wait();
  }

  void RandomSteps(int n, int snapshot_every) {
    for (int step = 0; step < n; ++step) {
      v1::Command cmd = gen_.Next();
      if (step % 7 == 3) {
        // Timers run between commands, and nothing is journalled for them:
        // replay re-derives them from the commands' times.
        live_->Tick(CommandTime(cmd) - absl::Milliseconds(1));
        gen_.Observe(live_->TakeEvents());
      }
      last_index_ = journal_->Append(cmd);
      journal_->Flush();
      (void)ApplyCommand(*live_, cmd);
      gen_.Observe(live_->TakeEvents());
      if (snapshot_every > 0 && step % snapshot_every == snapshot_every - 1) Snapshot();
    }
  }

  // Stops the writer after everything pending is written.
  void Close() { journal_.reset(); }

  Router& live() { return *live_; }
  uint64_t last_index() const { return last_index_; }

 private:
  std::string yaml_;
  testing::RandomCommands gen_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Router> live_;
  uint64_t last_index_ = 1;
};

v1::RouterStateRecord Encoded(const Router& r) {
  v1::RouterStateRecord out;
  RouterStateToProto(r.Save(), &out);
  return out;
}

void ExpectSameState(const Router& a, const Router& b, const std::string& context) {
  google::protobuf::util::MessageDifferencer diff;
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(Encoded(a), Encoded(b))) << context << "\n" << report.substr(0, 4000);
}

TEST(Recovery, ReplayRebuildsExactlyTheLiveState) {
  int snapshots_used = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    TempDir dir("ccr-journal");
    JournalledRun run(dir.path(), seed);
    run.RandomSteps(400, seed % 3 == 0 ? 0 : 90);
    run.Close();
    absl::StatusOr<Recovered> r = Recover({dir.path()});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_NE(r->router, nullptr);
    EXPECT_EQ(r->next_index, run.last_index() + 1) << "seed " << seed;
    EXPECT_TRUE(r->report.dropped.empty()) << r->report.dropped.front();
    snapshots_used += !r->report.snapshot_file.empty();
    ExpectSameState(*r->router, run.live(), absl::StrCat("seed ", seed));
    EXPECT_TRUE(r->router->CheckInvariants().ok());
    EXPECT_GT(run.live().live_contacts(), 0u) << "seed " << seed << " exercised too little";
  }
  EXPECT_GE(snapshots_used, 6) << "most runs should have recovered from a snapshot";
}

TEST(Recovery, OldSegmentsAndSnapshotsArePrunedButRecoveryStillWorks) {
  TempDir dir("ccr-journal");
  JournalledRun run(dir.path(), 99, /*segment_bytes=*/2048);
  run.RandomSteps(1500, 100);
  run.Close();
  absl::StatusOr<JournalFiles> files = ListJournalFiles(dir.path());
  ASSERT_TRUE(files.ok());
  EXPECT_LE(files->snapshots.size(), 2u);
  ASSERT_FALSE(files->segments.empty());
  EXPECT_GT(files->segments.front().first, 1u) << "segments covered by snapshots are deleted";
  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSameState(*r->router, run.live(), "pruned");
}

std::string LastSegment(const std::string& dir) {
  return ListJournalFiles(dir)->segments.back().second;
}

TEST(Recovery, TornTailIsCutOffAndReported) {
  TempDir dir("ccr-journal");
  JournalledRun run(dir.path(), 5, /*segment_bytes=*/1 << 30);
  run.RandomSteps(200, 0);
  run.Close();
  const std::string seg = LastSegment(dir.path());
  const std::string intact = Slurp(seg);
  // A crash mid-write: half of one more record.
  v1::Command extra;
  extra.set_index(run.last_index() + 1);
  extra.mutable_engine_started();
  std::string frame;
  AppendFrame(extra.SerializeAsString(), &frame);
  Spit(seg, intact + frame.substr(0, frame.size() / 2));

  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->report.dropped.size(), 1u);
  EXPECT_THAT(r->report.dropped[0], HasSubstr("torn tail"));
  EXPECT_THAT(r->report.dropped[0], HasSubstr(absl::StrCat("offset ", intact.size())));
  EXPECT_EQ(r->next_index, run.last_index() + 1);
  EXPECT_EQ(Slurp(seg), intact) << "the file is cut back to its last good record";
  ExpectSameState(*r->router, run.live(), "torn tail");

  // Garbage (a bad checksum) as the very last record is a torn tail too.
  std::string garbled = frame;
  garbled[kFrameHeaderBytes + 2] ^= 0x55;
  Spit(seg, intact + garbled);
  r = Recover({dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->report.dropped.at(0), HasSubstr("checksum mismatch"));
  EXPECT_EQ(Slurp(seg), intact);
}

TEST(Recovery, CorruptionInTheMiddleStopsStartUpUnlessSkipping) {
  TempDir dir("ccr-journal");
  JournalledRun run(dir.path(), 6, /*segment_bytes=*/1 << 30);
  run.RandomSteps(200, 0);
  run.Close();
  const std::string seg = LastSegment(dir.path());
  std::string data = Slurp(seg);
  // Damage the payload of the tenth record.
  size_t offset = kSegmentHeaderBytes;
  for (int i = 0; i < 9; ++i) offset = ReadFrame(data, offset).next;
  data[offset + kFrameHeaderBytes + 3] ^= 0x01;
  Spit(seg, data);

  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr(seg));
  EXPECT_THAT(r.status().message(), HasSubstr(absl::StrCat("offset ", offset)));
  EXPECT_THAT(r.status().message(), HasSubstr("--recover-skip-corrupt"));
  EXPECT_EQ(Slurp(seg), data) << "a refused recovery changes nothing";

  r = Recover({dir.path(), /*skip_corrupt=*/true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GE(r->report.dropped.size(), 1u);
  EXPECT_THAT(r->report.dropped[0], HasSubstr(absl::StrCat("offset ", offset)));
  EXPECT_EQ(r->next_index, run.last_index() + 1);
}

// A segment starting at `first` of `count` cheap commands (restarts), the
// first one the genesis config if `genesis`: far more records than the
// parser may run ahead of the applier (recovery.cc's BatchRing), written
// directly rather than through a live router, so the test stays short.
std::string CheapSegment(uint64_t first, uint64_t count, bool genesis) {
  std::string data = SegmentHeader(first);
  for (uint64_t index = first; index < first + count; ++index) {
    v1::Command cmd;
    cmd.set_index(index);
    ToTimestamp(kT0 + absl::Milliseconds(index), cmd.mutable_time());
    if (genesis && index == first) {
      cmd.mutable_apply_config()->set_config_yaml(std::string(DefaultConfigYaml()));
    } else {
      cmd.mutable_engine_started();
    }
    AppendFrame(cmd.SerializeAsString(), &data);
  }
  return data;
}

// The offset of record `n` (0: the first) of a segment.
size_t RecordOffset(const std::string& data, int n) {
  size_t offset = kSegmentHeaderBytes;
  for (int i = 0; i < n; ++i) offset = ReadFrame(data, offset).next;
  return offset;
}

TEST(Recovery, CorruptionFoundFarAheadOfReplayStopsWhereSerialReplayWould) {
  TempDir dir("ccr-journal");
  const std::string seg = dir.path() + "/" + SegmentFileName(1);
  std::string data = CheapSegment(1, 12000, /*genesis=*/true);
  const size_t offset = RecordOffset(data, 9000);  // record 9001
  data[offset + kFrameHeaderBytes + 1] ^= 0x40;
  Spit(seg, data);

  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr(absl::StrCat("damaged at offset ", offset)));
  EXPECT_EQ(Slurp(seg), data) << "a refused recovery changes nothing";

  r = Recover({dir.path(), /*skip_corrupt=*/true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->report.dropped.size(), 2u);
  EXPECT_THAT(r->report.dropped[0], HasSubstr(absl::StrCat("corrupt bytes at offset ", offset)));
  EXPECT_THAT(r->report.dropped[1], HasSubstr("records 9001..9001 are missing"));
  EXPECT_EQ(r->report.records_replayed, 11999u);
  EXPECT_EQ(r->next_index, 12001u);
  EXPECT_EQ(Slurp(seg), data) << "skipping repairs nothing in the middle";
}

TEST(Recovery, ReplayThatFailsLeavesLaterRepairsUndone) {
  // No snapshot, and record 1 is not the genesis config: replay fails at
  // its first record. The parser meanwhile reaches a torn
  // tail, or an empty last segment, which a recovery that fails must leave
  // as they are, as the serial replay did.
  for (const bool torn_tail : {true, false}) {
    SCOPED_TRACE(torn_tail ? "torn tail" : "empty last segment");
    TempDir dir("ccr-journal");
    const std::string seg = dir.path() + "/" + SegmentFileName(1);
    std::string data = CheapSegment(1, 100, /*genesis=*/false);
    const std::string empty = dir.path() + "/" + SegmentFileName(101);
    if (torn_tail) {
      std::string frame;
      AppendFrame(std::string(40, 'x'), &frame);
      data += frame.substr(0, frame.size() / 2);
    } else {
      Spit(empty, "");
    }
    Spit(seg, data);
    for (int attempt = 0; attempt < 10; ++attempt) {
      absl::StatusOr<Recovered> r = Recover({dir.path()});
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_THAT(std::string(r.status().message()),
                  HasSubstr("the start of the journal is missing"));
      ASSERT_EQ(Slurp(seg), data) << "attempt " << attempt << ": the torn tail was cut";
      ASSERT_EQ(std::filesystem::exists(empty), !torn_tail) << "attempt " << attempt;
    }
  }
}

TEST(Recovery, ManyBatchesAcrossSegmentsReplayInOrder) {
  TempDir dir("ccr-journal");
  Spit(dir.path() + "/" + SegmentFileName(1), CheapSegment(1, 5000, /*genesis=*/true));
  Spit(dir.path() + "/" + SegmentFileName(5001), CheapSegment(5001, 3, /*genesis=*/false));
  Spit(dir.path() + "/" + SegmentFileName(5004), CheapSegment(5004, 7000, /*genesis=*/false));
  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->report.dropped.empty()) << r->report.dropped.front();
  EXPECT_EQ(r->report.records_replayed, 12003u);
  EXPECT_EQ(r->report.segments_read, 3u);
  EXPECT_EQ(r->next_index, 12004u);
  EXPECT_EQ(r->router->now(), kT0 + absl::Milliseconds(12003));
}

TEST(Recovery, DamagedNewestSnapshotFallsBackToTheOlderOne) {
  TempDir dir("ccr-journal");
  JournalledRun run(dir.path(), 8);
  run.RandomSteps(600, 150);
  run.Close();
  absl::StatusOr<JournalFiles> files = ListJournalFiles(dir.path());
  ASSERT_EQ(files->snapshots.size(), 2u);
  const std::string newest = files->snapshots.back().second;
  std::string data = Slurp(newest);
  data[data.size() / 2] ^= 0x20;
  Spit(newest, data);
  // A snapshot interrupted before its rename is never read.
  Spit(dir.path() + "/" + SnapshotFileName(run.last_index()) + ".tmp", "half a snapshot");

  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->report.snapshot_file, files->snapshots.front().second);
  ASSERT_EQ(r->report.dropped.size(), 1u);
  EXPECT_THAT(r->report.dropped[0], HasSubstr("unusable snapshot"));
  ExpectSameState(*r->router, run.live(), "older snapshot");
}

TEST(Recovery, EmptyDirectoryMeansAFreshStart) {
  TempDir dir("ccr-journal");
  absl::StatusOr<Recovered> r = Recover({dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->router, nullptr);
  EXPECT_EQ(r->next_index, 1u);
}

// ---- Large states across restarts ----
//
// One engine lifetime without the daemon: recover the directory, check that
// every contact acknowledged so far is there, submit more (acknowledged once
// durable), snapshot, submit a tail after the snapshot, then stop without a
// drain, as kill -9 would (everything acknowledged is already durable).
class Lifetimes {
 public:
  // `attribute_bytes`: per contact, in 1000-byte attribute values, within
  // what the ingest edge accepts (InputLimits: 64 attributes of 1 KiB, 64 KiB
  // a message).
  Lifetimes(std::string dir, size_t attribute_bytes)
      : dir_(std::move(dir)), attribute_bytes_(attribute_bytes) {}

  // Runs one lifetime: `snapshots` times `submits` new contacts and a
  // snapshot, then `tail` more. All zero: only recovers and checks.
  void Run(int submits, int tail, int snapshots = 1) {
    SCOPED_TRACE(absl::StrCat("lifetime ", ++lifetime_));
    absl::StatusOr<Recovered> r = Recover({dir_});
    ASSERT_TRUE(r.ok()) << r.status();
    if (newest_damaged_) {
      newest_damaged_ = false;
      EXPECT_FALSE(r->report.dropped.empty()) << "the damaged snapshot is reported";
    } else {
      EXPECT_TRUE(r->report.dropped.empty()) << r->report.dropped.front();
      if (last_snapshot_ > 0) {
        EXPECT_EQ(r->report.snapshot_index, last_snapshot_) << "recovered from the newest snapshot";
      }
    }
    std::unique_ptr<Router> router = std::move(r->router);
    if (router == nullptr) {
      ASSERT_TRUE(acked_.empty()) << "the journal vanished";
      router = *Router::Create(*LoadRouterConfig(yaml_));
    }
    ExpectAllAcknowledgedLive(*router);
    if (::testing::Test::HasFatalFailure()) return;
    if (submits == 0 && tail == 0 && snapshots == 0) return;

    JournalOptions options;
    options.dir = dir_;
    options.fsync = false;  // durability against the OS, not the disk, is what is tested
    // As the engine does: what recovery loaded is known to read back.
    if (!r->report.snapshot_file.empty()) options.recovered_snapshot = r->report.snapshot_index;
    std::atomic<uint64_t> durable{0};
    std::unique_ptr<Journal> journal =
        *Journal::Open(options, r->next_index, [&durable](const BatchReport& b) {
          EXPECT_TRUE(b.status.ok()) << b.status;
          if (b.status.ok()) durable.store(b.last);
        });
    uint64_t last_index = r->next_index - 1;
    if (last_index == 0) {
      v1::Command genesis;
      ToTimestamp(Now(), genesis.mutable_time());
      genesis.mutable_apply_config()->set_config_yaml(yaml_);
      last_index = journal->Append(genesis);
    }
    std::vector<std::pair<std::string, ContactId>> pending;
    auto submit = [&](int n) {
      for (int i = 0; i < n; ++i) {
        v1::Command cmd = SubmitCommand();
        last_index = journal->Append(cmd);
        const ApplyResult applied = ApplyCommand(*router, cmd);
        ASSERT_TRUE(applied.status.ok()) << applied.status;
        ASSERT_TRUE(applied.submit.has_value());
        pending.emplace_back(cmd.submit().contact().idempotency_key(), applied.submit->contact);
        if (i % 512 == 511) journal->Flush();
      }
      journal->Flush();
      // Acknowledged only once durable, as the engine does.
      const absl::Time give_up = absl::Now() + absl::Seconds(120);  // not a timing assertion
      while (durable.load() < last_index && absl::Now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ASSERT_GE(durable.load(), last_index) << "the journal never made the batch durable";
      acked_.insert(acked_.end(), pending.begin(), pending.end());
      pending.clear();
    };
    for (int i = 0; i < snapshots; ++i) {
      submit(submits);
      if (::testing::Test::HasFatalFailure()) return;
      std::promise<absl::Status> written;
      auto state = std::make_shared<RouterState>(router->Save());
      const uint64_t index = last_index;
      journal->WriteSnapshot(SnapshotSource{index, Now(), yaml_, std::move(state)},
                             [&written](absl::Status s) { written.set_value(s); });
      const absl::Status snapshot = written.get_future().get();
      ASSERT_TRUE(snapshot.ok()) << snapshot;
      last_snapshot_ = index;
    }

    submit(tail);
    journal.reset();  // no drain: no final snapshot
  }

  size_t acknowledged() const { return acked_.size(); }

  // Flips a byte in the middle of the newest snapshot, as a bad disk would.
  void DamageNewestSnapshot() {
    const std::string newest = ListJournalFiles(dir_)->snapshots.back().second;
    std::string data = Slurp(newest);
    data[data.size() / 2] ^= 0x40;
    Spit(newest, data);
    newest_damaged_ = true;
  }

 private:
  absl::Time Now() { return kT0 + absl::Milliseconds(++commands_); }

  v1::Command SubmitCommand() {
    v1::Command cmd;
    ToTimestamp(Now(), cmd.mutable_time());
    v1::ContactSpec* c = cmd.mutable_submit()->mutable_contact();
    c->set_idempotency_key(absl::StrCat("key-", commands_));
    c->set_channel(v1::CHANNEL_EMAIL);  // answered within 24 h: nothing expires meanwhile
    c->mutable_customer()->set_id(absl::StrCat("cust-", commands_ % 9973));
    c->mutable_customer()->set_tier(v1::TIER_STANDARD);
    for (size_t i = 0; i * 1000 < attribute_bytes_; ++i) {
      (*c->mutable_attributes())[absl::StrCat("a", i)] = std::string(
          std::min<size_t>(1000, attribute_bytes_ - i * 1000), static_cast<char>('a' + i % 26));
    }
    return cmd;
  }

  void ExpectAllAcknowledgedLive(const Router& router) {
    size_t missing = 0;
    for (const auto& [key, id] : acked_) {
      const std::optional<ContactId> found = router.FindByIdempotencyKey(key);
      if (!found || *found != id || !router.GetContact(id, router.now()).ok()) {
        if (++missing <= 5) ADD_FAILURE() << key << " (c-" << id << ") is lost";
      }
    }
    ASSERT_EQ(missing, 0u) << "of " << acked_.size() << " acknowledged contacts";
  }

  const std::string dir_;
  const size_t attribute_bytes_;
  const std::string yaml_ = std::string(DefaultConfigYaml());
  std::vector<std::pair<std::string, ContactId>> acked_;
  uint64_t commands_ = 0;
  uint64_t last_snapshot_ = 0;
  bool newest_damaged_ = false;
  int lifetime_ = 0;
};

// The state is over the 64 MiB a single record may hold: 1,200 live
// contacts with 60 KB of attributes each.
TEST(Recovery, StateOverOneRecordSurvivesThreeRestarts) {
  TempDir dir("ccr-journal");
  Lifetimes run(dir.path(), /*attribute_bytes=*/60'000);
  run.Run(/*submits=*/1'200, /*tail=*/20);
  for (int restart = 0; restart < 2; ++restart) run.Run(/*submits=*/20, /*tail=*/20);
  run.Run(0, 0, /*snapshots=*/0);  // the third restart
  EXPECT_EQ(run.acknowledged(), 1'200u + 20 + 2 * 40);
  EXPECT_GT(ListJournalFiles(dir.path())->segments.front().first, 1u)
      << "segments behind verified snapshots were pruned";
}

// 300,000 ordinary live contacts (a CRM reference of 100 bytes each; about
// 250 bytes a contact in a snapshot): over 64 MiB without any large field. Under the sanitizers
// (several times slower) a tenth of it, which still exercises the chunking, just not the size.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kManyContacts = 30'000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kManyContacts = 30'000;
#else
constexpr int kManyContacts = 300'000;
#endif
#else
constexpr int kManyContacts = 300'000;
#endif

TEST(Recovery, ManyLiveContactsSurviveThreeRestarts) {
  TempDir dir("ccr-journal");
  Lifetimes run(dir.path(), /*attribute_bytes=*/100);
  run.Run(/*submits=*/kManyContacts, /*tail=*/100);
  for (int restart = 0; restart < 2; ++restart) run.Run(/*submits=*/100, /*tail=*/100);
  run.Run(0, 0, /*snapshots=*/0);  // the third restart
  EXPECT_EQ(run.acknowledged(), static_cast<size_t>(kManyContacts) + 100 + 2 * 200);
  EXPECT_GT(ListJournalFiles(dir.path())->segments.front().first, 1u)
      << "segments behind verified snapshots were pruned";
}

// A snapshot this process has not read back never justifies deleting what
// an older one needs: with the newest two snapshots damaged in turn, the
// oldest verified one and the segments after it are still there.
TEST(Recovery, PruneKeepsWhatOnlyUnverifiedSnapshotsCover) {
  TempDir dir("ccr-journal");
  Lifetimes run(dir.path(), /*attribute_bytes=*/200);
  run.Run(/*submits=*/50, /*tail=*/10, /*snapshots=*/2);  // S1, S2
  run.DamageNewestSnapshot();                             // S2
  run.Run(/*submits=*/50, /*tail=*/10);  // loads S1, writes S3; S2 verifies nothing
  run.DamageNewestSnapshot();            // S3
  run.Run(0, 0, /*snapshots=*/0);        // S1 and the segments after it
  EXPECT_EQ(run.acknowledged(), 2 * 50u + 10 + 50 + 10);
}

// A full disk, simulated with a file-size limit: the batch fails, nothing is
// reported durable, indexes are reused, and the journal recovers by itself
// once there is room again.
TEST(Journal, WriteFailureIsReportedAndTheJournalRecovers) {
  TempDir dir("ccr-journal");
  std::signal(SIGXFSZ, SIG_IGN);
  std::vector<BatchReport> reports;
  absl::Mutex mu;
  JournalOptions options;
  options.dir = dir.path();
  std::unique_ptr<Journal> journal = *Journal::Open(options, 1, [&](const BatchReport& r) {
    absl::MutexLock lock(&mu);
    reports.push_back(r);
  });
  auto append = [&](int n) {
    for (int i = 0; i < n; ++i) {
      v1::Command c;
      c.mutable_apply_config()->set_config_yaml(std::string(100, 'x'));
      journal->Append(c);
    }
    journal->Flush();
  };
  struct Waiter {
    std::vector<BatchReport>* reports;
    size_t n;
  };
  auto wait_reports = [&](size_t n) {
    Waiter w{&reports, n};
    absl::MutexLock lock(&mu);
    return mu.AwaitWithTimeout(absl::Condition(
                                   +[](Waiter* w) { return w->reports->size() >= w->n; }, &w),
                               absl::Seconds(20));
  };
  append(3);
  ASSERT_TRUE(wait_reports(1));
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  const std::string seg = LastSegment(dir.path());
  const auto size_before = std::filesystem::file_size(seg);
  rlimit tight = old;
  tight.rlim_cur = size_before + 50;  // room for part of one record
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  append(3);
  const bool got = wait_reports(2);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ASSERT_TRUE(got);
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(reports[0].status.ok());
    EXPECT_EQ(reports[0].last, 3u);
    EXPECT_FALSE(reports[1].status.ok());
    EXPECT_EQ(reports[1].status.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(reports[1].status.message()), HasSubstr("write"));
  }
  journal->DiscardUnwritten();
  EXPECT_EQ(journal->next_index(), 4u) << "indexes of the failed batch are reused";
  append(2);
  ASSERT_TRUE(wait_reports(3));
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(reports[2].status.ok()) << reports[2].status;
    EXPECT_EQ(reports[2].first, 4u);
    EXPECT_EQ(reports[2].last, 5u);
  }
  journal.reset();
  // The segment holds records 1..5 and nothing of the failed batch.
  const std::string data = Slurp(seg);
  size_t offset = kSegmentHeaderBytes;
  uint64_t expect = 1;
  for (FrameRead f = ReadFrame(data, offset); f.kind == FrameRead::kRecord;
       f = ReadFrame(data, offset)) {
    v1::Command c;
    ASSERT_TRUE(c.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size())));
    EXPECT_EQ(c.index(), expect++);
    offset = f.next;
  }
  EXPECT_EQ(expect, 6u);
  EXPECT_EQ(offset, data.size()) << "no bytes of the failed batch remain";
}

// CommandLog::ReadFrom on the file journal: durable records from a position,
// in order; a position older than the oldest segment is OUT_OF_RANGE.
TEST(Journal, ReadFromVisitsDurableRecordsFromAPosition) {
  TempDir dir("ccr-journal");
  absl::Mutex mu;
  uint64_t durable_last = 0;
  JournalOptions options;
  options.dir = dir.path();
  options.fsync = false;
  std::unique_ptr<Journal> journal = *Journal::Open(options, 1, [&](const BatchReport& r) {
    absl::MutexLock lock(&mu);
    if (r.status.ok()) durable_last = r.last;
  });
  for (int i = 0; i < 5; ++i) {
    v1::Command c;
    c.mutable_cancel()->set_contact_id(absl::StrCat("c-", i + 1));
    journal->Append(c);
  }
  journal->Flush();
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](uint64_t* last) { return *last >= 5; }, &durable_last),
                                    absl::Seconds(20)));
  }
  v1::Command not_flushed;
  journal->Append(not_flushed);  // index 6: pending, never visited
  std::vector<uint64_t> seen;
  ASSERT_TRUE(journal
                  ->ReadFrom(3,
                             [&](const v1::Command& c) {
                               seen.push_back(c.index());
                               return true;
                             })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{3, 4, 5}));
  seen.clear();
  ASSERT_TRUE(journal
                  ->ReadFrom(1,
                             [&](const v1::Command& c) {
                               seen.push_back(c.index());
                               return seen.size() < 2;  // stop after two
                             })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(journal->ReadFrom(0, [](const v1::Command&) { return true; }).code(),
            absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace ccr
