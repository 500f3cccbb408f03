// Command lines of ccrouterd and the tools: absl flags, spelled with dashes.
//
// Each program declares its flags with ABSL_FLAG in its main file, with
// underscores as C++ needs (`ABSL_FLAG(std::string, data_dir, ...)`), and
// every document, test and deploy file spells them with dashes
// (`--data-dir DIR`). absl's own ParseCommandLine (20220623) knows only the
// underscore spelling and exits 1 on a bad flag, where our programs answer 2;
// so this reads argv into the same flags through absl's registry, and absl
// still parses and checks each value (AbslParseFlag).
//
//   ABSL_FLAG(uint64_t, snapshot_every, 200000, "snapshot after N journalled commands");
//   absl::StatusOr<ccr::CommandLine> line = ccr::ParseCommandLine(argc, argv);
//   if (!line.ok()) { print line.status().message(); exit 2; }
//   if (line->help) { print usage and ccr::FlagsHelp(); exit 0; }
//   uint64_t every = absl::GetFlag(FLAGS_snapshot_every);
#ifndef CCROUTER_CODEC_COMMAND_LINE_H_
#define CCROUTER_CODEC_COMMAND_LINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ccr {

struct CommandLine {
  std::vector<std::string> positional;  // the arguments that are not flags, in order
  bool help = false;                    // --help or -h was given
};

// Sets the program's flags from argv[first..argc): `--name value` and
// `--name=value`; a bool flag takes no separate value (`--json`, or
// `--json=false`); everything after `--` is positional. `accepted` limits
// the flags to those dashed names (a subcommand's); empty accepts every flag
// the program declares. Errors name the flag as written on the command line:
// `Illegal value 'x' specified for flag '--snapshot-every'`. The flags set before an error
// keep their new values; callers exit on an error.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv, int first = 1,
                                             absl::Span<const std::string_view> accepted = {});

// main()'s prologue for a program without positional arguments: parses;
// for --help prints `usage` and the flags to stdout and exits 0; for a
// mistake prints `program: error`, `usage` and the flags to stderr and
// exits 2.
void ParseCommandLineOrExit(int argc, char** argv, std::string_view program,
                            std::string_view usage);

// The flags for --help, sorted by name: `  --data-dir (default: "")` and the
// help text below it, indented. `accepted` as for ParseCommandLine.
std::string FlagsHelp(absl::Span<const std::string_view> accepted = {});

// A switch that documentation spells `on` / `off` (`--fsync off`): a bool
// flag would take `off` for a positional argument.
struct OnOff {
  bool on = true;
};
bool AbslParseFlag(absl::string_view text, OnOff* out, std::string* error);
std::string AbslUnparseFlag(OnOff value);

}  // namespace ccr

#endif  // CCROUTER_CODEC_COMMAND_LINE_H_
