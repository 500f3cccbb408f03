#include "tools/ccsim/wait_accuracy.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace ccr::sim {

const char* WaitEstimatorName(WaitEstimator e) {
  switch (e) {
    case WaitEstimator::kRouter:
      return "router";
    case WaitEstimator::kAnswerInterval:
      return "answer_interval";
    case WaitEstimator::kQueueLength:
      return "ql";
    case WaitEstimator::kQueueLengthAbandon:
      return "ql_m";
    case WaitEstimator::kLastToEnterService:
      return "les";
    case WaitEstimator::kAverageLastToEnter:
      return "avg_les10";
    case WaitEstimator::kWaitingInterval:
      return "busy_interval";
  }
  return "?";
}

const char* PositionBandName(int band) {
  static constexpr const char* kNames[] = {"1", "2-5", "6-20", ">20", "all"};
  return kNames[std::clamp(band, 0, kPositionBandCount)];
}

int PositionBand(uint32_t position) {
  if (position <= 1) return 0;
  if (position <= 5) return 1;
  if (position <= 20) return 2;
  return 3;
}

bool WithinTolerance(double predicted_seconds, double actual_seconds) {
  return std::abs(predicted_seconds - actual_seconds) <=
         std::max(kWithinRatio * actual_seconds, kWithinFloorSeconds);
}

WaitAccuracyRecorder::WaitAccuracyRecorder(std::vector<std::string> queue_names)
    : queue_names_(std::move(queue_names)) {}

void WaitAccuracyRecorder::Sample(uint64_t contact, uint32_t queue, double now_seconds,
                                  uint32_t position, EstimateMoment moment,
                                  const WaitEstimates& estimates) {
  pending_[contact].push_back({now_seconds, queue, PositionBand(position), moment, estimates});
}

void WaitAccuracyRecorder::Answered(uint64_t contact, double now_seconds) {
  auto it = pending_.find(contact);
  if (it == pending_.end()) return;
  for (const Pending& p : it->second) {
    resolved_.push_back({p.queue, p.band, p.moment, now_seconds - p.at_seconds, p.estimates});
  }
  pending_.erase(it);
}

void WaitAccuracyRecorder::Left(uint64_t contact) {
  auto it = pending_.find(contact);
  if (it == pending_.end()) return;
  samples_dropped_ += it->second.size();
  ++contacts_dropped_;
  pending_.erase(it);
}

namespace {
EstimateErrors Summarize(std::vector<double>& abs_errors, double error_sum, double actual_sum,
                         uint64_t within) {
  EstimateErrors e;
  e.count = abs_errors.size();
  if (e.count == 0) return e;
  const size_t mid = abs_errors.size() / 2;
  std::nth_element(abs_errors.begin(), abs_errors.begin() + mid, abs_errors.end());
  double median = abs_errors[mid];
  if (abs_errors.size() % 2 == 0) {
    median = (median + *std::max_element(abs_errors.begin(), abs_errors.begin() + mid)) / 2;
  }
  e.median_abs_error_seconds = median;
  e.within_20_percent = static_cast<double>(within) / e.count;
  e.bias_seconds = error_sum / e.count;
  e.mean_actual_seconds = actual_sum / e.count;
  return e;
}
}  // namespace

WaitAccuracyReport WaitAccuracyRecorder::Summarize() const {
  WaitAccuracyReport report;
  report.queues = queue_names_;
  report.answered_at_once = answered_at_once_;
  report.samples_dropped = samples_dropped_;
  report.contacts_dropped = contacts_dropped_;
  const size_t queue_cells = queue_names_.size() + 1;
  report.cells.assign(kEstimateMomentCount,
                      std::vector<std::vector<std::vector<EstimateErrors>>>(
                          kWaitEstimatorCount,
                          std::vector<std::vector<EstimateErrors>>(
                              queue_cells, std::vector<EstimateErrors>(kPositionBandCount + 1))));
  struct Accumulator {
    std::vector<double> abs_errors;
    double error_sum = 0;
    double actual_sum = 0;
    uint64_t within = 0;
  };
  for (int m = 0; m < kEstimateMomentCount; ++m) {
    for (int e = 0; e < kWaitEstimatorCount; ++e) {
      std::vector<std::vector<Accumulator>> acc(queue_cells,
                                                std::vector<Accumulator>(kPositionBandCount + 1));
      for (const Resolved& r : resolved_) {
        if (static_cast<int>(r.moment) != m) continue;
        const double predicted = r.estimates[e];
        const double error = predicted - r.actual_seconds;
        const bool within = WithinTolerance(predicted, r.actual_seconds);
        for (size_t q : {size_t{r.queue}, queue_names_.size()}) {
          for (int b : {r.band, kPositionBandCount}) {
            Accumulator& a = acc[q][b];
            a.abs_errors.push_back(std::abs(error));
            a.error_sum += error;
            a.actual_sum += r.actual_seconds;
            a.within += within;
          }
        }
      }
      for (size_t q = 0; q < queue_cells; ++q) {
        for (int b = 0; b <= kPositionBandCount; ++b) {
          Accumulator& a = acc[q][b];
          report.cells[m][e][q][b] =
              ccr::sim::Summarize(a.abs_errors, a.error_sum, a.actual_sum, a.within);
        }
      }
    }
  }
  return report;
}

QueueHistory::QueueHistory(std::vector<double> default_service_seconds)
    : default_service_seconds_(std::move(default_service_seconds)),
      queues_(default_service_seconds_.size()) {}

void QueueHistory::Answered(uint32_t queue, double wait_seconds, double now_seconds) {
  PerQueue& q = queues_[queue];
  q.last_waits.push_back(wait_seconds);
  if (q.last_waits.size() > 10) q.last_waits.pop_front();
  q.waited_sum += wait_seconds;
  if (wait_seconds > 0) {
    const double interval = now_seconds - std::max(q.last_answer, now_seconds - wait_seconds);
    q.waiting_interval =
        q.waiting_intervals == 0 ? interval : 0.8 * q.waiting_interval + 0.2 * interval;
    ++q.waiting_intervals;
  }
  if (q.last_answer >= 0) {
    const double interval = now_seconds - q.last_answer;
    q.answer_interval = q.intervals == 0 ? interval : 0.8 * q.answer_interval + 0.2 * interval;
    ++q.intervals;
  }
  q.last_answer = now_seconds;
}

void QueueHistory::Abandoned(uint32_t queue, double wait_seconds) {
  PerQueue& q = queues_[queue];
  q.waited_sum += wait_seconds;
  ++q.abandoned;
}

void QueueHistory::Served(uint32_t queue, double service_seconds) {
  PerQueue& q = queues_[queue];
  q.service_sum += service_seconds;
  ++q.served;
}

WaitEstimates QueueHistory::Candidates(uint32_t queue, uint32_t position, double age_seconds,
                                       double busy_slots) const {
  const PerQueue& q = queues_[queue];
  WaitEstimates out{};
  const double service = q.served > 0 ? q.service_sum / q.served : default_service_seconds_[queue];
  const double s_mu = std::max(1.0, busy_slots) / service;
  // theta: abandonments per second of waiting, the maximum-likelihood rate
  // of exponential patience from the queue's own history.
  const double theta = q.waited_sum > 0 ? q.abandoned / q.waited_sum : 0;
  out[static_cast<int>(WaitEstimator::kAnswerInterval)] =
      q.intervals >= 3 ? position * q.answer_interval : position / s_mu;
  out[static_cast<int>(WaitEstimator::kQueueLength)] = position / s_mu;
  out[static_cast<int>(WaitEstimator::kWaitingInterval)] =
      q.waiting_intervals >= 3 ? position * q.waiting_interval : position / s_mu;
  double ql_m = 0;
  for (uint32_t k = 0; k < position; ++k) ql_m += 1 / (s_mu + k * theta);
  out[static_cast<int>(WaitEstimator::kQueueLengthAbandon)] = ql_m;
  // The delay-history predictors estimate a whole wait; a contact already
  // waiting is told what is left of it (never less than 0).
  double les = position / s_mu;
  double avg_les = les;
  if (!q.last_waits.empty()) {
    les = q.last_waits.back();
    avg_les = 0;
    for (double w : q.last_waits) avg_les += w;
    avg_les /= q.last_waits.size();
  }
  out[static_cast<int>(WaitEstimator::kLastToEnterService)] = std::max(0.0, les - age_seconds);
  out[static_cast<int>(WaitEstimator::kAverageLastToEnter)] = std::max(0.0, avg_les - age_seconds);
  return out;
}

}  // namespace ccr::sim
