#include "metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace ccr::metrics {

namespace {

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto result = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, result.ptr);
  }
}

void AppendUnsigned(std::string& out, uint64_t v) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, result.ptr);
}

// Help text: backslash and newline escaped. Label values: also the quote.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// name{labels[,extra="value"]}
void AppendSeriesName(std::string& out, std::string_view name, std::string_view suffix,
                      const prometheus::ClientMetric& m, std::string_view extra_label = {},
                      double extra_value = 0) {
  out.append(name).append(suffix);
  if (m.label.empty() && extra_label.empty()) return;
  out += '{';
  bool first = true;
  for (const prometheus::ClientMetric::Label& l : m.label) {
    if (!first) out += ',';
    first = false;
    out.append(l.name).append("=\"");
    AppendEscaped(out, l.value, /*quote=*/true);
    out += '"';
  }
  if (!extra_label.empty()) {
    if (!first) out += ',';
    out.append(extra_label).append("=\"");
    AppendDouble(out, extra_value);
    out += '"';
  }
  out += '}';
}

void EndSample(std::string& out, const prometheus::ClientMetric& m) {
  if (m.timestamp_ms != 0) {
    out += ' ';
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof(buf), m.timestamp_ms);
    out.append(buf, result.ptr);
  }
  out += '\n';
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const prometheus::ClientMetric& m, double value) {
  AppendSeriesName(out, name, suffix, m);
  out += ' ';
  AppendDouble(out, value);
  EndSample(out, m);
}

void AppendCount(std::string& out, std::string_view name, std::string_view suffix,
                 const prometheus::ClientMetric& m, uint64_t value,
                 std::string_view extra_label = {}, double extra_value = 0) {
  AppendSeriesName(out, name, suffix, m, extra_label, extra_value);
  out += ' ';
  AppendUnsigned(out, value);
  EndSample(out, m);
}

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    default:
      return "untyped";
  }
}

}  // namespace

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  size_t samples = 0;
  for (const prometheus::MetricFamily& f : families) samples += f.metric.size();
  out.reserve(samples * 64 + families.size() * 128);
  for (const prometheus::MetricFamily& f : families) {
    out.append("# HELP ").append(f.name).append(" ");
    AppendEscaped(out, f.help, /*quote=*/false);
    out.append("\n# TYPE ").append(f.name).append(" ").append(TypeName(f.type)).append("\n");
    for (const prometheus::ClientMetric& m : f.metric) {
      switch (f.type) {
        case prometheus::MetricType::Counter:
          AppendSample(out, f.name, "", m, m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          AppendSample(out, f.name, "", m, m.gauge.value);
          break;
        case prometheus::MetricType::Histogram:
          AppendCount(out, f.name, "_count", m, m.histogram.sample_count);
          AppendSample(out, f.name, "_sum", m, m.histogram.sample_sum);
          for (const prometheus::ClientMetric::Bucket& b : m.histogram.bucket) {
            AppendCount(out, f.name, "_bucket", m, b.cumulative_count, "le", b.upper_bound);
          }
          break;
        case prometheus::MetricType::Summary:
          AppendCount(out, f.name, "_count", m, m.summary.sample_count);
          AppendSample(out, f.name, "_sum", m, m.summary.sample_sum);
          for (const prometheus::ClientMetric::Quantile& q : m.summary.quantile) {
            AppendSeriesName(out, f.name, "", m, "quantile", q.quantile);
            out += ' ';
            AppendDouble(out, q.value);
            EndSample(out, m);
          }
          break;
        default:
          AppendSample(out, f.name, "", m, m.untyped.value);
          break;
      }
    }
  }
  return out;
}

}  // namespace ccr::metrics
