#include "router/testing/reference_router.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "router/urgency.h"

namespace ccr::testing {

ReferenceRouter::ReferenceRouter(RouterConfig config) : config_(std::move(config)) {}

std::vector<ReferenceOffer> ReferenceRouter::TakeOffers() {
  std::vector<ReferenceOffer> out;
  out.swap(offers_);
  return out;
}

// ---- time ----

void ReferenceRouter::Set(absl::Time at, Due what, ContactId contact, uint64_t value) {
  agenda_.push_back({at, next_order_++, what, contact, value});
}

void ReferenceRouter::AdvanceTo(absl::Time now) {
  if (now < now_) now = now_;
  for (;;) {
    auto first = agenda_.end();
    for (auto it = agenda_.begin(); it != agenda_.end(); ++it) {
      if (it->at <= now && (first == agenda_.end() ||
                            std::tie(it->at, it->order) < std::tie(first->at, first->order))) {
        first = it;
      }
    }
    if (first == agenda_.end()) break;
    const Agendum due = *first;
    agenda_.erase(first);
    now_ = std::max(now_, due.at);
    Contact* c = FindContact(due.contact);
    switch (due.what) {
      case Due::kOfferTimeout:
        if (c != nullptr && c->state == State::kOffered && c->offer == due.value) {
          Miss(*FindAgent(c->agent), *c);
        }
        break;
      case Due::kOverflow: {
        const uint32_t stage = due.value & 0xff;
        if (c == nullptr || c->epoch != (due.value >> 8) || c->stage >= stage) break;
        if (c->state != State::kQueued && c->state != State::kOffered) break;
        c->stage = stage;
        const QueueConfig& q = QueueOf(c->queue);
        if (stage < q.overflow.size()) {
          Set(c->arrival + q.overflow[stage].after, Due::kOverflow, c->id,
              (uint64_t{c->epoch} << 8) | (stage + 1));
        }
        if (c->state == State::kQueued) MatchContact(*c);
        break;
      }
      case Due::kWrapUpEnd:
        if (c != nullptr && c->state == State::kWrapUp) {
          Agent& a = *FindAgent(c->agent);
          Erase(c->id);
          MatchAgent(a);
        }
        break;
      case Due::kCooldownEnd:
        if (c != nullptr && c->state == State::kQueued) MatchContact(*c);
        break;
      case Due::kSeniorRelax:
        if (c == nullptr || c->epoch != due.value || !NeedsSenior(*c)) break;
        c->senior_relaxed = true;
        if (c->state == State::kQueued) MatchContact(*c);
        break;
      case Due::kForget: {
        // Every agent logged out for the whole retention period is forgotten:
        // its sticky customers and the cooldowns it caused go with it.
        std::vector<std::string> forgotten;
        for (const Agent& a : agents_) {
          if (!a.logged_in && a.logged_out_at + config_.limits.agent_retention <= now_) {
            forgotten.push_back(a.spec.agent_id);
          }
        }
        for (const std::string& id : forgotten) {
          agents_.erase(std::find_if(agents_.begin(), agents_.end(),
                                     [&](const Agent& a) { return a.spec.agent_id == id; }));
          for (auto it = last_agent_.begin(); it != last_agent_.end();) {
            it = it->second.first == id ? last_agent_.erase(it) : std::next(it);
          }
          for (auto& [cid, contact] : contacts_) {
            if (contact.missed_by == id) {
              contact.missed_by.clear();
              contact.missed_until = absl::InfinitePast();
            }
          }
        }
        break;
      }
    }
  }
  now_ = now;
}

void ReferenceRouter::Tick(absl::Time now) { AdvanceTo(now); }

// ---- the rules ----

const QueueConfig& ReferenceRouter::QueueOf(const std::string& name) const {
  return *std::find_if(config_.queues.begin(), config_.queues.end(),
                       [&](const QueueConfig& q) { return q.name == name; });
}

ReferenceRouter::Contact* ReferenceRouter::FindContact(ContactId id) {
  auto it = contacts_.find(id);
  return it == contacts_.end() ? nullptr : &it->second;
}

ReferenceRouter::Agent* ReferenceRouter::FindAgent(const std::string& id) {
  for (Agent& a : agents_) {
    if (a.spec.agent_id == id) return &a;
  }
  return nullptr;
}

size_t ReferenceRouter::AgentOrder(const std::string& id) const {
  for (size_t i = 0; i < agents_.size(); ++i) {
    if (agents_[i].spec.agent_id == id) return i;
  }
  return agents_.size();
}

absl::StatusOr<ReferenceRouter::Agent*> ReferenceRouter::LoggedIn(const std::string& id) {
  Agent* a = FindAgent(id);
  if (a == nullptr || !a->logged_in) return absl::FailedPreconditionError("not logged in");
  return a;
}

// Overflow steps are cumulative: each lowers the levels further, adds
// queues, or opens the queue to any agent of its channel.
std::vector<SkillRequirement> ReferenceRouter::SkillsAtStage(const QueueConfig& q,
                                                             uint32_t stage) const {
  std::vector<SkillRequirement> skills = q.skills;
  for (uint32_t s = 0; s < stage; ++s) {
    for (SkillRequirement& r : skills) {
      const uint32_t lower = q.overflow[s].lower_min_level_by;
      r.min_level = r.min_level > lower ? r.min_level - lower : std::min<uint32_t>(r.min_level, 1);
    }
  }
  return skills;
}

bool ReferenceRouter::QualifiesAtStage(const Agent& a, const QueueConfig& q, uint32_t stage) const {
  auto meets = [&](const std::vector<SkillRequirement>& skills) {
    for (const SkillRequirement& r : skills) {
      bool found = false;
      for (const SkillLevel& s : a.spec.skills) {
        // A repeated skill counts at its last level, as a login's map would.
        if (s.skill == r.skill) found = s.level >= r.min_level;
      }
      if (!found) return false;
    }
    return true;
  };
  if (meets(SkillsAtStage(q, stage))) return true;
  for (uint32_t s = 0; s < stage; ++s) {
    if (q.overflow[s].any_agent_of_channel) return true;
    for (const std::string& other : q.overflow[s].add_queues) {
      if (meets(QueueOf(other).skills)) return true;
    }
  }
  return false;
}

std::optional<uint32_t> ReferenceRouter::FirstStage(const Agent& a, const QueueConfig& q) const {
  auto cap = a.capacity.find(q.channel);
  if (cap == a.capacity.end() || cap->second == 0) return std::nullopt;
  for (uint32_t s = 0; s <= q.overflow.size(); ++s) {
    if (QualifiesAtStage(a, q, s)) return s;
  }
  return std::nullopt;
}

absl::Time ReferenceRouter::SeniorRelaxAt(const Contact& c) const {
  return c.arrival + QueueOf(c.queue).answer_within * config_.escalation.senior_wait_share;
}

void ReferenceRouter::PlanSeniorRelax(Contact& c) {
  c.senior_relaxed = SignalsNeedSenior(c) && now_ >= SeniorRelaxAt(c);
  if (NeedsSenior(c)) Set(SeniorRelaxAt(c), Due::kSeniorRelax, c.id, c.epoch);
}

bool ReferenceRouter::SignalsNeedSenior(const Contact& c) const {
  UrgencyInputs in;
  in.tier = c.spec.tier;
  in.direction = c.spec.direction;
  in.signals = &c.spec.signals;
  return ScoreUrgency(in, config_.scoring, config_.escalation).needs_senior &&
         !config_.escalation.senior_skill.empty();
}

bool ReferenceRouter::Eligible(const Agent& a, const Contact& c) const {
  const std::optional<uint32_t> first = FirstStage(a, QueueOf(c.queue));
  if (!first || *first > c.stage) return false;
  if (NeedsSenior(c)) {
    bool senior = false;
    for (const SkillLevel& s : a.spec.skills)
      senior = senior || s.skill == config_.escalation.senior_skill;
    if (!senior) return false;
  }
  return std::find(a.languages.begin(), a.languages.end(), c.language) != a.languages.end();
}

bool ReferenceRouter::CanTake(const Agent& a, Channel ch) const {
  auto cap = a.capacity.find(ch);
  if (cap == a.capacity.end() || cap->second == 0) return false;
  uint32_t on_channel = 0, total = 0;
  bool exclusive_held = false;
  for (const auto& [id, c] : contacts_) {
    if (c.agent != a.spec.agent_id || c.state == State::kQueued) continue;
    ++total;
    if (c.spec.channel == ch) ++on_channel;
    if (config_.channels[static_cast<int>(c.spec.channel)].exclusive) exclusive_held = true;
  }
  if (exclusive_held) return false;
  if (config_.channels[static_cast<int>(ch)].exclusive) return total == 0;
  return on_channel < cap->second;
}

uint32_t ReferenceRouter::Load(const Agent& a) const {
  uint32_t load = 0;
  for (const auto& [id, c] : contacts_) {
    if (c.agent == a.spec.agent_id && c.state != State::kQueued) ++load;
  }
  return load;
}

std::tuple<int, int64_t, ContactId> ReferenceRouter::Rank(const Contact& c) const {
  UrgencyInputs in;
  in.tier = c.spec.tier;
  in.direction = c.spec.direction;
  in.signals = &c.spec.signals;
  const UrgencyScore score = ScoreUrgency(in, config_.scoring, config_.escalation);
  const absl::Time deadline = c.arrival + QueueOf(c.queue).answer_within;
  const int64_t bonus_ms =
      Fifo(c) ? 0 : std::llround(score.points * config_.scoring.seconds_per_point * 1000.0);
  return {score.emergency ? 0 : 1, absl::ToUnixMillis(deadline) - bonus_ms, c.id};
}

RoutingPolicy ReferenceRouter::PolicyAt(const QueueConfig& q, absl::Time t) const {
  if (q.ab_test.policies.empty()) return q.routing_policy;
  // Whole periods since the epoch, rounded down (also before it).
  const double periods = std::floor(absl::FDivDuration(t - absl::UnixEpoch(), q.ab_test.period));
  const double n = static_cast<double>(q.ab_test.policies.size());
  const double slot = periods - n * std::floor(periods / n);
  return q.ab_test.policies[static_cast<size_t>(slot)];
}

uint32_t ReferenceRouter::StageForWait(const QueueConfig& q, absl::Duration wait) const {
  uint32_t stage = 0;
  while (stage < q.overflow.size() && wait >= q.overflow[stage].after) ++stage;
  return stage;
}

// ---- matching ----

void ReferenceRouter::Offer(Agent& a, Contact& c, const std::string& why) {
  c.state = State::kOffered;
  c.agent = a.spec.agent_id;
  c.offer = next_offer_++;
  a.last_offer = now_;
  Set(now_ + config_.channels[static_cast<int>(c.spec.channel)].offer_timeout, Due::kOfferTimeout,
      c.id, c.offer);
  offers_.push_back({now_, c.id, c.offer, a.spec.agent_id, why});
}

void ReferenceRouter::MatchContact(Contact& c) {
  if (c.state != State::kQueued) return;
  // The customer's last agent, within the sticky window, when free and qualified.
  if (auto it = last_agent_.find(c.spec.customer_id);
      !c.spec.customer_id.empty() && it != last_agent_.end() &&
      now_ - it->second.second <= config_.sticky_window) {
    Agent* last = FindAgent(it->second.first);
    if (last != nullptr && Offerable(*last) && CanTake(*last, c.spec.channel) &&
        Eligible(*last, c) && !Excluded(c, last->spec.agent_id)) {
      Offer(*last, c, "sticky: last agent");
      return;
    }
  }
  // Else the best qualified free agent: the least flexible (fewest queues it
  // serves without overflow, plus one if it is a senior), then best
  // proficiency for the contact's queue, then least loaded, then longest
  // since the last offer, then the agent known longest.
  if (Fifo(c)) {
    // fifo: the qualified free agent idle longest, then the agent known longest.
    Agent* longest_idle = nullptr;
    for (Agent& a : agents_) {
      if (!Offerable(a) || !CanTake(a, c.spec.channel) || !Eligible(a, c) ||
          Excluded(c, a.spec.agent_id)) {
        continue;
      }
      if (longest_idle == nullptr ||
          absl::ToUnixMillis(a.idle_since) < absl::ToUnixMillis(longest_idle->idle_since)) {
        longest_idle = &a;
      }
    }
    if (longest_idle != nullptr) Offer(*longest_idle, c, "fifo: longest idle");
    return;
  }
  const QueueConfig& q = QueueOf(c.queue);
  Agent* best = nullptr;
  std::tuple<uint32_t, int64_t, uint32_t, int64_t, size_t> best_key;
  for (size_t i = 0; i < agents_.size(); ++i) {
    Agent& a = agents_[i];
    if (!Offerable(a) || !CanTake(a, c.spec.channel) || !Eligible(a, c) ||
        Excluded(c, a.spec.agent_id)) {
      continue;
    }
    int64_t proficiency = 0;  // the sum of its levels in the queue's skills
    for (const SkillRequirement& r : q.skills) {
      uint32_t level = 0;
      for (const SkillLevel& s : a.spec.skills) {
        if (s.skill == r.skill) level = s.level;  // a repeated skill counts at its last level
      }
      proficiency += level;
    }
    uint32_t breadth = 0;
    for (const QueueConfig& other : config_.queues) {
      const std::optional<uint32_t> first = FirstStage(a, other);
      if (first && *first == 0) ++breadth;
    }
    for (const SkillLevel& s : a.spec.skills) {
      if (!config_.escalation.senior_skill.empty() && s.skill == config_.escalation.senior_skill) {
        ++breadth;
        break;
      }
    }
    const auto key =
        std::make_tuple(breadth, -proficiency, Load(a), absl::ToUnixMillis(a.last_offer), i);
    if (best == nullptr || key < best_key) {
      best = &a;
      best_key = key;
    }
  }
  if (best != nullptr) {
    Offer(*best, c,
          absl::StrCat("best available: breadth ", std::get<0>(best_key), ", proficiency ",
                       -std::get<1>(best_key)));
  }
}

size_t ReferenceRouter::RecentWithinTarget(const std::string& queue) const {
  auto it = recent_answers_.find(queue);
  return it == recent_answers_.end() ? 0 : std::count(it->second.begin(), it->second.end(), true);
}

bool ReferenceRouter::ShortOfObjective(const std::string& queue) const {
  auto it = recent_answers_.find(queue);
  if (it == recent_answers_.end() || it->second.size() < kServiceObjectiveMinAnswers) return false;
  const QueueConfig& q = QueueOf(queue);
  const double objective = q.service_objective.value_or(q.target_ratio);
  return static_cast<double>(RecentWithinTarget(queue)) <
         objective * static_cast<double>(it->second.size());
}

void ReferenceRouter::MatchAgent(Agent& a) {
  while (Offerable(a)) {
    // Each queue's best-ranked waiting contact the agent may take now, and
    // its best-ranked one still before its SLA deadline (in time).
    std::map<std::string, Contact*> heads;
    std::map<std::string, Contact*> in_time;
    for (auto& [id, c] : contacts_) {
      if (c.state != State::kQueued || !CanTake(a, c.spec.channel) || !Eligible(a, c) ||
          Excluded(c, a.spec.agent_id)) {
        continue;
      }
      Contact*& head = heads[c.queue];
      if (head == nullptr || Rank(c) < Rank(*head)) head = &c;
      if (now_ < c.arrival + QueueOf(c.queue).answer_within) {
        Contact*& first = in_time[c.queue];
        if (first == nullptr || Rank(c) < Rank(*first)) first = &c;
      }
    }
    // All of them arrived under fifo: emergencies first, then the longest
    // waiting (arrival, then id).
    if (!heads.empty() && std::all_of(heads.begin(), heads.end(),
                                      [&](const auto& head) { return Fifo(*head.second); })) {
      Contact* oldest = nullptr;
      for (auto& [queue, c] : heads) {
        if (oldest == nullptr ||
            std::make_tuple(std::get<0>(Rank(*c)), c->arrival, c->id) <
                std::make_tuple(std::get<0>(Rank(*oldest)), oldest->arrival, oldest->id)) {
          oldest = c;
        }
      }
      Offer(a, *oldest,
            absl::StrCat(std::get<0>(Rank(*oldest)) == 0 ? "fifo: emergency first; "
                                                         : "fifo: longest waiting; ",
                         oldest->queue));
      continue;
    }
    // Among them, each measured against its rank (deadline less urgency):
    // emergencies first; then one more than ten of its queue's targets past
    // its rank (the furthest past first); then, in place of its queue's head,
    // the queue's best-ranked contact still in time (of the head's class),
    // if less than 5 s before its rank or past it; then the same at any time
    // before its deadline if the queue is short of its service objective and
    // its head at most one target past its rank; then the queue where the
    // agent's skill levels sum highest; then the best rank, then the oldest
    // id.
    Contact* best = nullptr;
    std::tuple<int, int, int64_t, int64_t, int64_t> best_key;
    for (auto [queue, c] : heads) {
      const QueueConfig& q = QueueOf(queue);
      int64_t late_ms = absl::ToUnixMillis(now_) - std::get<1>(Rank(*c));
      int tier = 0;
      if (late_ms > 10 * absl::ToInt64Milliseconds(q.answer_within)) {
        tier = 3;
      } else if (auto it = in_time.find(queue);
                 it != in_time.end() && std::get<0>(Rank(*it->second)) == std::get<0>(Rank(*c))) {
        if (absl::ToUnixMillis(now_) - std::get<1>(Rank(*it->second)) > -5000) {
          tier = 2;
        } else if (late_ms <= absl::ToInt64Milliseconds(q.answer_within) &&
                   ShortOfObjective(queue)) {
          tier = 1;
        }
        if (tier != 0) {
          c = it->second;
          late_ms = absl::ToUnixMillis(now_) - std::get<1>(Rank(*c));
        }
      }
      const auto [priority_class, rank_ms, id] = Rank(*c);
      int64_t proficiency = 0;
      if (tier != 3) {
        for (const SkillRequirement& r : q.skills) {
          uint32_t level = 0;
          for (const SkillLevel& s : a.spec.skills) {
            if (s.skill == r.skill) level = s.level;
          }
          proficiency += level;
        }
      }
      const auto key =
          std::make_tuple(priority_class, -tier, -proficiency, -late_ms, static_cast<int64_t>(id));
      if (best == nullptr || key < best_key) {
        best = c;
        best_key = key;
      }
    }
    if (best == nullptr) return;
    const std::string& queue = best->queue;
    std::string why;
    if (std::get<0>(best_key) == 0) {
      why = absl::StrCat("emergency first; ", queue);
    } else if (std::get<1>(best_key) == -3) {
      why = absl::StrCat("starving: over 10 targets past its rank in ", queue);
    } else if (std::get<1>(best_key) == -1) {
      const QueueConfig& q = QueueOf(queue);
      const auto recent = recent_answers_.find(queue);
      why = absl::StrCat("short of objective: ", RecentWithinTarget(queue), " of the last ",
                         recent->second.size(), " answers within target (objective ",
                         std::lround(100 * q.service_objective.value_or(q.target_ratio)), " %), ",
                         absl::FormatDuration(best->arrival + q.answer_within - now_),
                         " to its target in ", queue);
    } else if (std::get<1>(best_key) == -2) {
      const int64_t late_ms = -std::get<3>(best_key);
      why = late_ms <= 0
                ? absl::StrCat("at risk: ", absl::FormatDuration(absl::Milliseconds(-late_ms)),
                               " to its rank in ", queue)
                : absl::StrCat(
                      "at risk: ", absl::FormatDuration(absl::Milliseconds(late_ms)),
                      " past its rank, ",
                      absl::FormatDuration(best->arrival + QueueOf(queue).answer_within - now_),
                      " to its target in ", queue);
    } else {
      why = absl::StrCat("strongest skill: proficiency ", -std::get<2>(best_key), " in ", queue);
    }
    Offer(a, *best, why);
  }
}

void ReferenceRouter::Release(Contact& c) {
  const std::string agent = c.agent;
  c.agent.clear();
  NoteIdle(agent);
}

void ReferenceRouter::NoteIdle(const std::string& agent_id) {
  if (agent_id.empty()) return;
  Agent* a = FindAgent(agent_id);
  if (a != nullptr && Load(*a) == 0) a->idle_since = now_;
}

void ReferenceRouter::Erase(ContactId id) {
  const std::string agent = contacts_.at(id).agent;
  contacts_.erase(id);
  NoteIdle(agent);
}

void ReferenceRouter::Requeue(Contact& c) {
  c.state = State::kQueued;
  c.stage = StageForWait(QueueOf(c.queue), now_ - c.arrival);
  MatchContact(c);
}

void ReferenceRouter::Enqueue(Contact& c) {
  c.state = State::kQueued;
  const QueueConfig& q = QueueOf(c.queue);
  c.stage = StageForWait(q, now_ - c.arrival);
  if (c.stage < q.overflow.size()) {
    Set(c.arrival + q.overflow[c.stage].after, Due::kOverflow, c.id,
        (uint64_t{c.epoch} << 8) | (c.stage + 1));
  }
  PlanSeniorRelax(c);
  MatchContact(c);
}

// A reject or a timeout: the contact goes back with its SLA clock, the agent
// is not offered it again during the cooldown, and enough misses in a row
// make the agent not-ready (its other offers are withdrawn).
void ReferenceRouter::Miss(Agent& a, Contact& c) {
  Release(c);
  c.missed_by = a.spec.agent_id;
  c.missed_until = now_ + config_.reoffer_cooldown;
  Set(c.missed_until, Due::kCooldownEnd, c.id, 0);
  ++a.misses;
  if (config_.max_consecutive_misses > 0 && a.misses >= config_.max_consecutive_misses &&
      !a.not_ready) {
    a.not_ready = true;
    Requeue(c);
    WithdrawOffers(a);
    return;
  }
  Requeue(c);
  MatchAgent(a);
}

void ReferenceRouter::WithdrawOffers(Agent& a) {
  std::vector<ContactId> offered;
  for (auto& [id, c] : contacts_) {
    if (c.agent == a.spec.agent_id && c.state == State::kOffered) offered.push_back(id);
  }
  for (ContactId id : offered) {
    Contact& c = contacts_.at(id);
    Release(c);
    Requeue(c);
  }
}

// ---- commands ----

absl::StatusOr<ContactId> ReferenceRouter::Submit(const ContactSpec& spec, absl::Time now) {
  AdvanceTo(now);
  if (spec.idempotency_key.empty()) return absl::InvalidArgumentError("idempotency_key");
  auto q = std::find_if(config_.queues.begin(), config_.queues.end(),
                        [&](const QueueConfig& x) { return x.name == spec.queue; });
  if (q == config_.queues.end()) return absl::NotFoundError("queue");
  if (q->channel != spec.channel) return absl::InvalidArgumentError("channel");
  const ContactId id = next_contact_++;
  Contact& c = contacts_[id];
  c.id = id;
  c.spec = spec;
  c.queue = spec.queue;
  c.language = !spec.language.empty()         ? spec.language
               : !q->default_language.empty() ? q->default_language
                                              : config_.default_language;
  c.arrival = now_;
  Enqueue(c);
  return id;
}

absl::Status ReferenceRouter::Update(ContactId id, const Signals& signals, absl::Time now) {
  AdvanceTo(now);
  Contact* c = FindContact(id);
  if (c == nullptr) return absl::NotFoundError("contact");
  c->spec.signals = signals;
  PlanSeniorRelax(*c);
  if (c->state == State::kQueued) MatchContact(*c);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::Abandon(ContactId id, absl::Time now) {
  AdvanceTo(now);
  Contact* c = FindContact(id);
  if (c == nullptr) return absl::NotFoundError("contact");
  if (c->state != State::kQueued && c->state != State::kOffered) {
    return absl::FailedPreconditionError("not waiting");
  }
  Agent* a = c->state == State::kOffered ? FindAgent(c->agent) : nullptr;
  Erase(id);
  if (a != nullptr) MatchAgent(*a);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::Cancel(ContactId id, absl::Time now) {
  AdvanceTo(now);
  Contact* c = FindContact(id);
  if (c == nullptr) return absl::NotFoundError("contact");
  Agent* a = c->agent.empty() ? nullptr : FindAgent(c->agent);
  Erase(id);
  if (a != nullptr) MatchAgent(*a);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::Login(const AgentSpec& spec, absl::Time now) {
  AdvanceTo(now);
  if (spec.agent_id.empty()) return absl::InvalidArgumentError("agent_id");
  std::map<Channel, uint32_t> capacity;
  for (int ch = 0; ch < kChannelCount; ++ch) {
    if (spec.capacities.empty()) capacity[Channel(ch)] = config_.channels[ch].agent_capacity;
  }
  for (const auto& [ch, cap] : spec.capacities) {
    capacity[ch] = cap == 0 ? config_.channels[static_cast<int>(ch)].agent_capacity : cap;
  }
  Agent* a = FindAgent(spec.agent_id);
  if (a != nullptr && a->logged_in) {
    // A re-login may not shrink a channel below what the agent holds.
    for (int ch = 0; ch < kChannelCount; ++ch) {
      uint32_t held = 0;
      for (const auto& [id, c] : contacts_) {
        held +=
            c.agent == spec.agent_id && c.state != State::kQueued && c.spec.channel == Channel(ch);
      }
      if (held > capacity[Channel(ch)]) return absl::FailedPreconditionError("capacity");
    }
  }
  if (a == nullptr) {
    agents_.emplace_back();
    a = &agents_.back();
    a->idle_since = now_;
  }
  a->spec = spec;
  a->languages =
      spec.languages.empty() ? std::vector<std::string>{config_.default_language} : spec.languages;
  a->capacity = capacity;
  if (!a->logged_in) {
    a->logged_in = true;
    a->misses = 0;
    a->not_ready = !spec.start_available;
  }
  MatchAgent(*a);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::Logout(const std::string& agent_id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  Agent& a = *agent;
  a.not_ready = true;
  // Offered and connected contacts go back with their SLA clock; those in
  // wrap-up were served and end.
  std::vector<ContactId> requeue, done;
  for (auto& [id, c] : contacts_) {
    if (c.agent != agent_id) continue;
    (c.state == State::kWrapUp ? done : requeue).push_back(id);
    Release(c);
  }
  for (ContactId id : done) contacts_.erase(id);
  NoteIdle(agent_id);
  a.logged_in = false;
  a.logged_out_at = now_;
  for (ContactId id : requeue) Requeue(contacts_.at(id));
  const absl::Duration granularity =
      std::max(absl::Seconds(1), config_.limits.agent_retention / 16);
  Set(absl::UnixEpoch() +
          absl::Ceil(now_ + config_.limits.agent_retention - absl::UnixEpoch(), granularity),
      Due::kForget, 0, 0);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::SetAvailable(const std::string& agent_id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  agent->not_ready = false;
  agent->misses = 0;
  MatchAgent(*agent);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::SetNotReady(const std::string& agent_id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  agent->not_ready = true;
  WithdrawOffers(*agent);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::Accept(const std::string& agent_id, uint64_t offer_id,
                                     absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  for (auto& [id, c] : contacts_) {
    if (c.state != State::kOffered || c.offer != offer_id) continue;
    if (c.agent != agent_id) return absl::PermissionDeniedError("offered to another agent");
    c.state = State::kConnected;
    agent->misses = 0;
    std::deque<bool>& recent = recent_answers_[c.queue];
    recent.push_back(now_ - c.arrival <= QueueOf(c.queue).answer_within);
    if (recent.size() > kServiceObjectiveWindow) recent.pop_front();
    if (!c.spec.customer_id.empty()) last_agent_[c.spec.customer_id] = {agent_id, now_};
    return absl::OkStatus();
  }
  return absl::NotFoundError("offer not outstanding");
}

absl::Status ReferenceRouter::Reject(const std::string& agent_id, uint64_t offer_id,
                                     absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  for (auto& [id, c] : contacts_) {
    if (c.state != State::kOffered || c.offer != offer_id) continue;
    if (c.agent != agent_id) return absl::PermissionDeniedError("offered to another agent");
    Miss(*agent, c);
    return absl::OkStatus();
  }
  return absl::NotFoundError("offer not outstanding");
}

absl::Status ReferenceRouter::Complete(const std::string& agent_id, ContactId id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  Contact* c = FindContact(id);
  if (c == nullptr || c->agent != agent_id || c->state != State::kConnected) {
    return absl::FailedPreconditionError("not connected");
  }
  c->state = State::kWrapUp;
  const absl::Duration wrap_up = config_.channels[static_cast<int>(c->spec.channel)].wrap_up;
  if (wrap_up <= absl::ZeroDuration()) {
    Erase(id);
    MatchAgent(*agent);
  } else {
    Set(now_ + wrap_up, Due::kWrapUpEnd, id, 0);
  }
  return absl::OkStatus();
}

absl::Status ReferenceRouter::WrapUpDone(const std::string& agent_id, ContactId id,
                                         absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  Contact* c = FindContact(id);
  if (c == nullptr || c->agent != agent_id || c->state != State::kWrapUp) {
    return absl::FailedPreconditionError("not in wrap-up");
  }
  Erase(id);
  MatchAgent(*agent);
  return absl::OkStatus();
}

absl::Status ReferenceRouter::Transfer(const std::string& agent_id, ContactId id,
                                       const std::string& to_queue, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedIn(agent_id));
  Contact* c = FindContact(id);
  if (c == nullptr || c->agent != agent_id || c->state != State::kConnected) {
    return absl::FailedPreconditionError("not connected");
  }
  auto to = std::find_if(config_.queues.begin(), config_.queues.end(),
                         [&](const QueueConfig& q) { return q.name == to_queue; });
  if (to == config_.queues.end()) return absl::NotFoundError("to_queue");
  if (to->channel != c->spec.channel) return absl::InvalidArgumentError("to_queue channel");
  // The new queue's SLA clock starts now; the old queue's overflow steps stop.
  Release(*c);
  c->queue = to_queue;
  c->spec.queue = to_queue;
  if (c->spec.language.empty()) {
    c->language = !to->default_language.empty() ? to->default_language : config_.default_language;
  }
  c->arrival = now_;
  ++c->epoch;
  Enqueue(*c);
  MatchAgent(*agent);
  return absl::OkStatus();
}

}  // namespace ccr::testing
