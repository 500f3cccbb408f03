#include "engine/apply.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "codec/config_loader.h"
#include "codec/wire.h"

namespace ccr {

absl::Time CommandTime(const v1::Command& cmd) { return FromTimestamp(cmd.time()); }

const char* CommandKindName(const v1::Command& cmd) {
  switch (cmd.kind_case()) {
    case v1::Command::kSubmit:
      return "submit";
    case v1::Command::kUpdate:
      return "update";
    case v1::Command::kCancel:
      return "cancel";
    case v1::Command::kLogin:
      return "login";
    case v1::Command::kLogout:
      return "logout";
    case v1::Command::kSetState:
      return "set_state";
    case v1::Command::kAccept:
      return "accept";
    case v1::Command::kReject:
      return "reject";
    case v1::Command::kComplete:
      return "complete";
    case v1::Command::kWrapUpDone:
      return "wrap_up_done";
    case v1::Command::kTransfer:
      return "transfer";
    case v1::Command::kApplyConfig:
      return "apply_config";
    case v1::Command::kEngineStarted:
      return "engine_started";
    case v1::Command::kTimersDue:
      return "timers_due";
    case v1::Command::KIND_NOT_SET:
      break;
  }
  return "empty";
}

namespace {

absl::Status ApplyUpdate(Router& router, const v1::Command& cmd, absl::Time now) {
  const v1::UpdateRequest& u = cmd.update();
  CCR_ASSIGN_OR_RETURN(ContactId id, ContactIdFromWire(u.contact_id(), "contact_id"));
  if (u.abandoned()) return router.Abandon(id, now);
  CCR_ASSIGN_OR_RETURN(Tier tier, TierFromWire(u.tier(), "tier"));
  const std::optional<Tier> new_tier =
      u.tier() == v1::TIER_UNSPECIFIED ? std::nullopt : std::optional<Tier>(tier);
  CCR_ASSIGN_OR_RETURN(ContactView before, router.GetContact(id, now));
  absl::StatusOr<Signals> signals = before.signals;
  if (cmd.update_merges_signals()) {
    signals = MergeSignalsFromWire(before.signals, u);
  } else if (u.has_signals()) {
    signals = SignalsFromWire(u.signals(), "signals");  // a record from before merging
  }
  if (!signals.ok()) return signals.status();
  return router.Update(id, *signals, new_tier, now);
}

absl::Status ApplySetState(Router& router, const std::string& agent, const v1::SetState& s,
                           absl::Time now) {
  switch (s.state()) {
    case v1::AGENT_STATE_AVAILABLE:
      return router.SetAvailable(agent, now);
    case v1::AGENT_STATE_NOT_READY:
      return router.SetNotReady(agent, s.reason(), now);
    default:
      return absl::InvalidArgumentError("set_state.state: AVAILABLE or NOT_READY");
  }
}

}  // namespace

ApplyResult ApplyCommand(Router& router, const v1::Command& cmd,
                         const RouterConfig* loaded_config) {
  const absl::Time now = CommandTime(cmd);
  const std::string& agent = cmd.agent_id();
  ApplyResult out;
  switch (cmd.kind_case()) {
    case v1::Command::kSubmit: {
      absl::StatusOr<ContactSpec> spec =
          ContactSpecFromWire(cmd.submit().contact(), router.config(), now);
      if (!spec.ok()) {
        router.Tick(now);
        out.status = spec.status();
        break;
      }
      absl::StatusOr<SubmitResult> r = router.Submit(*std::move(spec), now, cmd.request_digest());
      out.status = r.status();
      if (r.ok()) out.submit = std::move(*r);
      break;
    }
    case v1::Command::kUpdate:
      out.status = ApplyUpdate(router, cmd, now);
      break;
    case v1::Command::kCancel: {
      absl::StatusOr<ContactId> id = ContactIdFromWire(cmd.cancel().contact_id(), "contact_id");
      out.status = id.ok() ? router.Cancel(*id, cmd.cancel().reason(), now) : id.status();
      break;
    }
    case v1::Command::kLogin: {
      absl::StatusOr<AgentSpec> spec = AgentSpecFromWire(cmd.login());
      out.status = spec.ok() ? router.Login(*spec, now) : spec.status();
      break;
    }
    case v1::Command::kLogout:
      out.status = router.Logout(cmd.logout().agent_id(), cmd.logout().reason(), now);
      break;
    case v1::Command::kSetState:
      out.status = ApplySetState(router, agent, cmd.set_state(), now);
      break;
    case v1::Command::kAccept: {
      absl::StatusOr<uint64_t> offer = OfferIdFromWire(cmd.accept().offer_id(), "accept.offer_id");
      out.status = offer.ok() ? router.Accept(agent, *offer, now) : offer.status();
      break;
    }
    case v1::Command::kReject: {
      absl::StatusOr<uint64_t> offer = OfferIdFromWire(cmd.reject().offer_id(), "reject.offer_id");
      out.status =
          offer.ok() ? router.Reject(agent, *offer, cmd.reject().reason(), now) : offer.status();
      break;
    }
    case v1::Command::kComplete: {
      absl::StatusOr<ContactId> id =
          ContactIdFromWire(cmd.complete().contact_id(), "complete.contact_id");
      absl::StatusOr<Outcome> outcome = OutcomeFromWire(cmd.complete().outcome());
      out.status = !id.ok()        ? id.status()
                   : !outcome.ok() ? outcome.status()
                                   : router.Complete(agent, *id, *outcome, now);
      break;
    }
    case v1::Command::kWrapUpDone: {
      absl::StatusOr<ContactId> id =
          ContactIdFromWire(cmd.wrap_up_done().contact_id(), "wrap_up_done.contact_id");
      out.status = id.ok() ? router.WrapUpDone(agent, *id, now) : id.status();
      break;
    }
    case v1::Command::kTransfer: {
      const v1::TransferRequest& t = cmd.transfer();
      absl::StatusOr<ContactId> id = ContactIdFromWire(t.contact_id(), "transfer.contact_id");
      out.status = id.ok() ? router.Transfer(agent, *id, t.to_queue(), t.note(), now) : id.status();
      break;
    }
    case v1::Command::kApplyConfig: {
      absl::StatusOr<RouterConfig> config =
          loaded_config != nullptr ? absl::StatusOr<RouterConfig>(*loaded_config)
                                   : LoadRouterConfig(cmd.apply_config().config_yaml());
      if (!config.ok()) {
        router.Tick(now);
        out.status = config.status();
        break;
      }
      absl::StatusOr<std::vector<ContactId>> moved = router.Reconfigure(std::move(*config), now);
      out.status = moved.status();
      if (moved.ok()) out.moved = std::move(*moved);
      break;
    }
    case v1::Command::kEngineStarted:
      router.Restarted(now);
      break;
    case v1::Command::kTimersDue:
      router.Tick(now);
      break;
    case v1::Command::KIND_NOT_SET:
      router.Tick(now);
      out.status = absl::InvalidArgumentError(
          absl::StrCat("journal record ", cmd.index(), ": no command in it"));
      break;
  }
  return out;
}

}  // namespace ccr
