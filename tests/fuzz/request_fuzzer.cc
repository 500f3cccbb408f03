// Fuzz target: request validation of every RPC. The first byte picks the
// request type; the rest is parsed as that protobuf (as gRPC would) and runs
// through the validation its service runs. A request the edge accepts
// becomes the journal command the service would build, and must apply to a
// live router (tests/fuzz/fuzz_support.h) without a conversion error;
// whatever it does, the router's invariants must hold afterwards.
//
// The wire conversions (codec/wire.h) are called as the services call them.
// The few checks the services make inline (agent_desk_service.cc
// HandleCommand, admin_service.cc SetAgentState and ReloadConfig,
// ingest_service.cc Update and Cancel) are repeated here, marked "as ...".
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ccrouter/v1/admin.pb.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/ingest.pb.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "tests/fuzz/fuzz_support.h"

namespace ccr::fuzz {

namespace {

// What the edge makes of a request: the journal command, or the error the
// client gets. A request answered at the edge alone (a heartbeat) is OK with
// no command.
struct EdgeResult {
  absl::Status status;
  std::optional<v1::Command> command;
};

EdgeResult Reject(absl::Status s) { return {std::move(s), std::nullopt}; }
EdgeResult Accept(v1::Command cmd) { return {absl::OkStatus(), std::move(cmd)}; }

// As ingest_service.cc SubmitCommand.
EdgeResult SubmitEdge(const v1::ContactSpec& contact, const RouterConfig& config) {
  absl::StatusOr<ContactSpec> spec = ContactSpecFromWire(contact, config, kFuzzNow);
  if (!spec.ok()) return Reject(spec.status());
  v1::Command cmd;
  *cmd.mutable_submit()->mutable_contact() = contact;
  cmd.mutable_submit()->mutable_contact()->set_queue(spec->queue);
  cmd.set_request_digest(SubmitRequestDigest(contact));
  return Accept(std::move(cmd));
}

// As ContactIngestService::Update.
EdgeResult UpdateEdge(const v1::UpdateRequest& req) {
  absl::StatusOr<ContactId> id = ContactIdFromWire(req.contact_id(), "contact_id");
  absl::StatusOr<Signals> signals = MergeSignalsFromWire(Signals{}, req);
  absl::StatusOr<Tier> tier = TierFromWire(req.tier(), "tier");
  absl::Status invalid = !id.ok() ? id.status() : !tier.ok() ? tier.status() : signals.status();
  if (!invalid.ok()) return Reject(invalid);
  v1::Command cmd;
  *cmd.mutable_update() = req;
  cmd.set_update_merges_signals(true);
  return Accept(std::move(cmd));
}

// As ContactIngestService::Cancel.
EdgeResult CancelEdge(const v1::CancelRequest& req) {
  absl::StatusOr<ContactId> id = ContactIdFromWire(req.contact_id(), "contact_id");
  if (!id.ok()) return Reject(id.status());
  if (req.reason().size() > InputLimits::kMaxTextBytes) {
    return Reject(absl::InvalidArgumentError("reason: longer than 1024 bytes"));
  }
  v1::Command cmd;
  cmd.mutable_cancel()->set_contact_id(req.contact_id());
  cmd.mutable_cancel()->set_reason(req.reason().empty() ? "cancelled by gateway" : req.reason());
  return Accept(std::move(cmd));
}

// As AgentStreamReactor::HandleLogin.
EdgeResult LoginEdge(const v1::AgentMessage& m) {
  if (m.kind_case() != v1::AgentMessage::kLogin) {
    return Reject(absl::FailedPreconditionError("login: the first message must be a login"));
  }
  absl::StatusOr<AgentSpec> spec = AgentSpecFromWire(m.login());
  if (!spec.ok()) return Reject(spec.status());
  v1::Command cmd;
  cmd.set_agent_id(spec->agent_id);
  *cmd.mutable_login() = m.login();
  return Accept(std::move(cmd));
}

// As AgentStreamReactor::HandleCommand.
EdgeResult AgentCommandEdge(const v1::AgentMessage& m, const std::string& agent) {
  v1::Command cmd;
  cmd.set_agent_id(agent);
  absl::Status invalid;
  switch (m.kind_case()) {
    case v1::AgentMessage::kHeartbeat:
      return {absl::OkStatus(), std::nullopt};
    case v1::AgentMessage::kLogin:
      return Reject(absl::FailedPreconditionError("login: already logged in on this stream"));
    case v1::AgentMessage::kSetState: {
      const v1::SetState& s = m.set_state();
      if (s.state() == v1::AGENT_STATE_NOT_READY &&
          (s.reason().empty() || s.reason().size() > 128)) {
        return Reject(absl::InvalidArgumentError("set_state.reason: 1..128 bytes for not-ready"));
      }
      if (s.state() != v1::AGENT_STATE_AVAILABLE && s.state() != v1::AGENT_STATE_NOT_READY) {
        return Reject(absl::InvalidArgumentError("set_state.state: AVAILABLE or NOT_READY"));
      }
      *cmd.mutable_set_state() = s;
      break;
    }
    case v1::AgentMessage::kAccept:
      invalid = OfferIdFromWire(m.accept().offer_id(), "accept.offer_id").status();
      if (!invalid.ok()) return Reject(invalid);
      *cmd.mutable_accept() = m.accept();
      break;
    case v1::AgentMessage::kReject:
      invalid = OfferIdFromWire(m.reject().offer_id(), "reject.offer_id").status();
      if (!invalid.ok()) return Reject(invalid);
      if (m.reject().reason().size() > 128) {
        return Reject(absl::InvalidArgumentError("reject.reason: at most 128 bytes"));
      }
      *cmd.mutable_reject() = m.reject();
      break;
    case v1::AgentMessage::kComplete:
      invalid = ContactIdFromWire(m.complete().contact_id(), "complete.contact_id").status();
      if (invalid.ok()) invalid = OutcomeFromWire(m.complete().outcome()).status();
      if (!invalid.ok()) return Reject(invalid);
      *cmd.mutable_complete() = m.complete();
      break;
    case v1::AgentMessage::kWrapUpDone:
      invalid =
          ContactIdFromWire(m.wrap_up_done().contact_id(), "wrap_up_done.contact_id").status();
      if (!invalid.ok()) return Reject(invalid);
      *cmd.mutable_wrap_up_done() = m.wrap_up_done();
      break;
    case v1::AgentMessage::kTransfer: {
      const v1::TransferRequest& t = m.transfer();
      invalid = ContactIdFromWire(t.contact_id(), "transfer.contact_id").status();
      if (!invalid.ok()) return Reject(invalid);
      if (t.to_queue().empty()) return Reject(absl::InvalidArgumentError("transfer.to_queue"));
      if (t.note().size() > InputLimits::kMaxTextBytes) {
        return Reject(absl::InvalidArgumentError("transfer.note: longer than 1024 bytes"));
      }
      *cmd.mutable_transfer() = t;
      break;
    }
    case v1::AgentMessage::KIND_NOT_SET:
      return Reject(absl::InvalidArgumentError("kind: empty message"));
  }
  return Accept(std::move(cmd));
}

// As AdminService::SetAgentState.
EdgeResult SetAgentStateEdge(const v1::SetAgentStateRequest& req) {
  if (req.agent_id().empty()) return Reject(absl::InvalidArgumentError("agent_id: required"));
  const v1::AgentState state = req.state();
  if (state != v1::AGENT_STATE_AVAILABLE && state != v1::AGENT_STATE_NOT_READY &&
      state != v1::AGENT_STATE_OFFLINE) {
    return Reject(absl::InvalidArgumentError("state: AVAILABLE, NOT_READY or OFFLINE"));
  }
  if (state == v1::AGENT_STATE_NOT_READY && req.reason().empty()) {
    return Reject(absl::InvalidArgumentError("reason: required for NOT_READY"));
  }
  const std::string why = req.reason().empty() ? "supervisor" : req.reason();
  v1::Command cmd;
  cmd.set_agent_id(req.agent_id());
  if (state == v1::AGENT_STATE_OFFLINE) {
    cmd.mutable_logout()->set_agent_id(req.agent_id());
    cmd.mutable_logout()->set_reason(why);
  } else {
    cmd.mutable_set_state()->set_state(state);
    cmd.mutable_set_state()->set_reason(why);
  }
  return Accept(std::move(cmd));
}

// As AdminService::ReloadConfig and Engine::Reload: a config that does not
// load is refused before it reaches the journal.
EdgeResult ReloadEdge(const v1::ReloadConfigRequest& req) {
  if (req.config_yaml().size() > 1024 * 1024) {
    return Reject(absl::InvalidArgumentError("config_yaml: larger than 1 MiB"));
  }
  const std::string yaml =
      req.config_yaml().empty() ? std::string(DefaultConfigYaml()) : req.config_yaml();
  if (absl::StatusOr<RouterConfig> c = LoadRouterConfig(yaml); !c.ok()) return Reject(c.status());
  v1::Command cmd;
  cmd.mutable_apply_config()->set_config_yaml(yaml);
  return Accept(std::move(cmd));
}

template <typename Message>
bool Parse(const uint8_t* data, size_t size, Message* m) {
  return m->ParseFromArray(data, static_cast<int>(size));
}

// An error the router may give an accepted request only because of its
// state, not its content.
bool StateDependent(const v1::Command& cmd, const absl::Status& s) {
  // Whether the destination queue serves the contact's channel depends on
  // the contact, which the edge does not look up.
  return cmd.kind_case() == v1::Command::kTransfer &&
         absl::StartsWith(s.message(), "transfer.to_queue");
}

}  // namespace

int FuzzRequest(const uint8_t* data, size_t size) {
  QuietLogs();
  if (size == 0 || size > 256 * 1024) return 0;
  const auto kind = static_cast<RequestKind>(data[0] % static_cast<uint8_t>(RequestKind::kCount));
  ++data;
  --size;

  RequestFixture fixture = MakeRequestFixture();
  Router& router = *fixture.router;
  EdgeResult edge;
  switch (kind) {
    case RequestKind::kSubmit: {
      v1::SubmitRequest req;
      if (!Parse(data, size, &req)) return 0;
      edge = SubmitEdge(req.contact(), router.config());
      break;
    }
    case RequestKind::kSubmitStream: {
      v1::SubmitStreamRequest req;
      if (!Parse(data, size, &req)) return 0;
      edge = SubmitEdge(req.contact(), router.config());
      break;
    }
    case RequestKind::kUpdate: {
      v1::UpdateRequest req;
      if (!Parse(data, size, &req)) return 0;
      edge = UpdateEdge(req);
      break;
    }
    case RequestKind::kCancel: {
      v1::CancelRequest req;
      if (!Parse(data, size, &req)) return 0;
      edge = CancelEdge(req);
      break;
    }
    case RequestKind::kAgentLogin: {
      v1::AgentMessage req;
      if (!Parse(data, size, &req)) return 0;
      edge = LoginEdge(req);
      break;
    }
    case RequestKind::kAgentCommand: {
      v1::AgentMessage req;
      if (!Parse(data, size, &req)) return 0;
      edge = AgentCommandEdge(req, "a-1");
      break;
    }
    case RequestKind::kExplain: {
      v1::ExplainRequest req;
      if (!Parse(data, size, &req)) return 0;
      // As AdminService::Explain: validated, then answered from the router.
      absl::StatusOr<ContactId> id = ContactIdFromWire(req.contact_id(), "contact_id");
      if (!id.ok()) return 0;
      if (absl::StatusOr<Explanation> x = router.Explain(*id, kFuzzNow); x.ok()) {
        v1::ExplainReply reply;
        ExplanationToWire(*x, &reply);
      }
      return 0;
    }
    case RequestKind::kReloadConfig: {
      v1::ReloadConfigRequest req;
      if (!Parse(data, size, &req)) return 0;
      edge = ReloadEdge(req);
      break;
    }
    case RequestKind::kSetAgentState: {
      v1::SetAgentStateRequest req;
      if (!Parse(data, size, &req)) return 0;
      edge = SetAgentStateEdge(req);
      break;
    }
    case RequestKind::kWatchEvents: {
      // No validation: any after_sequence is served (from what is kept).
      v1::WatchEventsRequest req;
      Parse(data, size, &req);
      return 0;
    }
    case RequestKind::kCount:
      return 0;
  }
  if (!edge.status.ok() || !edge.command) return 0;

  // Accepted: journalled (the bytes must parse back to the same command),
  // then applied at its recorded time.
  v1::Command cmd = std::move(*edge.command);
  ToTimestamp(kFuzzNow, cmd.mutable_time());
  cmd.set_index(100);
  v1::Command replayed;
  CCR_FUZZ_CHECK(replayed.ParseFromString(cmd.SerializeAsString()),
                 "an accepted command does not parse back from its journal bytes");
  const ApplyResult applied = ApplyCommand(router, replayed);
  const absl::Status& s = applied.status;
  if (cmd.kind_case() == v1::Command::kSubmit) {
    CCR_FUZZ_CHECK(s.ok() || s.code() == absl::StatusCode::kAlreadyExists,
                   absl::StrCat("an accepted submit failed to apply: ", s.ToString()));
  } else if (cmd.kind_case() == v1::Command::kApplyConfig) {
    CCR_FUZZ_CHECK(s.code() != absl::StatusCode::kInvalidArgument,
                   absl::StrCat("a config that loaded failed to apply: ", s.ToString()));
  } else {
    CCR_FUZZ_CHECK(
        s.code() != absl::StatusCode::kInvalidArgument || StateDependent(cmd, s),
        absl::StrCat("an accepted ", CommandKindName(cmd), " failed to convert: ", s.ToString()));
  }
  // Then timers (offer timeouts, SLA, follow-ups) over the next day.
  CheckInvariantsThrough(router, kFuzzNow + absl::Hours(25), CommandKindName(cmd));
  return 0;
}

}  // namespace ccr::fuzz

#ifndef CCR_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ccr::fuzz::FuzzRequest(data, size);
}
#endif
