// ApplyCommand: the one place a journalled command becomes a router call.
// Live commands and journal replay both go through it, with the command's
// recorded time, so replay rebuilds exactly the state the live engine had.
#ifndef CCROUTER_ENGINE_APPLY_H_
#define CCROUTER_ENGINE_APPLY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ccrouter/v1/journal.pb.h"
#include "router/router.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

struct ApplyResult {
  absl::Status status;
  std::optional<SubmitResult> submit;  // submit that created a contact
  std::vector<ContactId> moved;        // apply_config: contacts moved to the fallback queue
};

// The command's time, as recorded.
absl::Time CommandTime(const v1::Command& cmd);

// Applies `cmd` to `router` at its recorded time. A command that fails
// changes nothing but the router's clock (due timers still run), in replay
// exactly as it did live. apply_config loads `cmd.apply_config().config_yaml`,
// unless `loaded_config` is given: then it must be what LoadRouterConfig made
// of that yaml (the live engine loads a reload off the routing strand, so the
// strand does not parse it again; replay parses the journalled yaml).
ApplyResult ApplyCommand(Router& router, const v1::Command& cmd,
                         const RouterConfig* loaded_config = nullptr);

// Journal records carry the real agent id; logs and errors name the kind.
const char* CommandKindName(const v1::Command& cmd);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_APPLY_H_
