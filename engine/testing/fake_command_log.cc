#include "engine/testing/fake_command_log.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ccr {

FakeCommandLog::FakeCommandLog(uint64_t next_index, BatchCallback on_batch)
    : on_batch_(std::move(on_batch)), next_index_(next_index), durable_end_(next_index) {}

CommandLogFactory FakeCommandLog::Factory(FakeCommandLog** made) {
  return [made](uint64_t next_index, std::optional<uint64_t>,
                BatchCallback on_batch) -> absl::StatusOr<std::unique_ptr<CommandLog>> {
    auto log = std::make_unique<FakeCommandLog>(next_index, std::move(on_batch));
    *made = log.get();
    return std::unique_ptr<CommandLog>(std::move(log));
  };
}

uint64_t FakeCommandLog::Append(v1::Command& cmd) {
  cmd.set_index(next_index_++);
  pending_.push_back(cmd);
  return cmd.index();
}

void FakeCommandLog::Flush() {
  if (pending_.empty() || failed_) return;
  std::vector<v1::Command> batch;
  batch.swap(pending_);
  if (hold_batches_) {
    held_.push_back(std::move(batch));
    return;
  }
  Complete(std::move(batch));
}

void FakeCommandLog::ReleaseHeld() {
  while (!held_.empty() && !failed_) {
    std::vector<v1::Command> batch = std::move(held_.front());
    held_.pop_front();
    Complete(std::move(batch));
  }
}

void FakeCommandLog::Complete(std::vector<v1::Command> batch) {
  BatchReport report;
  report.first = batch.front().index();
  report.last = batch.back().index();
  for (const v1::Command& c : batch) report.bytes += c.ByteSizeLong();
  if (failures_left_ > 0) {
    --failures_left_;
    report.status = failure_;
    failed_ = true;
  } else {
    for (v1::Command& c : batch) durable_.push_back(std::move(c));
    durable_end_ = report.last + 1;
  }
  reports_.push_back(report);
  on_batch_(report);
}

void FakeCommandLog::DiscardUnwritten() {
  pending_.clear();
  held_.clear();
  next_index_ = durable_end_;  // the log never has a gap
  failed_ = false;
}

void FakeCommandLog::WriteSnapshot(SnapshotSource source, SnapshotDone done) {
  absl::Status status = snapshot_failure_.value_or(absl::OkStatus());
  snapshot_failure_.reset();
  if (status.ok()) last_snapshot_ = std::move(source);
  done(status);
}

absl::Status FakeCommandLog::ReadFrom(uint64_t first_index, const CommandVisitor& visit) const {
  if (!durable_.empty() && first_index < durable_.front().index()) {
    return absl::OutOfRangeError(
        absl::StrCat("fake log: index ", first_index,
                     " is no longer held (oldest: ", durable_.front().index(), ")"));
  }
  for (const v1::Command& c : durable_) {
    if (c.index() >= first_index && !visit(c)) break;
  }
  return absl::OkStatus();
}

void FakeCommandLog::FailNextBatches(int batches, absl::Status status) {
  failures_left_ = batches;
  failure_ = std::move(status);
}

}  // namespace ccr
