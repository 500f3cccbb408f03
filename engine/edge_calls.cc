#include "engine/edge_calls.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "codec/mask.h"
#include "codec/wire.h"
#include "engine/contact_watch.h"
#include "engine/log.h"

namespace ccr {

absl::Status OverloadedStatus(const Engine& engine) {
  return absl::ResourceExhaustedError(absl::StrCat("engine overloaded: ", engine.backlog(),
                                                   " commands waiting; retry after ", kRetryAfterMs,
                                                   " ms"));
}

absl::Status DrainingStatus() {
  return absl::UnavailableError("engine is shutting down; retry elsewhere");
}

absl::Status AnswerSubmit(Engine& engine, const ApplyResult& applied, const SubmitAnswerKey& key,
                          v1::SubmitReply* reply) {
  if (applied.submit) {
    SubmitResultToWire(*applied.submit, reply);
    if (LogEnabled(LogLevel::kDebug)) {
      LogEvent(LogLevel::kDebug, "submit",
               {{"contact", ContactIdString(applied.submit->contact)},
                {"customer", key.masked_customer},
                {"queue", applied.submit->queue}});
    }
    return absl::OkStatus();
  }
  if (applied.status.code() != absl::StatusCode::kAlreadyExists) return applied.status;
  Router& router = engine.router();
  std::optional<IdempotencyView> first = router.LookupIdempotencyKey(key.idempotency_key);
  if (!first) return applied.status;
  // The same key with another request is a gateway bug, not a retry: saying
  // "duplicate" would hide that the second contact was never queued.
  if (first->request_digest != 0 && first->request_digest != key.request_digest) {
    return absl::AlreadyExistsError(
        absl::StrCat("contact.idempotency_key: '", key.idempotency_key.substr(0, 64),
                     "' was used for ", ContactIdString(first->contact),
                     " with a different request; a new contact needs a new key"));
  }
  reply->set_contact_id(ContactIdString(first->contact));
  reply->set_duplicate(true);
  absl::StatusOr<ContactView> view = router.GetContact(first->contact, engine.Now());
  if (view.ok()) {
    reply->set_queue(view->queue);
    reply->set_state(ContactStateToWire(view->state));
    reply->set_position(view->position);
    reply->set_estimated_wait_seconds(absl::ToDoubleSeconds(view->estimated_wait));
  } else if (first->ended) {  // ended within the window: how and where
    reply->set_queue(first->ended_queue);
    reply->set_state(ContactStateToWire(*first->ended));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Command> SubmitCommand(v1::ContactSpec contact, const Engine& engine,
                                          SubmitAnswerKey* key) {
  CCR_ASSIGN_OR_RETURN(ContactSpec spec,
                       ContactSpecFromWire(contact, *engine.config_snapshot(), absl::Now()));
  v1::Command cmd;
  cmd.set_request_digest(SubmitRequestDigest(contact));
  key->idempotency_key = contact.idempotency_key();
  key->request_digest = cmd.request_digest();
  if (LogEnabled(LogLevel::kDebug)) key->masked_customer = MaskId(contact.customer().id());
  contact.set_queue(std::move(spec.queue));
  *cmd.mutable_submit()->mutable_contact() = std::move(contact);
  return cmd;
}

CommandAnswer SubmitAnswer(SubmitAnswerKey key, v1::SubmitReply* reply) {
  return [reply, key = std::move(key)](Engine& e, const ApplyResult& applied) {
    return AnswerSubmit(e, applied, key, reply);
  };
}

absl::StatusOr<v1::Command> UpdateCommand(const v1::UpdateRequest& req) {
  absl::StatusOr<ContactId> id = ContactIdFromWire(req.contact_id(), "contact_id");
  // Validated against empty signals here; merged into the contact's on the strand.
  absl::StatusOr<Signals> signals = MergeSignalsFromWire(Signals{}, req);
  absl::StatusOr<Tier> tier = TierFromWire(req.tier(), "tier");
  absl::Status invalid = !id.ok() ? id.status() : !tier.ok() ? tier.status() : signals.status();
  if (!invalid.ok()) return invalid;
  v1::Command cmd;
  *cmd.mutable_update() = req;
  cmd.set_update_merges_signals(true);
  return cmd;
}

CommandAnswer UpdateAnswer(const v1::UpdateRequest& req, v1::UpdateReply* reply) {
  const ContactId id = *ContactIdFromWire(req.contact_id(), "contact_id");
  return [reply, id, abandoned = req.abandoned()](Engine& e,
                                                  const ApplyResult& applied) -> absl::Status {
    CCR_RETURN_IF_ERROR(applied.status);
    if (abandoned) {
      reply->set_state(v1::CONTACT_STATE_ABANDONED);
      return absl::OkStatus();
    }
    absl::StatusOr<ContactView> after = e.router().GetContact(id, e.Now());
    if (after.ok()) {
      reply->set_state(ContactStateToWire(after->state));
      reply->set_position(after->position);
      reply->set_estimated_wait_seconds(absl::ToDoubleSeconds(after->estimated_wait));
    }
    return absl::OkStatus();
  };
}

absl::StatusOr<v1::Command> CancelCommand(const v1::CancelRequest& req) {
  CCR_RETURN_IF_ERROR(ContactIdFromWire(req.contact_id(), "contact_id").status());
  if (req.reason().size() > InputLimits::kMaxTextBytes) {
    return absl::InvalidArgumentError("reason: longer than 1024 bytes");
  }
  v1::Command cmd;
  cmd.mutable_cancel()->set_contact_id(req.contact_id());
  cmd.mutable_cancel()->set_reason(req.reason().empty() ? "cancelled by gateway" : req.reason());
  return cmd;
}

CommandAnswer CancelAnswer(v1::CancelReply* reply) {
  return [reply](Engine&, const ApplyResult& applied) -> absl::Status {
    if (applied.status.ok()) reply->set_state(v1::CONTACT_STATE_CANCELLED);
    return applied.status;
  };
}

absl::StatusOr<StrandRead> GetContactRead(const v1::GetContactRequest& req,
                                          v1::ContactStatus* reply) {
  CCR_RETURN_IF_ERROR(ValidateContactRef(req.contact()));
  return StrandRead([ref = req.contact(), reply](Engine& e) -> absl::Status {
    CCR_ASSIGN_OR_RETURN(*reply, e.contact_watches().Status(e.router(), ref));
    return absl::OkStatus();
  });
}

StrandRead ListQueuesRead(v1::ListQueuesReply* reply) {
  return [reply](Engine& e) {
    const absl::Time now = e.Now();
    for (const QueueStats& q : e.router().Queues(now)) {
      v1::QueueSnapshot* out = reply->add_queues();
      QueueToWire(q, out);
      if (std::optional<double> sl = e.WindowServiceLevel(q.name))
        out->set_service_level_window(*sl);
      out->set_service_level_window_seconds(absl::ToDoubleSeconds(e.service_level_window()));
    }
    ToTimestamp(now, reply->mutable_as_of());
    return absl::OkStatus();
  };
}

absl::StatusOr<StrandRead> ListAgentsRead(const v1::ListAgentsRequest& req,
                                          v1::ListAgentsReply* reply) {
  // A page of the largest agents the edge admits (64 skills, 16 languages,
  // 300 held contacts: about 16 KiB) stays under gRPC's 4 MiB at 200.
  constexpr uint32_t kDefaultPageSize = 100;
  constexpr uint32_t kMaxPageSize = 200;
  if (req.page_token().size() > InputLimits::kMaxIdBytes) {
    return absl::InvalidArgumentError("page_token: not one this engine issued");
  }
  const uint32_t page_size =
      req.page_size() == 0 ? kDefaultPageSize : std::min(req.page_size(), kMaxPageSize);
  return StrandRead([reply, page_size, after = req.page_token()](Engine& e) {
    bool more = false;
    for (const AgentView& a : e.router().AgentsPage(after, page_size, e.Now(), &more)) {
      AgentToWire(a, e.AgentConnected(a.agent_id), reply->add_agents());
    }
    // The token is the last agent id listed: the next page starts after it.
    if (more && reply->agents_size() > 0) {
      reply->set_next_page_token(reply->agents(reply->agents_size() - 1).agent_id());
    }
    return absl::OkStatus();
  });
}

}  // namespace ccr
