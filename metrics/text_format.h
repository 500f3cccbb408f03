// The Prometheus text exposition format (version 0.0.4), written straight
// into one string. prometheus-cpp's TextSerializer writes through
// std::ostream and costs about 1 µs a series; a scrape runs on the routing
// strand, so this one appends with std::to_chars instead (BENCHMARKS.md).
//
//   std::string body = SerializeText(registry->Collect());
//
// Values are written in the shortest form that reads back exactly; NaN and
// infinities as NaN, +Inf, -Inf. Help text and label values are escaped as
// the format requires.
#ifndef CCROUTER_METRICS_TEXT_FORMAT_H_
#define CCROUTER_METRICS_TEXT_FORMAT_H_

#include <string>
#include <vector>

#include "prometheus/metric_family.h"

namespace ccr::metrics {

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_TEXT_FORMAT_H_
