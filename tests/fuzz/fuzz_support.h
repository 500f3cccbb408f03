// Shared by the fuzz targets (tests/fuzz/*_fuzzer.cc), the corpus generator
// and the replay test: the fixed clock, the checks that end a fuzz run, and
// the small router every request is tried against.
//
// Each target defines `int ccr::fuzz::Fuzz<Name>(const uint8_t*, size_t)`
// and, unless CCR_FUZZ_NO_MAIN is defined (the replay test links all four),
// the libFuzzer entry point calling it.
#ifndef CCROUTER_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define CCROUTER_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ccrouter/v1/journal.pb.h"
#include "router/router.h"

// A property the code under test must keep: on failure, says which and
// aborts, which libFuzzer records as a crash with the input that caused it.
#define CCR_FUZZ_CHECK(cond, what)                                                          \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace ccr::fuzz {

namespace v1 = ::ccrouter::v1;

int FuzzRequest(const uint8_t* data, size_t size);
int FuzzConfig(const uint8_t* data, size_t size);
int FuzzJournal(const uint8_t* data, size_t size);
int FuzzSnapshot(const uint8_t* data, size_t size);

// Every fuzzed command runs at this time; the fixture's set-up just before.
inline const absl::Time kFuzzNow = absl::FromUnixSeconds(1'800'000'000);

// The request target's first byte: which RPC the rest of the input is for.
enum class RequestKind : uint8_t {
  kSubmit,         // ContactIngest.Submit: v1::SubmitRequest
  kSubmitStream,   // ContactIngest.SubmitStream: one v1::SubmitStreamRequest
  kUpdate,         // ContactIngest.Update: v1::UpdateRequest
  kCancel,         // ContactIngest.Cancel: v1::CancelRequest
  kAgentLogin,     // AgentDesk.Connect, first message: v1::AgentMessage
  kAgentCommand,   // AgentDesk.Connect, a later message of agent "a-1": v1::AgentMessage
  kExplain,        // Admin.Explain: v1::ExplainRequest
  kReloadConfig,   // Admin.ReloadConfig: v1::ReloadConfigRequest
  kSetAgentState,  // Admin.SetAgentState: v1::SetAgentStateRequest
  kWatchEvents,    // Admin.WatchEvents: v1::WatchEventsRequest
  kCount,
};

// The router each request meets, built from the embedded default config by
// journal commands: agent "a-1" (chat, general 5) holds contact c-1
// (connected) and has offer o-2 of contact c-2 pending; c-3 (voice) waits.
struct RequestFixture {
  std::unique_ptr<Router> router;
  std::string connected_contact;  // "c-1", held by a-1
  std::string pending_offer;      // offered to a-1, not yet accepted
  std::string queued_contact;     // waiting in a queue
};
RequestFixture MakeRequestFixture();

// A router invariant failure the fuzz targets know of and do not count as a
// crash: a reload with a smaller agent_capacity leaves an agent holding more
// than its new capacity until those contacts finish ("over capacity"). CanTake
// offers it nothing more meanwhile, so the load only drains. (A re-login
// with smaller capacities is refused: RouterRegression in replay_test.cc.)
bool KnownRouterIssue(const absl::Status& invariants);

// Aborts unless the router's invariants hold (KnownRouterIssue aside) now,
// "after <what>", and again once its timers have run up to `until`.
void CheckInvariantsThrough(Router& router, absl::Time until, const std::string& what);

// Silences protobuf's log (it complains about every invalid UTF-8 string a
// fuzzer makes); each target calls it first.
void QuietLogs();

// The embedded default config, loaded once.
const RouterConfig& DefaultRouterConfig();

}  // namespace ccr::fuzz

#endif  // CCROUTER_TESTS_FUZZ_FUZZ_SUPPORT_H_
