// The edge between the wire contract (ccrouter.v1 protos) and the router's
// plain types: validation of everything that comes in, with the offending
// field named, and conversion of everything that goes out.
#ifndef CCROUTER_CODEC_WIRE_H_
#define CCROUTER_CODEC_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ccrouter/v1/admin.pb.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/events.pb.h"
#include "ccrouter/v1/ingest.pb.h"
#include "router/router.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// Limits on every request; exceeding one is INVALID_ARGUMENT naming the field.
struct InputLimits {
  static constexpr size_t kMaxMessageBytes = 64 * 1024;
  static constexpr size_t kMaxIdBytes = 128;
  static constexpr size_t kMaxTextBytes = 1024;
  // Free text in a lifecycle event (reason, disposition): longer is cut,
  // ending in "...[truncated]" (README "Security").
  static constexpr size_t kMaxEventTextBytes = 256;
  static constexpr size_t kMaxKeywords = 32;
  static constexpr size_t kMaxAttributes = 64;
  static constexpr size_t kMaxSkills = 64;
  static constexpr size_t kMaxLanguages = 16;
  static constexpr uint32_t kMaxCapacity = 50;
  static constexpr absl::Duration kMaxScheduleAhead = absl::Hours(24 * 30);
};

absl::Time FromTimestamp(const google::protobuf::Timestamp& t);
void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out);

Channel ChannelFromWire(v1::Channel c);
v1::Channel ChannelToWire(Channel c);
v1::Tier TierToWire(Tier t);
v1::ContactState ContactStateToWire(ContactState s);
v1::AgentState AgentStatusToWire(AgentStatus s);

// Validates a gateway's contact and picks its queue when none is named (the
// first queue of the channel listing the topic, else the channel's default
// queue, else the first queue of the channel).
absl::StatusOr<ContactSpec> ContactSpecFromWire(const v1::ContactSpec& in,
                                                const RouterConfig& config, absl::Time now);
// A digest of a submit's contact as the gateway sent it (deterministic
// serialization, FNV-1a 64): equal for a retry of the same request. Never 0.
uint64_t SubmitRequestDigest(const v1::ContactSpec& contact);

// An update's new signals: `before` with what `update.signals` sends (present
// scalars, non-empty keywords) and what `update.update_mask` names replaced.
// InvalidArgument naming the field for a bad value or mask path.
absl::StatusOr<Signals> MergeSignalsFromWire(const Signals& before,
                                             const v1::UpdateRequest& update);
absl::StatusOr<Signals> SignalsFromWire(const v1::Signals& in, absl::string_view field);
absl::StatusOr<Tier> TierFromWire(v1::Tier t, absl::string_view field);
absl::StatusOr<AgentSpec> AgentSpecFromWire(const v1::Login& in);
absl::StatusOr<Outcome> OutcomeFromWire(const v1::Outcome& in);
// Parses "c-42"; InvalidArgument naming `field` otherwise.
absl::StatusOr<ContactId> ContactIdFromWire(absl::string_view id, absl::string_view field);
// Parses "o-7" (cluster mode: "o-EPOCH-7"); InvalidArgument naming `field`
// when malformed, FailedPrecondition when an earlier owner made the offer
// (its epoch is not this process's, SetOfferIdEpoch).
absl::StatusOr<uint64_t> OfferIdFromWire(absl::string_view id, absl::string_view field);

void EventToWire(const Event& e, uint64_t sequence, v1::LifecycleEvent* out);
void OfferToWire(const Event& offered, const ContactView& contact, v1::Offer* out);
// A contact an agent holds (connected or in wrap-up), for the desktop's Resync.
void HeldContactToWire(const ContactView& contact, v1::HeldContact* out);
void QueueToWire(const QueueStats& q, v1::QueueSnapshot* out);
void AgentToWire(const AgentView& a, bool connected, v1::AgentSnapshot* out);
void ExplanationToWire(const Explanation& x, v1::ExplainReply* out);
void SubmitResultToWire(const SubmitResult& r, v1::SubmitReply* out);

// Why wrap-up ended, in the desktop's words: the agent said so, or its timer.
std::string WrapUpEndReason(const Event& e);
// What a contact-ending event (wrap-up done, cancel, abandon, expiry,
// transfer) tells the desktop that held the contact; nullopt for other events.
// A transfer ends the contact for its agent only: it lives on in its new queue.
std::optional<v1::ContactEnded> ContactEndedFor(const Event& e);

}  // namespace ccr

#endif  // CCROUTER_CODEC_WIRE_H_
