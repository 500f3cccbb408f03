// FakeCommandLog: an in-memory CommandLog for hermetic engine tests. Batches
// are made durable (or failed, on demand) synchronously inside Flush(), so a
// test that drives the io_context itself sees every outcome without threads
// or sleeps. Not thread-safe: the engine's strand and the test share one
// thread.
//
//   FakeCommandLog* log = nullptr;
//   options.command_log = FakeCommandLog::Factory(&log);
//   ... engine.Start(...) ...
//   log->FailNextBatches(1);  // the next batch fails: the engine must refuse what it held
#ifndef CCROUTER_ENGINE_TESTING_FAKE_COMMAND_LOG_H_
#define CCROUTER_ENGINE_TESTING_FAKE_COMMAND_LOG_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "engine/journal/command_log.h"

namespace ccr {

class FakeCommandLog final : public CommandLog {
 public:
  FakeCommandLog(uint64_t next_index, BatchCallback on_batch);

  // A factory for EngineOptions::command_log that stores the log it makes
  // in `*made` (owned by the engine).
  static CommandLogFactory Factory(FakeCommandLog** made);

  uint64_t Append(v1::Command& cmd) override;
  void Flush() override;
  void DiscardUnwritten() override;
  void WriteSnapshot(SnapshotSource source, SnapshotDone done) override;
  uint64_t next_index() const override { return next_index_; }
  absl::Status ReadFrom(uint64_t first_index, const CommandVisitor& visit) const override;

  // ---- what a test controls ----
  // The next `batches` batches fail with `status` (nothing in them durable).
  void FailNextBatches(int batches,
                       absl::Status status = absl::UnavailableError("fake log: disk full"));
  // The next snapshot fails with `status`.
  void FailNextSnapshot(absl::Status status) { snapshot_failure_ = std::move(status); }
  // While held, Flush() keeps batches back (not yet durable); ReleaseHeld()
  // then makes them durable (or fails them) in order.
  void set_hold_batches(bool hold) { hold_batches_ = hold; }
  void ReleaseHeld();

  // ---- what a test reads ----
  const std::vector<v1::Command>& durable() const { return durable_; }
  size_t pending() const { return pending_.size(); }
  const std::vector<BatchReport>& reports() const { return reports_; }
  const std::optional<SnapshotSource>& last_snapshot() const { return last_snapshot_; }

 private:
  void Complete(std::vector<v1::Command> batch);

  const BatchCallback on_batch_;
  uint64_t next_index_;
  uint64_t durable_end_;                       // one past the last durable index
  std::vector<v1::Command> pending_;           // appended, not yet flushed
  std::deque<std::vector<v1::Command>> held_;  // flushed while held
  std::vector<v1::Command> durable_;
  std::vector<BatchReport> reports_;
  int failures_left_ = 0;
  absl::Status failure_;
  bool failed_ = false;  // a batch failed: nothing is written until DiscardUnwritten
  bool hold_batches_ = false;
  std::optional<absl::Status> snapshot_failure_;
  std::optional<SnapshotSource> last_snapshot_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_TESTING_FAKE_COMMAND_LOG_H_
