// Vocabulary of the routing core: channels, contacts, agents, configuration.
//
// These are plain C++ values with no dependency on protobuf, so the router
// stays a pure library; the engine maps the wire contract onto them.
#ifndef CCROUTER_ROUTER_TYPES_H_
#define CCROUTER_ROUTER_TYPES_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace ccr {

enum class Channel : uint8_t { kVoice, kChat, kEmail, kMessaging, kVideo, kCallback };
inline constexpr int kChannelCount = 6;
const char* ChannelName(Channel c);

enum class Tier : uint8_t { kStandard, kSilver, kGold, kVip };
const char* TierName(Tier t);

enum class Severity : uint8_t { kNone, kMinor, kModerate, kSevere };
enum class Direction : uint8_t { kInbound, kProactiveOutbound };

using ContactId = uint64_t;  // assigned by the router, 1, 2, 3, ...

struct Signals {
  bool complaint = false;
  bool emergency = false;
  Severity severity = Severity::kNone;
  double sentiment = 0;  // [-1, 1]
  uint32_t repeat_contacts_24h = 0;
  uint32_t escalation_level = 0;  // 0..3
  std::vector<std::string> keywords;
};

// A contact as a gateway submits it (already validated at the edge).
struct ContactSpec {
  std::string idempotency_key;
  std::string queue;  // must name a configured queue
  Channel channel = Channel::kVoice;
  Direction direction = Direction::kInbound;
  std::string customer_id;
  Tier tier = Tier::kStandard;
  std::string dedicated_advisor;  // agent id, or empty
  std::string language;           // empty: the queue's default
  bool elderly = false;
  bool accessibility = false;
  Signals signals;
  std::string topic;
  // Callbacks: routed from this time on (nullopt: now).
  std::optional<absl::Time> scheduled_for;
  std::map<std::string, std::string> attributes;
};

struct SkillLevel {
  std::string skill;
  uint32_t level = 0;  // 1..10
};

// An agent as its desktop logs in.
struct AgentSpec {
  std::string agent_id;
  std::string display_name;
  std::vector<SkillLevel> skills;
  std::vector<std::string> languages;  // empty: the config's default language
  // Channels served, with per-agent capacity (0: the channel's default).
  std::vector<std::pair<Channel, uint32_t>> capacities;
  bool start_available = true;
};

struct Outcome {
  bool resolved = false;
  std::string disposition;
  int complaint_root_cause = 0;  // mirrors ccrouter.v1.Outcome.RootCause
  bool follow_up_due = false;
};

// ---- Configuration ------------------------------------------------------

struct SkillRequirement {
  std::string skill;
  uint32_t min_level = 1;
};

// One ring of the bullseye (cumulative with the earlier ones).
struct OverflowStep {
  absl::Duration after = absl::ZeroDuration();
  uint32_t lower_min_level_by = 0;
  std::vector<std::string> add_queues;
  bool any_agent_of_channel = false;
};

// How a queue orders its waiting contacts and picks among free agents
// (README "Routing policies"). Hard constraints (skills, language, overflow
// stages, special skills, capacity, exclusive channels) and emergencies
// first hold under every policy.
//   kRanked  urgency and SLA slack rank contacts; the least flexible, most
//            proficient agent takes them (the default).
//   kFifo    arrival order within the queue (emergencies still first); the
//            longest-idle qualified agent; a freed agent takes the
//            longest-waiting contact across its queues: the classic ACD.
enum class RoutingPolicy : uint8_t { kRanked, kFifo };
inline constexpr int kRoutingPolicyCount = 2;
const char* RoutingPolicyName(RoutingPolicy p);  // "ranked", "fifo"
std::optional<RoutingPolicy> ParseRoutingPolicy(std::string_view name);

// An A/B test of routing policies on one queue: the policy in force at time t
// is policies[floor((t - Unix epoch) / period) mod policies.size()], so every
// period (hours aligned to UTC with the default) runs one policy, and live
// routing, journal replay and the simulator agree on it.
struct AbTest {
  std::vector<RoutingPolicy> policies;  // empty: no A/B test
  absl::Duration period = absl::Hours(1);
};
inline constexpr size_t kMaxAbTestPolicies = 8;

// A queue's recent service level (QueueConfig::service_objective) is counted
// over its last this many answers, and only once at least the second many are
// known: a quiet queue's first answers say little.
inline constexpr uint32_t kServiceObjectiveWindow = 64;
inline constexpr uint32_t kServiceObjectiveMinAnswers = 16;

struct QueueConfig {
  std::string name;
  Channel channel = Channel::kVoice;
  std::vector<SkillRequirement> skills;
  absl::Duration answer_within = absl::Seconds(20);
  double target_ratio = 0.8;
  std::vector<OverflowStep> overflow;  // sorted by `after`
  std::string default_language;        // empty: RouterConfig::default_language
  absl::Duration short_abandon = absl::Seconds(5);
  absl::Duration expire_after = absl::ZeroDuration();  // zero: never
  std::vector<std::string> topics;
  RoutingPolicy routing_policy = RoutingPolicy::kRanked;  // when ab_test names none
  AbTest ab_test;
  // Below this share of its last kServiceObjectiveWindow answers within
  // `answer_within`, the queue's contacts still in time go first (README
  // "Routing rules"). Unset: target_ratio; 0: never.
  std::optional<double> service_objective;
};

// The policy in force on `q` at `t`. A contact is served, and its outcome
// counted, under the policy in force when its SLA clock started in its queue
// (its arrival), whatever the policy when it is answered.
RoutingPolicy PolicyAt(const QueueConfig& q, absl::Time t);

struct ChannelConfig {
  uint32_t agent_capacity = 1;
  bool exclusive = false;
  absl::Duration offer_timeout = absl::Seconds(15);
  absl::Duration wrap_up = absl::Seconds(30);
  absl::Duration default_handle = absl::Seconds(300);
  std::string default_queue;
};

struct ScoringWeights {
  std::array<double, 4> tier = {0, 5, 10, 20};  // by Tier
  double complaint = 10;
  double emergency = 1000;
  std::array<double, 4> severity = {0, 5, 15, 30};  // by Severity
  double negative_sentiment = 10;                   // at sentiment -1
  double repeat_contact = 3;
  uint32_t repeat_contact_cap = 5;
  double escalation_level = 5;
  std::map<std::string, double> keywords;
  double proactive_outbound = 5;
  double need_elderly = 5;
  double need_accessibility = 5;
  // What one urgency point is worth in seconds of SLA slack when ranking.
  double seconds_per_point = 2;
};

struct EscalationConfig {
  std::string senior_skill = "senior";
  double complaint_sentiment_threshold = -0.5;
  uint32_t senior_from_escalation_level = 2;
  double alert_sentiment_threshold = -0.8;
  // A contact that needs a senior waits for one at most this share of its
  // queue's answer target (its slack on arrival); from then on any agent
  // otherwise qualified may take it, seniors still included. 0: a senior only
  // if one is free on arrival; 100 (the most allowed): in practice seniors
  // only. 0.25 (5 s of a 20 s voice target) from SIMULATION.md section 2.
  double senior_wait_share = 0.25;
  std::string elderly_skill;        // empty: elderly needs no extra skill
  std::string accessibility_skill;  // empty: accessibility needs no extra skill
};

struct FollowUpConfig {
  std::string queue;  // empty: follow-ups are reported but not routed
  absl::Duration severe_progress_report = absl::Hours(2);
  absl::Duration unresolved_follow_up = absl::Hours(24);
  absl::Duration survey_delay = absl::Minutes(5);
  bool survey_enabled = true;
};

// Bounds on what clients can make the router keep (config `limits`,
// README "Security"). Each is applied by the router itself, so journal
// replay, which runs under the same config, refuses and trims exactly what
// the live engine did.
struct RouterLimits {
  // Live contacts (scheduled, queued, offered, connected, in wrap-up): a
  // submit beyond is refused with RESOURCE_EXHAUSTED. Follow-ups the router
  // creates itself are never refused (they keep a promise already made).
  size_t max_live_contacts = 500000;
  // Distinct languages named by contacts and agent logins (interned for
  // ever); a new one beyond is refused naming the field.
  size_t max_languages = 256;
  // A contact's history (transfer notes, logouts mid-contact, reload
  // moves): beyond either bound the oldest entries make way and one leading
  // entry "[N earlier entries dropped]" counts them; each entry is cut at
  // kMaxHistoryEntryBytes. So an offer, which carries the history, stays
  // bounded however often a contact is transferred.
  size_t max_history_entries = 32;
  size_t max_history_bytes = 16 * 1024;
  // A logged-out agent is forgotten (its figures, skills and name) this long
  // after its logout, at the next sweep (sweeps run every retention / 16).
  absl::Duration agent_retention = absl::Hours(24);
};
inline constexpr size_t kMaxHistoryEntryBytes = 1024;

struct RouterConfig {
  RouterLimits limits;
  std::vector<QueueConfig> queues;
  std::array<ChannelConfig, kChannelCount> channels;
  ScoringWeights scoring;
  EscalationConfig escalation;
  FollowUpConfig follow_ups;
  absl::Duration max_continuous_busy = absl::ZeroDuration();  // zero: no cap
  absl::Duration rest = absl::Minutes(5);
  std::string default_language = "en";
  absl::Duration sticky_window = absl::Hours(24);
  absl::Duration advisor_wait = absl::Seconds(30);
  uint32_t max_consecutive_misses = 3;
  // After a reject or timeout, the same agent is not offered that contact
  // again for this long (others may take it at once).
  absl::Duration reoffer_cooldown = absl::Seconds(10);
  absl::Duration idempotency_window = absl::Hours(24);
  std::string fallback_queue;
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_TYPES_H_
