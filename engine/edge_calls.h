// The transport-independent part of the API's calls: what a call means once
// its bytes are decoded, whatever carried it (gRPC, HTTP/JSON). Each call is
// validated and turned into a journal command (or a read) here, and answered
// on the routing strand here, so every transport gives the same answers, the
// same validation messages naming the same fields, and the same refusals.
// The transports only decode, authorize (with the RoleSet named beside each
// call), admit (Engine::Execute / Post with Admission::kClient) and encode.
//
//   SubmitAnswerKey key;
//   absl::StatusOr<v1::Command> cmd = SubmitCommand(std::move(contact), engine, &key);
//   if (!cmd.ok()) return Refuse(cmd.status());
//   engine.Execute(*std::move(cmd), [reply, key](Engine& e, const ApplyResult& applied) {
//     Finish(AnswerSubmit(e, applied, key, reply));
//   }, Admission::kClient);
#ifndef CCROUTER_ENGINE_EDGE_CALLS_H_
#define CCROUTER_ENGINE_EDGE_CALLS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ccrouter/v1/admin.pb.h"
#include "ccrouter/v1/ingest.pb.h"
#include "engine/engine.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// How long a caller refused for the strand's backlog is told to wait: gRPC
// trailing metadata `retry-after-ms`, HTTP `Retry-After` (rounded up to whole
// seconds), SubmitStreamReply.retry_after_ms.
inline constexpr int kRetryAfterMs = 100;
// RESOURCE_EXHAUSTED naming the backlog and the retry hint.
absl::Status OverloadedStatus(const Engine& engine);
// UNAVAILABLE: the engine is draining; a submit should go elsewhere.
absl::Status DrainingStatus();

// A call's answer computed on the strand once its command is applied (or has
// failed to become durable: then `applied.status` is UNAVAILABLE).
using CommandAnswer = std::function<absl::Status(Engine&, const ApplyResult&)>;
// A read answered on the strand from the router as it is, never journalled.
using StrandRead = std::function<absl::Status(Engine&)>;

// ---- ContactIngest (roles: kIngestRoles) ----

// What a submit's answer needs of its request. The request itself moves into
// the journal command, so the answer keeps only this, not a second copy of
// the contact.
struct SubmitAnswerKey {
  std::string idempotency_key;
  uint64_t request_digest = 0;  // SubmitRequestDigest of the request
  std::string masked_customer;  // for the debug log line; empty unless debug logging is on
};

// Submit: validates `contact` against the current config and builds its
// journal command (`contact` moves into it), with the queue the edge chose
// written in, so replay never has to choose again. Fills `key` for the answer.
absl::StatusOr<v1::Command> SubmitCommand(v1::ContactSpec contact, const Engine& engine,
                                          SubmitAnswerKey* key);
// The gateway's answer to an applied submit, into `reply` (which must live
// until the answer has run). A retried key answers with the first contact,
// as it is now; the same key with another request is ALREADY_EXISTS.
CommandAnswer SubmitAnswer(SubmitAnswerKey key, v1::SubmitReply* reply);
// The answer as a function, for the submit stream's own reply message.
absl::Status AnswerSubmit(Engine& engine, const ApplyResult& applied, const SubmitAnswerKey& key,
                          v1::SubmitReply* reply);

// Update: validated (signals against empty ones; merged into the contact's
// on the strand).
absl::StatusOr<v1::Command> UpdateCommand(const v1::UpdateRequest& req);
// REQUIRES: UpdateCommand(req) succeeded.
CommandAnswer UpdateAnswer(const v1::UpdateRequest& req, v1::UpdateReply* reply);

absl::StatusOr<v1::Command> CancelCommand(const v1::CancelRequest& req);
CommandAnswer CancelAnswer(v1::CancelReply* reply);

// GetContact: a read; INVALID_ARGUMENT when the reference names nothing.
absl::StatusOr<StrandRead> GetContactRead(const v1::GetContactRequest& req,
                                          v1::ContactStatus* reply);

// ---- Admin reads (roles: kReadRoles) ----

StrandRead ListQueuesRead(v1::ListQueuesReply* reply);
// INVALID_ARGUMENT for a page token this engine cannot have issued.
absl::StatusOr<StrandRead> ListAgentsRead(const v1::ListAgentsRequest& req,
                                          v1::ListAgentsReply* reply);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_EDGE_CALLS_H_
