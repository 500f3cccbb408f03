// Tests of the snapshot codec: every field of a RouterState survives
// encode -> bytes -> decode exactly, no field of snapshot.proto goes unused,
// damaged values are named by their path, and a router restored from the
// decoded state behaves exactly as the one that was saved.
#include "engine/journal/snapshot_codec.h"

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codec/config_loader.h"
#include "engine/apply.h"
#include "engine/journal/journal_format.h"
#include "engine/journal/snapshot_file.h"
#include "engine/testing/random_commands.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "router/router_state.h"

namespace ccr {
namespace snapshot_codec_test {

// Counts an aggregate's fields by how many initializers it accepts, so a
// field added to router/router_state.h (or a type it uses) fails the build here
// until the codec and these tests know it.
struct AnyField {
  template <typename T>
  operator T() const;  // never called: only used in unevaluated contexts
};
template <typename T, typename... A>
consteval size_t FieldCount() {
  if constexpr (requires { T{std::declval<A>()..., AnyField{}}; }) {
    return FieldCount<T, A..., AnyField>();
  } else {
    return sizeof...(A);
  }
}

}  // namespace snapshot_codec_test

namespace {

using snapshot_codec_test::FieldCount;

// On failure: map the new field in snapshot.proto and snapshot_codec.cc, set
// it in FullState() and compare it in the Fields() / Expect*Eq helpers below.
static_assert(FieldCount<Signals>() == 7);
static_assert(FieldCount<ContactSpec>() == 14);
static_assert(FieldCount<SkillLevel>() == 2);
static_assert(FieldCount<AgentSpec>() == 6);
static_assert(FieldCount<Outcome>() == 4);
static_assert(FieldCount<Event>() == 16);
static_assert(FieldCount<ContactRecord>() == 17);
static_assert(FieldCount<AgentRecord>() == 14);
static_assert(FieldCount<QueueRecord>() == 6);
// 13 cumulative counters are kept; the rest are live figures Queues() fills
// (the recent answers from QueueRecord's own fields).
static_assert(FieldCount<QueueStats>() == 33);
static_assert(FieldCount<StickyRecord>() == 3);
static_assert(FieldCount<IdempotencyRecord>() == 6);
static_assert(FieldCount<DeferredEventRecord>() == 2);
static_assert(FieldCount<TimerRecord>() == 5);
static_assert(FieldCount<RouterState>() == 13);

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
// Sub-microsecond offsets: absl::Now() has them in production.
absl::Time At(int64_t seconds, int64_t nanos) {
  return kT0 + absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

// ---- field-by-field equality (every member, nested structs separately) ----

auto Fields(const Signals& s) {
  return std::tie(s.complaint, s.emergency, s.severity, s.sentiment, s.repeat_contacts_24h,
                  s.escalation_level, s.keywords);
}
auto Fields(const ContactSpec& s) {  // signals: separately
  return std::tie(s.idempotency_key, s.queue, s.channel, s.direction, s.customer_id, s.tier,
                  s.dedicated_advisor, s.language, s.elderly, s.accessibility, s.topic,
                  s.scheduled_for, s.attributes);
}
auto Fields(const AgentSpec& s) {  // skills: separately
  return std::tie(s.agent_id, s.display_name, s.languages, s.capacities, s.start_available);
}
auto Fields(const Outcome& o) {
  return std::tie(o.resolved, o.disposition, o.complaint_root_cause, o.follow_up_due);
}
auto Fields(const Event& e) {  // outcome: separately
  return std::tie(e.kind, e.time, e.contact, e.offer_id, e.agent_id, e.queue, e.channel, e.tier,
                  e.reason, e.wait, e.stage, e.agent_status, e.deadline, e.sequence, e.emergency);
}
auto Fields(const ContactRecord& c) {  // spec: separately
  return std::tie(c.id, c.queue, c.created, c.arrival, c.stage, c.epoch, c.state, c.agent_id,
                  c.reserved_for, c.offer, c.offered_at, c.missed_by, c.missed_until, c.breached,
                  c.follow_up, c.history);
}
auto Fields(const AgentRecord& a) {  // spec: separately
  return std::tie(a.logged_in, a.not_ready, a.not_ready_reason, a.resting, a.rest_until,
                  a.consecutive_misses, a.last_offer, a.idle_since, a.busy_streak_start, a.mode,
                  a.accounted_until, a.handling_time, a.idle_time);
}
auto CumulativeFields(const QueueStats& s) {
  return std::tie(s.submitted, s.answered, s.answered_within_target, s.abandoned, s.abandoned_short,
                  s.expired, s.cancelled, s.transferred_out, s.completed, s.resolved,
                  s.sla_breaches, s.overflows, s.total_answer_wait);
}
auto Fields(const QueueRecord& q) {  // counters: separately
  return std::tie(q.name, q.handle_time_total, q.handles_measured, q.recent_within_target_bits,
                  q.recent_answers);
}
auto Fields(const StickyRecord& s) { return std::tie(s.customer_id, s.agent_id, s.answered); }
auto Fields(const IdempotencyRecord& i) {
  return std::tie(i.key, i.contact, i.expires, i.request_digest, i.ended, i.ended_queue);
}
auto Fields(const TimerRecord& t) { return std::tie(t.at, t.sequence, t.kind, t.id, t.aux); }

void ExpectSpecEq(const ContactSpec& a, const ContactSpec& b, const std::string& where) {
  EXPECT_EQ(Fields(a), Fields(b)) << where;
  EXPECT_EQ(Fields(a.signals), Fields(b.signals)) << where << ".signals";
}

void ExpectAgentSpecEq(const AgentSpec& a, const AgentSpec& b, const std::string& where) {
  EXPECT_EQ(Fields(a), Fields(b)) << where;
  ASSERT_EQ(a.skills.size(), b.skills.size()) << where;
  for (size_t i = 0; i < a.skills.size(); ++i) {
    EXPECT_EQ(std::tie(a.skills[i].skill, a.skills[i].level),
              std::tie(b.skills[i].skill, b.skills[i].level))
        << where << ".skills[" << i << "]";
  }
}

void ExpectEventEq(const Event& a, const Event& b, const std::string& where) {
  EXPECT_EQ(Fields(a), Fields(b)) << where;
  EXPECT_EQ(Fields(a.outcome), Fields(b.outcome)) << where << ".outcome";
}

void ExpectStateEq(const RouterState& a, const RouterState& b) {
  EXPECT_EQ(a.now, b.now);
  EXPECT_EQ(a.next_contact, b.next_contact);
  EXPECT_EQ(a.next_offer, b.next_offer);
  EXPECT_EQ(a.next_timer, b.next_timer);
  EXPECT_EQ(a.events_emitted, b.events_emitted);
  EXPECT_EQ(a.languages, b.languages);
  ASSERT_EQ(a.contacts.size(), b.contacts.size());
  for (size_t i = 0; i < a.contacts.size(); ++i) {
    const std::string where = absl::StrCat("contacts[", i, "]");
    EXPECT_EQ(Fields(a.contacts[i]), Fields(b.contacts[i])) << where;
    ExpectSpecEq(a.contacts[i].spec, b.contacts[i].spec, where + ".spec");
  }
  ASSERT_EQ(a.agents.size(), b.agents.size());
  for (size_t i = 0; i < a.agents.size(); ++i) {
    const std::string where = absl::StrCat("agents[", i, "]");
    EXPECT_EQ(Fields(a.agents[i]), Fields(b.agents[i])) << where;
    ExpectAgentSpecEq(a.agents[i].spec, b.agents[i].spec, where + ".spec");
  }
  ASSERT_EQ(a.queues.size(), b.queues.size());
  for (size_t i = 0; i < a.queues.size(); ++i) {
    EXPECT_EQ(Fields(a.queues[i]), Fields(b.queues[i])) << "queues[" << i << "]";
    EXPECT_EQ(CumulativeFields(a.queues[i].counters), CumulativeFields(b.queues[i].counters))
        << "queues[" << i << "].counters";
  }
  ASSERT_EQ(a.sticky.size(), b.sticky.size());
  for (size_t i = 0; i < a.sticky.size(); ++i) {
    EXPECT_EQ(Fields(a.sticky[i]), Fields(b.sticky[i])) << "sticky[" << i << "]";
  }
  ASSERT_EQ(a.idempotency.size(), b.idempotency.size());
  for (size_t i = 0; i < a.idempotency.size(); ++i) {
    EXPECT_EQ(Fields(a.idempotency[i]), Fields(b.idempotency[i])) << "idempotency[" << i << "]";
  }
  ASSERT_EQ(a.deferred_events.size(), b.deferred_events.size());
  for (size_t i = 0; i < a.deferred_events.size(); ++i) {
    EXPECT_EQ(a.deferred_events[i].due, b.deferred_events[i].due) << "deferred_events[" << i << "]";
    ExpectEventEq(a.deferred_events[i].event, b.deferred_events[i].event,
                  absl::StrCat("deferred_events[", i, "].event"));
  }
  ASSERT_EQ(a.timers.size(), b.timers.size());
  for (size_t i = 0; i < a.timers.size(); ++i) {
    EXPECT_EQ(Fields(a.timers[i]), Fields(b.timers[i])) << "timers[" << i << "]";
  }
}

// ---- a state with every field set ----

// Every field of every record differs from its default in at least one
// record (the first of each kind sets all of them); times mix finite,
// sub-microsecond and infinite values.
RouterState FullState() {
  RouterState st;
  st.now = At(3600, 123'456'789);
  st.next_contact = 42;
  st.next_offer = 77;
  st.next_timer = 901;
  st.events_emitted = 123'456;
  st.languages = {"en", "fr", "de"};

  ContactSpec vip;
  vip.idempotency_key = "gw-7:call-1";
  vip.queue = "voice_billing";
  vip.channel = Channel::kCallback;
  vip.direction = Direction::kProactiveOutbound;
  vip.customer_id = "cust-1";
  vip.tier = Tier::kVip;
  vip.dedicated_advisor = "a-2";
  vip.language = "fr";
  vip.elderly = true;
  vip.accessibility = true;
  vip.signals = {.complaint = true,
                 .emergency = true,
                 .severity = Severity::kSevere,
                 .sentiment = -0.75,
                 .repeat_contacts_24h = 3,
                 .escalation_level = 2,
                 .keywords = {"refund", "lawyer"}};
  vip.topic = "billing";
  vip.scheduled_for = At(5400, 7);
  vip.attributes = {{"crm", "sf-9"}, {"account", "A-17"}};

  ContactRecord& c1 = st.contacts.emplace_back();
  c1.id = 3;
  c1.spec = vip;
  c1.queue = "callback_followups";
  c1.created = At(-600, 1);
  c1.arrival = At(-300, 999);
  c1.stage = 1;
  c1.epoch = 4;
  c1.state = ContactState::kOffered;
  c1.agent_id = "a-1";
  c1.reserved_for = "a-2";
  c1.offer = 76;
  c1.offered_at = At(3590, 250);
  c1.missed_by = "a-3";
  c1.missed_until = At(3600, 10'000'001);
  c1.breached = true;
  c1.follow_up = true;
  c1.history = {"transferred from voice_general: wants a refund", "escalated"};

  ContactRecord& c2 = st.contacts.emplace_back();
  c2.id = 7;
  c2.spec.queue = "chat_general";
  c2.spec.channel = Channel::kChat;
  c2.spec.signals.sentiment = 0.25;
  c2.queue = "chat_general";
  c2.created = At(100, 0);
  c2.arrival = At(100, 0);
  c2.state = ContactState::kQueued;  // offered_at, missed_until: infinite past

  ContactRecord& c3 = st.contacts.emplace_back();
  c3.id = 41;
  c3.spec.queue = "email_general";
  c3.spec.channel = Channel::kEmail;
  c3.spec.tier = Tier::kGold;
  c3.spec.scheduled_for = absl::InfiniteFuture();
  c3.queue = "email_general";
  c3.created = At(3000, 5);
  c3.arrival = absl::InfiniteFuture();
  c3.state = ContactState::kScheduled;
  c3.missed_until = absl::InfiniteFuture();

  AgentRecord& a1 = st.agents.emplace_back();
  a1.spec = {.agent_id = "a-1",
             .display_name = "Ada Lovelace",
             .skills = {{"billing", 7}, {"senior", 3}},
             .languages = {"en", "fr"},
             .capacities = {{Channel::kVoice, 1}, {Channel::kChat, 3}, {Channel::kCallback, 2}},
             .start_available = false};
  a1.logged_in = true;
  a1.not_ready = true;
  a1.not_ready_reason = "lunch";
  a1.resting = true;
  a1.rest_until = At(3900, 3);
  a1.consecutive_misses = 2;
  a1.last_offer = At(3590, 250);
  a1.idle_since = At(1200, 17);
  a1.busy_streak_start = At(600, 600);
  a1.mode = 2;
  a1.accounted_until = At(3599, 999'999'999);
  a1.handling_time = absl::Hours(1) + absl::Nanoseconds(3);
  a1.idle_time = absl::Minutes(17) + absl::Nanoseconds(1);

  AgentRecord& a2 = st.agents.emplace_back();
  a2.spec.agent_id = "a-2";
  a2.spec.skills = {{"general", 10}};
  a2.mode = 1;
  a2.handling_time = absl::InfiniteDuration();
  a2.idle_time = -absl::InfiniteDuration();
  a2.rest_until = absl::InfiniteFuture();

  AgentRecord& a3 = st.agents.emplace_back();
  a3.spec.agent_id = "a-3";
  a3.idle_time = absl::Nanoseconds(-5);

  QueueRecord& q1 = st.queues.emplace_back();
  q1.name = "voice_billing";
  q1.counters.submitted = 101;
  q1.counters.answered = 90;
  q1.counters.answered_within_target = 80;
  q1.counters.abandoned = 7;
  q1.counters.abandoned_short = 2;
  q1.counters.expired = 1;
  q1.counters.cancelled = 3;
  q1.counters.transferred_out = 4;
  q1.counters.completed = 88;
  q1.counters.resolved = 70;
  q1.counters.sla_breaches = 11;
  q1.counters.overflows = 5;
  q1.counters.total_answer_wait = absl::Minutes(12) + absl::Nanoseconds(5);
  q1.handle_time_total = absl::Seconds(4250) + absl::Nanoseconds(77);
  q1.handles_measured = 9;
  q1.recent_within_target_bits = 0xF0F0'0000'0000'0F0Full;
  q1.recent_answers = 64;
  st.queues.emplace_back().name = "chat_general";

  st.sticky.push_back({"cust-1", "a-1", At(-86'000, 1)});
  st.sticky.push_back({"cust-2", "a-2", At(10, 0)});
  st.idempotency.push_back({"gw-7:call-1", 3, At(86'400 - 600, 1), 0xfeedface'cafebeefull,
                            ContactState::kCancelled, "voice_billing"});
  // Live (not ended), and from before request digests were kept.
  st.idempotency.push_back({"gw-7:chat-9", 7, absl::InfiniteFuture(), 0, std::nullopt, ""});

  Event done;
  done.kind = EventKind::kCompleted;
  done.time = At(3000, 31);
  done.contact = 3;
  done.offer_id = 76;
  done.agent_id = "a-1";
  done.queue = "voice_billing";
  done.channel = Channel::kEmail;
  done.tier = Tier::kGold;
  done.reason = "resolved";
  done.wait = absl::Seconds(95) + absl::Nanoseconds(1);
  done.stage = 2;
  done.agent_status = AgentStatus::kWrapUp;
  done.deadline = At(3015, 15);
  done.sequence = 4'321;
  done.emergency = true;
  done.outcome = {.resolved = true,
                  .disposition = "refund issued",
                  .complaint_root_cause = 3,
                  .follow_up_due = true};
  st.deferred_events.push_back({At(3300, 1), done});
  Event survey;
  survey.kind = EventKind::kSurveyDue;
  survey.time = At(3300, 1);
  survey.contact = 3;
  st.deferred_events.push_back({At(3300, 1), survey});

  st.timers.push_back({At(3605, 1), 17, 1, 3, 76});
  st.timers.push_back({At(3605, 1), 18, 4, 7, 0});
  st.timers.push_back({absl::InfiniteFuture(), 900, 2, 41, 1});
  return st;
}

v1::RouterStateRecord Encode(const RouterState& st) {
  v1::RouterStateRecord out;
  RouterStateToProto(st, &out);
  return out;
}

// Encode, to bytes and back, decode: what a snapshot file does.
RouterState ThroughBytes(const RouterState& st) {
  v1::Snapshot file;
  RouterStateToProto(st, file.mutable_state());
  const std::string bytes = file.SerializeAsString();
  v1::Snapshot read;
  EXPECT_TRUE(read.ParseFromString(bytes));
  absl::StatusOr<RouterState> decoded = RouterStateFromProto(read.state());
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? *std::move(decoded) : RouterState{};
}

TEST(SnapshotCodec, EveryFieldSurvivesTheRoundTripExactly) {
  const RouterState st = FullState();
  const RouterState back = ThroughBytes(st);
  ExpectStateEq(st, back);

  // A few directly, so the helper above is not the only witness.
  EXPECT_EQ(back.now, kT0 + absl::Seconds(3600) + absl::Nanoseconds(123'456'789));
  EXPECT_EQ(back.contacts[0].spec.scheduled_for, At(5400, 7));
  EXPECT_FALSE(back.contacts[1].spec.scheduled_for.has_value());
  EXPECT_EQ(back.contacts[2].spec.scheduled_for, absl::InfiniteFuture());
  EXPECT_EQ(back.contacts[0].spec.attributes.at("account"), "A-17");
  EXPECT_EQ(back.contacts[0].spec.signals.keywords, (std::vector<std::string>{"refund", "lawyer"}));
  EXPECT_EQ(back.contacts[0].spec.signals.severity, Severity::kSevere);
  EXPECT_EQ(back.contacts[0].state, ContactState::kOffered);
  EXPECT_EQ(back.contacts[1].offered_at, absl::InfinitePast());
  EXPECT_EQ(back.contacts[2].missed_until, absl::InfiniteFuture());
  EXPECT_EQ(back.agents[0].spec.capacities[2], std::make_pair(Channel::kCallback, 2u));
  EXPECT_EQ(back.agents[0].accounted_until, At(3599, 999'999'999));
  EXPECT_EQ(back.agents[1].handling_time, absl::InfiniteDuration());
  EXPECT_EQ(back.agents[1].idle_time, -absl::InfiniteDuration());
  EXPECT_EQ(back.agents[2].idle_time, absl::Nanoseconds(-5));
  EXPECT_EQ(back.queues[0].counters.total_answer_wait, absl::Minutes(12) + absl::Nanoseconds(5));
  EXPECT_EQ(back.deferred_events[0].event.outcome.disposition, "refund issued");
  EXPECT_EQ(back.deferred_events[0].event.agent_status, AgentStatus::kWrapUp);
  EXPECT_EQ(back.timers[2].at, absl::InfiniteFuture());

  // And the encodings agree too.
  google::protobuf::util::MessageDifferencer diff;
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(Encode(st), Encode(back))) << report;
}

TEST(SnapshotCodec, EmptyStateRoundTrips) {
  const RouterState st;
  ExpectStateEq(st, ThroughBytes(st));
}

// Walks a message and records every field that holds a non-default value
// anywhere in it (proto3: ListFields lists only those).
void CollectSetFields(const google::protobuf::Message& m, std::set<std::string>* set) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    set->insert(f->full_name());
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        CollectSetFields(r->GetRepeatedMessage(m, f, i), set);
      }
    } else {
      CollectSetFields(r->GetMessage(m, f), set);
    }
  }
}

void ExpectEveryFieldIn(const google::protobuf::Descriptor* d, const std::set<std::string>& set) {
  for (int i = 0; i < d->field_count(); ++i) {
    EXPECT_TRUE(set.count(d->field(i)->full_name()))
        << d->field(i)->full_name() << " is never set: does the codec encode it, and does "
        << "FullState() give it a non-default value?";
  }
  for (int i = 0; i < d->nested_type_count(); ++i) ExpectEveryFieldIn(d->nested_type(i), set);
}

// A field added to snapshot.proto but not encoded (or not set here) fails.
TEST(SnapshotCodec, EveryFieldOfSnapshotProtoIsEncoded) {
  v1::Snapshot file;
  file.set_format_version(1);
  file.set_last_index(99);
  file.set_time_ns(absl::ToUnixNanos(At(3600, 5)));
  file.set_config_yaml("default_language: en\n");
  RouterStateToProto(FullState(), file.mutable_state());

  std::set<std::string> set;
  CollectSetFields(file, &set);
  // Format 2's records, one item a chunk.
  SnapshotSource source{99, At(3600, 5), "default_language: en\n",
                        std::make_shared<RouterState>(FullState())};
  absl::StatusOr<SnapshotCounts> counts = WriteSnapshotRecords(
      source,
      [&set](absl::string_view bytes) {
        for (size_t offset = 0; offset < bytes.size();) {
          const FrameRead f = ReadFrame(bytes, offset);
          if (f.kind != FrameRead::kRecord) break;  // the magic
          v1::SnapshotRecord record;
          EXPECT_TRUE(record.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size())));
          CollectSetFields(record, &set);
          offset = f.next;
        }
        return absl::OkStatus();
      },
      /*chunk_bytes=*/1);
  ASSERT_TRUE(counts.ok()) << counts.status();
  const google::protobuf::FileDescriptor* proto = v1::Snapshot::descriptor()->file();
  ASSERT_EQ(proto->name(), "ccrouter/v1/snapshot.proto");
  for (int i = 0; i < proto->message_type_count(); ++i) {
    ExpectEveryFieldIn(proto->message_type(i), set);
  }
  EXPECT_TRUE(set.count("ccrouter.v1.RouterStateRecord.ContactSpec.AttributesEntry.value"));
}

TEST(SnapshotCodec, LastValueOfEveryEnumIsAccepted) {
  v1::RouterStateRecord r = Encode(FullState());
  r.mutable_contacts(0)->set_state(static_cast<uint32_t>(ContactState::kTransferred));
  r.mutable_contacts(0)->mutable_spec()->set_channel(static_cast<uint32_t>(Channel::kCallback));
  r.mutable_contacts(0)->mutable_spec()->set_direction(
      static_cast<uint32_t>(Direction::kProactiveOutbound));
  r.mutable_contacts(0)->mutable_spec()->set_tier(static_cast<uint32_t>(Tier::kVip));
  r.mutable_contacts(0)->mutable_spec()->mutable_signals()->set_severity(
      static_cast<uint32_t>(Severity::kSevere));
  r.mutable_deferred_events(0)->mutable_event()->set_kind(
      static_cast<uint32_t>(EventKind::kUpdated));
  r.mutable_deferred_events(0)->mutable_event()->set_agent_status(
      static_cast<uint32_t>(AgentStatus::kResting));
  r.mutable_agents(0)->set_mode(2);
  r.mutable_timers(0)->set_kind(255);
  absl::StatusOr<RouterState> st = RouterStateFromProto(r);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->contacts[0].state, ContactState::kTransferred);
  EXPECT_EQ(st->deferred_events[0].event.kind, EventKind::kUpdated);
  EXPECT_EQ(st->timers[0].kind, 255);
}

TEST(SnapshotCodec, ValueOutOfRangeIsDataLossNamingItsPath) {
  struct Case {
    void (*damage)(v1::RouterStateRecord&);
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::RouterStateRecord& r) { r.mutable_contacts(1)->set_state(42); },
       "state.contacts[1].state: 42 is not a contact state"},
      {[](v1::RouterStateRecord& r) { r.mutable_contacts(2)->mutable_spec()->set_channel(6); },
       "state.contacts[2].spec.channel: 6 is not a channel"},
      {[](v1::RouterStateRecord& r) { r.mutable_contacts(0)->mutable_spec()->set_direction(2); },
       "state.contacts[0].spec.direction: 2 is not a direction"},
      {[](v1::RouterStateRecord& r) { r.mutable_contacts(0)->mutable_spec()->set_tier(4); },
       "state.contacts[0].spec.tier: 4 is not a tier"},
      {[](v1::RouterStateRecord& r) {
         r.mutable_contacts(1)->mutable_spec()->mutable_signals()->set_severity(7);
       },
       "state.contacts[1].spec.signals.severity: 7 is not a severity"},
      {[](v1::RouterStateRecord& r) {
         r.mutable_agents(0)->mutable_spec()->mutable_capacities(1)->set_channel(99);
       },
       "state.agents[0].spec.capacities[1].channel: 99 is not a channel"},
      {[](v1::RouterStateRecord& r) { r.mutable_agents(2)->set_mode(3); },
       "state.agents[2].mode: 3 is not a mode"},
      {[](v1::RouterStateRecord& r) {
         r.mutable_deferred_events(1)->mutable_event()->set_kind(21);
       },
       "state.deferred_events[1].event.kind: 21 is not an event kind"},
      {[](v1::RouterStateRecord& r) {
         r.mutable_deferred_events(0)->mutable_event()->set_channel(6);
       },
       "state.deferred_events[0].event.channel: 6 is not a channel"},
      {[](v1::RouterStateRecord& r) { r.mutable_deferred_events(0)->mutable_event()->set_tier(9); },
       "state.deferred_events[0].event.tier: 9 is not a tier"},
      {[](v1::RouterStateRecord& r) {
         r.mutable_deferred_events(0)->mutable_event()->set_agent_status(6);
       },
       "state.deferred_events[0].event.agent_status: 6 is not an agent status"},
      {[](v1::RouterStateRecord& r) { r.mutable_timers(2)->set_kind(256); },
       "state.timers[2].kind: 256 is not a timer kind"},
  };
  for (const Case& c : cases) {
    v1::RouterStateRecord r = Encode(FullState());
    c.damage(r);
    absl::StatusOr<RouterState> st = RouterStateFromProto(r);
    ASSERT_FALSE(st.ok()) << c.message;
    EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss) << st.status();
    EXPECT_EQ(std::string(st.status().message()), c.message);
  }
}

void ExpectSameEvents(const std::vector<Event>& a, const std::vector<Event>& b,
                      const std::string& where) {
  ASSERT_EQ(a.size(), b.size()) << where;
  for (size_t i = 0; i < a.size(); ++i) {
    ExpectEventEq(a[i], b[i],
                  absl::StrCat(where, " event ", i, " (", EventKindName(a[i].kind), ")"));
  }
}

// A real router, saved through a snapshot file's bytes and restored, is the
// same router: same state, and the same events for the same commands after.
TEST(SnapshotCodec, RestoredRouterBehavesAsTheSavedOne) {
  const absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
  ASSERT_TRUE(config.ok()) << config.status();
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const std::string where = absl::StrCat("seed ", seed);
    std::unique_ptr<Router> live = *Router::Create(*config);
    testing::RandomCommands gen(seed, kT0 + absl::Nanoseconds(seed * 137));
    for (int step = 0; step < 300; ++step) {
      (void)ApplyCommand(*live, gen.Next());
      gen.Observe(live->TakeEvents());
    }
    const RouterState saved = live->Save();
    ASSERT_GT(saved.contacts.size(), 0u) << where << " exercised too little";
    const RouterState decoded = ThroughBytes(saved);
    ExpectStateEq(saved, decoded);

    absl::StatusOr<std::unique_ptr<Router>> restored = Router::Restore(*config, decoded);
    ASSERT_TRUE(restored.ok()) << where << ": " << restored.status();
    Router& copy = **restored;
    EXPECT_TRUE(copy.CheckInvariants().ok()) << where;
    ExpectStateEq(saved, copy.Save());
    google::protobuf::util::MessageDifferencer diff;
    std::string report;
    diff.ReportDifferencesToString(&report);
    EXPECT_TRUE(diff.Compare(Encode(saved), Encode(copy.Save()))) << where << "\n" << report;

    // Same commands from here on: same events, same state.
    EXPECT_TRUE(copy.TakeEvents().empty()) << where;
    for (int step = 0; step < 200; ++step) {
      const v1::Command cmd = gen.Next();
      const ApplyResult a = ApplyCommand(*live, cmd);
      const ApplyResult b = ApplyCommand(copy, cmd);
      EXPECT_EQ(a.status, b.status) << where << " step " << step;
      const std::vector<Event> events = live->TakeEvents();
      ExpectSameEvents(events, copy.TakeEvents(), absl::StrCat(where, " step ", step));
      gen.Observe(events);
      if (::testing::Test::HasFailure()) return;
    }
    ExpectStateEq(live->Save(), copy.Save());
  }
}

// ---- Snapshot files (engine/snapshot_file.h) ----

class SnapshotFileTest : public ::testing::Test {
 protected:
  SnapshotFileTest() : path_(dir_.Path("snapshot")) {}

  // Writes FullState() in format 2 with `chunk_bytes`; the file's bytes.
  std::string WriteFull(size_t chunk_bytes) {
    std::string file;
    SnapshotSource source{77, At(3600, 5), "default_language: en\n",
                          std::make_shared<RouterState>(FullState())};
    absl::StatusOr<SnapshotCounts> counts = WriteSnapshotRecords(
        source,
        [&file](absl::string_view bytes) {
          file.append(bytes.data(), bytes.size());
          return absl::OkStatus();
        },
        chunk_bytes);
    EXPECT_TRUE(counts.ok()) << counts.status();
    if (counts.ok()) counts_ = *counts;
    Put(file);
    return file;
  }
  void Put(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }
  // The offsets of the records after the magic.
  static std::vector<size_t> RecordOffsets(const std::string& file) {
    std::vector<size_t> out;
    for (size_t offset = kSnapshotMagicV2.size(); offset < file.size();) {
      out.push_back(offset);
      offset = ReadFrame(file, offset).next;
    }
    return out;
  }

  TempDir dir_{"ccr-snapshot"};
  std::string path_;
  SnapshotCounts counts_;
};

TEST_F(SnapshotFileTest, Format2RoundTripsExactlyInManyChunks) {
  WriteFull(/*chunk_bytes=*/64);
  EXPECT_GT(counts_.chunks, 3u);
  absl::StatusOr<LoadedSnapshot> read = ReadSnapshotFile(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->format_version, 2u);
  EXPECT_EQ(read->last_index, 77u);
  EXPECT_EQ(read->config_yaml, "default_language: en\n");
  EXPECT_EQ(read->counts, counts_);
  google::protobuf::util::MessageDifferencer diff;
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(Encode(read->state), Encode(FullState()))) << report;

  // The writer's read-back check keeps nothing but the counts.
  absl::StatusOr<LoadedSnapshot> checked = ReadSnapshotFile(path_, /*keep_state=*/false);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->counts, counts_);
  EXPECT_TRUE(checked->state.contacts.empty());
}

// Data directories written before format 2 still start.
TEST_F(SnapshotFileTest, Format1FilesStillLoad) {
  v1::Snapshot old;
  old.set_format_version(1);
  old.set_last_index(12);
  old.set_config_yaml("default_language: en\n");
  RouterStateToProto(FullState(), old.mutable_state());
  std::string file(kSnapshotMagic);
  AppendFrame(old.SerializeAsString(), &file);
  Put(file);
  absl::StatusOr<LoadedSnapshot> read = ReadSnapshotFile(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->format_version, 1u);
  EXPECT_EQ(read->last_index, 12u);
  google::protobuf::util::MessageDifferencer diff;
  EXPECT_TRUE(diff.Compare(Encode(read->state), Encode(FullState())));

  Put(file + "x");
  EXPECT_THAT(ReadSnapshotFile(path_).status().message(),
              ::testing::HasSubstr("bytes after the snapshot record"));
}

// Engines before format 2 wrote snapshots of one record however large, which
// they could not read back; this one can (up to protobuf's 2 GiB), so a data
// directory whose segments were pruned behind such a snapshot starts again.
TEST_F(SnapshotFileTest, Format1RecordsOverTheRecordLimitLoad) {
  RouterState state = FullState();
  state.contacts[0].spec.attributes["crm"] = std::string(kMaxRecordBytes, 'x');
  v1::Snapshot old;
  old.set_format_version(1);
  old.set_last_index(12);
  RouterStateToProto(state, old.mutable_state());
  std::string file(kSnapshotMagic);
  AppendFrame(old.SerializeAsString(), &file);
  old.Clear();
  Put(file);
  file.clear();
  absl::StatusOr<LoadedSnapshot> read = ReadSnapshotFile(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->state.contacts[0].spec.attributes.at("crm").size(), kMaxRecordBytes);
}

TEST_F(SnapshotFileTest, DamageIsRefusedNamingTheFileAndOffset) {
  const std::string file = WriteFull(/*chunk_bytes=*/64);
  const std::vector<size_t> records = RecordOffsets(file);
  ASSERT_GT(records.size(), 4u);
  auto refused = [&](const std::string& bytes) {
    Put(bytes);
    absl::StatusOr<LoadedSnapshot> read = ReadSnapshotFile(path_);
    EXPECT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(read.status().message(), ::testing::HasSubstr(path_));
    return std::string(read.status().message());
  };
  // Cut short before the trailer.
  EXPECT_THAT(refused(file.substr(0, records.back())), ::testing::HasSubstr("without its trailer"));
  // A whole chunk missing: every frame is intact, the counts are not.
  EXPECT_THAT(refused(file.substr(0, records[1]) + file.substr(records[2])),
              ::testing::HasSubstr("the trailer counts"));
  // A flipped bit, named with the record's offset.
  std::string flipped = file;
  flipped[records[2] + kFrameHeaderBytes + 1] ^= 0x08;
  const std::string why = refused(flipped);
  EXPECT_THAT(why, ::testing::HasSubstr("checksum mismatch"));
  EXPECT_THAT(why, ::testing::HasSubstr(absl::StrCat("offset ", records[2])));
  // Not a snapshot at all.
  EXPECT_THAT(refused("CCRJNL01xxxxxxxx"), ::testing::HasSubstr("bad magic"));
}

// A record the reader would refuse is never written: one item over the
// per-record limit fails the snapshot instead.
TEST(SnapshotFile, AnItemOverTheRecordLimitFailsTheWrite) {
  auto state = std::make_shared<RouterState>(FullState());
  state->contacts[0].spec.attributes["huge"] = std::string(kMaxRecordBytes, 'x');
  size_t written = 0;
  absl::StatusOr<SnapshotCounts> counts =
      WriteSnapshotRecords(SnapshotSource{5, At(0, 0), "", state}, [&](absl::string_view bytes) {
        written += bytes.size();
        return absl::OkStatus();
      });
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(counts.status().message(), ::testing::HasSubstr("exceeds"));
  EXPECT_LT(written, size_t{kMaxRecordBytes});
}

}  // namespace
}  // namespace ccr
