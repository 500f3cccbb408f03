// RouterState: everything a Router needs to carry on exactly where another
// left off, as plain values. Router::Save() produces it, Router::Restore()
// rebuilds a router from it (indexes are derived, not stored). The engine
// maps it onto the snapshot protobuf; the router itself knows no format.
//
// Only the persistent facts are here: pools, buckets and counters that can be
// recomputed from them are rebuilt on restore, and CheckInvariants() proves
// the rebuilt router consistent before it is used.
#ifndef CCROUTER_ROUTER_ROUTER_STATE_H_
#define CCROUTER_ROUTER_ROUTER_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "router/router.h"
#include "router/types.h"

namespace ccr {

struct ContactRecord {
  ContactId id = 0;
  ContactSpec spec;
  std::string queue;  // current queue, by name
  absl::Time created;
  absl::Time arrival;  // SLA clock start in its current queue
  uint32_t stage = 0;
  uint32_t epoch = 0;
  ContactState state = ContactState::kQueued;
  std::string agent_id;      // offered to / connected with; empty: none
  std::string reserved_for;  // dedicated advisor it waits for; empty: none
  uint64_t offer = 0;
  absl::Time offered_at = absl::InfinitePast();
  std::string missed_by;  // not re-offered to this agent before missed_until
  absl::Time missed_until = absl::InfinitePast();
  bool breached = false;
  bool follow_up = false;
  std::vector<std::string> history;
};

struct AgentRecord {
  AgentSpec spec;  // as normalised at login (languages filled in)
  bool logged_in = false;
  bool not_ready = false;
  std::string not_ready_reason;
  bool resting = false;
  absl::Time rest_until = absl::InfinitePast();
  uint32_t consecutive_misses = 0;
  absl::Time last_offer = absl::InfinitePast();
  absl::Time idle_since = absl::InfinitePast();
  absl::Time busy_streak_start = absl::InfinitePast();
  // Occupancy accounting.
  uint8_t mode = 0;  // 0 none, 1 handling, 2 idle
  absl::Time accounted_until = absl::InfinitePast();
  absl::Duration handling_time = absl::ZeroDuration();
  absl::Duration idle_time = absl::ZeroDuration();
};

struct QueueRecord {
  std::string name;
  QueueStats counters;  // only the cumulative counters are meaningful
  absl::Duration handle_time_total = absl::ZeroDuration();
  uint64_t handles_measured = 0;
  // RecentAnswers: whether each of the last `recent_answers` (bit 0 the
  // newest) was within target.
  uint64_t recent_within_target_bits = 0;
  uint32_t recent_answers = 0;
};

struct StickyRecord {
  std::string customer_id;
  std::string agent_id;
  absl::Time answered;
};

struct IdempotencyRecord {
  std::string key;
  ContactId contact = 0;
  absl::Time expires;
  uint64_t request_digest = 0;
  std::optional<ContactState> ended;
  std::string ended_queue;
};

struct DeferredEventRecord {
  absl::Time due;
  Event event;
};

struct TimerRecord {
  absl::Time at;
  uint64_t sequence = 0;
  uint8_t kind = 0;  // router-internal timer kind
  uint64_t id = 0;
  uint64_t aux = 0;
};

struct RouterState {
  absl::Time now = absl::InfinitePast();
  ContactId next_contact = 1;
  uint64_t next_offer = 1;
  uint64_t next_timer = 1;
  uint64_t events_emitted = 0;          // the last event's sequence number
  std::vector<std::string> languages;   // interning order
  std::vector<ContactRecord> contacts;  // by id
  std::vector<AgentRecord> agents;      // in the router's agent order
  std::vector<QueueRecord> queues;      // in config order
  std::vector<StickyRecord> sticky;
  std::vector<IdempotencyRecord> idempotency;
  std::vector<DeferredEventRecord> deferred_events;
  std::vector<TimerRecord> timers;  // in firing order
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_ROUTER_STATE_H_
