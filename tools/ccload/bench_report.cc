#include "tools/ccload/bench_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/ccload/json_writer.h"

namespace ccr::load {

namespace {

std::string Micros(uint64_t ns) { return absl::StrFormat("%.1f", ns / 1000.0); }

std::string PercentileKey(double p) {
  std::string key = absl::StrCat("p", p);
  for (char& c : key) {
    if (c == '.') c = '_';
  }
  return key;  // p50, p99_9
}

void JsonLatency(const HdrHistogram& h, JsonWriter& json) {
  json.BeginObject();
  json.Key("count").Number(h.count());
  for (double p : kReportedPercentiles) {
    json.Key(absl::StrCat(PercentileKey(p), "_us")).Fixed(h.Percentile(p) / 1000.0, 1);
  }
  json.Key("max_us").Fixed(h.max() / 1000.0, 1);
  json.Key("mean_us").Fixed(h.mean() / 1000, 1);
  json.EndObject();
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
  JsonWriter json;
  json.BeginObject();
  json.Key("server").String(s.server);
  json.Key("target").String(s.baseline ? "echo" : "ccrouterd");
  json.Key("ingest").String(s.stream_ingest ? "stream" : "unary");
  json.Key("loop").String(s.open_loop ? "open" : "closed");
  json.Key("target_rate_per_second").Number(s.target_rate_per_second);
  json.Key("gateways").Number(s.gateways);
  json.Key("window").Number(s.window);
  json.Key("agents").Number(s.agents);
  json.Key("agents_logged_in").Number(s.agents_logged_in);
  json.Key("warmup_seconds").Number(s.warmup_seconds);
  json.Key("measured_seconds").Fixed(s.measured_seconds, 3);
  json.Key("submitted").Number(s.submitted);
  json.Key("acked").Number(s.acked);
  json.Key("acks_per_second").Fixed(s.acks_per_second(), 1);
  json.Key("offers").Number(s.offers);
  json.Key("not_sent").Number(s.not_sent);
  json.Key("acked_all").Number(s.acked_all);
  json.Key("unanswered").Number(s.unanswered);
  json.Key("errors").BeginObject();
  for (const auto& [key, count] : s.errors) json.Key(key).Number(count);
  json.EndObject();
  json.Key("submit_to_ack");
  JsonLatency(s.submit_to_ack, json);
  json.Key("submit_to_offer");
  JsonLatency(s.submit_to_offer, json);
  json.Key("queues").BeginArray();
  for (const BenchQueueFigures& q : s.queues) {
    json.BeginObject();
    json.Key("name").String(q.name);
    json.Key("answered").Number(q.answered);
    json.Key("answered_within_target").Number(q.answered_within_target);
    json.Key("service_level").Fixed(q.service_level, 4);
    json.Key("target_ratio").Number(q.target_ratio);
    json.Key("target_seconds").Number(q.target_seconds);
    json.Key("queued").Number(q.queued);
    json.EndObject();
  }
  json.EndArray();
  if (!s.engine_figures_error.empty()) {
    json.Key("engine_figures_error").String(s.engine_figures_error);
  }
  return json.EndObject().Take();
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
