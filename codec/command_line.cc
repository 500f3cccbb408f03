#include "codec/command_line.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace ccr {
namespace {

std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

// The program's own flags by dashed name: absl's internal ones (none unless
// something links absl's parser) are never ours to set or list.
std::map<std::string, absl::CommandLineFlag*> ProgramFlags(
    absl::Span<const std::string_view> accepted) {
  std::map<std::string, absl::CommandLineFlag*> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "absl/")) continue;
    std::string dashed = Dashed(name);
    if (!accepted.empty() &&
        std::find(accepted.begin(), accepted.end(), dashed) == accepted.end()) {
      continue;
    }
    out.emplace(std::move(dashed), flag);
  }
  return out;
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv, int first,
                                             absl::Span<const std::string_view> accepted) {
  const std::map<std::string, absl::CommandLineFlag*> flags = ProgramFlags(accepted);
  CommandLine line;
  for (int i = first; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) line.positional.emplace_back(argv[i]);
      break;
    }
    if (arg == "--help" || arg == "-h") {
      line.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "-") || arg == "-") {
      line.positional.emplace_back(arg);
      continue;
    }
    // `name` as written, without its dashes in front and any `=value`.
    absl::string_view name = absl::StripPrefix(absl::StripPrefix(arg, "-"), "-");
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != absl::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    const auto it = flags.find(std::string(name));
    // One spelling, the documented one: `--data_dir` is refused too.
    if (it == flags.end() || !absl::StartsWith(arg, "--") || absl::StrContains(name, '_')) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg.substr(0, arg.find('=')), "'"));
    }
    const std::string written = absl::StrCat("--", name);
    absl::CommandLineFlag& flag = *it->second;
    if (!value.has_value()) {
      if (flag.IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat(written, " needs a value"));
      }
    }
    std::string error;
    if (!flag.ParseFrom(*value, &error)) {
      // absl names the flag by its C++ name; say it as it was written.
      return absl::InvalidArgumentError(absl::StrReplaceAll(
          error, {{absl::StrCat("'", flag.Name(), "'"), absl::StrCat("'", written, "'")}}));
    }
  }
  return line;
}

void ParseCommandLineOrExit(int argc, char** argv, std::string_view program,
                            std::string_view usage) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(argc, argv);
  if (line.ok() && line->help) {
    std::fprintf(stdout, "%.*s%s", static_cast<int>(usage.size()), usage.data(),
                 FlagsHelp().c_str());
    std::exit(0);
  }
  if (line.ok() && line->positional.empty()) return;
  const std::string error = line.ok()
                                ? absl::StrCat("unexpected argument '", line->positional[0], "'")
                                : std::string(line.status().message());
  std::fprintf(stderr, "%.*s: %s\n%.*s%s", static_cast<int>(program.size()), program.data(),
               error.c_str(), static_cast<int>(usage.size()), usage.data(), FlagsHelp().c_str());
  std::exit(2);
}

std::string FlagsHelp(absl::Span<const std::string_view> accepted) {
  std::string out;
  for (const auto& [dashed, flag] : ProgramFlags(accepted)) {
    absl::StrAppend(&out, "  --", dashed);
    if (!flag->IsOfType<bool>())
      absl::StrAppend(&out, " (default: \"", flag->DefaultValue(), "\")");
    absl::StrAppend(&out, "\n");
    // The help text, wrapped at 78 columns under an 8-space indent.
    std::string line;
    for (absl::string_view word : absl::StrSplit(flag->Help(), ' ', absl::SkipEmpty())) {
      if (!line.empty() && line.size() + 1 + word.size() > 70) {
        absl::StrAppend(&out, "        ", line, "\n");
        line.clear();
      }
      absl::StrAppend(&line, line.empty() ? "" : " ", word);
    }
    if (!line.empty()) absl::StrAppend(&out, "        ", line, "\n");
  }
  return out;
}

bool AbslParseFlag(absl::string_view text, OnOff* out, std::string* error) {
  if (text == "on" || text == "off") {
    out->on = text == "on";
    return true;
  }
  *error = "want on or off";
  return false;
}

std::string AbslUnparseFlag(OnOff value) { return value.on ? "on" : "off"; }

}  // namespace ccr
