// TimerQueue: every timer the router has set (offer deadlines, overflow steps,
// SLA deadlines, expiry, wrap-up, rest, scheduled contacts, retention sweeps),
// in firing order. Private to router/.
//
// Timers are never cancelled: a stale one is skipped when it comes due, since
// each carries what it expects to find (an offer id, a contact's epoch).
// Timers due at the same time fire in the order they were set (sequence), so
// replay in another process fires them in the same order.
//
// What must hold (CheckInvariants): sequence numbers are unique and below
// next_sequence().
#ifndef CCROUTER_ROUTER_INTERNAL_TIMER_QUEUE_H_
#define CCROUTER_ROUTER_INTERNAL_TIMER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <tuple>

#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "router/types.h"

namespace ccr {

enum class TimerKind : uint8_t {
  kOfferTimeout,
  kOverflowStep,
  kSlaDeadline,
  kExpire,
  kReservationEnd,
  kScheduledStart,
  kWrapUpEnd,
  kRestEnd,
  kReofferCooldownEnd,
  kForgetAgents,  // sweep: forgets agents logged out longer than limits.agent_retention
  kSeniorRelax,   // a contact that needs a senior may go to any qualified agent
};
inline constexpr uint8_t kLastTimerKind = static_cast<uint8_t>(TimerKind::kSeniorRelax);

// One timer. Which fields mean something depends on the kind; the factories
// below set exactly those.
struct Timer {
  absl::Time at;
  uint64_t sequence = 0;  // set by TimerQueue::Schedule
  ContactId contact = 0;  // every kind but kRestEnd and kForgetAgents
  // No kind has both, so they share storage: a Timer stays 48 bytes (the
  // static_assert below), as many per btree node as before it had a field
  // per meaning, so inserts on the submit and offer paths allocate no more.
  // Read only the one the kind names.
  union {
    uint64_t offer = 0;    // kOfferTimeout: the offer it times out
    uint32_t agent_index;  // kRestEnd: the agent whose rest ends
  };
  // kOverflowStep, kSlaDeadline, kExpire, kReservationEnd, kSeniorRelax: the contact's epoch
  // when set (its queue or SLA clock changed since: stale).
  uint32_t epoch = 0;
  uint8_t stage = 0;  // kOverflowStep: the stage it moves the contact to
  TimerKind kind = TimerKind::kOfferTimeout;

  static Timer OfferTimeout(absl::Time at, ContactId contact, uint64_t offer) {
    Timer t = Make(at, TimerKind::kOfferTimeout, contact);
    t.offer = offer;
    return t;
  }
  static Timer OverflowStep(absl::Time at, ContactId contact, uint32_t epoch, uint8_t stage) {
    Timer t = Make(at, TimerKind::kOverflowStep, contact);
    t.epoch = epoch;
    t.stage = stage;
    return t;
  }
  // kSlaDeadline, kExpire, kReservationEnd, kSeniorRelax.
  static Timer ForEpoch(absl::Time at, TimerKind kind, ContactId contact, uint32_t epoch) {
    Timer t = Make(at, kind, contact);
    t.epoch = epoch;
    return t;
  }
  // kScheduledStart, kWrapUpEnd, kReofferCooldownEnd.
  static Timer ForContact(absl::Time at, TimerKind kind, ContactId contact) {
    return Make(at, kind, contact);
  }
  static Timer RestEnd(absl::Time at, uint32_t agent_index) {
    Timer t = Make(at, TimerKind::kRestEnd, 0);
    t.agent_index = agent_index;
    return t;
  }
  static Timer ForgetAgents(absl::Time at) { return Make(at, TimerKind::kForgetAgents, 0); }

  friend bool operator<(const Timer& a, const Timer& b) {
    return std::tie(a.at, a.sequence) < std::tie(b.at, b.sequence);
  }

 private:
  static Timer Make(absl::Time at, TimerKind kind, ContactId contact) {
    Timer t;
    t.at = at;
    t.kind = kind;
    t.contact = contact;
    return t;
  }
};

static_assert(sizeof(Timer) <= 48, "Timer grew: see the comment on Timer::offer");

class TimerQueue {
 public:
  using const_iterator = absl::btree_set<Timer>::const_iterator;

  // Adds `t` under the next sequence number.
  void Schedule(Timer t) {
    t.sequence = next_sequence_++;
    timers_.insert(t);
  }
  // A timer from a snapshot, under its own sequence number.
  // REQUIRES: t.sequence < next_sequence(), and no other timer has it.
  void Restore(const Timer& t) { timers_.insert(t); }

  bool empty() const { return timers_.empty(); }
  size_t size() const { return timers_.size(); }
  // When the first timer is due; InfiniteFuture when none is set.
  absl::Time next_at() const {
    return timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->at;
  }
  // REQUIRES: !empty().
  Timer PopFirst() {
    Timer t = *timers_.begin();
    timers_.erase(timers_.begin());
    return t;
  }
  // Whether a timer of `kind` is set for exactly `at`.
  bool HasAt(absl::Time at, TimerKind kind) const;
  // Whether a timer of `kind` for `contact` and `epoch` is set for exactly `at`.
  bool HasAt(absl::Time at, TimerKind kind, ContactId contact, uint32_t epoch) const;
  // Keeps each timer for which `rewrite` returns true, as rewritten; it may
  // change what a timer refers to but not its time or sequence.
  void Rewrite(absl::FunctionRef<bool(Timer&)> rewrite);

  uint64_t next_sequence() const { return next_sequence_; }
  void set_next_sequence(uint64_t next) { next_sequence_ = next; }
  const_iterator begin() const { return timers_.begin(); }
  const_iterator end() const { return timers_.end(); }

  absl::Status CheckInvariants() const;

 private:
  absl::btree_set<Timer> timers_;
  uint64_t next_sequence_ = 1;
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_INTERNAL_TIMER_QUEUE_H_
