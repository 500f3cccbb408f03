#include "tools/ccload/load_report.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/ccload/json_writer.h"

namespace ccr::load {

namespace v1 = ::ccrouter::v1;

namespace {

std::string WaitText(double seconds) {
  if (seconds < 60) return absl::StrFormat("%.1fs", seconds);
  const int64_t whole = static_cast<int64_t>(seconds);
  if (whole < 3600) return absl::StrFormat("%dm%02ds", whole / 60, whole % 60);
  return absl::StrFormat("%dh%02dm", whole / 3600, whole / 60 % 60);
}

uint64_t ErrorTotal(const LoadCounters& counters) {
  uint64_t total = 0;
  for (const auto& [what, n] : counters.errors) total += n;
  return total;
}

double PerSecond(uint64_t n, double seconds) { return seconds > 0 ? n / seconds : 0; }

bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

// Length of the customer id or phone number starting at text[i], or 0.
size_t PersonalDataLength(absl::string_view text, size_t i) {
  if (i > 0 && IsWordChar(text[i - 1])) return 0;  // only at the start of a word
  size_t n = 0;
  if (text[i] == '+') {  // "+" and at least 7 digits
    n = 1;
    while (i + n < text.size() && absl::ascii_isdigit(text[i + n])) ++n;
    return n >= 8 ? n : 0;
  }
  // "cu" + 4 hex digits + "-" + 7 digits: TrafficMix's customer ids.
  if (text.substr(i, 2) != "cu" || i + 14 > text.size()) return 0;
  for (n = 2; n < 6; ++n) {
    if (!absl::ascii_isxdigit(text[i + n])) return 0;
  }
  if (text[i + n++] != '-') return 0;
  for (; n < 14; ++n) {
    if (!absl::ascii_isdigit(text[i + n])) return 0;
  }
  return n;
}

}  // namespace

std::string MaskPersonalData(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (const size_t n = PersonalDataLength(text, i); n > 0) {
      absl::StrAppend(&out, text.substr(i, 2), "***", text.substr(i + n - 2, 2));
      i += n;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string FormatTargetSeconds(double seconds) {
  if (seconds < 120 || std::fmod(seconds, 60) != 0) return absl::StrFormat("%gs", seconds);
  if (seconds < 7200 || std::fmod(seconds, 3600) != 0) return absl::StrFormat("%gm", seconds / 60);
  return absl::StrFormat("%gh", seconds / 3600);
}

std::string FormatTableReport(const LoadCounters& c,
                              const absl::StatusOr<v1::ListQueuesReply>& queues, bool final) {
  std::string out;
  if (final) {
    absl::StrAppendFormat(&out, "== ccload summary after %.1fs (seed %d)\n", c.elapsed_seconds,
                          c.seed);
  }
  absl::StrAppendFormat(&out,
                        "[%5.0fs] agents %d/%d  submitted %d (%.1f/s)  acked %d  duplicates %d  "
                        "errors %d\n",
                        c.elapsed_seconds, c.agents_logged_in, c.agents, c.submitted,
                        PerSecond(c.submitted, c.elapsed_seconds), c.acked, c.duplicates,
                        ErrorTotal(c));
  absl::StrAppendFormat(&out,
                        "        offers %d  accepts %d  rejects %d  withdrawn %d  completes %d  "
                        "wrap-ups %d  abandons %d",
                        c.offers, c.accepts, c.rejects, c.withdrawn, c.completes, c.wrap_ups,
                        c.abandons);
  out += "\n";
  if (!c.errors.empty()) {
    std::vector<std::string> parts;
    for (const auto& [what, n] : c.errors) parts.push_back(absl::StrCat(what, " ", n));
    absl::StrAppend(&out, "        errors: ", absl::StrJoin(parts, ", "), "\n");
  }
  if (!queues.ok()) {
    absl::StrAppendFormat(&out, "        Admin.ListQueues failed: %s\n",
                          MaskPersonalData(queues.status().ToString()));
    return out;
  }
  // "SL" is answered within target / answered; "!" marks a queue below its target.
  absl::StrAppendFormat(&out, "  %-18s %6s %7s %5s %8s %7s  %-11s %8s %7s %10s\n", "queue",
                        "queued", "offered", "conn", "answered", "SL", "target", "longest",
                        "abandon", "avail/elig");
  for (const v1::QueueSnapshot& q : queues->queues()) {
    const bool below = q.answered() > 0 && q.service_level() < q.target_ratio();
    const std::string sl =
        q.answered() > 0 ? absl::StrFormat("%.1f%%%s", 100 * q.service_level(), below ? "!" : " ")
                         : "-  ";
    const std::string target = absl::StrFormat("%g%% in %s", 100 * q.target_ratio(),
                                               FormatTargetSeconds(q.target_seconds()));
    absl::StrAppendFormat(&out, "  %-18s %6d %7d %5d %8d %7s  %-11s %8s %7d %10s\n", q.name(),
                          q.queued(), q.offered(), q.connected(), q.answered(), sl, target,
                          WaitText(q.oldest_wait_seconds()), q.abandoned(),
                          absl::StrCat(q.agents_available(), "/", q.agents_eligible()));
  }
  return out;
}

std::string FormatJsonReport(const LoadCounters& c,
                             const absl::StatusOr<v1::ListQueuesReply>& queues, bool final) {
  JsonWriter json;
  json.BeginObject();
  json.Key("elapsed_seconds").Number(c.elapsed_seconds);
  json.Key("final").Bool(final);
  json.Key("seed").Number(c.seed);
  json.Key("ccload").BeginObject();
  json.Key("agents").Number(c.agents);
  json.Key("agents_logged_in").Number(c.agents_logged_in);
  json.Key("submitted").Number(c.submitted);
  json.Key("acked").Number(c.acked);
  json.Key("duplicates").Number(c.duplicates);
  json.Key("errors_total").Number(ErrorTotal(c));
  json.Key("errors").BeginObject();
  for (const auto& [what, n] : c.errors) json.Key(what).Number(n);
  json.EndObject();
  json.Key("offers").Number(c.offers);
  json.Key("accepts").Number(c.accepts);
  json.Key("rejects").Number(c.rejects);
  json.Key("withdrawn").Number(c.withdrawn);
  json.Key("completes").Number(c.completes);
  json.Key("wrap_ups").Number(c.wrap_ups);
  json.Key("abandons").Number(c.abandons);
  json.EndObject();
  if (!queues.ok()) {
    json.Key("admin_error").String(MaskPersonalData(queues.status().ToString()));
    return json.EndObject().Take();
  }
  json.Key("queues").BeginArray();
  for (const v1::QueueSnapshot& q : queues->queues()) {
    json.BeginObject();
    json.Key("name").String(q.name());
    json.Key("queued").Number(q.queued());
    json.Key("offered").Number(q.offered());
    json.Key("connected").Number(q.connected());
    json.Key("answered").Number(q.answered());
    json.Key("service_level").Number(q.service_level());
    json.Key("target_ratio").Number(q.target_ratio());
    json.Key("target_seconds").Number(q.target_seconds());
    json.Key("meets_target");
    if (q.answered() == 0) {
      json.Null();
    } else {
      json.Bool(q.service_level() >= q.target_ratio());
    }
    json.Key("oldest_wait_seconds").Number(q.oldest_wait_seconds());
    json.Key("abandoned").Number(q.abandoned());
    json.Key("agents_available").Number(q.agents_available());
    json.Key("agents_eligible").Number(q.agents_eligible());
    json.Key("estimated_wait_seconds").Number(q.estimated_wait_seconds());
    json.EndObject();
  }
  json.EndArray();
  return json.EndObject().Take();
}

}  // namespace ccr::load
