#include "engine/cluster/etcd_command_log.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "engine/cluster/etcd_calls.h"
#include "engine/cluster/etcd_log_reader.h"
#include "engine/log.h"

namespace ccr::cluster {

namespace {

using etcdserverpb::Compare;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

// How often a held batch looks whether its owner's suspension has ended.
constexpr absl::Duration kSuspendedPoll = absl::Milliseconds(10);

// The fence: the owner's election key still exists with the create revision
// it had when this owner won.
void AddFenceCompare(const OwnerFence& fence, TxnRequest* txn) {
  Compare* c = txn->add_compare();
  c->set_result(Compare::EQUAL);
  c->set_target(Compare::CREATE);
  c->set_key(fence.leader_key);
  c->set_create_revision(fence.epoch);
}

// On a failed compare, the txn's first response is a Range of the leader
// key: whether the fence was what failed.
void AddFenceRead(const OwnerFence& fence, TxnRequest* txn) {
  txn->add_failure()->mutable_request_range()->set_key(fence.leader_key);
}

bool FenceHeld(const OwnerFence& fence, const TxnResponse& reply) {
  if (reply.responses_size() == 0) return false;
  const etcdserverpb::RangeResponse& leader = reply.responses(0).response_range();
  return leader.kvs_size() == 1 && leader.kvs(0).create_revision() == fence.epoch;
}

}  // namespace

std::string LogKey(const std::string& prefix, uint64_t first_index) {
  return absl::StrFormat("%slog/%020d", prefix, first_index);
}

std::string SnapshotPartKey(const std::string& prefix, uint64_t index, uint32_t part) {
  return absl::StrFormat("%ssnapshot/%020d/%06d", prefix, index, part);
}

std::string SnapshotLatestKey(const std::string& prefix) {
  return absl::StrCat(prefix, "snapshot/latest");
}

EtcdCommandLog::EtcdCommandLog(std::shared_ptr<grpc::Channel> channel, std::string prefix,
                               OwnerFence fence, uint64_t next_index, BatchCallback on_batch,
                               EtcdLogOptions options)
    : kv_(etcdserverpb::KV::NewStub(std::move(channel))),
      prefix_(std::move(prefix)),
      fence_(std::move(fence)),
      on_batch_(std::move(on_batch)),
      options_(options),
      pending_first_(next_index),
      next_index_(next_index) {
  writer_ = std::thread([this] { RunWriter(); });
  snapshotter_ = std::thread([this] { RunSnapshots(); });
}

EtcdCommandLog::~EtcdCommandLog() {
  {
    StdMutexLock lock(&mu_);
    stop_ = true;
    flush_requested_ = true;
  }
  cv_.notify_all();
  snapshot_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (snapshotter_.joinable()) snapshotter_.join();
}

uint64_t EtcdCommandLog::Append(v1::Command& cmd) {
  StdMutexLock lock(&mu_);
  cmd.set_index(next_index_++);
  pending_.push_back(cmd);
  return cmd.index();
}

void EtcdCommandLog::Flush() {
  {
    StdMutexLock lock(&mu_);
    if (pending_.empty()) return;
    flush_requested_ = true;
  }
  cv_.notify_one();
}

void EtcdCommandLog::DiscardUnwritten() {
  {
    StdMutexLock lock(&mu_);
    pending_.clear();
    next_index_ = pending_first_;
    failed_ = false;
  }
  cv_.notify_one();
}

uint64_t EtcdCommandLog::next_index() const {
  StdMutexLock lock(&mu_);
  return next_index_;
}

bool EtcdCommandLog::deposed() const {
  StdMutexLock lock(&mu_);
  return deposed_;
}

absl::Status EtcdCommandLog::DeposedError() const {
  return absl::FailedPreconditionError(absl::StrCat(
      "deposed: ", fence_.leader_key, " is no longer the owner (epoch ", fence_.epoch, ")"));
}

absl::Status EtcdCommandLog::ReadFrom(uint64_t first_index, const CommandVisitor& visit) const {
  uint64_t durable_end;  // one past the last durable index
  {
    StdMutexLock lock(&mu_);
    durable_end = pending_first_;
  }
  if (first_index >= durable_end) return absl::OkStatus();
  LogRead read;
  return ReadLog(*kv_, prefix_, first_index, durable_end, 0, options_.request_timeout, visit,
                 &read);
}

void EtcdCommandLog::WriteSnapshot(SnapshotSource source, SnapshotDone done) {
  {
    StdMutexLock lock(&mu_);
    if (deposed_) {
      done(DeposedError());
      return;
    }
    if (snapshot_) {  // one at a time; the next interval will try again
      done(absl::AlreadyExistsError("a snapshot is already being written"));
      return;
    }
    snapshot_ = std::make_unique<SnapshotJob>(SnapshotJob{std::move(source), std::move(done)});
  }
  snapshot_cv_.notify_one();
}

std::vector<EtcdCommandLog::Part> EtcdCommandLog::SplitBatch(std::vector<v1::Command> batch,
                                                             uint64_t first) const {
  std::vector<Part> parts;
  for (v1::Command& cmd : batch) {
    const size_t bytes = cmd.ByteSizeLong();
    if (parts.empty() ||
        (parts.back().bytes > 0 && parts.back().bytes + bytes > options_.chunk_bytes)) {
      parts.emplace_back();
      parts.back().first = first;
      parts.back().chunk.set_epoch(static_cast<uint64_t>(fence_.epoch));
    }
    Part& part = parts.back();
    part.last = first++;
    part.bytes += bytes;
    *part.chunk.add_commands() = std::move(cmd);
  }
  return parts;
}

void EtcdCommandLog::RunWriter() {
  mu_.Lock();
  for (;;) {
    while (!stop_ && (failed_ || !flush_requested_ || pending_.empty())) mu_.Wait(cv_);
    if (failed_ || !flush_requested_ || pending_.empty()) {
      if (stop_) break;
      continue;
    }
    std::vector<v1::Command> batch;
    batch.swap(pending_);
    const uint64_t first = pending_first_;
    const uint64_t last = next_index_ - 1;
    flush_requested_ = false;
    mu_.Unlock();
    const std::vector<Part> parts = SplitBatch(std::move(batch), first);
    for (const Part& part : parts) {
      BatchReport report = WritePart(part);
      mu_.Lock();
      if (report.status.ok()) {
        pending_first_ = part.last + 1;
      } else {
        failed_ = true;      // until the strand has failed what it waits for
        report.last = last;  // the parts after this one fail with it, unwritten
      }
      mu_.Unlock();
      on_batch_(report);
      if (!report.status.ok()) break;
    }
    mu_.Lock();
  }
  mu_.Unlock();
}

BatchReport EtcdCommandLog::WritePart(const Part& part) {
  BatchReport report;
  report.first = part.first;
  report.last = part.last;
  report.bytes = part.bytes;
  {
    StdMutexLock lock(&mu_);
    if (deposed_) {  // known: no need to ask etcd again
      report.status = DeposedError();
      return report;
    }
  }
  if (options_.suspended != nullptr && options_.suspended->load()) {
    // Held, as a call to etcd without a raft leader would be, for up to a
    // request timeout: a suspension usually ends within a second or two
    // (etcd elects a leader), and then the batch is written.
    const absl::Time give_up = absl::Now() + options_.request_timeout;
    while (options_.suspended->load() && absl::Now() < give_up) {
      {
        StdMutexLock lock(&mu_);
        if (stop_) break;
      }
      absl::SleepFor(kSuspendedPoll);
    }
    if (options_.suspended->load()) {
      report.status = absl::UnavailableError(
          "etcd log: this owner is suspended until etcd renews its lease (etcd electing a raft "
          "leader, or out of reach); nothing written");
      return report;
    }
  }
  if (absl::Status repaired = Repair(); !repaired.ok()) {
    report.status = repaired;
    return report;
  }
  const std::string key = LogKey(prefix_, part.first);
  const std::string value = part.chunk.SerializeAsString();
  TxnRequest txn;
  AddFenceCompare(fence_, &txn);
  Compare* absent = txn.add_compare();
  absent->set_result(Compare::EQUAL);
  absent->set_target(Compare::CREATE);
  absent->set_key(key);
  absent->set_create_revision(0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  AddFenceRead(fence_, &txn);
  txn.add_failure()->mutable_request_range()->set_key(key);
  TxnResponse reply;
  const absl::Time start = absl::Now();
  const absl::Status s = CallEtcd(absl::StrCat("txn put ", key), start + options_.request_timeout,
                                  [&](grpc::ClientContext& context) {
                                    reply.Clear();
                                    return kv_->Txn(&context, txn, &reply);
                                  });
  report.sync = absl::Now() - start;
  if (!s.ok()) {
    // Given up while etcd was unreachable or electing: the put may still
    // commit (a timed-out proposal can be applied later), so the next write
    // deletes it first and its indexes can be reused. Any other error is
    // etcd refusing the request: nothing was written.
    if (s.code() == absl::StatusCode::kUnavailable) unknown_chunk_.emplace(key, value);
    report.status = s;
    return report;
  }
  if (reply.succeeded()) return report;
  if (!FenceHeld(fence_, reply)) {
    StdMutexLock lock(&mu_);
    deposed_ = true;
    report.status = DeposedError();
    return report;
  }
  const etcdserverpb::RangeResponse& existing = reply.responses(1).response_range();
  if (existing.kvs_size() == 1 && existing.kvs(0).value() == value) {
    return report;  // our own put, committed by a try whose answer was lost
  }
  v1::LogChunk other;
  const bool parsed = existing.kvs_size() == 1 && other.ParseFromString(existing.kvs(0).value());
  report.status = absl::FailedPreconditionError(absl::StrCat(
      "etcd log: ", key, " already holds another writer's chunk (epoch ",
      parsed ? absl::StrCat(other.epoch()) : "unknown", "; ours is ", fence_.epoch, ")"));
  return report;
}

absl::Status EtcdCommandLog::Repair() {
  if (!unknown_chunk_) return absl::OkStatus();
  const auto& [key, value] = *unknown_chunk_;
  TxnRequest txn;
  AddFenceCompare(fence_, &txn);
  Compare* ours = txn.add_compare();
  ours->set_result(Compare::EQUAL);
  ours->set_target(Compare::VALUE);
  ours->set_key(key);
  ours->set_value(value);
  auto* erase = txn.add_success()->mutable_request_delete_range();
  erase->set_key(key);
  AddFenceRead(fence_, &txn);
  TxnResponse reply;
  CCR_RETURN_IF_ERROR(CallEtcd(absl::StrCat("txn delete failed write ", key),
                               absl::Now() + options_.request_timeout,
                               [&](grpc::ClientContext& context) {
                                 reply.Clear();
                                 return kv_->Txn(&context, txn, &reply);
                               }));
  if (!reply.succeeded() && !FenceHeld(fence_, reply)) {
    StdMutexLock lock(&mu_);
    deposed_ = true;
    return DeposedError();
  }
  // Deleted, or it never committed: either way the indexes are free.
  unknown_chunk_.reset();
  return absl::OkStatus();
}

void EtcdCommandLog::RunSnapshots() {
  mu_.Lock();
  for (;;) {
    while (!stop_ && snapshot_ == nullptr) mu_.Wait(snapshot_cv_);
    if (!snapshot_) break;  // stopping with nothing left to write
    std::unique_ptr<SnapshotJob> job = std::move(snapshot_);
    mu_.Unlock();
    const absl::Status s = DoSnapshot(job->source);
    job->source.state.reset();  // before `done`: the copy may be large
    job->done(s);
    mu_.Lock();
  }
  mu_.Unlock();
}

absl::Status EtcdCommandLog::DoSnapshot(const SnapshotSource& source) {
  const uint64_t index = source.last_index;
  const std::string parts_prefix = absl::StrFormat("%ssnapshot/%020d/", prefix_, index);
  // One fenced txn: a deposed owner can neither write parts nor name them.
  auto fenced = [&](TxnRequest& txn, absl::string_view what, TxnResponse* reply) -> absl::Status {
    AddFenceCompare(fence_, &txn);
    AddFenceRead(fence_, &txn);
    CCR_RETURN_IF_ERROR(
        CallEtcd(what, absl::Now() + options_.request_timeout, [&](grpc::ClientContext& context) {
          reply->Clear();
          return kv_->Txn(&context, txn, reply);
        }));
    if (!reply->succeeded()) {
      StdMutexLock lock(&mu_);
      deposed_ = true;
      return DeposedError();
    }
    return absl::OkStatus();
  };
  TxnResponse reply;
  {
    // Parts an earlier, failed try at this index left.
    TxnRequest clear;
    auto* erase = clear.add_success()->mutable_request_delete_range();
    erase->set_key(parts_prefix);
    erase->set_range_end(PrefixEnd(parts_prefix));
    CCR_RETURN_IF_ERROR(fenced(clear, absl::StrCat("txn clear ", parts_prefix), &reply));
  }
  uint32_t parts = 0;
  std::string part;
  auto put_part = [&]() -> absl::Status {
    TxnRequest txn;
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(SnapshotPartKey(prefix_, index, parts));
    put->set_value(part);
    CCR_RETURN_IF_ERROR(fenced(txn, absl::StrCat("txn put ", put->key()), &reply));
    ++parts;
    part.clear();
    return absl::OkStatus();
  };
  CCR_ASSIGN_OR_RETURN(const SnapshotCounts written,
                       WriteSnapshotRecords(source, [&](absl::string_view bytes) -> absl::Status {
                         while (!bytes.empty()) {
                           const size_t take =
                               std::min(bytes.size(), options_.snapshot_part_bytes - part.size());
                           part.append(bytes.data(), take);
                           bytes.remove_prefix(take);
                           if (part.size() == options_.snapshot_part_bytes) {
                             CCR_RETURN_IF_ERROR(put_part());
                           }
                         }
                         return absl::OkStatus();
                       }));
  if (!part.empty()) CCR_RETURN_IF_ERROR(put_part());

  // Read back what a loader would read, and check it decodes whole.
  {
    std::string bytes;
    uint32_t read_parts = 0;
    etcdserverpb::RangeRequest range;
    range.set_key(parts_prefix);
    range.set_range_end(PrefixEnd(parts_prefix));
    range.set_limit(2);  // parts up to 1 MiB: under gRPC's 4 MiB reply
    for (;;) {
      etcdserverpb::RangeResponse got;
      CCR_RETURN_IF_ERROR(CallEtcd(absl::StrCat("range ", parts_prefix),
                                   absl::Now() + options_.request_timeout,
                                   [&](grpc::ClientContext& context) {
                                     got.Clear();
                                     return kv_->Range(&context, range, &got);
                                   }));
      for (const mvccpb::KeyValue& kv : got.kvs()) {
        ++read_parts;
        bytes += kv.value();
      }
      if (!got.more() || got.kvs_size() == 0) break;
      range.set_key(got.kvs(got.kvs_size() - 1).key() + '\0');
    }
    absl::StatusOr<LoadedSnapshot> read =
        ReadSnapshotBytes(bytes, parts_prefix, /*keep_state=*/false);
    if (!read.ok()) {
      return absl::DataLossError(
          absl::StrCat("snapshot did not read back: ", read.status().message()));
    }
    if (read_parts != parts || read->last_index != index || !(read->counts == written)) {
      return absl::DataLossError(
          absl::StrCat("snapshot ", parts_prefix, " read back as ", read_parts, " parts, index ",
                       read->last_index, " with ", read->counts.ToString(), "; wrote ", parts,
                       " parts, index ", index, " with ", written.ToString()));
    }
  }

  // The log chunks wholly covered: every key before the chunk that holds
  // index + 1 (or before log/<index + 1> when no chunk holds it yet).
  std::string keep_from = LogKey(prefix_, index + 1);
  {
    etcdserverpb::RangeRequest find;
    find.set_key(prefix_ + "log/");
    find.set_range_end(keep_from + '\0');
    find.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
    find.set_sort_target(etcdserverpb::RangeRequest::KEY);
    find.set_limit(1);
    etcdserverpb::RangeResponse found;
    CCR_RETURN_IF_ERROR(CallEtcd(absl::StrCat("range ", find.key()),
                                 absl::Now() + options_.request_timeout,
                                 [&](grpc::ClientContext& context) {
                                   found.Clear();
                                   return kv_->Range(&context, find, &found);
                                 }));
    v1::LogChunk chunk;
    if (found.kvs_size() == 1 && chunk.ParseFromString(found.kvs(0).value()) &&
        chunk.commands_size() > 0 && chunk.commands(chunk.commands_size() - 1).index() > index) {
      keep_from = found.kvs(0).key();
    }
  }
  TxnRequest commit;
  auto* latest = commit.add_success()->mutable_request_put();
  latest->set_key(SnapshotLatestKey(prefix_));
  latest->set_value(absl::StrCat(index));
  auto* prune_log = commit.add_success()->mutable_request_delete_range();
  prune_log->set_key(prefix_ + "log/");
  prune_log->set_range_end(keep_from);
  auto* prune_snapshots = commit.add_success()->mutable_request_delete_range();
  prune_snapshots->set_key(prefix_ + "snapshot/");
  prune_snapshots->set_range_end(parts_prefix);  // older indexes sort before it
  CCR_RETURN_IF_ERROR(fenced(commit, absl::StrCat("txn put ", latest->key()), &reply));

  if (options_.compact_after_snapshot) {
    // History before the pruning txn is no longer needed by anyone who can
    // load the snapshot. A failure here costs space, not correctness, and
    // the next snapshot compacts further; so it fails nothing.
    etcdserverpb::CompactionRequest compact;
    compact.set_revision(reply.header().revision());
    etcdserverpb::CompactionResponse compacted;
    const absl::Status s = CallEtcd(
        absl::StrCat("compact to revision ", compact.revision()),
        absl::Now() + options_.request_timeout,
        [&](grpc::ClientContext& context) { return kv_->Compact(&context, compact, &compacted); });
    // OUT_OF_RANGE: etcd is already compacted at or past it.
    if (!s.ok() && s.code() != absl::StatusCode::kOutOfRange) {
      LogEvent(LogLevel::kWarn, "etcd_compact_failed",
               {{"revision", absl::StrCat(compact.revision())}, {"error", s.ToString()}});
    }
  }
  return absl::OkStatus();
}

}  // namespace ccr::cluster
