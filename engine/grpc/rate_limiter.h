// MessageRateLimiter: a token bucket per stream, so one client flooding its
// stream is refused (RESOURCE_EXHAUSTED per message) instead of taking the
// strand from everyone else.
//
//   MessageRateLimiter limit(/*per_second=*/50, /*burst=*/100);
//   if (!limit.Allow(absl::Now())) reply RESOURCE_EXHAUSTED;
//
// REQUIRES: external synchronization (one stream's reads are sequential).
#ifndef CCROUTER_ENGINE_GRPC_RATE_LIMITER_H_
#define CCROUTER_ENGINE_GRPC_RATE_LIMITER_H_

#include <algorithm>

#include "absl/time/time.h"

namespace ccr {

class MessageRateLimiter {
 public:
  // per_second <= 0: unlimited. The bucket starts full.
  MessageRateLimiter(double per_second, double burst)
      : per_second_(per_second), burst_(std::max(burst, 1.0)), tokens_(burst_) {}

  bool Allow(absl::Time now) {
    if (per_second_ <= 0) return true;
    if (last_ != absl::InfinitePast() && now > last_) {
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * per_second_);
    }
    last_ = std::max(last_, now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double per_second_;
  const double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_RATE_LIMITER_H_
