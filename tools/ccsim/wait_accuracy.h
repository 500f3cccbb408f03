// Wait accuracy: how well wait estimates predicted the waits contacts got.
//
// The router's own estimate (what the Submit reply and the gateway read
// return) is recorded beside candidate estimators from the queueing
// literature (Ibrahim & Whitt's queue-length and delay-history predictors),
// all computed at the same moments of the same run, so they are compared on
// common random numbers:
//
//   WaitAccuracyRecorder recorder(queue_names);
//   recorder.Sample(contact, queue, now, position, age, estimates);  // at submit, every 30 s
//   recorder.Answered(contact, now);  // resolves that contact's samples
//   recorder.Left(contact);           // abandoned or expired: its samples are dropped
//   WaitAccuracyReport report = recorder.Summarize();
//
// Only answered contacts are compared (their actual wait is known; an
// abandoned contact's wait is censored by its patience), as in the
// literature; the samples of abandoned or expired contacts are counted.
#ifndef CCROUTER_TOOLS_CCSIM_WAIT_ACCURACY_H_
#define CCROUTER_TOOLS_CCSIM_WAIT_ACCURACY_H_

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace ccr::sim {

// The estimators compared. kRouter is whatever ccr::Router returns (since
// this comparison: QL with s = the queue's staffed slots, router_queries.cc).
enum class WaitEstimator {
  kRouter,
  kAnswerInterval,      // position x EWMA of the time between answers (the router's before)
  kQueueLength,         // QL: position / (s mu), s = busy slots
  kQueueLengthAbandon,  // QL_m: sum over the position of 1 / (s mu + k theta)
  kLastToEnterService,  // LES: the wait of the queue's last answered contact
  kAverageLastToEnter,  // the mean of the queue's last 10 answered waits
  kWaitingInterval,     // position x EWMA of the time between answers while contacts wait
};
inline constexpr int kWaitEstimatorCount = 7;
const char* WaitEstimatorName(WaitEstimator e);
using WaitEstimates = std::array<double, kWaitEstimatorCount>;  // seconds, by WaitEstimator

// When an estimate was given: in the Submit reply, or by a gateway's read
// while the contact waits (an IVR announcing the wait every 30 s).
enum class EstimateMoment { kSubmit, kWaiting };
inline constexpr int kEstimateMomentCount = 2;
inline constexpr double kReestimateEverySeconds = 30;

// Position bands: 1, 2-5, 6-20, >20.
inline constexpr int kPositionBandCount = 4;
const char* PositionBandName(int band);
int PositionBand(uint32_t position);

// An estimate counts as within +-20 % when its error is at most
// max(20 % of the actual wait, 5 s): near 0 s a percentage alone is
// meaningless (1 s against 0.5 s is 100 % off and of no consequence to a
// caller).
inline constexpr double kWithinRatio = 0.2;
inline constexpr double kWithinFloorSeconds = 5;
bool WithinTolerance(double predicted_seconds, double actual_seconds);

struct EstimateErrors {
  uint64_t count = 0;
  double median_abs_error_seconds = 0;
  double within_20_percent = 0;  // share, 0-1 (WithinTolerance)
  double bias_seconds = 0;       // mean of predicted - actual
  double mean_actual_seconds = 0;
};

// cells[moment][estimator][queue][band]; queue index queues.size() is all
// queues, band index kPositionBandCount is all positions.
struct WaitAccuracyReport {
  std::vector<std::string> queues;
  std::vector<std::vector<std::vector<std::vector<EstimateErrors>>>> cells;
  uint64_t answered_at_once = 0;  // never queued: no estimate to check
  uint64_t samples_dropped = 0;   // of contacts that abandoned or expired
  uint64_t contacts_dropped = 0;

  const EstimateErrors& Cell(EstimateMoment m, WaitEstimator e, size_t queue, int band) const {
    return cells[static_cast<int>(m)][static_cast<int>(e)][queue][band];
  }
  size_t AllQueues() const { return queues.size(); }
};

class WaitAccuracyRecorder {
 public:
  explicit WaitAccuracyRecorder(std::vector<std::string> queue_names);

  void Sample(uint64_t contact, uint32_t queue, double now_seconds, uint32_t position,
              EstimateMoment moment, const WaitEstimates& estimates);
  void AnsweredAtOnce() { ++answered_at_once_; }
  void Answered(uint64_t contact, double now_seconds);
  void Left(uint64_t contact);
  WaitAccuracyReport Summarize() const;

 private:
  struct Pending {
    double at_seconds;
    uint32_t queue;
    int band;
    EstimateMoment moment;
    WaitEstimates estimates;
  };
  struct Resolved {
    uint32_t queue;
    int band;
    EstimateMoment moment;
    double actual_seconds;
    WaitEstimates estimates;
  };

  std::vector<std::string> queue_names_;
  absl::flat_hash_map<uint64_t, std::vector<Pending>> pending_;
  std::vector<Resolved> resolved_;
  uint64_t answered_at_once_ = 0;
  uint64_t samples_dropped_ = 0;
  uint64_t contacts_dropped_ = 0;
};

// The candidate estimators' view of each queue's history: what a router
// could keep per queue in O(1) (the last ten answered waits, the mean
// service time, the abandonment rate), fed from the simulated router's
// events.
class QueueHistory {
 public:
  // `default_service_seconds[q]`: handle + wrap-up from the config, used
  // until the queue has a measured service.
  explicit QueueHistory(std::vector<double> default_service_seconds);

  void Answered(uint32_t queue, double wait_seconds, double now_seconds);
  void Abandoned(uint32_t queue, double wait_seconds);
  void Served(uint32_t queue, double service_seconds);  // offer to release, wrap-up included

  // busy_slots: the queue's eligible agents busy or in wrap-up times the
  // channel's capacity (I&W's s: when a contact waits, all its servers are
  // busy). age: how long the contact has waited.
  WaitEstimates Candidates(uint32_t queue, uint32_t position, double age_seconds,
                           double busy_slots) const;

 private:
  struct PerQueue {
    std::deque<double> last_waits;  // newest at the back, at most 10
    double service_sum = 0;
    uint64_t served = 0;
    double waited_sum = 0;  // wait of every contact that left the queue, answered or not
    uint64_t abandoned = 0;
    double answer_interval = 0;  // EWMA, as the router kept it
    uint64_t intervals = 0;
    double waiting_interval = 0;  // EWMA of answer - max(previous answer, arrival), waits > 0
    uint64_t waiting_intervals = 0;
    double last_answer = -1;
  };
  std::vector<double> default_service_seconds_;
  std::vector<PerQueue> queues_;
};

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_WAIT_ACCURACY_H_
