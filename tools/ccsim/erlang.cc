#include "tools/ccsim/erlang.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace ccr::sim {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Composite Simpson rule; `intervals` is rounded up to an even number.
double Simpson(const std::function<double(double)>& f, double from, double to, int intervals) {
  if (to <= from) return 0;
  intervals += intervals % 2;
  const double h = (to - from) / intervals;
  double sum = f(from) + f(to);
  for (int i = 1; i < intervals; ++i) sum += f(from + i * h) * (i % 2 == 1 ? 4 : 2);
  return sum * h / 3;
}

absl::Status CheckInputs(const ErlangInputs& in) {
  if (!(in.arrivals_per_hour > 0) || !std::isfinite(in.arrivals_per_hour)) {
    return absl::InvalidArgumentError("rate: arrivals per hour must be > 0");
  }
  if (!(in.handle_seconds > 0) || !std::isfinite(in.handle_seconds)) {
    return absl::InvalidArgumentError("aht: handle seconds must be > 0");
  }
  if (in.agents < 1) return absl::InvalidArgumentError("agents: must be >= 1");
  if (!(in.target_seconds >= 0) || !std::isfinite(in.target_seconds)) {
    return absl::InvalidArgumentError("target: seconds must be >= 0");
  }
  if (!(in.patience_seconds >= 0) || !std::isfinite(in.patience_seconds)) {
    return absl::InvalidArgumentError("patience: seconds must be >= 0 (0: no abandonment)");
  }
  return absl::OkStatus();
}

ErlangPrediction ErlangC(const ErlangInputs& in) {
  const double lambda = in.arrivals_per_hour / 3600.0;
  const double mu = 1.0 / in.handle_seconds;
  const double offered = lambda / mu;
  const int n = in.agents;
  ErlangPrediction p;
  p.occupancy = std::min(1.0, offered / n);
  if (offered >= n * (1 - 1e-12)) {  // full load (or a rounding hair under it)
    p.stable = false;
    p.p_wait = 1;
    p.service_level = 0;
    p.asa_seconds = kInfinity;
    return p;
  }
  const double blocking = ErlangB(n, offered);
  // C = n B / (n - a (1 - B)): Erlang C from Erlang B without factorials.
  p.p_wait = n * blocking / (n - offered * (1 - blocking));
  const double drain_per_second = n * mu - lambda;
  p.service_level = 1 - p.p_wait * std::exp(-drain_per_second * in.target_seconds);
  p.asa_seconds = p.p_wait / drain_per_second;
  return p;
}

// Erlang A (M/M/n+M). With time scaled by the abandonment rate theta,
// x = n mu / theta and y = lambda / theta, a contact that has to wait is
// served after a virtual wait V whose density over all waiting arrivals is
//   pi_n x exp(phi(s)),  phi(s) = -x s + y (1 - exp(-s)),
// (sum over the queue length at arrival of Beta-type hypoexponentials), so
//   A(x, y) = integral of x exp(phi) = 1 + sum_j y^j / prod_{i<=j} (x + i),
//   P(wait) = A E / (1 + (A - 1) E)            (E: Erlang B of n, lambda/mu)
//   P(abandon) = P(wait) (1 - 1/rho + 1/(rho A)),  rho = lambda / (n mu)
// (Palm; Garnett, Mandelbaum and Reiman 2002; Mandelbaum and Zeltyn), and a
// waiting contact is served within target t with the weight exp(-s) of its
// own patience: integral from 0 to theta t of x exp(phi(s) - s).
// The integrals are evaluated in scaled form (divided by exp(max phi)), so
// neither light nor heavy load overflows.
ErlangPrediction ErlangA(const ErlangInputs& in) {
  const double lambda = in.arrivals_per_hour / 3600.0;
  const double mu = 1.0 / in.handle_seconds;
  const double theta = 1.0 / in.patience_seconds;
  const int n = in.agents;
  const double offered = lambda / mu;
  const double x = n * mu / theta;
  const double y = lambda / theta;
  const double rho = y / x;

  const double peak_at = y > x ? std::log(y / x) : 0.0;
  auto phi = [&](double s) { return -x * s + y * (1 - std::exp(-s)); };
  const double phi_max = phi(peak_at);
  // Integrate only where the density is within exp(-80) of its peak. The
  // peak is about 1 / (|x - y| + sqrt(x + y)) wide; start there and widen.
  const double width = 1 / (std::abs(x - y) + std::sqrt(x + y) + 1);
  double upper = peak_at + width;
  while (phi(upper) - phi_max > -80) upper = peak_at + 2 * (upper - peak_at);
  double lower = std::max(0.0, peak_at - width);
  while (lower > 0 && phi(lower) - phi_max > -80) {
    lower = std::max(0.0, peak_at - 2 * (peak_at - lower));
  }
  constexpr int kIntervals = 40000;
  auto waiting_density = [&](double s) { return x * std::exp(phi(s) - phi_max); };
  auto served_density = [&](double s) { return x * std::exp(phi(s) - s - phi_max); };
  const double scaled_a = Simpson(waiting_density, lower, upper, kIntervals);
  const double scaled_served_within =
      Simpson(served_density, lower, std::min(upper, theta * in.target_seconds), kIntervals);
  const double scaled_served_wait =
      Simpson([&](double s) { return s / theta * served_density(s); }, lower, upper, kIntervals);
  const double inverse_a = std::exp(-phi_max) / scaled_a;  // 1 / A, may underflow to 0

  const double blocking = ErlangB(n, offered);
  ErlangPrediction p;
  // A E / (1 + (A - 1) E), divided through by A.
  p.p_wait = blocking / (inverse_a * (1 - blocking) + blocking);
  p.abandon_ratio = p.p_wait * (1 - 1 / rho + inverse_a / rho);
  const double answered = 1 - p.abandon_ratio;
  const double answered_within_target = (1 - p.p_wait) + p.p_wait * scaled_served_within / scaled_a;
  p.service_level = answered > 0 ? answered_within_target / answered : 0;
  p.asa_seconds = answered > 0 ? p.p_wait * scaled_served_wait / scaled_a / answered : kInfinity;
  p.occupancy = std::min(1.0, offered * answered / n);
  return p;
}

}  // namespace

double ErlangB(int agents, double offered_erlangs) {
  double blocking = 1;
  for (int k = 1; k <= agents; ++k) {
    blocking = offered_erlangs * blocking / (k + offered_erlangs * blocking);
  }
  return blocking;
}

absl::StatusOr<ErlangPrediction> PredictErlang(const ErlangInputs& in) {
  CCR_RETURN_IF_ERROR(CheckInputs(in));
  return in.patience_seconds > 0 ? ErlangA(in) : ErlangC(in);
}

absl::StatusOr<int> AgentsNeeded(ErlangInputs in, double target_ratio) {
  if (!(target_ratio > 0 && target_ratio < 1)) {
    return absl::InvalidArgumentError("target_ratio: must be in (0, 1)");
  }
  in.agents = 1;
  CCR_RETURN_IF_ERROR(CheckInputs(in));
  constexpr int kMaxAgents = 100000;
  auto good_enough = [&](int agents) {
    in.agents = agents;
    const ErlangPrediction p = *PredictErlang(in);
    return p.stable && p.service_level >= target_ratio;
  };
  // Service level grows with the number of agents: double, then bisect.
  int high = 1;
  while (!good_enough(high)) {
    if (high >= kMaxAgents) {
      return absl::OutOfRangeError(absl::StrCat("agents: more than ", kMaxAgents, " needed"));
    }
    high = std::min(kMaxAgents, high * 2);
  }
  int low = high / 2;  // not good enough (or 0)
  while (high - low > 1) {
    const int middle = (low + high) / 2;
    (good_enough(middle) ? high : low) = middle;
  }
  return high;
}

}  // namespace ccr::sim
