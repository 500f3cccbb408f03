#include "engine/testing/random_commands.h"

#include "absl/strings/str_cat.h"
#include "codec/wire.h"

namespace ccr::testing {

RandomCommands::RandomCommands(uint64_t seed, absl::Time start, RandomCommandOptions options)
    : rng_(seed), options_(std::move(options)), now_(start) {}

v1::Command RandomCommands::Next() {
  v1::Command cmd;
  do {
    cmd.Clear();
    now_ += absl::Nanoseconds(static_cast<int64_t>(
        Pick(static_cast<size_t>(absl::ToInt64Nanoseconds(options_.max_step)))));
  } while (!Fill(cmd));
  ToTimestamp(now_, cmd.mutable_time());
  return cmd;
}

bool RandomCommands::Fill(v1::Command& cmd) {
  const std::string agent = absl::StrCat("agent-", Pick(options_.agents));
  switch (Pick(10)) {
    case 0:
    case 1: {
      v1::ContactSpec* c = cmd.mutable_submit()->mutable_contact();
      c->set_idempotency_key(absl::StrCat("key-", ++keys_, "-", rng_()));
      static constexpr v1::Channel kChannels[] = {v1::CHANNEL_VOICE, v1::CHANNEL_CHAT,
                                                  v1::CHANNEL_EMAIL};
      c->set_channel(kChannels[Pick(3)]);
      c->mutable_customer()->set_id(absl::StrCat("cust-", Pick(options_.customers)));
      c->mutable_customer()->set_tier(static_cast<v1::Tier>(1 + Pick(4)));
      c->mutable_signals()->set_complaint(Pick(4) == 0);
      c->mutable_signals()->set_sentiment(-0.1 * static_cast<double>(Pick(10)));
      return true;
    }
    case 2: {
      v1::Login* l = cmd.mutable_login();
      l->set_agent_id(agent);
      for (const char* skill : {"general", "billing", "emergency"}) {
        v1::Skill* s = l->add_skills();
        s->set_name(skill);
        s->set_level(3 + static_cast<uint32_t>(Pick(8)));
      }
      l->add_languages("en");
      l->set_start_available(true);
      cmd.set_agent_id(agent);
      return true;
    }
    case 3:
      cmd.set_agent_id(agent);
      if (Pick(4) == 0) {
        cmd.mutable_logout()->set_agent_id(agent);
        cmd.mutable_logout()->set_reason("bye");
      } else {
        cmd.mutable_set_state()->set_state(Pick(2) ? v1::AGENT_STATE_AVAILABLE
                                                   : v1::AGENT_STATE_NOT_READY);
        cmd.mutable_set_state()->set_reason("break");
      }
      return true;
    case 4:
    case 5: {
      if (offers_.empty()) return false;
      auto it = std::next(offers_.begin(), Pick(offers_.size()));
      cmd.set_agent_id(it->second);
      if (Pick(4) == 0) {
        cmd.mutable_reject()->set_offer_id(OfferIdString(it->first));
      } else {
        cmd.mutable_accept()->set_offer_id(OfferIdString(it->first));
      }
      return true;
    }
    case 6: {
      if (connected_.empty()) return false;
      auto it = std::next(connected_.begin(), Pick(connected_.size()));
      cmd.set_agent_id(it->second);
      cmd.mutable_complete()->set_contact_id(ContactIdString(it->first));
      cmd.mutable_complete()->mutable_outcome()->set_resolved(Pick(2) == 0);
      return true;
    }
    case 7: {
      if (wrapping_.empty()) return false;
      auto it = std::next(wrapping_.begin(), Pick(wrapping_.size()));
      cmd.set_agent_id(it->second);
      cmd.mutable_wrap_up_done()->set_contact_id(ContactIdString(it->first));
      return true;
    }
    case 8: {
      if (submitted_.empty()) return false;
      const std::string id = ContactIdString(submitted_[Pick(submitted_.size())]);
      if (Pick(3) == 0) {
        cmd.mutable_cancel()->set_contact_id(id);
        cmd.mutable_cancel()->set_reason("changed mind");
      } else {
        cmd.mutable_update()->set_contact_id(id);
        cmd.mutable_update()->mutable_signals()->set_escalation_level(
            static_cast<uint32_t>(Pick(4)));
        cmd.mutable_update()->set_abandoned(Pick(5) == 0);
        // Both record kinds replay (no extra draw: the stream stays as it was).
        cmd.set_update_merges_signals(cmd.update().signals().escalation_level() % 2 == 0);
      }
      return true;
    }
    default:
      if (options_.restarts && Pick(20) == 0) {
        cmd.mutable_engine_started();
        return true;
      }
      if (!options_.config_yaml.empty() && Pick(20) == 0) {
        cmd.mutable_apply_config()->set_config_yaml(options_.config_yaml);
        return true;
      }
      return false;
  }
}

void RandomCommands::Observe(const std::vector<Event>& events) {
  for (const Event& e : events) {
    switch (e.kind) {
      case EventKind::kOffered:
        offers_[e.offer_id] = e.agent_id;
        if (e.contact > 0 && submitted_.size() < 4096) submitted_.push_back(e.contact);
        break;
      case EventKind::kAssigned:
        offers_.erase(e.offer_id);
        connected_[e.contact] = e.agent_id;
        break;
      case EventKind::kOfferRejected:
      case EventKind::kOfferTimedOut:
      case EventKind::kOfferWithdrawn:
        offers_.erase(e.offer_id);
        break;
      case EventKind::kCompleted:
        connected_.erase(e.contact);
        wrapping_[e.contact] = e.agent_id;
        break;
      case EventKind::kTransferred:
      case EventKind::kAbandoned:
      case EventKind::kCancelled:
        connected_.erase(e.contact);
        break;
      case EventKind::kWrapUpDone:
        wrapping_.erase(e.contact);
        break;
      case EventKind::kQueued:
        if (submitted_.size() < 4096) {
          submitted_.push_back(e.contact);
        } else {
          submitted_[Pick(submitted_.size())] = e.contact;
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace ccr::testing
