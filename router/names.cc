// Names and ids as they appear on the wire and in logs: enum names, the
// "c-42" / "o-7" id spellings and their strict parsers, and text truncation.
#include <atomic>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "router/router.h"
#include "router/types.h"

namespace ccr {

const char* ChannelName(Channel c) {
  static constexpr const char* kNames[] = {"voice",     "chat",  "email",
                                           "messaging", "video", "callback"};
  return kNames[static_cast<int>(c)];
}

const char* TierName(Tier t) {
  static constexpr const char* kNames[] = {"standard", "silver", "gold", "vip"};
  return kNames[static_cast<int>(t)];
}

const char* RoutingPolicyName(RoutingPolicy p) {
  static constexpr const char* kNames[] = {"ranked", "fifo"};
  return kNames[static_cast<int>(p)];
}

std::optional<RoutingPolicy> ParseRoutingPolicy(std::string_view name) {
  for (int p = 0; p < kRoutingPolicyCount; ++p) {
    if (name == RoutingPolicyName(static_cast<RoutingPolicy>(p))) return RoutingPolicy(p);
  }
  return std::nullopt;
}

RoutingPolicy PolicyAt(const QueueConfig& q, absl::Time t) {
  const std::vector<RoutingPolicy>& policies = q.ab_test.policies;
  if (policies.empty()) return q.routing_policy;
  // floor((t - epoch) / period), also before the epoch; the router checks
  // that period >= 1 s.
  absl::Duration rem;
  int64_t period_index = absl::IDivDuration(t - absl::UnixEpoch(), q.ab_test.period, &rem);
  if (rem < absl::ZeroDuration()) --period_index;
  const int64_t n = static_cast<int64_t>(policies.size());
  return policies[static_cast<size_t>(((period_index % n) + n) % n)];
}

const char* ContactStateName(ContactState s) {
  static constexpr const char* kNames[] = {"scheduled", "queued",     "offered",   "connected",
                                           "wrap_up",   "completed",  "abandoned", "expired",
                                           "cancelled", "transferred"};
  return kNames[static_cast<int>(s)];
}

const char* AgentStatusName(AgentStatus s) {
  static constexpr const char* kNames[] = {"offline", "available", "not_ready",
                                           "busy",    "wrap_up",   "resting"};
  return kNames[static_cast<int>(s)];
}

const char* EventKindName(EventKind k) {
  static constexpr const char* kNames[] = {
      "queued",          "scheduled",        "offered",       "offer_withdrawn", "offer_rejected",
      "offer_timed_out", "assigned",         "completed",     "wrap_up_done",    "abandoned",
      "cancelled",       "expired",          "transferred",   "sla_breached",    "overflowed",
      "escalated",       "supervisor_alert", "follow_up_due", "survey_due",      "agent_state",
      "updated"};
  return kNames[static_cast<int>(k)];
}

std::string ContactIdString(ContactId id) { return absl::StrCat("c-", id); }
namespace {
std::atomic<uint64_t> offer_id_epoch{0};
}  // namespace

void SetOfferIdEpoch(uint64_t epoch) { offer_id_epoch.store(epoch, std::memory_order_relaxed); }
uint64_t OfferIdEpoch() { return offer_id_epoch.load(std::memory_order_relaxed); }

std::string OfferIdString(uint64_t id) {
  const uint64_t epoch = OfferIdEpoch();
  return epoch == 0 ? absl::StrCat("o-", id) : absl::StrCat("o-", epoch, "-", id);
}

namespace {
// Only the canonical form parses: the prefix, then a decimal number without
// sign, spaces or leading zeros ("c-01", "c-+1" and "c- 1" do not), so each
// id has exactly one spelling and keys built from the text cannot alias.
std::optional<uint64_t> ParsePrefixedId(absl::string_view s, absl::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return std::nullopt;
  const absl::string_view digits = s.substr(prefix.size());
  if (digits.empty() || digits.size() > 20 || digits[0] == '0') return std::nullopt;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return std::nullopt;
  }
  uint64_t v = 0;
  if (!absl::SimpleAtoi(digits, &v)) return std::nullopt;  // over 2^64 - 1
  return v;
}
}  // namespace

std::optional<ContactId> ParseContactId(absl::string_view s) { return ParsePrefixedId(s, "c-"); }

std::string TruncateText(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  static constexpr absl::string_view kMarker = "...[truncated]";
  size_t keep = max_bytes > kMarker.size() ? max_bytes - kMarker.size() : 0;
  // Back off to a character boundary: never split a UTF-8 sequence (protobuf
  // refuses to serialize a string field that is not valid UTF-8).
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  return absl::StrCat(text.substr(0, keep), kMarker);
}
std::optional<ParsedOfferId> ParseOfferIdAndEpoch(absl::string_view s) {
  if (std::optional<uint64_t> id = ParsePrefixedId(s, "o-")) return ParsedOfferId{0, *id};
  // "o-EPOCH-N": both parts canonical, as above.
  const size_t dash = s.rfind('-');
  if (dash == absl::string_view::npos || dash < 2) return std::nullopt;
  std::optional<uint64_t> epoch = ParsePrefixedId(s.substr(0, dash), "o-");
  std::optional<uint64_t> id = ParsePrefixedId(s.substr(dash), "-");
  if (!epoch || !id) return std::nullopt;
  return ParsedOfferId{*epoch, *id};
}

std::optional<uint64_t> ParseOfferId(absl::string_view s) {
  std::optional<ParsedOfferId> parsed = ParseOfferIdAndEpoch(s);
  if (!parsed) return std::nullopt;
  return parsed->id;
}

}  // namespace ccr
