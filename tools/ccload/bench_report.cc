#include "tools/ccload/bench_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ccr::load {

namespace {

std::string Micros(uint64_t ns) { return absl::StrFormat("%.1f", ns / 1000.0); }

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string PercentileKey(double p) {
  std::string key = absl::StrCat("p", p);
  for (char& c : key) {
    if (c == '.') c = '_';
  }
  return key;  // p50, p99_9
}

std::string JsonLatency(const HdrHistogram& h) {
  std::vector<std::string> fields = {absl::StrCat("\"count\":", h.count())};
  for (double p : kReportedPercentiles) {
    fields.push_back(absl::StrCat("\"", PercentileKey(p), "_us\":", Micros(h.Percentile(p))));
  }
  fields.push_back(absl::StrCat("\"max_us\":", Micros(h.max())));
  fields.push_back(absl::StrFormat("\"mean_us\":%.1f", h.mean() / 1000));
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

std::string TableLatencyRow(const std::string& what, const HdrHistogram& h) {
  if (h.count() == 0) return absl::StrFormat("  %-16s %10s\n", what, "none");
  std::string row = absl::StrFormat("  %-16s %10d", what, h.count());
  for (double p : kReportedPercentiles) {
    row += absl::StrFormat(" %9s", Micros(h.Percentile(p)));
  }
  return row + absl::StrFormat(" %9s\n", Micros(h.max()));
}

}  // namespace

std::string FormatBenchJson(const BenchSummary& s) {
  std::vector<std::string> f;
  f.push_back(absl::StrCat("\"server\":", JsonString(s.server)));
  f.push_back(absl::StrCat("\"target\":", s.baseline ? "\"echo\"" : "\"ccrouterd\""));
  f.push_back(absl::StrCat("\"ingest\":", s.stream_ingest ? "\"stream\"" : "\"unary\""));
  f.push_back(absl::StrCat("\"loop\":", s.open_loop ? "\"open\"" : "\"closed\""));
  f.push_back(absl::StrCat("\"target_rate_per_second\":", s.target_rate_per_second));
  f.push_back(absl::StrCat("\"gateways\":", s.gateways));
  f.push_back(absl::StrCat("\"window\":", s.window));
  f.push_back(absl::StrCat("\"agents\":", s.agents));
  f.push_back(absl::StrCat("\"agents_logged_in\":", s.agents_logged_in));
  f.push_back(absl::StrCat("\"warmup_seconds\":", s.warmup_seconds));
  f.push_back(absl::StrFormat("\"measured_seconds\":%.3f", s.measured_seconds));
  f.push_back(absl::StrCat("\"submitted\":", s.submitted));
  f.push_back(absl::StrCat("\"acked\":", s.acked));
  f.push_back(absl::StrFormat("\"acks_per_second\":%.1f", s.acks_per_second()));
  f.push_back(absl::StrCat("\"offers\":", s.offers));
  f.push_back(absl::StrCat("\"not_sent\":", s.not_sent));
  f.push_back(absl::StrCat("\"acked_all\":", s.acked_all));
  f.push_back(absl::StrCat("\"unanswered\":", s.unanswered));
  std::vector<std::string> errors;
  for (const auto& [key, count] : s.errors) {
    errors.push_back(absl::StrCat(JsonString(key), ":", count));
  }
  f.push_back(absl::StrCat("\"errors\":{", absl::StrJoin(errors, ","), "}"));
  f.push_back(absl::StrCat("\"submit_to_ack\":", JsonLatency(s.submit_to_ack)));
  f.push_back(absl::StrCat("\"submit_to_offer\":", JsonLatency(s.submit_to_offer)));
  std::vector<std::string> queues;
  for (const BenchQueueFigures& q : s.queues) {
    queues.push_back(absl::StrFormat(
        "{\"name\":%s,\"answered\":%d,\"answered_within_target\":%d,\"service_level\":%.4f,"
        "\"target_ratio\":%g,\"target_seconds\":%g,\"queued\":%d}",
        JsonString(q.name), q.answered, q.answered_within_target, q.service_level, q.target_ratio,
        q.target_seconds, q.queued));
  }
  f.push_back(absl::StrCat("\"queues\":[", absl::StrJoin(queues, ","), "]"));
  if (!s.engine_figures_error.empty()) {
    f.push_back(absl::StrCat("\"engine_figures_error\":", JsonString(s.engine_figures_error)));
  }
  return absl::StrCat("{", absl::StrJoin(f, ","), "}");
}

std::string FormatBenchTable(const BenchSummary& s) {
  std::string out = absl::StrFormat(
      "ccload --bench: %s (%s)  %s  %s  %d gateway%s  %d agents (%d logged in)\n", s.server,
      s.baseline ? "echo baseline" : "ccrouterd", s.stream_ingest ? "SubmitStream" : "unary Submit",
      s.open_loop ? absl::StrFormat("open loop %g/s", s.target_rate_per_second)
                  : absl::StrFormat("closed loop, %d in flight per gateway", s.window),
      s.gateways, s.gateways == 1 ? "" : "s", s.agents, s.agents_logged_in);
  out +=
      absl::StrFormat("  measured %.1fs after %gs warm-up\n", s.measured_seconds, s.warmup_seconds);
  out += absl::StrFormat(
      "  submitted %d  acked %d  (%.0f acks/s)  offers %d  not sent %d  unanswered at the end %d\n",
      s.submitted, s.acked, s.acks_per_second(), s.offers, s.not_sent, s.unanswered);
  if (s.errors.empty()) {
    out += "  errors: none\n";
  } else {
    std::vector<std::string> errors;
    for (const auto& [key, count] : s.errors) errors.push_back(absl::StrCat(key, " ", count));
    out += absl::StrCat("  errors: ", absl::StrJoin(errors, ", "), "\n");
  }
  out += absl::StrFormat("  %-16s %10s", "latency (µs)", "count");
  for (double p : kReportedPercentiles) out += absl::StrFormat(" %9s", absl::StrCat("p", p));
  out += absl::StrFormat(" %9s\n", "max");
  out += TableLatencyRow("submit->ack", s.submit_to_ack);
  if (!s.baseline) out += TableLatencyRow("submit->offer", s.submit_to_offer);
  if (!s.queues.empty()) {
    out += absl::StrFormat("  %-20s %10s %8s %8s %8s\n", "queue", "answered", "SL", "target",
                           "queued");
    for (const BenchQueueFigures& q : s.queues) {
      out +=
          absl::StrFormat("  %-20s %10d %7.1f%% %4.0f%%/%gs %6d\n", q.name, q.answered,
                          100 * q.service_level, 100 * q.target_ratio, q.target_seconds, q.queued);
    }
  }
  if (!s.engine_figures_error.empty()) {
    out += absl::StrCat("  engine figures unavailable: ", s.engine_figures_error, "\n");
  }
  return out;
}

std::string FormatBenchProgress(double elapsed_seconds, bool warming_up, double acks_per_second,
                                uint64_t acked, uint64_t offers, uint64_t errors,
                                uint64_t in_flight, const HdrHistogram& ack_so_far) {
  return absl::StrFormat(
      "ccload: %6.1fs %-9s %8.0f acks/s  acked %d  offers %d  errors %d  in flight %d  ack p99 "
      "%s µs",
      elapsed_seconds, warming_up ? "(warm-up)" : "", acks_per_second, acked, offers, errors,
      in_flight, Micros(ack_so_far.Percentile(99)));
}

}  // namespace ccr::load
