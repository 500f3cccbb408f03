// Report: a simulation's figures as a text table, as JSON, and the service
// level over the day as an SVG line chart drawn here (no plotting tool).
#ifndef CCROUTER_TOOLS_CCSIM_REPORT_H_
#define CCROUTER_TOOLS_CCSIM_REPORT_H_

#include <string>
#include <vector>

#include "tools/ccsim/erlang.h"
#include "tools/ccsim/simulator.h"

namespace ccr::sim {

// Per queue, tier and stream: service level, ASA, abandonment, longest wait,
// SLA breaches; then occupancy and fairness. Several reports (one per
// policy, same scenario) end with a side-by-side comparison.
std::string FormatText(const std::vector<SimulationReport>& reports);

// {"scenario": ..., "reports": [{"policy": ..., "overall": {...}, "queues": [...], ...}]}
std::string FormatJson(const std::vector<SimulationReport>& reports);

// Service level per interval over the day: one line per queue for a single
// report, one line per policy (all queues together) for several.
std::string RenderServiceLevelSvg(const std::vector<SimulationReport>& reports);

std::string FormatErlangText(const ErlangInputs& in, const ErlangPrediction& p, int agents_needed);
std::string FormatErlangJson(const ErlangPrediction& p, int agents_needed);

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_REPORT_H_
