// RunCounters: what ccload's clients count, from every thread at once: the
// demo's totals (LoadCounters snapshots for load_report.h), the benchmark's
// measured window and latency histograms (BenchSummary, bench_report.h), and
// failures by "<rpc> <CODE>", the first of each kind described on stderr.
//
//   RunCounters counters;
//   counters.SetMeasuredWindow(begin, end);  // bench only; default: everything counts
//   counters.SubmitSent(intended);           // a gateway client, then on the reply:
//   counters.SubmitAnswered(intended, Clock::now(), grpc::StatusCode::OK, "Submit");
//
// Thread-safe; the hot path (submits, replies, offers) takes no lock.
#ifndef CCR_TOOLS_CCLOAD_RUN_COUNTERS_H_
#define CCR_TOOLS_CCLOAD_RUN_COUNTERS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "tools/ccload/hdr_histogram.h"
#include "tools/ccload/load_report.h"

namespace ccr::load {

// "INVALID_ARGUMENT", ... for a gRPC / google.rpc code.
std::string CodeName(int code);

class RunCounters {
 public:
  using Clock = std::chrono::steady_clock;

  // Only submits whose intended send time falls in [begin, end) count in
  // `submitted`, `acked`, `offers` and the histograms (the bench's warm-up
  // and drain run but are not counted). Set before any contact is sent.
  void SetMeasuredWindow(Clock::time_point begin, Clock::time_point end);
  bool Counted(Clock::time_point intended) const;
  bool CountedNanos(int64_t intended_ns) const;

  // A submit was handed to gRPC.
  void SubmitSent(Clock::time_point intended);
  // Its answer (`code` 0: acknowledged, `duplicate` as the reply said).
  // A failure is counted as "<rpc> <CODE>" and, the first time, described
  // with `message`.
  void SubmitAnswered(Clock::time_point intended, Clock::time_point now, int code,
                      const std::string& rpc, const std::string& message = "",
                      bool duplicate = false);
  // Submits the gateway gave up on (a stream cut off before their replies).
  void SubmitsUnanswered(int64_t count);
  // Not sent at all because `limit` were in flight; described once.
  void SubmitNotSent(Clock::time_point intended, int64_t limit);

  // An offer reached a simulated agent; `intended_ns` is the submit's
  // intended send time when the contact carries it (bench traffic).
  void OfferDelivered(std::optional<int64_t> intended_ns, Clock::time_point now);

  // Counts a failure as "<rpc> <CODE>"; true the first time for that key.
  bool CountError(const std::string& rpc, int code);
  // Counts it and describes the first of each kind on stderr. Server
  // messages name fields; the engine masks customer ids in them, and
  // Describe masks anything shaped like one again.
  void RecordError(const std::string& rpc, int code, const std::string& message,
                   const std::string& context = "");
  // Describes the first event of kind `key` only.
  void DescribeOnce(const std::string& key, const std::string& what);
  // One line on stderr, up to a limit so a storm cannot flood the terminal.
  // Anything shaped like a customer id or phone number is masked.
  void Describe(const std::string& what);

  std::map<std::string, uint64_t> errors() const;
  // The demo's figures (load_report.h).
  LoadCounters Snapshot(double elapsed_seconds, uint64_t seed, int agents) const;

  // Everything below may be read at any time; written by the clients.
  std::atomic<int64_t> in_flight{0};  // submits sent and not yet answered
  std::atomic<uint64_t> submitted{0}, acked{0}, duplicates{0}, offers{0}, not_sent{0};
  std::atomic<uint64_t> unanswered{0};  // cut off with no reply
  std::atomic<uint64_t> accepts{0}, rejects{0}, withdrawn{0}, completes{0}, wrap_ups{0},
      abandons{0};
  // Whole run, measured window or not: the progress line and CPU per ack.
  std::atomic<uint64_t> all_acked{0}, all_offers{0}, all_errors{0};
  std::atomic<int> agents_logged_in{0};
  AtomicHdrHistogram submit_to_ack, submit_to_offer;  // ns, measured window only

 private:
  static constexpr int kMaxDescribed = 20;

  std::atomic<int64_t> window_begin_ns_{INT64_MIN};
  std::atomic<int64_t> window_end_ns_{INT64_MAX};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> errors_;  // GUARDED_BY(mu_)
  std::set<std::string> described_kinds_;   // GUARDED_BY(mu_)
  int described_ = 0;                       // GUARDED_BY(mu_)
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_RUN_COUNTERS_H_
