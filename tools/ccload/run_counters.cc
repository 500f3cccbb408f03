#include "tools/ccload/run_counters.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/ccload/arrival_schedule.h"

namespace ccr::load {
namespace {

int64_t SteadyNanos(RunCounters::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

constexpr int kNotFound = static_cast<int>(absl::StatusCode::kNotFound);

}  // namespace

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

void RunCounters::SetMeasuredWindow(Clock::time_point begin, Clock::time_point end) {
  window_begin_ns_.store(SteadyNanos(begin));
  window_end_ns_.store(SteadyNanos(end));
}

bool RunCounters::Counted(Clock::time_point intended) const {
  return CountedNanos(SteadyNanos(intended));
}

bool RunCounters::CountedNanos(int64_t intended_ns) const {
  return intended_ns >= window_begin_ns_.load(std::memory_order_relaxed) &&
         intended_ns < window_end_ns_.load(std::memory_order_relaxed);
}

void RunCounters::SubmitSent(Clock::time_point intended) {
  in_flight.fetch_add(1, std::memory_order_relaxed);
  if (Counted(intended)) submitted.fetch_add(1, std::memory_order_relaxed);
}

void RunCounters::SubmitAnswered(Clock::time_point intended, Clock::time_point now, int code,
                                 const std::string& rpc, const std::string& message,
                                 bool duplicate) {
  in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (code != 0) {
    all_errors.fetch_add(1, std::memory_order_relaxed);
    if (!Counted(intended)) return;
    // NOT_FOUND (no such queue) is said by whoever drops the queue.
    if (code == kNotFound) {
      CountError(rpc, code);
    } else {
      RecordError(rpc, code, message);
    }
    return;
  }
  all_acked.fetch_add(1, std::memory_order_relaxed);
  if (!Counted(intended)) return;
  acked.fetch_add(1, std::memory_order_relaxed);
  if (duplicate) duplicates.fetch_add(1, std::memory_order_relaxed);
  submit_to_ack.Record(LatencyFromIntended(intended, now).count());
}

void RunCounters::SubmitsUnanswered(int64_t count) {
  if (count <= 0) return;
  in_flight.fetch_sub(count, std::memory_order_relaxed);
  unanswered.fetch_add(static_cast<uint64_t>(count), std::memory_order_relaxed);
}

void RunCounters::SubmitNotSent(Clock::time_point intended, int64_t limit) {
  if (!Counted(intended)) return;
  not_sent.fetch_add(1, std::memory_order_relaxed);
  DescribeOnce("not sent", absl::StrCat("Submit not sent: ", limit,
                                        " submits unanswered; not sending more until they are "
                                        "(more like it are only counted)"));
}

void RunCounters::OfferDelivered(std::optional<int64_t> intended_ns, Clock::time_point now) {
  all_offers.fetch_add(1, std::memory_order_relaxed);
  if (!intended_ns.has_value()) {
    offers.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!CountedNanos(*intended_ns)) return;
  offers.fetch_add(1, std::memory_order_relaxed);
  const int64_t latency_ns = SteadyNanos(now) - *intended_ns;
  submit_to_offer.Record(latency_ns > 0 ? static_cast<uint64_t>(latency_ns) : 0);
}

bool RunCounters::CountError(const std::string& rpc, int code) {
  std::lock_guard lock(mu_);
  return ++errors_[absl::StrCat(rpc, " ", CodeName(code))] == 1;
}

void RunCounters::RecordError(const std::string& rpc, int code, const std::string& message,
                              const std::string& context) {
  if (!CountError(rpc, code)) return;
  Describe(absl::StrCat(rpc, context.empty() ? "" : " ", context, ": ", CodeName(code),
                        message.empty() ? "" : ": ", message, " (more like it are only counted)"));
}

void RunCounters::DescribeOnce(const std::string& key, const std::string& what) {
  {
    std::lock_guard lock(mu_);
    if (!described_kinds_.insert(key).second) return;
  }
  Describe(what);
}

void RunCounters::Describe(const std::string& what) {
  std::lock_guard lock(mu_);
  if (++described_ <= kMaxDescribed) {
    std::fprintf(stderr, "ccload: %s\n", MaskPersonalData(what).c_str());
  } else if (described_ == kMaxDescribed + 1) {
    std::fprintf(stderr, "ccload: further problems are only counted\n");
  }
}

std::map<std::string, uint64_t> RunCounters::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

LoadCounters RunCounters::Snapshot(double elapsed_seconds, uint64_t seed, int agents) const {
  LoadCounters c;
  c.elapsed_seconds = elapsed_seconds;
  c.seed = seed;
  c.agents = agents;
  c.agents_logged_in = agents_logged_in.load();
  c.submitted = submitted.load();
  c.acked = acked.load();
  c.duplicates = duplicates.load();
  c.offers = offers.load();
  c.accepts = accepts.load();
  c.rejects = rejects.load();
  c.withdrawn = withdrawn.load();
  c.completes = completes.load();
  c.wrap_ups = wrap_ups.load();
  c.abandons = abandons.load();
  c.errors = errors();
  // The demo's table has no column for these: they show as a failure kind.
  if (const uint64_t n = not_sent.load(); n > 0) {
    c.errors[absl::StrCat("Submit not sent ",
                          CodeName(static_cast<int>(absl::StatusCode::kResourceExhausted)))] += n;
  }
  return c;
}

}  // namespace ccr::load
