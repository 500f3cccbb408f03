// The pure half of ccctl: the command line it accepts and the text it prints
// for the Admin service's replies. No I/O and no RPCs here, so all of it is
// unit-tested; ccctl.cc adds the channel, the calls and the signal handling.
//
//   absl::StatusOr<Invocation> invocation = ParseCommandLine({"queues", "--json"});
//   if (!invocation.ok()) { /* message names the bad flag or argument; exit 2 */ }
//   std::cout << RenderQueues(reply);
#ifndef CCR_TOOLS_CCCTL_CCCTL_FORMAT_H_
#define CCR_TOOLS_CCCTL_CCCTL_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ccrouter/v1/admin.pb.h"
#include "ccrouter/v1/events.pb.h"
#include "ccrouter/v1/types.pb.h"

namespace ccr::ctl {

enum class Command {
  kNone,  // only with --help: the general usage
  kQueues,
  kAgents,
  kExplain,
  kWatch,
  kReload,
  kAgentSetState,
};

inline constexpr char kDefaultServer[] = "127.0.0.1:7700";
inline constexpr double kDefaultTimeoutSeconds = 5;

// Everything one command line asks for. Fields of other commands keep their
// defaults.
struct Invocation {
  Command command = Command::kNone;
  bool help = false;
  // --server: ccrouterd's addresses, in the order tried (cluster mode: a
  // standby redirects to the owner; see codec/owner_redirect.h).
  std::vector<std::string> servers{kDefaultServer};
  bool json = false;
  double timeout_seconds = kDefaultTimeoutSeconds;
  std::string tls_ca_file;  // set: TLS, trusting this CA (PEM)

  std::string contact_id;                  // explain
  std::optional<uint64_t> after_sequence;  // watch --after; absent: only new events
  std::optional<std::string> config_path;  // reload; unset: the server re-reads its own file
  std::string agent_id;                    // agent set-state
  ccrouter::v1::AgentState agent_state = ccrouter::v1::AGENT_STATE_UNSPECIFIED;
  std::string reason;  // agent set-state; required for not-ready
};

// Parses the arguments after argv[0]. Flags may come before or after the
// command, as `--flag value` or `--flag=value`; `--` ends the flags. With
// --help, missing arguments are not an error. Errors are INVALID_ARGUMENT
// with a message that names the offending flag or argument.
absl::StatusOr<Invocation> ParseCommandLine(absl::Span<const std::string> args);

// The --help text: the general usage for Command::kNone, else one command's.
std::string UsageText(Command command);

// "45s", "3m12s", "3m", "2h05m", "3d04h": two units at most, a zero second
// unit left out. Negative durations get a leading '-'. Rounds to whole
// seconds; NaN and infinities are "-".
std::string FormatDuration(double seconds);

// A ratio as a percentage with one decimal: 0.8312 -> "83.1%". NaN is "-".
std::string FormatPercent(double ratio);

// Columns of terminal cells `utf8` takes: East Asian wide characters count
// two, combining marks none, everything else one.
int DisplayWidth(absl::string_view utf8);

// A plain-text table: a header row, then one line per row, each column padded
// to its widest cell (by DisplayWidth) and separated by two spaces. Lines
// carry no trailing spaces.
class TextTable {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit TextTable(std::vector<Column> columns);

  // One cell per column; missing cells print blank, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);

  std::string Render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Enum values as ccctl prints them: lower case, hyphenated, without the type
// prefix ("chat", "not-ready", "offer-timed-out"). UNSPECIFIED is "-"; a value
// this build does not know is shown as its number.
std::string ChannelName(ccrouter::v1::Channel channel);
std::string AgentStateName(ccrouter::v1::AgentState state);
std::string ContactStateName(ccrouter::v1::ContactState state);
std::string EventKindName(ccrouter::v1::EventKind kind);

// "83.1% / 80% in 20s": the service level reached, then its target.
std::string ServiceLevelText(const ccrouter::v1::QueueSnapshot& queue);

// The text output of each command; every non-empty result ends in a newline.
std::string RenderQueues(const ccrouter::v1::ListQueuesReply& reply);
std::string RenderAgents(
    const google::protobuf::RepeatedPtrField<ccrouter::v1::AgentSnapshot>& agents);
std::string RenderExplain(const ccrouter::v1::ExplainReply& reply);
std::string RenderReload(const ccrouter::v1::ReloadConfigReply& reply);

// One `watch` line, without the newline:
// `seq time kind contact agent queue reason wait`. Empty fields are "-" and a
// reason with spaces is quoted, so each line splits into exactly 8 fields.
std::string FormatEventLine(const ccrouter::v1::LifecycleEvent& event);

// "ccctl: UNAVAILABLE: <message>", the first line of every RPC failure.
std::string FormatRpcError(int grpc_code, absl::string_view message);

}  // namespace ccr::ctl

#endif  // CCR_TOOLS_CCCTL_CCCTL_FORMAT_H_
