#include "tools/ccctl/ccctl_format.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "codec/owner_redirect.h"

namespace ccr::ctl {
namespace {

namespace v1 = ::ccrouter::v1;

// Longer than any sane deadline, short enough that now + timeout never
// overflows a clock.
constexpr double kMaxTimeoutSeconds = 24 * 3600;

struct FlagSpec {
  absl::string_view name;        // without the leading "--"
  absl::string_view value_name;  // empty: a switch that takes no value
  Command only_for;              // kNone: a flag of every command
};

constexpr FlagSpec kFlags[] = {
    {"help", "", Command::kNone},
    {"server", "HOST:PORT[,HOST:PORT...]", Command::kNone},
    {"json", "", Command::kNone},
    {"timeout", "SECONDS", Command::kNone},
    {"tls-ca", "CA.pem", Command::kNone},
    {"after", "SEQ", Command::kWatch},
    {"file", "CONFIG.yaml", Command::kReload},
    {"reason", "TEXT", Command::kAgentSetState},
};

constexpr std::pair<absl::string_view, Command> kCommands[] = {
    {"queues", Command::kQueues}, {"agents", Command::kAgents}, {"explain", Command::kExplain},
    {"watch", Command::kWatch},   {"reload", Command::kReload}, {"agent", Command::kAgentSetState},
};

constexpr absl::string_view kCommandList =
    "queues, agents, explain, watch, reload, agent set-state";

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

absl::string_view CommandName(Command command) {
  if (command == Command::kAgentSetState) return "agent set-state";
  for (const auto& [name, value] : kCommands) {
    if (value == command) return name;
  }
  return "ccctl";
}

std::string Quoted(absl::string_view text) { return absl::StrCat("\"", text, "\""); }

absl::Status ApplyFlag(const FlagSpec& flag, const std::string& value, Invocation& invocation) {
  if (flag.name == "json") {
    invocation.json = true;
  } else if (flag.name == "server") {
    absl::StatusOr<std::vector<std::string>> servers = ParseServerList("--server", value);
    if (!servers.ok()) return servers.status();
    invocation.servers = *std::move(servers);
  } else if (flag.name == "timeout") {
    double seconds = 0;
    if (!absl::SimpleAtod(value, &seconds) || !(seconds > 0) || seconds > kMaxTimeoutSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout: expected a number of seconds above 0 and at most ",
                       kMaxTimeoutSeconds, ", got ", Quoted(value)));
    }
    invocation.timeout_seconds = seconds;
  } else if (flag.name == "tls-ca") {
    if (value.empty()) return absl::InvalidArgumentError("--tls-ca: expected a PEM file");
    invocation.tls_ca_file = value;
  } else if (flag.name == "after") {
    uint64_t after = 0;
    if (!absl::SimpleAtoi(value, &after)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--after: expected a sequence number (an integer >= 0), got ", Quoted(value)));
    }
    invocation.after_sequence = after;
  } else if (flag.name == "file") {
    if (value.empty()) {
      return absl::InvalidArgumentError("--file: expected the path of a YAML config file");
    }
    invocation.config_path = value;
  } else if (flag.name == "reason") {
    invocation.reason = value;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::AgentState> ParseSettableAgentState(absl::string_view text) {
  if (text == "available") return v1::AGENT_STATE_AVAILABLE;
  if (text == "not-ready") return v1::AGENT_STATE_NOT_READY;
  if (text == "offline") return v1::AGENT_STATE_OFFLINE;
  return absl::InvalidArgumentError(absl::StrCat("agent set-state: unknown state ", Quoted(text),
                                                 " (expected available, not-ready or offline)"));
}

// Fills the command's positional arguments from `operands` (the words after
// the command name).
absl::Status ApplyOperands(std::vector<absl::string_view> operands, Invocation& invocation) {
  size_t expected = 0;
  switch (invocation.command) {
    case Command::kExplain:
      if (operands.empty()) return absl::InvalidArgumentError("explain: missing CONTACT_ID");
      if (operands[0].empty()) return absl::InvalidArgumentError("explain: CONTACT_ID is empty");
      invocation.contact_id = std::string(operands[0]);
      expected = 1;
      break;
    case Command::kAgentSetState: {
      if (operands.size() < 2) {
        return absl::InvalidArgumentError(absl::StrCat("agent set-state: missing ",
                                                       operands.empty() ? "AGENT_ID and " : "",
                                                       "STATE (available, not-ready or offline)"));
      }
      if (operands[0].empty()) {
        return absl::InvalidArgumentError("agent set-state: AGENT_ID is empty");
      }
      invocation.agent_id = std::string(operands[0]);
      CCR_ASSIGN_OR_RETURN(v1::AgentState state, ParseSettableAgentState(operands[1]));
      invocation.agent_state = state;
      if (state == v1::AGENT_STATE_NOT_READY && invocation.reason.empty()) {
        return absl::InvalidArgumentError(
            "agent set-state: not-ready requires --reason TEXT (e.g. --reason break)");
      }
      expected = 2;
      break;
    }
    default:
      break;
  }
  if (operands.size() > expected) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument ",
                                                   Quoted(operands[expected]), " for `",
                                                   CommandName(invocation.command), "`"));
  }
  return absl::OkStatus();
}

// "CHANNEL_CHAT" -> "chat", "AGENT_STATE_NOT_READY" -> "not-ready".
std::string ShortEnumName(const std::string& full_name, absl::string_view prefix, int value) {
  if (full_name.empty()) return absl::StrCat(value);
  absl::string_view name = full_name;
  absl::ConsumePrefix(&name, prefix);
  if (name == "UNSPECIFIED") return "-";
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

std::string OrDash(absl::string_view text) { return text.empty() ? "-" : std::string(text); }

// Keeps a watch line splittable on spaces: empty is "-", and text with
// spaces, quotes or control characters is quoted and escaped.
std::string EventField(absl::string_view text) {
  if (text.empty()) return "-";
  const bool needs_quotes = std::any_of(text.begin(), text.end(), [](char c) {
    return c == '"' || c == '\\' || absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
  });
  return needs_quotes ? Quoted(absl::Utf8SafeCEscape(text)) : std::string(text);
}

std::string Indented(absl::string_view text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  return out;
}

// Width of one code point in terminal cells (after Markus Kuhn's wcwidth).
int CodePointWidth(char32_t c) {
  struct Range {
    char32_t first, last;
  };
  static constexpr Range kZeroWidth[] = {
      {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
      {0x200B, 0x200F}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F},
  };
  static constexpr Range kWide[] = {
      {0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},
      {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
      {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F},
      {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
  };
  for (const Range& range : kZeroWidth) {
    if (c >= range.first && c <= range.last) return 0;
  }
  for (const Range& range : kWide) {
    if (c >= range.first && c <= range.last) return 2;
  }
  return 1;
}

// The command line cut into words (the command and its operands) and flags,
// neither interpreted yet.
struct SplitCommandLine {
  std::vector<absl::string_view> words;
  std::vector<std::pair<const FlagSpec*, std::string>> flags;
  bool help = false;
};

absl::StatusOr<SplitCommandLine> SplitWordsAndFlags(absl::Span<const std::string> args) {
  SplitCommandLine split;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      split.words.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h") {
      split.help = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    }
    absl::string_view name = arg;
    std::optional<absl::string_view> value;
    if (size_t equals = arg.find('='); equals != absl::string_view::npos) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    }
    const FlagSpec* flag = FindFlag(name);
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (flag->value_name.empty()) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
    } else if (!value.has_value()) {
      // A following flag is not taken as the value: `--reason --json` is
      // almost certainly a forgotten reason. `--reason=--json` still works.
      if (i + 1 == args.size() || absl::StartsWith(args[i + 1], "--")) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", flag->value_name, ")"));
      }
      value = args[++i];
    }
    if (flag->name == "help") {
      split.help = true;
    } else {
      split.flags.emplace_back(flag, std::string(value.value_or("")));
    }
  }
  return split;
}

// Resolves the command from the leading words and removes them: "agent" must
// be followed by "set-state". No words: Command::kNone.
absl::StatusOr<Command> TakeCommand(std::vector<absl::string_view>& words, bool help) {
  if (words.empty()) return Command::kNone;
  const auto entry = std::find_if(std::begin(kCommands), std::end(kCommands),
                                  [&](const auto& command) { return command.first == words[0]; });
  if (entry == std::end(kCommands)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command ", Quoted(words[0]), " (", kCommandList, ")"));
  }
  words.erase(words.begin());
  if (entry->second == Command::kAgentSetState) {
    if (words.empty()) {
      if (help) return entry->second;
      return absl::InvalidArgumentError("agent: missing subcommand (set-state)");
    }
    if (words[0] != "set-state") {
      return absl::InvalidArgumentError(
          absl::StrCat("agent: unknown subcommand ", Quoted(words[0]), " (set-state)"));
    }
    words.erase(words.begin());
  }
  return entry->second;
}

}  // namespace

absl::StatusOr<Invocation> ParseCommandLine(absl::Span<const std::string> args) {
  CCR_ASSIGN_OR_RETURN(SplitCommandLine split, SplitWordsAndFlags(args));
  Invocation invocation;
  invocation.help = split.help;
  CCR_ASSIGN_OR_RETURN(Command command, TakeCommand(split.words, invocation.help));
  invocation.command = command;

  for (const auto& [flag, value] : split.flags) {
    if (flag->only_for != Command::kNone && flag->only_for != invocation.command) {
      if (invocation.command == Command::kNone) {
        return absl::InvalidArgumentError(absl::StrCat("--", flag->name, " is a flag of `",
                                                       CommandName(flag->only_for),
                                                       "`, but no command was given"));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag->name, " is not a flag of `", CommandName(invocation.command),
                       "` (only of `", CommandName(flag->only_for), "`)"));
    }
    CCR_RETURN_IF_ERROR(ApplyFlag(*flag, value, invocation));
  }
  if (invocation.help) return invocation;
  if (invocation.command == Command::kNone) {
    return absl::InvalidArgumentError(absl::StrCat("missing command (", kCommandList, ")"));
  }
  CCR_RETURN_IF_ERROR(ApplyOperands(std::move(split.words), invocation));
  return invocation;
}

std::string UsageText(Command command) {
  constexpr absl::string_view kCommonFlags =
      "Flags of every command:\n"
      "  --server HOST:PORT[,HOST:PORT...]\n"
      "                      ccrouterd's gRPC address (default 127.0.0.1:7700); in cluster\n"
      "                      mode list the nodes: an unreachable one passes to the next,\n"
      "                      a standby's redirect is followed to the owner\n"
      "  --json              print JSON (proto field names) instead of text; `watch`\n"
      "                      prints one JSON object per line\n"
      "  --timeout SECONDS   deadline of the call, redirects included (`watch`: of\n"
      "                      connecting) (default 5)\n"
      "  --tls-ca CA.pem     connect with TLS, trusting this CA (the engine's `tls`)\n"
      "  -h, --help          show this help\n"
      "\n"
      "An engine with auth wants a token: set CCROUTER_TOKEN (supervisor or admin).\n"
      "\n"
      "Flags may come before or after the command, as `--flag value` or `--flag=value`.\n"
      "Exit status: 0 done, 1 the call or the connection failed, 2 bad command line.\n";
  absl::string_view body;
  switch (command) {
    case Command::kNone:
      body =
          "ccctl: the admin CLI of ccrouterd (the ccrouter.v1.Admin gRPC service).\n"
          "\n"
          "Usage: ccctl COMMAND [ARGS] [FLAGS]\n"
          "\n"
          "Commands:\n"
          "  queues                           live figures of every queue\n"
          "  agents                           state and load of every agent\n"
          "  explain CONTACT_ID               why a contact is where it is, and who could take it\n"
          "  watch [--after SEQ]              follow lifecycle events until Ctrl-C\n"
          "  reload [--file CONFIG.yaml]      reload the routing config\n"
          "  agent set-state AGENT_ID STATE   make an agent available, not-ready or offline\n"
          "\n"
          "`ccctl COMMAND --help` explains one command.\n"
          "\n";
      break;
    case Command::kQueues:
      body =
          "Usage: ccctl queues [FLAGS]\n"
          "\n"
          "Live figures of every queue (Admin.ListQueues). Columns:\n"
          "  QUEUED, OFFERED, CONNECTED  contacts waiting, offered to an agent, talking now\n"
          "  OLDEST                      wait of the longest-waiting queued contact\n"
          "  SERVICE LEVEL / TARGET      share answered within the target time, and the target\n"
          "  SL ABANDON-ADJ              the same, counting short abandons as met and the\n"
          "                              other abandons as missed\n"
          "  ANSWERED, ABANDONED         since the engine started\n"
          "  ASA                         average speed of answer\n"
          "  EWT                         estimated wait of a contact arriving now\n"
          "  AVAIL/ELIG                  agents available now / logged-in agents qualified\n"
          "\n";
      break;
    case Command::kAgents:
      body =
          "Usage: ccctl agents [FLAGS]\n"
          "\n"
          "State and load of every agent (Admin.ListAgents). Columns:\n"
          "  STATE      available, not-ready (with its reason), busy, wrap-up, resting, offline\n"
          "  LOAD       active / capacity per channel, e.g. \"chat 2/3\"\n"
          "  IDLE       time since the agent last had work\n"
          "  MISSES     offers missed in a row (rejected or timed out)\n"
          "  OCCUPANCY  handling time / (handling + available idle time)\n"
          "  CONNECTED  whether the agent's desktop stream is open\n"
          "\n";
      break;
    case Command::kExplain:
      body =
          "Usage: ccctl explain CONTACT_ID [FLAGS]\n"
          "\n"
          "Why a contact is where it is (Admin.Explain): its state, queue and agent, wait and\n"
          "slack to its target, overflow stage and position, each urgency score component and\n"
          "the total, required skills and language, every agent considered (eligible or why\n"
          "not), and its history.\n"
          "\n";
      break;
    case Command::kWatch:
      body =
          "Usage: ccctl watch [--after SEQ] [FLAGS]\n"
          "\n"
          "Follows lifecycle events (Admin.WatchEvents), one line per event:\n"
          "  SEQ TIME KIND CONTACT AGENT QUEUE REASON WAIT\n"
          "Empty fields print as \"-\", a reason with spaces is quoted. Ctrl-C stops cleanly\n"
          "(exit 0) and names the last sequence seen; the exit status is 1 if the stream\n"
          "ends with an error.\n"
          "\n"
          "  --after SEQ  first replay the events after sequence SEQ that the engine still\n"
          "               holds (default 0: only new events)\n"
          "\n";
      break;
    case Command::kReload:
      body =
          "Usage: ccctl reload [--file CONFIG.yaml] [FLAGS]\n"
          "\n"
          "Reloads the routing config (Admin.ReloadConfig) and prints the number of queues\n"
          "and the contacts moved off removed queues.\n"
          "\n"
          "  --file CONFIG.yaml  send this file's YAML (read here, by ccctl); without it the\n"
          "                      server re-reads the file it was started with\n"
          "\n";
      break;
    case Command::kAgentSetState:
      body =
          "Usage: ccctl agent set-state AGENT_ID available|not-ready|offline [--reason TEXT]\n"
          "\n"
          "Sets an agent's state (Admin.SetAgentState); offline logs the agent out.\n"
          "\n"
          "  --reason TEXT  why, e.g. \"break\" or \"training\"; required for not-ready\n"
          "\n";
      break;
  }
  return absl::StrCat(body, kCommonFlags);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds < 0) {
    std::string magnitude = FormatDuration(-seconds);
    return magnitude == "0s" ? magnitude : absl::StrCat("-", magnitude);
  }
  // Clamped so the conversion is defined; a thousand years is still shown.
  const int64_t total = std::llround(std::min(seconds, 1e12));
  // Two units at most; a zero second unit is left out ("3m", not "3m00s").
  auto two_units = [](int64_t major, absl::string_view major_unit, int64_t minor,
                      absl::string_view minor_unit) {
    return minor == 0 ? absl::StrCat(major, major_unit)
                      : absl::StrFormat("%d%s%02d%s", major, major_unit, minor, minor_unit);
  };
  if (total < 60) return absl::StrCat(total, "s");
  if (total < 3600) return two_units(total / 60, "m", total % 60, "s");
  if (total < 86400) return two_units(total / 3600, "h", total % 3600 / 60, "m");
  return two_units(total / 86400, "d", total % 86400 / 3600, "h");
}

std::string FormatPercent(double ratio) {
  if (std::isnan(ratio)) return "-";
  return absl::StrFormat("%.1f%%", ratio * 100);
}

int DisplayWidth(absl::string_view utf8) {
  int width = 0;
  size_t i = 0;
  while (i < utf8.size()) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    size_t length = 1;
    char32_t code_point = lead;
    if (lead >= 0xF0 && lead < 0xF8) {
      length = 4;
      code_point = lead & 0x07;
    } else if (lead >= 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if (lead >= 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    }
    bool valid = length == 1 || i + length <= utf8.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      valid = (next & 0xC0) == 0x80;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (!valid || lead >= 0xF8 || (lead >= 0x80 && lead < 0xC0)) {
      // A stray byte: terminals show it as one replacement character.
      width += 1;
      i += 1;
      continue;
    }
    width += CodePointWidth(code_point);
    i += length;
  }
  return width;
}

TextTable::TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render() const {
  std::vector<int> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = DisplayWidth(columns_[c].header);
    for (const std::vector<std::string>& row : rows_) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  std::string out;
  auto append_line = [&](auto cell_of_column) {
    std::string line;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string& cell = cell_of_column(c);
      const std::string padding(widths[c] - DisplayWidth(cell), ' ');
      if (c > 0) line += "  ";
      if (columns_[c].align == Align::kRight) {
        absl::StrAppend(&line, padding, cell);
      } else {
        absl::StrAppend(&line, cell, padding);
      }
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  };
  append_line([&](size_t c) -> const std::string& { return columns_[c].header; });
  for (const std::vector<std::string>& row : rows_) {
    append_line([&](size_t c) -> const std::string& { return row[c]; });
  }
  return out;
}

std::string ChannelName(v1::Channel channel) {
  return ShortEnumName(v1::Channel_Name(channel), "CHANNEL_", channel);
}

std::string AgentStateName(v1::AgentState state) {
  return ShortEnumName(v1::AgentState_Name(state), "AGENT_STATE_", state);
}

std::string ContactStateName(v1::ContactState state) {
  return ShortEnumName(v1::ContactState_Name(state), "CONTACT_STATE_", state);
}

std::string EventKindName(v1::EventKind kind) {
  return ShortEnumName(v1::EventKind_Name(kind), "EVENT_KIND_", kind);
}

std::string ServiceLevelText(const v1::QueueSnapshot& queue) {
  const std::string reached = queue.answered() == 0 ? "-" : FormatPercent(queue.service_level());
  if (queue.target_seconds() <= 0) return reached;
  return absl::StrFormat("%s / %g%% in %s", reached, queue.target_ratio() * 100,
                         FormatDuration(queue.target_seconds()));
}

std::string RenderQueues(const v1::ListQueuesReply& reply) {
  using Align = TextTable::Align;
  TextTable table({{"QUEUE"},
                   {"CHANNEL"},
                   {"POLICY"},
                   {"QUEUED", Align::kRight},
                   {"OFFERED", Align::kRight},
                   {"CONNECTED", Align::kRight},
                   {"OLDEST", Align::kRight},
                   {"SERVICE LEVEL / TARGET", Align::kRight},
                   {"SL ABANDON-ADJ", Align::kRight},
                   {"ANSWERED", Align::kRight},
                   {"ABANDONED", Align::kRight},
                   {"ASA", Align::kRight},
                   {"EWT", Align::kRight},
                   {"AVAIL/ELIG", Align::kRight}});
  for (const v1::QueueSnapshot& queue : reply.queues()) {
    const bool any_answered = queue.answered() > 0;
    const bool any_ended = queue.answered() + queue.abandoned() > 0;
    table.AddRow({
        OrDash(queue.name()),
        ChannelName(queue.channel()),
        OrDash(queue.routing_policy()),
        absl::StrCat(queue.queued()),
        absl::StrCat(queue.offered()),
        absl::StrCat(queue.connected()),
        queue.queued() == 0 ? "-" : FormatDuration(queue.oldest_wait_seconds()),
        ServiceLevelText(queue),
        any_ended ? FormatPercent(queue.service_level_abandon_adjusted()) : "-",
        absl::StrCat(queue.answered()),
        absl::StrCat(queue.abandoned()),
        any_answered ? FormatDuration(queue.average_speed_of_answer_seconds()) : "-",
        queue.estimated_wait_seconds() < 0 ? "-" : FormatDuration(queue.estimated_wait_seconds()),
        absl::StrCat(queue.agents_available(), "/", queue.agents_eligible()),
    });
  }
  return table.Render();
}

std::string RenderAgents(const google::protobuf::RepeatedPtrField<v1::AgentSnapshot>& agents) {
  using Align = TextTable::Align;
  TextTable table({{"AGENT"},
                   {"NAME"},
                   {"STATE"},
                   {"LOAD"},
                   {"IDLE", Align::kRight},
                   {"MISSES", Align::kRight},
                   {"OCCUPANCY", Align::kRight},
                   {"CONNECTED"}});
  for (const v1::AgentSnapshot& agent : agents) {
    std::string state = AgentStateName(agent.state());
    if (!agent.reason().empty()) absl::StrAppend(&state, " (", agent.reason(), ")");
    std::vector<std::string> load;
    for (const v1::AgentSnapshot::Load& channel_load : agent.load()) {
      load.push_back(absl::StrCat(ChannelName(channel_load.channel()), " ", channel_load.active(),
                                  "/", channel_load.capacity()));
    }
    table.AddRow({
        OrDash(agent.agent_id()),
        OrDash(agent.display_name()),
        std::move(state),
        load.empty() ? "-" : absl::StrJoin(load, ", "),
        FormatDuration(agent.idle_seconds()),
        absl::StrCat(agent.consecutive_misses()),
        FormatPercent(agent.occupancy()),
        agent.connected() ? "yes" : "no",
    });
  }
  return table.Render();
}

std::string RenderExplain(const v1::ExplainReply& reply) {
  std::string out;
  auto field = [&out](absl::string_view label, absl::string_view value) {
    absl::StrAppendFormat(&out, "%-9s %s\n", label, value);
  };
  std::string slack = FormatDuration(reply.sla_slack_seconds());
  absl::StrAppend(&slack, reply.sla_slack_seconds() < 0 ? " (past target)" : " left");

  field("contact", OrDash(reply.contact_id()));
  field("state", ContactStateName(reply.state()));
  field("queue", OrDash(reply.queue()));
  field("agent", OrDash(reply.agent_id()));
  field("wait", FormatDuration(reply.wait_seconds()));
  field("slack", slack);
  field("stage", absl::StrCat(reply.overflow_stage()));
  field("position", reply.position() == 0 ? "-" : absl::StrCat(reply.position()));

  using Align = TextTable::Align;
  TextTable score({{"COMPONENT"}, {"POINTS", Align::kRight}});
  for (const v1::ScoreComponent& component : reply.components()) {
    score.AddRow({OrDash(component.name()), absl::StrFormat("%+.2f", component.points())});
  }
  score.AddRow({"total", absl::StrFormat("%.2f", reply.total_score())});
  absl::StrAppend(&out, "score\n", Indented(score.Render()));

  field("skills",
        reply.required_skills().empty() ? "-" : absl::StrJoin(reply.required_skills(), ", "));
  field("language", OrDash(reply.language()));
  field("summary", OrDash(reply.summary()));

  if (reply.agents().empty()) {
    absl::StrAppend(&out, "agents considered: none\n");
  } else {
    TextTable agents({{"AGENT"}, {"ELIGIBLE"}, {"WHY NOT"}});
    for (const v1::AgentConsidered& agent : reply.agents()) {
      agents.AddRow({OrDash(agent.agent_id()), agent.eligible() ? "yes" : "no",
                     agent.eligible() ? "" : OrDash(agent.why_not())});
    }
    absl::StrAppend(&out, "agents considered\n", Indented(agents.Render()));
  }

  if (reply.history().empty()) {
    absl::StrAppend(&out, "history: none\n");
  } else {
    absl::StrAppend(&out, "history\n", Indented(absl::StrJoin(reply.history(), "\n")));
  }
  return out;
}

std::string RenderReload(const v1::ReloadConfigReply& reply) {
  std::string out = absl::StrCat("reloaded: ", reply.queues(), " queues\n");
  if (reply.moved_contacts().empty()) {
    absl::StrAppend(&out, "no contacts moved\n");
    return out;
  }
  absl::StrAppend(&out, "moved ", reply.moved_contacts_size(), " contacts");
  if (!reply.fallback_queue().empty()) {
    absl::StrAppend(&out, " to fallback queue ", reply.fallback_queue());
  }
  absl::StrAppend(&out, ": ", absl::StrJoin(reply.moved_contacts(), ", "), "\n");
  return out;
}

std::string FormatEventLine(const v1::LifecycleEvent& event) {
  std::string time = "-";
  if (event.has_time()) {
    const absl::Time when =
        absl::FromUnixSeconds(event.time().seconds()) + absl::Nanoseconds(event.time().nanos());
    time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", when, absl::UTCTimeZone());
  }
  std::string reason = event.reason();
  if (event.kind() == v1::EVENT_KIND_AGENT_STATE) {
    reason = reason.empty() ? AgentStateName(event.agent_state())
                            : absl::StrCat(AgentStateName(event.agent_state()), ": ", reason);
  }
  return absl::StrFormat("%d %s %-16s %s %s %s %s %s", event.sequence(), time,
                         EventKindName(event.kind()), EventField(event.contact_id()),
                         EventField(event.agent_id()), EventField(event.queue()),
                         EventField(reason), FormatDuration(event.wait_seconds()));
}

std::string FormatRpcError(int grpc_code, absl::string_view message) {
  // gRPC and absl share the canonical code numbers and names.
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(grpc_code));
  if (name.empty()) name = absl::StrCat("code ", grpc_code);
  return absl::StrCat("ccctl: ", name, ": ", message.empty() ? "(no message)" : message);
}

}  // namespace ccr::ctl
