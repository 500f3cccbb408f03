// One table of agent desktop cases (commands a logged-in desktop sends that
// the edge refuses), each with the code and message every transport must
// give, run through each transport the engine serves the desktop on
// (engine/web/ws_agent_desk_test.cc: gRPC AgentDesk.Connect and the
// WebSocket). The messages are the session's own (engine/agent_desk_session.h),
// so a transport that grew a second model of validation fails here. The same
// shape as engine/testing/ingest_cases.h (IngestCase / IngestTransport).
#ifndef CCROUTER_ENGINE_TESTING_DESK_CASES_H_
#define CCROUTER_ENGINE_TESTING_DESK_CASES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ccrouter/v1/agent_desk.pb.h"

namespace ccr::testing {

namespace v1 = ::ccrouter::v1;

struct DeskCase {
  std::string name;
  v1::AgentMessage message;  // sent after the login, with a request_id
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message_substring;
};

// A desktop logged in over one transport: sends `message` (with a fresh
// request_id) and returns its CommandResult; nullopt when none came.
class DeskTransport {
 public:
  virtual ~DeskTransport() = default;
  virtual std::string name() const = 0;
  virtual std::optional<v1::CommandResult> Run(const v1::AgentMessage& message) = 0;
};

// A desktop's login: agent `agent_id`, skill general level 5, English, one
// voice slot, available at once.
inline v1::Login VoiceLogin(const std::string& agent_id) {
  v1::Login login;
  login.set_agent_id(agent_id);
  v1::Skill* skill = login.add_skills();
  skill->set_name("general");
  skill->set_level(5);
  login.add_languages("en");
  login.add_capacities()->set_channel(v1::CHANNEL_VOICE);
  login.set_start_available(true);
  return login;
}

inline v1::AgentMessage LoginMessage(const std::string& agent_id) {
  v1::AgentMessage m;
  *m.mutable_login() = VoiceLogin(agent_id);
  return m;
}

// The table. `relogin_agent_id`: the agent the desktop is logged in as (a
// second login is refused whoever it names).
inline std::vector<DeskCase> DeskCases(const std::string& relogin_agent_id) {
  std::vector<DeskCase> cases;
  auto add = [&cases](std::string name, v1::AgentMessage m, absl::StatusCode code,
                      std::string substring) {
    cases.push_back({std::move(name), std::move(m), code, std::move(substring)});
  };
  const absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  {
    v1::AgentMessage m;
    m.mutable_accept()->set_offer_id("nope");
    add("accept_bad_offer_id", m, kInvalid, "accept.offer_id");
  }
  {
    v1::AgentMessage m;
    m.mutable_accept();
    add("accept_without_offer_id", m, kInvalid, "accept.offer_id: required");
  }
  {
    v1::AgentMessage m;
    m.mutable_reject()->set_offer_id("o-1");
    m.mutable_reject()->set_reason(std::string(129, 'r'));
    add("reject_reason_too_long", m, kInvalid, "reject.reason");
  }
  {
    v1::AgentMessage m;
    m.mutable_complete()->set_contact_id("x");
    add("complete_bad_contact", m, kInvalid, "complete.contact_id");
  }
  {
    v1::AgentMessage m;
    m.mutable_wrap_up_done()->set_contact_id("");
    add("wrap_up_without_contact", m, kInvalid, "wrap_up_done.contact_id");
  }
  {
    v1::AgentMessage m;
    m.mutable_transfer()->set_contact_id("c-1");
    add("transfer_without_queue", m, kInvalid, "transfer.to_queue");
  }
  {
    v1::AgentMessage m;
    m.mutable_transfer()->set_contact_id("c-1");
    m.mutable_transfer()->set_to_queue("voice_general");
    m.mutable_transfer()->set_note(std::string(1025, 'n'));
    add("transfer_note_too_long", m, kInvalid, "transfer.note");
  }
  {
    v1::AgentMessage m;
    m.mutable_set_state()->set_state(v1::AGENT_STATE_NOT_READY);
    add("not_ready_without_reason", m, kInvalid, "set_state.reason");
  }
  {
    v1::AgentMessage m;
    m.mutable_set_state()->set_state(v1::AGENT_STATE_OFFLINE);
    add("set_state_offline", m, kInvalid, "set_state.state");
  }
  {
    v1::AgentMessage m;
    m.mutable_login()->set_agent_id(relogin_agent_id);
    add("second_login", m, absl::StatusCode::kFailedPrecondition, "already logged in");
  }
  add("empty_message", v1::AgentMessage(), kInvalid, "kind: empty");
  {
    v1::AgentMessage m;
    m.mutable_accept()->set_offer_id("o-999999");
    add("accept_unknown_offer", m, absl::StatusCode::kNotFound, "");
  }
  return cases;
}

}  // namespace ccr::testing

#endif  // CCROUTER_ENGINE_TESTING_DESK_CASES_H_
