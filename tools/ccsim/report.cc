#include "tools/ccsim/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codec/json_text.h"

namespace ccr::sim {

namespace {

// JSON has no infinity or NaN: those become null.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

std::string TallyJson(const ServiceTally& t) {
  return absl::StrFormat(
      "{\"arrived\": %d, \"answered\": %d, \"answered_within_target\": %d, \"abandoned\": %d, "
      "\"expired\": %d, \"unanswered\": %d, \"sla_breaches\": %d, \"service_level\": %s, "
      "\"asa_seconds\": %s, \"abandon_ratio\": %s, \"longest_wait_seconds\": %s}",
      t.arrived, t.answered, t.answered_within_target, t.abandoned, t.expired, t.unanswered,
      t.sla_breaches, JsonNumber(t.ServiceLevel()), JsonNumber(t.AsaSeconds()),
      JsonNumber(t.AbandonRatio()), JsonNumber(t.longest_wait_seconds));
}

std::string GroupsJson(const std::vector<GroupReport>& groups, bool with_target) {
  std::vector<std::string> items;
  for (const GroupReport& g : groups) {
    std::string item = absl::StrCat("{\"name\": ", JsonQuoted(g.name));
    if (with_target) {
      absl::StrAppend(&item, ", \"target_seconds\": ", JsonNumber(g.target_seconds),
                      ", \"target_ratio\": ", JsonNumber(g.target_ratio));
    }
    absl::StrAppend(&item, ", \"total\": ", TallyJson(g.total),
                    ", \"service_level_by_interval\": [");
    std::vector<std::string> levels;
    for (const ServiceTally& t : g.intervals) {
      levels.push_back(t.answered == 0 ? "null" : JsonNumber(t.ServiceLevel()));
    }
    absl::StrAppend(&item, absl::StrJoin(levels, ", "), "]}");
    items.push_back(std::move(item));
  }
  return absl::StrCat("[", absl::StrJoin(items, ",\n      "), "]");
}

std::string TallyRow(absl::string_view name, const ServiceTally& t, double target_seconds) {
  const std::string target = target_seconds > 0 ? absl::StrFormat("%.0fs", target_seconds) : "-";
  return absl::StrFormat("  %-22s %7s %8d %7.1f%% %8.1f %7.1f%% %8.0f %8d\n", name, target,
                         t.arrived, 100 * t.ServiceLevel(), t.AsaSeconds(), 100 * t.AbandonRatio(),
                         t.longest_wait_seconds, t.sla_breaches);
}

std::string TableHeader(absl::string_view first) {
  return absl::StrFormat("  %-22s %7s %8s %8s %8s %8s %8s %8s\n", first, "target", "arrived", "SL",
                         "ASA(s)", "aband.", "longest", "breaches");
}

const char* MomentName(int m) { return m == 0 ? "submit" : "waiting"; }

// The router's estimate by queue and position band, then every estimator
// side by side, for both moments (Submit reply, reads while waiting).
std::string WaitAccuracyText(const WaitAccuracyReport& w) {
  std::string out = absl::StrFormat(
      "  wait estimates against the waits answered contacts got (%d answered at once, no "
      "estimate; %d estimates of %d contacts that abandoned or expired not compared).\n"
      "  within 20%% = error at most max(20%% of the wait, %.0f s); bias = mean(estimate - "
      "wait); re-estimated every %.0f s of waiting\n",
      w.answered_at_once, w.samples_dropped, w.contacts_dropped, kWithinFloorSeconds,
      kReestimateEverySeconds);
  for (int m = 0; m < kEstimateMomentCount; ++m) {
    absl::StrAppendFormat(&out, "  %-22s %8s %8s %9s %8s %8s %9s\n",
                          absl::StrCat("router, at ", MomentName(m)), "position", "count",
                          "medAE(s)", "+-20%", "bias(s)", "wait(s)");
    for (size_t q = 0; q <= w.queues.size(); ++q) {
      for (int b = 0; b <= kPositionBandCount; ++b) {
        const EstimateErrors& e = w.Cell(EstimateMoment(m), WaitEstimator::kRouter, q, b);
        if (e.count == 0) continue;
        absl::StrAppendFormat(&out, "  %-22s %8s %8d %9.1f %7.1f%% %8.1f %9.1f\n",
                              q == w.AllQueues() ? "(all queues)" : w.queues[q],
                              PositionBandName(b), e.count, e.median_abs_error_seconds,
                              100 * e.within_20_percent, e.bias_seconds, e.mean_actual_seconds);
      }
    }
  }
  for (int m = 0; m < kEstimateMomentCount; ++m) {
    absl::StrAppendFormat(&out, "  %-22s %8s", absl::StrCat("medAE(s) / +-20%, ", MomentName(m)),
                          "position");
    for (int e = 0; e < kWaitEstimatorCount; ++e) {
      absl::StrAppendFormat(&out, " %15s", WaitEstimatorName(WaitEstimator(e)));
    }
    out += "\n";
    auto row = [&](size_t q, int b) {
      if (w.Cell(EstimateMoment(m), WaitEstimator::kRouter, q, b).count == 0) return;
      absl::StrAppendFormat(&out, "  %-22s %8s", q == w.AllQueues() ? "(all queues)" : w.queues[q],
                            PositionBandName(b));
      for (int e = 0; e < kWaitEstimatorCount; ++e) {
        const EstimateErrors& c = w.Cell(EstimateMoment(m), WaitEstimator(e), q, b);
        absl::StrAppendFormat(&out, " %8.1f %5.1f%%", c.median_abs_error_seconds,
                              100 * c.within_20_percent);
      }
      out += "\n";
    };
    for (size_t q = 0; q < w.queues.size(); ++q) row(q, kPositionBandCount);
    for (int b = 0; b <= kPositionBandCount; ++b) row(w.AllQueues(), b);
  }
  return out;
}

std::string WaitAccuracyJson(const WaitAccuracyReport& w) {
  std::vector<std::string> cells;
  for (int m = 0; m < kEstimateMomentCount; ++m) {
    for (int e = 0; e < kWaitEstimatorCount; ++e) {
      for (size_t q = 0; q <= w.queues.size(); ++q) {
        for (int b = 0; b <= kPositionBandCount; ++b) {
          const EstimateErrors& c = w.Cell(EstimateMoment(m), WaitEstimator(e), q, b);
          if (c.count == 0) continue;
          cells.push_back(absl::StrFormat(
              "{\"moment\": \"%s\", \"estimator\": \"%s\", \"queue\": %s, \"position\": "
              "\"%s\", \"count\": %d, \"median_abs_error_seconds\": %s, "
              "\"within_20_percent\": %s, \"bias_seconds\": %s, \"mean_wait_seconds\": %s}",
              MomentName(m), WaitEstimatorName(WaitEstimator(e)),
              q == w.AllQueues() ? "null" : JsonQuoted(w.queues[q]), PositionBandName(b), c.count,
              JsonNumber(c.median_abs_error_seconds), JsonNumber(c.within_20_percent),
              JsonNumber(c.bias_seconds), JsonNumber(c.mean_actual_seconds)));
        }
      }
    }
  }
  return absl::StrFormat(
      "{\"answered_at_once\": %d, \"samples_dropped\": %d, \"contacts_dropped\": %d, "
      "\"reestimate_every_seconds\": %s, \"within_floor_seconds\": %s,\n      \"cells\": [%s]}",
      w.answered_at_once, w.samples_dropped, w.contacts_dropped,
      JsonNumber(kReestimateEverySeconds), JsonNumber(kWithinFloorSeconds),
      absl::StrJoin(cells, ",\n        "));
}

// Service level of all queues together, per interval.
std::vector<ServiceTally> OverallByInterval(const SimulationReport& r) {
  std::vector<ServiceTally> out;
  for (const GroupReport& g : r.queues) {
    if (out.size() < g.intervals.size()) out.resize(g.intervals.size());
    for (size_t i = 0; i < g.intervals.size(); ++i) out[i].Add(g.intervals[i]);
  }
  return out;
}

// The router against the best baseline on each figure (each figure's best
// may be a different policy). Empty unless the router and a baseline ran.
std::string CompareWithBestBaseline(
    const std::vector<SimulationReport>& reports,
    const std::vector<std::pair<std::string, std::vector<const GroupReport*>>>& columns) {
  int router = -1;
  for (size_t i = 0; i < reports.size(); ++i) {
    if (reports[i].policy == "router") router = static_cast<int>(i);
  }
  if (router < 0 || reports.size() < 2) return "";
  std::string out = "== router against the best baseline on each figure\n";
  absl::StrAppendFormat(&out, "  %-34s %9s %9s %-18s %8s\n", "figure", "router", "best", "(policy)",
                        "diff");
  // `higher_is_better`: service level; lower: waits, abandonment, breaches.
  auto row = [&](absl::string_view figure, bool higher_is_better, double scale,
                 absl::string_view unit, auto value_of) {
    int best = -1;
    for (size_t i = 0; i < reports.size(); ++i) {
      if (static_cast<int>(i) == router) continue;
      const double v = value_of(reports[i], i);
      if (best < 0 || (higher_is_better ? v > value_of(reports[best], best)
                                        : v < value_of(reports[best], best))) {
        best = static_cast<int>(i);
      }
    }
    const double mine = scale * value_of(reports[router], router);
    const double theirs = scale * value_of(reports[best], best);
    absl::StrAppendFormat(&out, "  %-34s %8.1f%s %8.1f%s %-18s %+8.1f\n", figure, mine, unit,
                          theirs, unit, reports[best].policy, mine - theirs);
  };
  row("overall SL", true, 100, "%",
      [](const SimulationReport& r, size_t) { return r.overall.ServiceLevel(); });
  row("overall ASA (s)", false, 1, " ",
      [](const SimulationReport& r, size_t) { return r.overall.AsaSeconds(); });
  row("overall abandonment", false, 100, "%",
      [](const SimulationReport& r, size_t) { return r.overall.AbandonRatio(); });
  row("overall longest wait (s)", false, 1, " ",
      [](const SimulationReport& r, size_t) { return r.overall.longest_wait_seconds; });
  for (const auto& [name, cells] : columns) {
    row(absl::StrCat("SL ", name), true, 100, "%",
        [&cells = cells](const SimulationReport&, size_t i) {
          return cells[i] == nullptr ? 0.0 : cells[i]->total.ServiceLevel();
        });
  }
  return out;
}

}  // namespace

std::string FormatText(const std::vector<SimulationReport>& reports) {
  std::string out;
  for (const SimulationReport& r : reports) {
    absl::StrAppendFormat(&out,
                          "== %s, policy %s, seed %d: %.1f h simulated (%.1f h warm-up), %d "
                          "contacts, %d agents, %.2f s wall\n",
                          r.scenario, r.policy, r.seed, r.duration_hours, r.warmup_hours,
                          r.contacts_planned, r.agents, r.wall_seconds);
    out += TableHeader("queue");
    for (const GroupReport& g : r.queues) out += TallyRow(g.name, g.total, g.target_seconds);
    out += TallyRow("(all queues)", r.overall, 0);
    out += TableHeader("tier");
    for (const GroupReport& g : r.tiers) out += TallyRow(g.name, g.total, 0);
    out += TableHeader("stream");
    for (const GroupReport& g : r.streams) out += TallyRow(g.name, g.total, g.target_seconds);
    absl::StrAppendFormat(&out,
                          "  occupancy %.1f%%, agent load fairness: Jain index of occupancy "
                          "%.3f, CV of contacts handled per staffed hour %.3f\n",
                          100 * r.occupancy, r.occupancy_jain_index, r.handled_per_hour_cv);
    if (r.overall.unanswered > 0 || r.overall.expired > 0) {
      absl::StrAppendFormat(&out, "  unanswered at the end %d, expired %d\n", r.overall.unanswered,
                            r.overall.expired);
    }
    if (r.contacts_created_by_policy > 0) {
      absl::StrAppendFormat(&out, "  follow-up contacts created by the router and handled: %d\n",
                            r.contacts_created_by_policy);
    }
    if (r.wait_accuracy) out += WaitAccuracyText(*r.wait_accuracy);
    out += "\n";
  }
  if (reports.size() > 1) {
    out += "== comparison (same contacts, patience and handle times for every policy)\n";
    absl::StrAppendFormat(&out, "  %-20s %8s %8s %8s %8s %8s %8s %8s\n", "policy", "SL", "ASA(s)",
                          "aband.", "breaches", "occup.", "Jain", "CV/h");
    for (const SimulationReport& r : reports) {
      absl::StrAppendFormat(&out, "  %-20s %7.1f%% %8.1f %7.1f%% %8d %7.1f%% %8.3f %8.3f\n",
                            r.policy, 100 * r.overall.ServiceLevel(), r.overall.AsaSeconds(),
                            100 * r.overall.AbandonRatio(), r.overall.sla_breaches,
                            100 * r.occupancy, r.occupancy_jain_index, r.handled_per_hour_cv);
    }
    // Service level by queue, tier and stream side by side (all reports share the scenario).
    std::vector<std::pair<std::string, std::vector<const GroupReport*>>> columns;
    auto add_columns = [&](const std::vector<GroupReport> SimulationReport::*groups,
                           absl::string_view prefix) {
      for (size_t i = 0; i < (reports[0].*groups).size(); ++i) {
        std::vector<const GroupReport*> cells;
        for (const SimulationReport& r : reports) {
          cells.push_back(i < (r.*groups).size() ? &(r.*groups)[i] : nullptr);
        }
        columns.emplace_back(absl::StrCat(prefix, (reports[0].*groups)[i].name), cells);
      }
    };
    add_columns(&SimulationReport::queues, "");
    add_columns(&SimulationReport::tiers, "tier:");
    add_columns(&SimulationReport::streams, "stream:");
    out += "== service level by queue, tier and stream\n";
    absl::StrAppendFormat(&out, "  %-26s", "");
    for (const SimulationReport& r : reports) absl::StrAppendFormat(&out, " %8.8s", r.policy);
    out += "\n";
    for (const auto& [name, cells] : columns) {
      absl::StrAppendFormat(&out, "  %-26s", name);
      for (const GroupReport* g : cells) {
        absl::StrAppendFormat(&out, " %7.1f%%", g == nullptr ? 0.0 : 100 * g->total.ServiceLevel());
      }
      out += "\n";
    }
    out += CompareWithBestBaseline(reports, columns);
  }
  return out;
}

std::string FormatJson(const std::vector<SimulationReport>& reports) {
  std::vector<std::string> items;
  for (const SimulationReport& r : reports) {
    std::vector<std::string> counters;
    for (const auto& [name, count] : r.policy_counters) {
      counters.push_back(absl::StrCat(JsonQuoted(name), ": ", count));
    }
    items.push_back(absl::StrFormat(
        "{\"policy\": %s, \"seed\": %d, \"duration_hours\": %s, \"warmup_hours\": %s, "
        "\"interval_minutes\": %s, \"contacts\": %d, \"agents\": %d, \"wall_seconds\": %s,\n"
        "    \"overall\": %s,\n    \"occupancy\": %s, \"occupancy_jain_index\": %s, "
        "\"handled_per_hour_cv\": %s, \"contacts_created_by_policy\": %d,\n"
        "    \"queues\": %s,\n    \"tiers\": %s,\n    \"streams\": %s,\n"
        "    \"policy_counters\": {%s},\n    \"wait_accuracy\": %s}",
        JsonQuoted(r.policy), r.seed, JsonNumber(r.duration_hours), JsonNumber(r.warmup_hours),
        JsonNumber(r.interval_minutes), r.contacts_planned, r.agents, JsonNumber(r.wall_seconds),
        TallyJson(r.overall), JsonNumber(r.occupancy), JsonNumber(r.occupancy_jain_index),
        JsonNumber(r.handled_per_hour_cv), r.contacts_created_by_policy, GroupsJson(r.queues, true),
        GroupsJson(r.tiers, false), GroupsJson(r.streams, true), absl::StrJoin(counters, ", "),
        r.wait_accuracy ? WaitAccuracyJson(*r.wait_accuracy) : "null"));
  }
  const std::string scenario = reports.empty() ? "" : reports.front().scenario;
  return absl::StrCat("{\"scenario\": ", JsonQuoted(scenario), ",\n  \"reports\": [\n  ",
                      absl::StrJoin(items, ",\n  "), "]}\n");
}

std::string RenderServiceLevelSvg(const std::vector<SimulationReport>& reports) {
  struct Series {
    std::string name;
    std::vector<ServiceTally> points;
  };
  std::vector<Series> series;
  std::string title;
  if (reports.size() == 1) {
    title = absl::StrCat("Service level by queue: ", reports[0].scenario, ", policy ",
                         reports[0].policy);
    for (const GroupReport& g : reports[0].queues) series.push_back({g.name, g.intervals});
  } else {
    title = absl::StrCat("Service level, all queues: ", reports.empty() ? "" : reports[0].scenario);
    for (const SimulationReport& r : reports) series.push_back({r.policy, OverallByInterval(r)});
  }
  const double hours = reports.empty() ? 24 : reports[0].duration_hours;
  const double step_hours = reports.empty() ? 0.5 : reports[0].interval_minutes / 60;

  constexpr int kWidth = 900, kHeight = 420, kLeft = 60, kRight = 200, kTop = 40, kBottom = 50;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x_of = [&](double h) { return kLeft + plot_w * h / hours; };
  auto y_of = [&](double level) { return kTop + plot_h * (1 - level); };
  static constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                             "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%d\" y=\"24\" font-size=\"15\">%s</text>\n",
      kWidth, kHeight, kLeft, title);
  for (int level = 0; level <= 100; level += 20) {
    const double y = y_of(level / 100.0);
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
                          kLeft, y, kLeft + plot_w, y, kLeft - 6, y + 4, level);
  }
  const double tick = hours > 48 ? 24 : (hours > 12 ? 2 : (hours > 4 ? 1 : 0.25));
  for (double h = 0; h <= hours + 1e-9; h += tick) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                          x_of(h), kTop, x_of(h), kTop + plot_h, x_of(h), kTop + plot_h + 16, h);
  }
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">hour of the day "
                        "(service level of contacts arriving in each %g-minute interval)</text>\n",
                        kLeft + plot_w / 2, kHeight - 10, step_hours * 60);
  // The usual 80 % target, for reference.
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                        "stroke-dasharray=\"6,4\"/>\n",
                        kLeft, y_of(0.8), kLeft + plot_w, y_of(0.8));
  for (size_t s = 0; s < series.size(); ++s) {
    const char* colour = kColours[s % 8];
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < series[s].points.size(); ++i) {
      const ServiceTally& t = series[s].points[i];
      if (t.answered == 0) {  // nothing answered: a gap, not a fake 100 %
        pen_down = false;
        continue;
      }
      absl::StrAppendFormat(&path, "%s%.1f,%.1f ", pen_down ? "L" : "M",
                            x_of((i + 0.5) * step_hours), y_of(t.ServiceLevel()));
      pen_down = true;
    }
    absl::StrAppendFormat(&svg,
                          "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"/>\n"
                          "<rect x=\"%.1f\" y=\"%d\" width=\"14\" height=\"3\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%d\">%s</text>\n",
                          path, colour, kLeft + plot_w + 12, kTop + 10 + 18 * int(s), colour,
                          kLeft + plot_w + 30, kTop + 14 + 18 * int(s), series[s].name);
  }
  svg += "</svg>\n";
  return svg;
}

std::string FormatErlangText(const ErlangInputs& in, const ErlangPrediction& p, int agents_needed) {
  std::string out = absl::StrFormat(
      "%s: %.1f contacts/h, handle %.0f s, %d agents, target %.0f s%s\n",
      in.patience_seconds > 0 ? "Erlang A (M/M/n+M)" : "Erlang C (M/M/n)", in.arrivals_per_hour,
      in.handle_seconds, in.agents, in.target_seconds,
      in.patience_seconds > 0 ? absl::StrFormat(", mean patience %.0f s", in.patience_seconds)
                              : "");
  if (!p.stable) {
    absl::StrAppend(&out,
                    "  unstable: the load is at least the number of agents; the queue grows "
                    "without bound\n");
  }
  absl::StrAppendFormat(&out,
                        "  occupancy        %.2f%%\n  P(wait)          %.4f\n"
                        "  service level    %.2f%% answered within %.0f s\n"
                        "  ASA              %.2f s\n  abandonment      %.2f%%\n"
                        "  agents needed    %d for an 80%% service level\n",
                        100 * p.occupancy, p.p_wait, 100 * p.service_level, in.target_seconds,
                        p.asa_seconds, 100 * p.abandon_ratio, agents_needed);
  return out;
}

std::string FormatErlangJson(const ErlangPrediction& p, int agents_needed) {
  return absl::StrFormat(
      "{\"p_wait\": %s, \"service_level\": %s, \"asa_seconds\": %s, \"abandon_ratio\": %s, "
      "\"agents_needed\": %d, \"occupancy\": %s, \"stable\": %s}\n",
      JsonNumber(p.p_wait), JsonNumber(p.service_level), JsonNumber(p.asa_seconds),
      JsonNumber(p.abandon_ratio), agents_needed, JsonNumber(p.occupancy),
      p.stable ? "true" : "false");
}

}  // namespace ccr::sim
