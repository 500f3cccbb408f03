// One table of ContactIngest cases (bad input, role denials, overload), each
// with the code and message every transport must give, run through each
// transport the engine serves (engine/web/http_transport_test.cc: gRPC and
// HTTP/JSON; a WebSocket transport adds itself by implementing
// IngestTransport). The messages are the edge's own (engine/edge_calls.h),
// so a transport that grew a second model of validation fails here.
#ifndef CCROUTER_ENGINE_TESTING_INGEST_CASES_H_
#define CCROUTER_ENGINE_TESTING_INGEST_CASES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ccrouter/v1/ingest.pb.h"

namespace ccr::testing {

namespace v1 = ::ccrouter::v1;

// Credentials the fixture's auth policy knows (Authorization header values).
inline constexpr char kGatewayCredential[] = "Bearer gateway-token";
inline constexpr char kAgentCredential[] = "Bearer agent-token";
inline constexpr char kUnknownCredential[] = "Bearer nobody-knows-this";

enum class IngestCall { kSubmit, kUpdate, kCancel, kGetContact };

struct IngestCase {
  std::string name;
  IngestCall call = IngestCall::kSubmit;
  // The request of `call` (the others are unused).
  v1::SubmitRequest submit;
  v1::UpdateRequest update;
  v1::CancelRequest cancel;
  v1::GetContactRequest get;
  std::string authorization = kGatewayCredential;  // "" sends none
  bool overloaded = false;                         // run with the strand's backlog at its bound
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message_substring;
};

// What a transport saw: the code (mapped back from the transport's own
// form), the message, and the retry hint in milliseconds if one was given.
struct IngestOutcome {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  std::string message;
  std::optional<int> retry_after_ms;
};

class IngestTransport {
 public:
  virtual ~IngestTransport() = default;
  virtual std::string name() const = 0;
  virtual IngestOutcome Run(const IngestCase& c) = 0;
};

inline v1::ContactSpec ValidVoiceContact(const std::string& key) {
  v1::ContactSpec c;
  c.set_idempotency_key(key);
  c.set_channel(v1::CHANNEL_VOICE);
  c.mutable_customer()->set_id("cust-" + key);
  c.mutable_customer()->set_tier(v1::TIER_STANDARD);
  c.mutable_customer()->set_language("en");
  c.set_topic("general");
  return c;
}

inline IngestCase NewCase(std::string name, IngestCall call = IngestCall::kSubmit) {
  IngestCase c;
  c.name = std::move(name);
  c.call = call;
  return c;
}

// The table. `live_contact_id` is a contact the fixture submitted (queued),
// for the cases that need one to exist.
inline std::vector<IngestCase> IngestCases(const std::string& live_contact_id) {
  std::vector<IngestCase> cases;
  auto add = [&cases](IngestCase c) { cases.push_back(std::move(c)); };
  {
    IngestCase c = NewCase("submit_without_idempotency_key");
    *c.submit.mutable_contact() = ValidVoiceContact("");
    c.code = absl::StatusCode::kInvalidArgument;
    c.message_substring = "contact.idempotency_key: required";
    add(c);
  }
  {
    IngestCase c = NewCase("submit_without_channel");
    *c.submit.mutable_contact() = ValidVoiceContact("no-channel");
    c.submit.mutable_contact()->clear_channel();
    c.code = absl::StatusCode::kInvalidArgument;
    c.message_substring = "contact.channel: required";
    add(c);
  }
  {
    IngestCase c = NewCase("submit_to_unknown_queue");
    *c.submit.mutable_contact() = ValidVoiceContact("bad-queue");
    c.submit.mutable_contact()->set_queue("no_such_queue");
    c.code = absl::StatusCode::kNotFound;
    c.message_substring = "contact.queue: unknown queue 'no_such_queue'";
    add(c);
  }
  {
    IngestCase c = NewCase("submit_too_many_attributes");
    *c.submit.mutable_contact() = ValidVoiceContact("attributes");
    for (int i = 0; i < 65; ++i) {
      (*c.submit.mutable_contact()->mutable_attributes())["k" + std::to_string(i)] = "v";
    }
    c.code = absl::StatusCode::kInvalidArgument;
    c.message_substring = "contact.attributes: at most 64 entries";
    add(c);
  }
  {
    IngestCase c = NewCase("update_malformed_contact_id", IngestCall::kUpdate);
    c.update.set_contact_id("x42");
    c.code = absl::StatusCode::kInvalidArgument;
    c.message_substring = "contact_id:";
    add(c);
  }
  {
    IngestCase c = NewCase("update_unknown_contact", IngestCall::kUpdate);
    c.update.set_contact_id("c-999999");
    c.update.mutable_signals()->set_complaint(true);
    c.code = absl::StatusCode::kNotFound;
    c.message_substring = "contact_id: no live contact c-999999";
    add(c);
  }
  {
    IngestCase c = NewCase("cancel_reason_too_long", IngestCall::kCancel);
    c.cancel.set_contact_id(live_contact_id);
    c.cancel.set_reason(std::string(1025, 'r'));
    c.code = absl::StatusCode::kInvalidArgument;
    c.message_substring = "reason: longer than 1024 bytes";
    add(c);
  }
  {
    IngestCase c = NewCase("cancel_unknown_contact", IngestCall::kCancel);
    c.cancel.set_contact_id("c-999998");
    c.code = absl::StatusCode::kNotFound;
    c.message_substring = "contact_id: no live contact c-999998";
    add(c);
  }
  {
    IngestCase c = NewCase("get_unknown_key", IngestCall::kGetContact);
    c.get.mutable_contact()->set_idempotency_key("never-submitted");
    c.code = absl::StatusCode::kNotFound;
    add(c);
  }
  {
    IngestCase c = NewCase("get_live_contact", IngestCall::kGetContact);
    c.get.mutable_contact()->set_contact_id(live_contact_id);
    c.code = absl::StatusCode::kOk;
    add(c);
  }
  // Roles: the same policy, the same denial, whatever the transport.
  {
    IngestCase c = NewCase("submit_without_credentials");
    c.authorization = "";
    *c.submit.mutable_contact() = ValidVoiceContact("no-credentials");
    c.code = absl::StatusCode::kUnauthenticated;
    c.message_substring = "no credentials";
    add(c);
  }
  {
    IngestCase c = NewCase("submit_with_unknown_token");
    c.authorization = kUnknownCredential;
    *c.submit.mutable_contact() = ValidVoiceContact("unknown-token");
    c.code = absl::StatusCode::kUnauthenticated;
    c.message_substring = "authorization: unknown token";
    add(c);
  }
  {
    IngestCase c = NewCase("submit_as_agent");
    c.authorization = kAgentCredential;
    *c.submit.mutable_contact() = ValidVoiceContact("as-agent");
    c.code = absl::StatusCode::kPermissionDenied;
    c.message_substring = "ContactIngest.Submit";
    add(c);
  }
  {
    IngestCase c = NewCase("cancel_as_agent", IngestCall::kCancel);
    c.authorization = kAgentCredential;
    c.cancel.set_contact_id(live_contact_id);
    c.code = absl::StatusCode::kPermissionDenied;
    c.message_substring = "ContactIngest.Cancel";
    add(c);
  }
  // Overload: refused at once at the backlog bound, with the retry hint.
  {
    IngestCase c = NewCase("submit_overloaded");
    c.overloaded = true;
    *c.submit.mutable_contact() = ValidVoiceContact("overloaded");
    c.code = absl::StatusCode::kResourceExhausted;
    c.message_substring = "engine overloaded";
    add(c);
  }
  {
    IngestCase c = NewCase("update_overloaded", IngestCall::kUpdate);
    c.overloaded = true;
    c.update.set_contact_id(live_contact_id);
    c.code = absl::StatusCode::kResourceExhausted;
    c.message_substring = "retry after 100 ms";
    add(c);
  }
  {
    IngestCase c = NewCase("get_overloaded", IngestCall::kGetContact);
    c.overloaded = true;
    c.get.mutable_contact()->set_contact_id(live_contact_id);
    c.code = absl::StatusCode::kResourceExhausted;
    c.message_substring = "engine overloaded";
    add(c);
  }
  return cases;
}

}  // namespace ccr::testing

#endif  // CCROUTER_ENGINE_TESTING_INGEST_CASES_H_
